"""Posting caps in Slack: the Approve click that would be one post too many is refused privately, with the count."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sdassist.publishing.drafts import DraftState, Principal, new_draft
from sdassist.tools import get_tool
from tests.publishing.conftest import force_state
from tests.slack.conftest import APPROVER, REQUESTER, Harness

ASKER = Principal(id=REQUESTER, kind="human", face="slack", name="asker")


async def test_the_approve_click_over_the_instagram_cap_is_refused_with_the_count(h: Harness) -> None:
    ctx = h.rt.context(ASKER, zone="UTC")
    account = (await get_tool("list_accounts").run(ctx, {"platform": "instagram"})).accounts[0]
    at = (datetime.now(UTC) + timedelta(days=2)).replace(hour=9, minute=0, second=0, microsecond=0)
    for i in range(49):
        sent = new_draft(text=f"already out {i}", targets=[{"platform": "instagram", "account_id": account.id}],
                         requester=ASKER, publish_now=False, scheduled_at=at - timedelta(minutes=i + 1))
        await h.rt.store.add(sent, ASKER)
        await force_state(h.rt.store, sent.id, DraftState.SCHEDULED)
    when = f"{at:%Y-%m-%d} 09:00 UTC"
    first = await get_tool("draft_post").run(ctx, {"text": "fiftieth", "targets": ["instagram"], "when": when})
    second = await get_tool("draft_post").run(ctx, {"text": "fifty-first", "targets": ["instagram"], "when": when})
    await h.card_of(first.draft_id)
    await h.card_of(second.draft_id)
    await h.click("sd_approve", first.draft_id, 1)
    assert (await h.wait_state(first.draft_id, DraftState.SCHEDULED)).state == DraftState.SCHEDULED
    await h.click("sd_approve", second.draft_id, 1)
    said = await h.fake.wait_for("chat.postEphemeral", where=lambda p: p["user"] == APPROVER)
    assert f"instagram {account.handle}: 50 posts already in the 24 h around" in said[-1]["text"]
    assert "the cap is 50" in said[-1]["text"]
    kept = await h.rt.store.get(second.draft_id)
    assert kept.state == DraftState.PENDING and kept.version == 1
    assert await h.posts_on_sandbox() == 1  # only the fiftieth went to SocialDock
