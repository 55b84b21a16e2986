"""The card keeper: a card that failed to update in Slack is tried again; old drafts' cards settle too."""

from __future__ import annotations

import pytest

from sdassist.client.models import Target
from sdassist.publishing.drafts import DraftState, Principal, new_draft
from sdassist.publishing.policy import OPERATOR
from sdassist.slack.cards import settle_claim
from tests.slack.conftest import APPROVER, Harness
from tests.waiting import Rounds, eventually

pytestmark = pytest.mark.asyncio
ME = Principal(id="cli:tester", kind="operator", face="cli", name=OPERATOR)


def poller(h: Harness) -> Rounds:
    assert h.poller is not None
    return h.poller


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
    # the click's own try was one of the three: the next whole round of the poller settles the card
    await poller(h).within(lambda: h.rt.store.get(draft_id), lambda d: d.face_refs.get("slack_state") == "scheduled",
                           rounds=1, failure=lambda d: f"card still {d.face_refs}")
    assert h.fake.of("chat.update", where=lambda p: "Approved by" in str(p.get("blocks")))


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
    await h.fake.wait_for("chat.update", 3)  # the click's try and the poller's are over; the card is behind
    h.fake.fail_methods.clear()
    await poller(h).within(lambda: h.rt.store.get(draft_id), lambda d: d.face_refs.get("slack_state") == "scheduled",
                           rounds=1, failure=lambda d: f"card still {d.face_refs}")


async def test_a_card_claimed_elsewhere_is_looked_at_again_until_it_settles(h: Harness) -> None:
    """The click handler (or another instance) holds the claim on a settle when the poller reads the change;
    its Slack call then fails and it gives the claim back. Nothing changes the draft after that, so the
    poller must look again by itself: it dropped the draft, and the card stayed "pending" for good."""
    draft_id = await drafted(h)
    draft = await h.rt.store.get(draft_id)
    claim = settle_claim(draft.model_copy(update={"state": DraftState.REJECTED}))
    assert await h.rt.store.mark_event_seen(claim)  # another holder is settling the card
    await h.rt.store.transition(draft_id, to=DraftState.REJECTED, actor=Principal(
        id=APPROVER, kind="human", face="slack"), expected_state=DraftState.PENDING, note="too early")
    await poller(h).wait(3)  # the poller has read the change and found the claim taken
    assert (await h.rt.store.get(draft_id)).face_refs.get("slack_state") == "pending"
    assert not h.fake.of("chat.update"), "the poller updated a card another holder had claimed"
    await h.rt.store.forget_event(claim)  # the holder's Slack call failed
    await poller(h).within(lambda: h.rt.store.get(draft_id), lambda d: d.face_refs.get("slack_state") == "rejected",
                           rounds=1, failure=lambda d: f"card still {d.face_refs}")


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
