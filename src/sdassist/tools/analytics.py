"""Analytics: one tool for a post, an account, or the whole workspace.

The workspace overview is SocialDock's (`GET /analytics/overview`); the period before it and the top posts
are added from the post list and the recent posts' own analytics, since SocialDock reports one period at a
time. A chart of the same figures goes with the answer where a face can show it (`tools.charts`).
"""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta
from itertools import pairwise
from typing import Literal

from pydantic import Field, model_validator

from sdassist.client.models import AccountMetrics, EngagementMetrics, Overview, Period, PlatformSummary, Post
from sdassist.publishing.drafts import as_utc, utcnow
from sdassist.tools.base import Tool, ToolContext, ToolInput, ToolKind, ToolOutput, Toolset
from sdassist.tools.charts import analytics_chart
from sdassist.tools.fields import AccountId, PostId
from sdassist.tools.views import preview

PERIOD_DAYS = {"7d": 7, "30d": 30, "90d": 90}
LIST_PAGES = 10  # of 100 posts: how far back the post list is read for the period before
TOP_FROM = 10  # the most recent posts whose analytics rank the top posts
TOP_SHOWN = 3


class AnalyticsInput(ToolInput):
    post_id: PostId | None = Field(default=None, description="A post's engagement (post_…).")
    account_id: AccountId | None = Field(default=None, description="An account's followers and growth (acc_…).")
    period: Period = Field(default="30d", description="For the workspace overview.")

    @model_validator(mode="after")
    def _one_scope(self) -> AnalyticsInput:
        if self.post_id and self.account_id:
            raise ValueError("give post_id or account_id, not both (neither gives the workspace overview)")
        return self


class PlatformEngagement(ToolOutput):
    platform: str
    metrics: EngagementMetrics | None = Field(
        default=None, description="Absent where the platform offers no analytics.")


class TopPost(ToolOutput):
    post_id: str
    views: int
    engagement: int = Field(description="Likes + comments + shares.")
    text: str | None = None


class PreviousPeriod(ToolOutput):
    total_posts: int
    success_rate: float | None = None
    platform_posts: dict[str, int]


class AnalyticsView(ToolOutput):
    scope: Literal["post", "account", "workspace"]
    post_id: str | None = None
    post_targets: list[PlatformEngagement] | None = None
    account_id: str | None = None
    platform: str | None = None
    account_metrics: AccountMetrics | None = None
    period: str | None = None
    total_posts: int | None = None
    success_rate: float | None = None
    platforms: dict[str, PlatformSummary] | None = None
    previous: PreviousPeriod | None = Field(default=None, description="The period before, for comparison.")
    top_posts: list[TopPost] | None = Field(default=None, description="Most viewed of the recent posts.")


async def get_analytics(ctx: ToolContext, inp: AnalyticsInput) -> AnalyticsView:
    if inp.post_id:
        stats = await ctx.client.posts.analytics(inp.post_id)
        return AnalyticsView(scope="post", post_id=stats.post_id, post_targets=[
            PlatformEngagement(platform=t.platform, metrics=t.metrics) for t in stats.targets])
    if inp.account_id:
        account = await ctx.client.accounts.analytics(inp.account_id)
        return AnalyticsView(scope="account", account_id=inp.account_id, platform=account.platform,
                             account_metrics=account.metrics)
    overview = await ctx.client.analytics.overview(period=inp.period)
    now = utcnow()
    days = timedelta(days=PERIOD_DAYS[inp.period])
    posts = await _posts_since(ctx, now - 2 * days)
    return AnalyticsView(scope="workspace", period=inp.period, total_posts=overview.summary.total_posts,
                         success_rate=overview.summary.success_rate, platforms=overview.platforms,
                         previous=None if posts is None else _period(posts, now - 2 * days, now - days),
                         top_posts=await _top_posts(ctx, overview, posts or []))


async def _posts_since(ctx: ToolContext, since: datetime) -> list[Post] | None:
    """Posts created since `since`, from the post list; None when it is too long to read whole.

    The docs do not say how the list is ordered: a list that comes newest first is read only as far back as
    needed, any other order to its end."""
    found: list[Post] = []
    stamps: list[datetime] = []
    for _ in range(LIST_PAGES):
        page = await ctx.client.posts.list(limit=100, offset=len(found))
        found += page.posts
        stamps += [as_utc(p.created_at) for p in page.posts if p.created_at]  # type: ignore[misc]
        newest_first = all(a >= b for a, b in pairwise(stamps))
        if not page.posts or len(found) >= page.total or (newest_first and stamps and stamps[-1] < since):
            return [p for p in found if p.created_at and as_utc(p.created_at) >= since]  # type: ignore[operator]
    return None


def _period(posts: list[Post], start: datetime, end: datetime) -> PreviousPeriod:
    """Totals of posts created in [start, end), counted as the overview counts them."""
    chosen = [p for p in posts if start <= as_utc(p.created_at) < end]  # type: ignore[operator]
    per_platform: dict[str, int] = {}
    published = finished = 0
    for post in chosen:
        for target in post.targets:
            per_platform[target.platform] = per_platform.get(target.platform, 0) + 1
            status = target.status or post.status
            finished += status in ("published", "failed")
            published += status == "published"
    rate = round(100 * published / finished, 1) if finished else None
    return PreviousPeriod(total_posts=len(chosen), success_rate=rate, platform_posts=per_platform)


async def _top_posts(ctx: ToolContext, overview: Overview, posts: list[Post]) -> list[TopPost]:
    """The most viewed of the most recent published posts, by their own analytics."""
    recent = [p.post_id for p in overview.recent_posts if p.status == "published"][:TOP_FROM]
    texts = {p.id: p.text for p in posts}
    stats = await asyncio.gather(*(ctx.client.posts.analytics(pid) for pid in recent), return_exceptions=True)
    ranked: list[TopPost] = []
    for post_id, stat in zip(recent, stats, strict=True):
        if isinstance(stat, BaseException):
            continue  # one post's analytics failing leaves it out of the ranking, not the whole answer
        metrics = [t.metrics for t in stat.targets if t.metrics is not None]
        views = sum(m.views for m in metrics)
        engagement = sum(m.likes + m.comments + m.shares for m in metrics)
        text = texts.get(post_id)
        ranked.append(TopPost(post_id=post_id, views=views, engagement=engagement,
                              text=preview(text, 80) if text else None))
    ranked.sort(key=lambda t: (-t.views, -t.engagement))
    return ranked[:TOP_SHOWN]


TOOLS = [
    Tool(
        name="get_analytics", title="Get analytics",
        description="Engagement of a post (views, likes, comments, shares per platform), an account's followers "
                    "and growth, or, with neither id, the workspace overview.",
        input_model=AnalyticsInput, output_model=AnalyticsView, kind=ToolKind.READ, toolset=Toolset.ANALYTICS,
        handler=get_analytics, attachments=analytics_chart,
    ),
]
