"""Analytics: one tool for a post, an account, or the whole workspace."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator

from sdassist.client.models import AccountMetrics, EngagementMetrics, Period, PlatformSummary
from sdassist.tools.base import Tool, ToolContext, ToolInput, ToolKind, ToolOutput, Toolset


class AnalyticsInput(ToolInput):
    post_id: str | None = Field(default=None, description="A post's engagement (post_…).")
    account_id: str | None = Field(default=None, description="An account's followers and growth (acc_…).")
    period: Period = Field(default="30d", description="For the workspace overview: 7d, 30d or 90d.")

    @model_validator(mode="after")
    def _one_scope(self) -> AnalyticsInput:
        if self.post_id and self.account_id:
            raise ValueError("give post_id or account_id, not both (neither gives the workspace overview)")
        return self


class PlatformEngagement(ToolOutput):
    platform: str
    metrics: EngagementMetrics | None = Field(
        default=None, description="Absent where the platform offers no analytics.")


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
    return AnalyticsView(scope="workspace", period=inp.period, total_posts=overview.summary.total_posts,
                         success_rate=overview.summary.success_rate, platforms=overview.platforms)


TOOLS = [
    Tool(
        name="get_analytics", title="Get analytics",
        description="Engagement of a post (views, likes, comments, shares per platform), an account's followers "
                    "and growth, or, with neither id, the workspace overview.",
        input_model=AnalyticsInput, output_model=AnalyticsView, kind=ToolKind.READ, toolset=Toolset.ANALYTICS,
        handler=get_analytics,
    ),
]
