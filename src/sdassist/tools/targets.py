"""Turning what people write ("instagram", "@brand", "acc_…") into SocialDock targets."""

from __future__ import annotations

import difflib
from collections.abc import Sequence
from typing import Annotated, Any, Literal

from pydantic import BeforeValidator, Field

from sdassist.client import SocialDock
from sdassist.client.models import PLATFORMS, Account, Target
from sdassist.publishing.platforms import TIKTOK_PRIVACY, YOUTUBE_PRIVACY
from sdassist.tools.base import ToolInput
from sdassist.tools.errors import ToolError
from sdassist.tools.fields import shown

PLATFORM_ALIASES = {
    "fb": "facebook", "ig": "instagram", "insta": "instagram", "li": "linkedin",
    "yt": "youtube", "tg": "telegram", "tt": "tiktok", "tik tok": "tiktok",
}

# One `privacy` word can serve a post to both: YouTube's public/private stand for TikTok's widest/narrowest.
_TIKTOK_FROM_YOUTUBE = {"public": "PUBLIC_TO_EVERYONE", "private": "SELF_ONLY"}
# YOUTUBE_PRIVACY, then TIKTOK_PRIVACY (a Literal spells its values out).
Privacy = Literal["public", "unlisted", "private",
                  "PUBLIC_TO_EVERYONE", "MUTUAL_FOLLOW_FRIENDS", "FOLLOWER_OF_CREATOR", "SELF_ONLY"]

# Which platforms take each per-target setting (SocialDock's platform notes; location as in its POST /posts
# example, for the platforms whose own APIs tag a place).
OPTION_PLATFORMS: dict[str, tuple[str, ...]] = {
    "subreddit": ("reddit",),
    "privacy": ("youtube", "tiktok"),
    "chat_id": ("telegram",),
    "location": ("instagram", "facebook"),
}

def _privacy_case(value: Any) -> Any:
    """`Unlisted` → `unlisted`, `self_only` → `SELF_ONLY`: each platform's values in its own case."""
    if isinstance(value, str):
        word = value.strip()
        if word.lower() in YOUTUBE_PRIVACY:
            return word.lower()
        if word.upper() in TIKTOK_PRIVACY:
            return word.upper()
    return value


class TargetOptions(ToolInput):
    """Per-platform settings, flat so every face can fill them in; each goes only to the platforms that take it."""

    subreddit: str | None = Field(default=None, description="Reddit: r/name.")
    privacy: Annotated[Privacy | None, BeforeValidator(_privacy_case)] = Field(
        default=None, description="YouTube: lower-case values; TikTok: upper-case ones, or public, private.")
    chat_id: str | None = Field(default=None, description="Telegram: chat id.")
    location: str | None = Field(default=None, max_length=200, description="Instagram, Facebook: a place name.")


def normalise_platform(word: str) -> str | None:
    key = word.strip().lower()
    key = PLATFORM_ALIASES.get(key, key)
    return key if key in PLATFORMS else None


def _metadata_for(platform: str, options: TargetOptions) -> dict[str, Any] | None:
    """The target's metadata in SocialDock's names: each setting only for the platforms that take it."""
    meta: dict[str, Any] = {}
    if platform == "reddit" and options.subreddit:
        sub = options.subreddit.strip()
        meta["subreddit"] = sub if sub.lower().startswith("r/") else f"r/{sub}"
    if platform == "youtube" and options.privacy:
        meta["privacy"] = options.privacy
    if platform == "tiktok" and options.privacy:
        meta["privacy_level"] = _TIKTOK_FROM_YOUTUBE.get(options.privacy, options.privacy)
    if platform == "telegram" and options.chat_id:
        meta["chat_id"] = options.chat_id
    if platform in OPTION_PLATFORMS["location"] and options.location:
        meta["location"] = options.location
    return meta or None


def unused_options(options: TargetOptions, platforms: Sequence[str]) -> list[tuple[str, str]]:
    """(field, refusal) for every setting given that none of the chosen platforms takes (it would silently
    vanish), and for a privacy value the chosen platform does not have."""
    problems = []
    for name, takers in OPTION_PLATFORMS.items():
        if getattr(options, name, None) and not set(takers) & set(platforms):
            problems.append((name, f"{name} applies only to {' and '.join(takers)}, and no target is on "
                            f"{'either' if len(takers) > 1 else 'it'}: leave {name} out or add such a target"))
    if options.privacy in TIKTOK_PRIVACY and "youtube" in platforms:
        problems.append(("privacy", f"youtube: privacy {options.privacy} is a TikTok level; YouTube takes "
                                    f"{', '.join(YOUTUBE_PRIVACY)}"))
    if options.privacy == "unlisted" and "tiktok" in platforms:
        problems.append(("privacy", "tiktok: privacy unlisted does not exist on TikTok; use public, private or "
                                    f"one of {', '.join(TIKTOK_PRIVACY)}"))
    return problems


