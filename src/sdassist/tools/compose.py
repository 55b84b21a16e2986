"""Turning a tool's post fields into exactly what will be sent, with every problem found up front."""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from pydantic import Field, model_validator

from sdassist.client.models import Target
from sdassist.netsafety import UnsafeURL, check_public_url
from sdassist.publishing.caps import MOVE_HINT, account_handles, check_caps
from sdassist.publishing.drafts import utcnow
from sdassist.publishing.media import FileFacts, file_keys
from sdassist.publishing.platforms import DraftCheck, Problem, check_post
from sdassist.publishing.when import ResolvedTime, TimeError, is_now, resolve_time
from sdassist.tools.base import ToolContext, ToolInput
from sdassist.tools.errors import ToolError, time_refusal
from sdassist.tools.targets import TargetOptions, resolve_targets

WHEN_DESCRIPTION = "E.g. 'tomorrow 9am', 'in 2 hours', '5pm PT'."


class NowMeansOnceApproved(ToolInput):
    """`when="now"` (or "right now", "immediately") on a post that a person approves first can only mean: once
    approved. It becomes publish_now, as Slack's `post "…" now` does. Kept as a time it would pass before anyone
    approved it, and the draft could never go out ("its scheduled time passed before it was approved")."""

    @model_validator(mode="after")
    def _now_is_publish_now(self) -> Any:
        when = getattr(self, "when", None)
        if isinstance(when, str) and is_now(when):
            self.when, self.publish_now = None, True  # type: ignore[attr-defined]
        return self


class _PostCore(NowMeansOnceApproved):
    text: str = Field(description="Exactly as published.")
    targets: list[str] = Field(min_length=1, description="Platforms, @handles or acc_ ids (list_accounts).")
    when: str | None = Field(default=None, description=WHEN_DESCRIPTION)
    publish_now: bool = Field(default=False, description="Post once approved, not at when.")
    title: str | None = Field(default=None, description="Needed for YouTube, Reddit.")
    media_urls: list[str] = Field(default_factory=list, description="Public image/video URLs.")
    tags: list[str] = Field(default_factory=list, description="Hashtags, no #.")
    zone: str | None = Field(default=None, description="IANA zone for when.")


class PostFields(TargetOptions, _PostCore):
    """The fields of a post, flat, as every face fills them in: the ones people fill most first (text, targets,
    when), the per-platform settings after them."""


def change_of(name: str, description: str | None = None) -> Any:
    """A PostFields field as an optional change (edit_draft, update_post): same description, default None
    (unchanged), so every face and the schema describe it once."""
    return Field(default=None, description=description or PostFields.model_fields[name].description)


NOTHING_STORED = "Fix these and try again; nothing was stored."


def is_public_url(url: str, *, loopback_ok: bool = True) -> bool:
    """Whether SocialDock could fetch `url`: absolute http(s), not to a private or link-local address.

    A parser that does not know where SocialDock runs (the Slack grammar) leaves loopback to the tool layer."""
    try:
        check_public_url(url, field="media_urls", loopback_ok=loopback_ok)
    except UnsafeURL:
        return False
    return True


def media_url_problem(urls: Iterable[str], *, loopback_ok: bool = False) -> str | None:
    """The first media URL SocialDock must not be asked to fetch, and why (`netsafety.check_public_url`).

    `loopback_ok`: SocialDock itself is on this machine (the sandbox), so a loopback URL stays here."""
    for url in urls:
        try:
            check_public_url(url, field="media_urls", loopback_ok=loopback_ok)
        except UnsafeURL as exc:
            return f"{exc}: upload the file somewhere public first and give its URL"
    return None

# The rules speak SocialDock's wire names; a tool's user sets these through the flat fields.
_FIELD_NAMES = {"metadata.privacy_level": "privacy", "metadata.privacy": "privacy",
                "metadata.subreddit": "subreddit", "metadata.chat_id": "chat_id", "metadata.location": "location"}
_FIELD_PATTERN = re.compile("|".join(re.escape(k) for k in sorted(_FIELD_NAMES, key=len, reverse=True)))


