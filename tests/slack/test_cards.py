"""The card keeper: a card that failed to update in Slack is tried again; old drafts' cards settle too."""

from __future__ import annotations

import pytest

from sdassist.client.models import Target
from sdassist.publishing.drafts import DraftState, Principal, new_draft
from sdassist.publishing.policy import OPERATOR
from tests.slack.conftest import APPROVER, Harness
from tests.waiting import eventually

pytestmark = pytest.mark.asyncio
ME = Principal(id="cli:tester", kind="operator", face="cli", name=OPERATOR)


async def drafted(h: Harness) -> str:
    await h.command('schedule "Launch day!" tomorrow 9am on instagram')
    draft = await h.latest_draft()
    await h.card_of(draft.id)
    return draft.id


async def test_a_settle_that_slack_refused_is_tried_again(h: Harness) -> None:
    draft_id = await drafted(h)
    h.fake.fail_methods["chat.update"] = "ratelimited"
    await h.click("sd_approve", draft_id, 1, user=APPROVER)
    await h.wait_state(draft_id, "scheduled")
    await h.fake.wait_for("chat.update", 3)
    assert (await h.rt.store.get(draft_id)).face_refs.get("slack_state") == "pending"
    del h.fake.fail_methods["chat.update"]
    await eventually(lambda: h.rt.store.get(draft_id), lambda d: d.face_refs.get("slack_state") == "scheduled",
                     timeout=5, failure=lambda d: f"card still {d.face_refs}")
    await h.fake.wait_for("chat.update", where=lambda p: "Approved by" in str(p.get("blocks")))


async def test_an_old_drafts_card_settles_behind_many_newer_drafts(h: Harness) -> None:
    draft_id = await drafted(h)
    h.fake.fail_methods["chat.update"] = "ratelimited"
    h.fake.fail_methods["chat.postMessage"] = "ratelimited"
    await h.click("sd_approve", draft_id, 1, user=APPROVER)
    await h.wait_state(draft_id, "scheduled")
    for _ in range(60):
        newer = await h.rt.store.add(new_draft(text="newer", publish_now=True, requester=ME, targets=[
            Target(platform="facebook", account_id="acc_x")]), ME)
        await h.rt.store.transition(newer.id, to=DraftState.CANCELLED, actor=ME, expected_state=DraftState.PENDING)
    h.fake.fail_methods.clear()
    await eventually(lambda: h.rt.store.get(draft_id), lambda d: d.face_refs.get("slack_state") == "scheduled",
                     timeout=5, failure=lambda d: f"card still {d.face_refs}")


async def test_the_poller_follows_changes_not_the_newest_drafts(h: Harness, monkeypatch: pytest.MonkeyPatch) -> None:
    """After its first round the poller reads what changed, so an old draft decided elsewhere (another
    process, no notifier) gets its card settled however many newer drafts there are."""
    from sdassist.slack import cards

    monkeypatch.setattr(cards, "MOVING_SCAN", 1)
    monkeypatch.setattr(cards, "ENDED_SCAN", 1)
    draft_id = await drafted(h)
    for _ in range(3):
        newer = await h.rt.store.add(new_draft(text="newer", publish_now=True, requester=ME, targets=[
            Target(platform="facebook", account_id="acc_x")]), ME)
        await h.rt.store.transition(newer.id, to=DraftState.CANCELLED, actor=ME, expected_state=DraftState.PENDING)
    await h.rt.store.transition(draft_id, to=DraftState.REJECTED, actor=Principal(
        id=APPROVER, kind="human", face="slack"), expected_state=DraftState.PENDING, note="too early")
    await eventually(lambda: h.rt.store.get(draft_id), lambda d: d.face_refs.get("slack_state") == "rejected",
                     timeout=5, failure=lambda d: f"card still {d.face_refs}")
