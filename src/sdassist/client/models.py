"""Pydantic models for every SocialDock request and response.

Responses tolerate new fields (`extra="allow"`); requests refuse unknown ones. The docs name the same
things differently by endpoint (`text` vs `body`, `post_id` vs `id`, `PUT` answering `{"post": …}`):
`Post` accepts all of them and hands out one shape.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, AliasChoices, BaseModel, ConfigDict, Field, model_validator

Platform = Literal["facebook", "instagram", "linkedin", "threads", "tiktok", "reddit", "telegram", "youtube"]
PLATFORMS: tuple[str, ...] = (
    "facebook", "instagram", "linkedin", "threads", "tiktok", "reddit", "telegram", "youtube",
)
PostStatus = Literal["published", "scheduled", "failed"]
WebhookEventName = Literal["post_published", "post_failed"]
Period = Literal["7d", "30d", "90d"]


def _aware(value: datetime) -> datetime:
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError("scheduled_at must carry a time zone (UTC is sent)")
    return value


#: A datetime that knows its zone: a naive one would be sent as whatever zone this machine is in.
AwareDatetime = Annotated[datetime, AfterValidator(_aware)]


class _Response(BaseModel):
    model_config = ConfigDict(extra="allow", populate_by_name=True)


class _Request(BaseModel):
    model_config = ConfigDict(extra="forbid")


# --- accounts ---------------------------------------------------------------------------------------

class Account(_Response):
    id: str
    platform: str
    username: str | None = None
    display_name: str | None = None
    connected_at: datetime | None = None


class ConnectLink(_Response):
    connect_url: str
    token: str
    expires_at: datetime
    platform: str


class AccountState(_Response):
    id: str
    status: str


class AccountStatus(_Response):
    accounts: list[AccountState] = Field(default_factory=list)
    connected_platforms: list[str] = Field(default_factory=list)


class AccountMetrics(_Response):
    followers: int | None = None
    following: int | None = None
    posts: int | None = None
    followers_growth_pct: float | None = None
    avg_engagement_rate: float | None = None


class AccountAnalytics(_Response):
    platform: str
    metrics: AccountMetrics
    fetched_at: datetime | None = None


# --- posts ------------------------------------------------------------------------------------------

class Target(_Request):
    """One destination of a post: a platform account, with platform-specific metadata."""

    platform: Platform
    account_id: str
    metadata: dict[str, Any] | None = None


class PostCreate(_Request):
    """The body of `POST /posts`. `publish_now` has no default here: SocialDock's default (true) is a trap."""

    text: str
    title: str | None = None
    targets: list[Target] = Field(min_length=1)
    media_urls: list[str] = Field(default_factory=list)
    tags: list[str] = Field(default_factory=list)
    scheduled_at: AwareDatetime | None = None
    publish_now: bool

    @model_validator(mode="after")
    def _schedule_needs_a_time(self) -> PostCreate:
        if not self.publish_now and self.scheduled_at is None:
            raise ValueError("scheduled_at is required when publish_now is false")
        return self


class PostUpdate(_Request):
    """The body of `PUT /posts/{id}`: only what changes."""

    text: str | None = None
    title: str | None = None
    scheduled_at: AwareDatetime | None = None
    media_urls: list[str] | None = None
    tags: list[str] | None = None


class TargetResult(_Response):
    platform: str
    status: str | None = None
    account_id: str | None = None
    platform_post_id: str | None = None
    error: str | None = None


class MediaRef(_Response):
    id: str | None = None
    url: str


class Post(_Response):
    """A post as SocialDock reports it, whichever endpoint answered."""

    id: str = Field(validation_alias=AliasChoices("id", "post_id"))
    status: str
    text: str | None = Field(default=None, validation_alias=AliasChoices("text", "body"))
    title: str | None = None
    targets: list[TargetResult] = Field(default_factory=list)
    media: list[MediaRef] = Field(default_factory=list)
    media_urls: list[str] = Field(default_factory=list)
    tags: list[str] = Field(default_factory=list)
    scheduled_at: datetime | None = None
    created_at: datetime | None = None
    published_at: datetime | None = None


class PostPage(_Response):
    posts: list[Post]
    total: int
    limit: int
    offset: int


class EngagementMetrics(_Response):
    views: int = 0
    likes: int = 0
    comments: int = 0
    shares: int = 0


class TargetAnalytics(_Response):
    platform: str
    metrics: EngagementMetrics | None = None


class PostAnalytics(_Response):
    post_id: str
    targets: list[TargetAnalytics] = Field(default_factory=list)


class OverviewSummary(_Response):
    total_posts: int = 0
    success_rate: float | None = None


class PlatformSummary(_Response):
    posts: int = 0
    total_reach: int = 0


class RecentPost(_Response):
    post_id: str
    status: str
    published_at: datetime | None = None


class Overview(_Response):
    summary: OverviewSummary
    platforms: dict[str, PlatformSummary] = Field(default_factory=dict)
    recent_posts: list[RecentPost] = Field(default_factory=list)


# --- media and webhooks -----------------------------------------------------------------------------

class Media(_Response):
    id: str
    url: str
    mime_type: str | None = None


class Webhook(_Response):
    id: str
    url: str
    events: list[str]
    active: bool = True


class WebhookEventData(_Response):
    post_id: str
    platform: str | None = None
    account_id: str | None = None
    status: str | None = None
    platform_post_id: str | None = None
    error: str | None = None


class WebhookEvent(_Response):
    """The body SocialDock POSTs to a webhook (see api-notes.md: the docs leave it out)."""

    id: str | None = None
    event: str
    created_at: datetime | None = None
    data: WebhookEventData

    @property
    def dedup_key(self) -> str:
        """The id, or `(event, post_id, platform)` when a sender leaves the id out."""
        return self.id or f"{self.event}:{self.data.post_id}:{self.data.platform}"
