"""Analytics with the period before and the top posts, from the sandbox's own figures; the chart is a real PNG."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from sdassist.tools import get_tool
from sdassist.tools.base import attachments_of
from tests.tools.conftest import call, sandbox_control


async def publish(runtime: Any, text: str, targets: list[str]) -> str:
    draft = await call(runtime, "draft_post", text=text, targets=targets, publish_now=True)
    done = await call(runtime, "approve_draft", draft_id=draft.draft_id, version=draft.version)
    assert done.state == "published", done
    return done.post_id


async def set_sandbox_clock(runtime: Any, at: datetime) -> None:
    await sandbox_control(runtime, "POST", "/_sandbox/clock", json={"now": at.isoformat()})


async def test_workspace_analytics_compares_with_the_period_before_and_ranks_recent_posts(runtime: Any) -> None:
    now = datetime.now(UTC)
    await set_sandbox_clock(runtime, now - timedelta(days=10))
    for i in range(2):
        await publish(runtime, f"Old news {i}", ["instagram"])
    await set_sandbox_clock(runtime, now - timedelta(hours=30))  # old enough to have gathered some views
    fresh = [await publish(runtime, f"Fresh {i}", ["instagram", "linkedin"]) for i in range(3)]
    await set_sandbox_clock(runtime, now)
    out = await call(runtime, "get_analytics", period="7d")
    assert out.total_posts == 3 and out.platforms["instagram"].posts == 3 and out.platforms["linkedin"].posts == 3
    assert out.previous is not None
    assert out.previous.total_posts == 2 and out.previous.platform_posts == {"instagram": 2}
    assert out.previous.success_rate == 100.0
    assert [t.post_id for t in out.top_posts] and {t.post_id for t in out.top_posts} <= set(fresh)
    assert out.top_posts == sorted(out.top_posts, key=lambda t: -t.views)
    assert out.top_posts[0].views > 0 and out.top_posts[0].text.startswith("Fresh")

    [chart] = await attachments_of(get_tool("get_analytics"), out)
    assert chart.mime_type == "image/png" and chart.data.startswith(b"\x89PNG\r\n\x1a\n") and len(chart.data) > 5000


async def test_post_and_account_analytics_have_charts_too(runtime: Any) -> None:
    post_id = await publish(runtime, "Chart me", ["instagram", "threads"])
    post = await call(runtime, "get_analytics", post_id=post_id)
    [chart] = await attachments_of(get_tool("get_analytics"), post)
    assert chart.data.startswith(b"\x89PNG") and post_id in chart.title
    account = (await call(runtime, "list_accounts", platform="instagram")).accounts[0]
    view = await call(runtime, "get_analytics", account_id=account.id)
    [chart] = await attachments_of(get_tool("get_analytics"), view)
    assert chart.data.startswith(b"\x89PNG")


async def test_without_matplotlib_there_is_no_chart_and_no_failure(runtime: Any,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    from sdassist.tools import charts

    monkeypatch.setattr(charts, "charts_available", lambda: False)
    out = await call(runtime, "get_analytics")
    assert await attachments_of(get_tool("get_analytics"), out) == []
