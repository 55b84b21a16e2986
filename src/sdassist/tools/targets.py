"""Turning what people write ("instagram", "@brand", "acc_…") into SocialDock targets."""

from __future__ import annotations

import difflib
from collections.abc import Sequence
from typing import Any

from pydantic import Field

from sdassist.client import SocialDock
from sdassist.client.models import PLATFORMS, Account, Target
from sdassist.tools.base import ToolInput
from sdassist.tools.errors import ToolError

PLATFORM_ALIASES = {
    "fb": "facebook", "ig": "instagram", "insta": "instagram", "li": "linkedin",
    "yt": "youtube", "tg": "telegram", "tt": "tiktok", "tik tok": "tiktok",
}


class TargetOptions(ToolInput):
    """Per-platform settings, flat so every face can fill them in."""

    subreddit: str | None = Field(default=None, description="Reddit: r/name.")
    privacy: str | None = Field(
        default=None, description="YouTube: public|unlisted|private; TikTok: PUBLIC_TO_EVERYONE|SELF_ONLY|…")
    chat_id: str | None = Field(default=None, description="Telegram: chat id.")


def normalise_platform(word: str) -> str | None:
    key = word.strip().lower()
    key = PLATFORM_ALIASES.get(key, key)
    return key if key in PLATFORMS else None


def _metadata_for(platform: str, options: TargetOptions) -> dict[str, Any] | None:
    meta: dict[str, Any] = {}
    if platform == "reddit" and options.subreddit:
        sub = options.subreddit.strip()
        meta["subreddit"] = sub if sub.lower().startswith("r/") else f"r/{sub}"
    if platform == "youtube" and options.privacy:
        meta["privacy"] = options.privacy.lower()
    if platform == "tiktok" and options.privacy:
        meta["privacy_level"] = options.privacy.upper()
    if platform == "telegram" and options.chat_id:
        meta["chat_id"] = options.chat_id
    return meta or None


def _roster(accounts: Sequence[Account]) -> str:
    """The connected accounts in a line: `acc_… (instagram @brand), …`."""
    if not accounts:
        return "none yet (connect one with connect_account)"
    return ", ".join(f"{a.id} ({a.platform} @{_handle(a)})" for a in accounts)


def _handle(account: Account) -> str:
    return (account.username or "").lstrip("@").lower()


def _resolve_one(word: str, accounts: Sequence[Account]) -> Account:
    raw = word.strip()
    if raw.startswith("acc_"):
        for account in accounts:
            if account.id == raw:
                return account
        raise ToolError(f"no connected account has the id {raw}", hint="Connected: " + _roster(accounts) + ".")
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
            raise ToolError(f"the handle {raw} is connected on several platforms ({platforms})",
                            hint=f"Name the platform too: {choices}.")
        raise ToolError(f"no connected account has the handle {raw}",
                        hint="Handles connected: " + (", ".join(f"@{_handle(a)}" for a in accounts) or "none"))
    platform = normalise_platform(raw)
    if platform is None:
        guess = difflib.get_close_matches(raw.lower(), PLATFORMS, n=1)
        hint = f"Did you mean {guess[0]}? " if guess else ""
        raise ToolError(f"'{raw}' is not a platform SocialDock publishes to",
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
    if problems:
        raise ToolError("; ".join(problems), hint=" ".join(hints) or None)
    return targets
