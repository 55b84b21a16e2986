"""`/socialdock analytics`: a readable summary privately, and the chart uploaded with files:write (as real HTTP)."""

from __future__ import annotations

import pytest

from sdassist.publishing.drafts import Principal
from sdassist.tools import get_tool
from tests.slack.conftest import APPROVER, REQUESTER, Harness

ASKER = Principal(id=REQUESTER, kind="human", face="slack", name="asker")
BOSS = Principal(id=APPROVER, kind="human", face="slack", name="boss")


async def published(h: Harness, text: str, targets: list[str]) -> str:
    draft = await get_tool("draft_post").run(h.rt.context(ASKER), {"text": text, "targets": targets,
                                                                    "publish_now": True})
    done = await get_tool("approve_draft").run(h.rt.context(BOSS), {"draft_id": draft.draft_id, "version": 1})
    assert done.state == "published"
    return done.post_id


async def private_answer(h: Harness, text: str) -> str:
    before = len(h.fake.of("response_url"))
    assert (await h.command(text)).status == 200
    return (await h.fake.wait_for("response_url", before + 1, timeout=15))[before]["text"]


async def test_workspace_analytics_summary_and_chart_uploaded_to_the_conversation(h: Harness) -> None:
    await published(h, "Hello analytics", ["instagram", "linkedin"])
    text = await private_answer(h, "analytics 7d")
    assert "*Workspace analytics, last 7 days*" in text
    assert "Platform" in text and "Instagram" in text and "LinkedIn" in text and "Reach" in text
    assert "Before" in text and "Change" in text and "*Top posts*" in text and "Hello analytics" in text
    [complete] = await h.fake.wait_for("files.completeUploadExternal", timeout=15)
    assert complete["channel_id"] == "C0GENERAL"
    [upload] = [u for u in h.fake.uploads.values() if u["completed"]]
    assert upload["content"].startswith(b"\x89PNG\r\n\x1a\n") and upload["length"] == len(upload["content"])
    assert upload["name"] == "analytics-workspace.png" and "workspace" in upload["title"]


async def test_post_analytics_table_and_chart(h: Harness) -> None:
    post_id = await published(h, "One post", ["instagram", "threads"])
    text = await private_answer(h, f"analytics {post_id}")
    assert f"*Analytics of post `{post_id}`*" in text and "Views" in text and "Instagram" in text
    assert "No analytics on Threads" in text
    await h.fake.wait_for("files.completeUploadExternal", timeout=15)


async def test_a_channel_the_bot_is_not_in_gets_the_summary_and_says_why_no_chart(h: Harness) -> None:
    await published(h, "Somewhere else", ["linkedin"])
    h.fake.fail_methods["files.completeUploadExternal"] = "not_in_channel"
    await private_answer(h, "analytics")
    said = await h.fake.wait_for("response_url", 2, timeout=15)
    assert "could not be posted here (not_in_channel)" in said[1]["text"]
    assert "invite @SocialDock" in said[1]["text"]


async def test_without_the_charts_extra_the_summary_says_how_to_get_the_chart(h: Harness,
                                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    from sdassist.slack import analytics
    from sdassist.tools import charts

    monkeypatch.setattr(charts, "charts_available", lambda: False)
    monkeypatch.setattr(analytics, "charts_available", lambda: False)
    text = await private_answer(h, "analytics 30d")
    assert "pip install 'sdassist[charts]'" in text
    assert h.fake.of("files.getUploadURLExternal") == []