def option_names(options: TargetOptions) -> list[str]:
    """The per-platform settings that were given."""
    return [name for name in OPTION_PLATFORMS if getattr(options, name, None)]


def with_options(targets: Sequence[Target], options: TargetOptions) -> tuple[list[Target], list[tuple[str, str]]]:
    """Targets already chosen, with settings given later merged into their metadata, and any refusals."""
    problems = unused_options(options, [t.platform for t in targets])
    merged = [t.model_copy(update={"metadata": {**(t.metadata or {}), **(_metadata_for(t.platform, options) or {})}
                                   or None}) for t in targets]
    return merged, problems


def _roster(accounts: Sequence[Account]) -> str:
    """The connected accounts in a line: `acc_… (instagram @brand), …`."""
    if not accounts:
        return "none yet (connect one with connect_account)"
    return ", ".join(f"{a.id} ({a.platform} @{_handle(a)})" for a in accounts)


def _handle(account: Account) -> str:
    return (account.username or "").lstrip("@").lower()


def _said(raw: str) -> str:
    """A target as the user wrote it, for a refusal: as is when short and plain, else cut and escaped."""
    return raw if len(raw) <= 40 and raw.isprintable() and raw.isascii() else shown(raw)


def _resolve_one(word: str, accounts: Sequence[Account]) -> Account:
    raw = word.strip()
    if raw.startswith("acc_"):
        for account in accounts:
            if account.id == raw:
                return account
        raise ToolError(f"no connected account has the id {_said(raw)}",
                        hint="Connected: " + _roster(accounts) + ".")
    named, _, handle = raw.partition(" ")
    if handle.strip().startswith("@") and normalise_platform(named):  # "instagram @brand"
        platform, raw = normalise_platform(named), handle.strip()
        accounts = [a for a in accounts if a.platform == platform]
    if raw.startswith("@"):
        matches = [a for a in accounts if _handle(a) == raw.lstrip("@").lower()]
        if len(matches) == 1:
            return matches[0]
        if matches:
            choices = ", ".join(f"'{a.platform} {raw}'" for a in matches)
            platforms = ", ".join(a.platform for a in matches)
            raise ToolError(f"the handle {_said(raw)} is connected on several platforms ({platforms})",
                            hint=f"Name the platform too: {choices}.")
        raise ToolError(f"no connected account has the handle {_said(raw)}",
                        hint="Handles connected: " + (", ".join(f"@{_handle(a)}" for a in accounts) or "none"))
    platform = normalise_platform(raw)
    if platform is None:
        guess = difflib.get_close_matches(raw.lower(), PLATFORMS, n=1)
        hint = f"Did you mean {guess[0]}? " if guess else ""
        raise ToolError(f"{shown(raw)} is not a platform SocialDock publishes to",
                        hint=hint + "Platforms: " + ", ".join(PLATFORMS) + ".")
    on_platform = [a for a in accounts if a.platform == platform]
    if not on_platform:
        raise ToolError(f"no {platform} account is connected",
                        hint=f"Connect one with connect_account platform={platform}, then try again.")
    if len(on_platform) > 1:
        handles = ", ".join(f"@{_handle(a)}" for a in on_platform)
        raise ToolError(f"several {platform} accounts are connected ({handles})",
                        hint="Name the one you mean by its handle or account id.")
    return on_platform[0]


async def resolve_targets(client: SocialDock, words: Sequence[str], options: TargetOptions) -> list[Target]:
    """Every word becomes one target; all problems are reported together."""
    if not words:
        raise ToolError("no platforms given", hint="Name at least one, e.g. targets=['instagram', 'linkedin'].")
    accounts = await client.accounts.list()
    targets: list[Target] = []
    problems: list[str] = []
    hints: list[str] = []
    for word in words:
        try:
            account = _resolve_one(word, accounts)
        except ToolError as exc:
            problems.append(exc.message)
            if exc.hint and exc.hint not in hints:
                hints.append(exc.hint)
            continue
        if any(t.account_id == account.id for t in targets):
            continue
        targets.append(Target(platform=account.platform, account_id=account.id,  # type: ignore[arg-type]
                              metadata=_metadata_for(account.platform, options)))
    if not problems:
        problems = [message for _, message in unused_options(options, [t.platform for t in targets])]
    if problems:
        raise ToolError("; ".join(problems), hint=" ".join(hints) or None)
    return targets