def messages(problems: Iterable[Problem]) -> list[str]:
    """Rule problems as sentences in the tool's own terms (`privacy`, not `metadata.privacy_level`)."""
    return [_FIELD_PATTERN.sub(lambda m: _FIELD_NAMES[m.group(0)], p.message) for p in problems]


@dataclass(frozen=True)
class Composed:
    targets: list[Target]
    when: ResolvedTime | None
    check: DraftCheck
    cap_warnings: tuple[str, ...] = ()

    @property
    def scheduled_at(self) -> datetime | None:
        return self.when.utc if self.when else None

    @property
    def warnings(self) -> list[str]:
        return [*messages(self.check.warnings), *self.cap_warnings]


def read_time(ctx: ToolContext, phrase: str, zone: str | None, *, field: str = "when") -> ResolvedTime:
    """The time a phrase means for this caller; a refusal names the field and carries a working example."""
    try:
        return resolve_time(phrase, zone=zone or ctx.zone, default_zone=ctx.settings.timezone,
                            zone_field="zone" if zone else ctx.zone_source)
    except TimeError as exc:
        raise time_refusal(exc, field) from None


def resolve_schedule(ctx: ToolContext, when: str | None, publish_now: bool, zone: str | None) -> ResolvedTime | None:
    """Exactly one of a time or publish_now; both or neither is a question back to the user."""
    if publish_now and when:
        raise ToolError("both publish_now and when are given",
                        hint="Use publish_now=true to post right after approval, or when='…' to schedule, not both.")
    if not publish_now and not when:
        raise ToolError("no time given",
                        hint="Say when, e.g. when='tomorrow 9am', or set publish_now=true to post once approved.")
    return read_time(ctx, when, zone) if when else None


async def stored_media_facts(ctx: ToolContext, urls: Iterable[str]) -> tuple[dict[str, str], dict[str, int]]:
    """Type and size of the media URLs that are files sdassist stored (for the format and size rules)."""
    if ctx.media is None:
        return {}, {}
    known = await ctx.media.by_socialdock_urls(urls)
    return {u: f.mime_type for u, f in known.items()}, {u: f.size for u, f in known.items()}


def refuse_on_errors(check: DraftCheck) -> None:
    if check.errors:
        raise ToolError("; ".join(messages(check.errors)),
                        hint=NOTHING_STORED)


async def compose(ctx: ToolContext, fields: PostFields, *, files: Sequence[FileFacts] = ()) -> Composed:
    """Resolve accounts and time, check every platform rule; raise with all errors at once. `files` are
    attachments not yet handed to SocialDock, checked beside `fields.media_urls` (type, size, count)."""
    if bad := media_url_problem(fields.media_urls, loopback_ok=ctx.client.is_local):
        raise ToolError(bad, hint=NOTHING_STORED)
    resolved_targets = await resolve_targets(ctx.client, fields.targets, fields)
    when = resolve_schedule(ctx, fields.when, fields.publish_now, fields.zone)
    types, sizes = await stored_media_facts(ctx, fields.media_urls)
    keys, file_types, file_sizes = file_keys(files)
    check = check_post(text=fields.text, title=fields.title, targets=resolved_targets, tags=fields.tags,
                       media_urls=[*fields.media_urls, *keys], media_types={**types, **file_types},
                       media_sizes={**sizes, **file_sizes})
    refuse_on_errors(check)
    errors, warnings = await cap_problems(ctx, resolved_targets, when, zone=fields.zone)
    if errors:
        raise ToolError("; ".join(errors), hint=f"{MOVE_HINT} {NOTHING_STORED}")
    return Composed(targets=resolved_targets, when=when, check=check, cap_warnings=tuple(warnings))


async def cap_problems(ctx: ToolContext, targets: Sequence[Target], when: ResolvedTime | None, *,
                       zone: str | None = None, exclude: str | None = None) -> tuple[list[str], list[str]]:
    """Posting caps for these targets at this time (or now, for a post published once approved)."""
    at = when.utc if when else utcnow()
    return await check_caps(ctx.store, targets, at, exclude=exclude, zone=when.zone if when else zone or ctx.zone,
                            handles=lambda: account_handles(ctx.client))
