"""Compact output shapes shared by several tools: ids, states, times in UTC and local, short previews."""

from __future__ import annotations

from datetime import UTC, datetime

from pydantic import Field

from sdassist.client.models import Post
from sdassist.publishing.drafts import Draft, DraftBrief, DraftState
from sdassist.publishing.when import zone_for_name
from sdassist.tools.base import ToolOutput

PREVIEW_CHARS = 120


def preview(text: str | None, limit: int = PREVIEW_CHARS) -> str:
    """The first `limit` characters, on one line, with an ellipsis when cut."""
    flat = " ".join((text or "").split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


class TimeView(ToolOutput):
    utc: datetime
    local: str = Field(description="The same instant on the requester's wall clock, with the zone.")
    echo: str


def time_view(instant: datetime, zone: str) -> TimeView:
    local, utc = _instant_in(instant, zone)
    return TimeView(utc=utc, local=f"{local:%Y-%m-%d %H:%M} {zone}", echo=_echo(local, utc))


def time_echo(instant: datetime, zone: str) -> str:
    """`time_view(instant, zone).echo` alone (a list shows only that, and builds no model for it)."""
    return _echo(*_instant_in(instant, zone))


def _instant_in(instant: datetime, zone: str) -> tuple[datetime, datetime]:
    return instant.astimezone(zone_for_name(zone)), instant.astimezone(UTC)


def _echo(local: datetime, utc: datetime) -> str:
    utc_text = f"{utc:%H:%M} UTC" if local.date() == utc.date() else f"{utc:%a %-d %b %H:%M} UTC"
    return f"{local:%a %-d %b %Y %H:%M %Z} = {utc_text}"


#: SocialDock's metadata names that differ from the tool field that sets them (TikTok's privacy_level).
SETTING_NAMES = {"privacy_level": "privacy"}


def target_settings(metadata: dict[str, object] | None) -> dict[str, str] | None:
    """A target's per-platform settings (privacy, subreddit, chat_id, location) as the value SocialDock will get,
    under the tool's own field names: part of exactly what goes out, so every preview shows them."""
    shown = {SETTING_NAMES.get(k, k): str(v) for k, v in (metadata or {}).items() if v is not None}
    return shown or None


def settings_text(settings: dict[str, str] | None) -> str:
    """`privacy: SELF_ONLY, subreddit: r/x`, or "" when there are none."""
    return ", ".join(f"{k}: {v}" for k, v in (settings or {}).items())


class TargetView(ToolOutput):
    platform: str
    account_id: str
    settings: dict[str, str] | None = None
    status: str | None = None
    platform_post_id: str | None = None
    error: str | None = None


class DraftView(ToolOutput):
    """A draft as a person or a model needs to see it to decide."""

    draft_id: str
    version: int
    state: DraftState
    kind: str
    text: str
    title: str | None = None
    targets: list[TargetView]
    media_urls: list[str] = Field(default_factory=list)
    tags: list[str] = Field(default_factory=list)
    publish_now: bool
    scheduled_for: TimeView | None = None
    requested_by: str
    post_id: str | None = None
    error: str | None = None
    warnings: list[str] = Field(default_factory=list)
    next_step: str | None = None
    confirmation_token: str | None = None


def _targets_of(draft: Draft) -> list[TargetView]:
    results = {(r.get("platform"), r.get("account_id")): r for r in draft.target_results}
    views = []
    for target in draft.targets:
        result = results.get((target.platform, target.account_id)) or next(
            (r for r in draft.target_results if r.get("platform") == target.platform), {}
        )
        views.append(TargetView(
            platform=target.platform,
            account_id=target.account_id,
            settings=target_settings(target.metadata),
            status=result.get("status"),
            platform_post_id=result.get("platform_post_id"),
            error=result.get("error"),
        ))
    return views


def requester_label(draft: Draft) -> str:
    if draft.requester_kind == "assistant":
        return draft.requester_name if draft.requester_via and draft.requester_name else "an assistant"
    return draft.requester_name or draft.requester_id


def draft_view(draft: Draft, *, next_step: str | None = None, token: str | None = None) -> DraftView:
    return DraftView(
        draft_id=draft.id,
        version=draft.version,
        state=draft.state,
        kind=draft.kind,
        text=draft.text,
        title=draft.title,
        targets=_targets_of(draft),
        media_urls=list(draft.media_urls),
        tags=list(draft.tags),
        publish_now=draft.publish_now,
        scheduled_for=time_view(draft.scheduled_at, draft.timezone) if draft.scheduled_at else None,
        requested_by=requester_label(draft),
        post_id=draft.post_id,
        error=draft.error,
        warnings=[*draft.warnings, *([draft.late_note] if draft.late_note else [])],
        next_step=next_step,
        confirmation_token=token,
    )


class DraftStatus(ToolOutput):
    """Where a draft stands after a decision: enough to confirm it, without repeating the whole post."""

    draft_id: str
    version: int
    state: DraftState
    post_id: str | None = None
    next_step: str


def draft_status(draft: Draft, next_step: str) -> DraftStatus:
    return DraftStatus(draft_id=draft.id, version=draft.version, state=draft.state, post_id=draft.post_id,
                       next_step=next_step)


class DraftSummary(ToolOutput):
    draft_id: str
    version: int
    state: DraftState
    platforms: list[str]
    preview: str
    scheduled_for: str | None = None
    post_id: str | None = None


def draft_summary(draft: Draft | DraftBrief) -> DraftSummary:
    return DraftSummary(
        draft_id=draft.id,
        version=draft.version,
        state=draft.state,
        platforms=draft.platforms,
        preview=preview(draft.text, 80),
        scheduled_for=time_echo(draft.scheduled_at, draft.timezone) if draft.scheduled_at else None,
        post_id=draft.post_id,
    )


class PostView(ToolOutput):
    post_id: str
    status: str
    text: str
    title: str | None = None
    targets: list[TargetView] = Field(default_factory=list)
    media_urls: list[str] = Field(default_factory=list)
    scheduled_for: TimeView | None = None
    created_at: datetime | None = None


def post_view(post: Post, zone: str, *, full_text: bool = False) -> PostView:
    media = list(post.media_urls) or [m.url for m in post.media]
    return PostView(
        post_id=post.id,
        status=post.status,
        text=(post.text or "") if full_text else preview(post.text),
        title=post.title,
        targets=[
            TargetView(platform=t.platform, account_id=t.account_id or "", status=t.status,
                       platform_post_id=t.platform_post_id, error=t.error)
            for t in post.targets
        ],
        media_urls=media,
        scheduled_for=time_view(post.scheduled_at, zone) if post.scheduled_at else None,
        created_at=post.created_at,
    )
