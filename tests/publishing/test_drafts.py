"""The draft model and its state machine, checked over every pair of states."""

from __future__ import annotations

import itertools
import re
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from sdassist.publishing.drafts import (
    TERMINAL_STATES,
    TRANSITIONS,
    DraftExpired,
    DraftNotFound,
    DraftState,
    InvalidTransition,
    StaleApproval,
    StaleVersion,
    new_draft,
    new_draft_id,
)
from sdassist.publishing.store import DraftStore
from tests.publishing.conftest import ALICE, BOB, force_state, make_draft

S = DraftState
ALLOWED = {
    (S.PENDING, S.PUBLISHING), (S.PENDING, S.REJECTED), (S.PENDING, S.EXPIRED), (S.PENDING, S.CANCELLED),
    (S.PENDING, S.PENDING),
    (S.PUBLISHING, S.SCHEDULED), (S.PUBLISHING, S.PUBLISHED), (S.PUBLISHING, S.FAILED),
    (S.PUBLISHING, S.UNKNOWN),
    (S.UNKNOWN, S.SCHEDULED), (S.UNKNOWN, S.PUBLISHED), (S.UNKNOWN, S.FAILED),
    (S.FAILED, S.PENDING), (S.FAILED, S.CANCELLED),
    # an earlier request, first not found on SocialDock, landed late
    (S.PENDING, S.SCHEDULED), (S.PENDING, S.PUBLISHED), (S.FAILED, S.SCHEDULED), (S.FAILED, S.PUBLISHED),
    (S.SCHEDULED, S.PUBLISHED), (S.SCHEDULED, S.FAILED), (S.SCHEDULED, S.CANCELLED),
}
ALL_PAIRS = list(itertools.product(DraftState, DraftState))


def test_the_table_is_exactly_the_design() -> None:
    table = {(a, b) for a, nxt in TRANSITIONS.items() for b in nxt}
    assert table == ALLOWED
    assert set(TRANSITIONS) == set(DraftState)
    assert {S.PUBLISHED, S.REJECTED, S.EXPIRED, S.CANCELLED} == TERMINAL_STATES


@pytest.mark.parametrize(("source", "target"), ALL_PAIRS, ids=lambda s: str(s))
async def test_every_transition_in_the_store(store: DraftStore, source: DraftState, target: DraftState) -> None:
    draft = await store.add(make_draft(), ALICE)
    if source != S.PENDING:
        await force_state(store, draft.id, source)
    if (source, target) in ALLOWED:
        moved = await store.transition(draft.id, to=target, actor=BOB, expected_state=source)
        assert moved is not None
        assert moved.state == target
        assert (await store.get(draft.id)).state == target
        assert (await store.decisions(draft.id))[-1].to_state == target
    else:
        with pytest.raises(InvalidTransition) as info:
            await store.transition(draft.id, to=target, actor=BOB, expected_state=source)
        message = str(info.value)
        if source == target:  # cancelling twice: it is already there
            assert f"is already {source}" in message
        else:
            assert f"from {source}" in message and f"to {target}" in message
        assert ":" in message  # followed by what the user can do instead
        assert (await store.get(draft.id)).state == source


def test_new_draft_defaults() -> None:
    now = datetime(2030, 1, 1, 12, tzinfo=UTC)
    slot = now + timedelta(hours=5)
    draft = make_draft(scheduled_at=slot, now=now, timezone="Europe/Berlin", time_phrase="today 18:00")
    assert re.fullmatch(r"drf_[0-9a-z]{26}", draft.id)
    assert draft.state == S.PENDING and draft.version == 1
    assert draft.requester_id == ALICE.id and draft.requester_face == "slack"
    assert draft.requester == ALICE
    assert draft.created_at == draft.updated_at == now
    assert draft.expires_at == slot  # the slot comes before the 72 h TTL

    later = make_draft(scheduled_at=now + timedelta(days=30), now=now)
    assert later.expires_at == now + timedelta(hours=72)
    immediate = make_draft(publish_now=True, now=now, ttl=timedelta(hours=1))
    assert immediate.scheduled_at is None and immediate.expires_at == now + timedelta(hours=1)


def test_ids_are_unique_and_time_sortable() -> None:
    ids = [new_draft_id(datetime(2030, 1, 1, tzinfo=UTC) + timedelta(seconds=i)) for i in range(50)]
    assert ids == sorted(ids)
    assert len(set(new_draft_id() for _ in range(1000))) == 1000


def test_times_are_normalised_to_utc() -> None:
    berlin = datetime(2030, 6, 1, 9, 0, tzinfo=ZoneInfo("Europe/Berlin"))
    draft = make_draft(scheduled_at=berlin)
    assert draft.scheduled_at == berlin
    assert draft.scheduled_at.utcoffset() == timedelta(0)
    assert draft.scheduled_at.hour == 7


def test_scheduled_draft_needs_a_time() -> None:
    with pytest.raises(ValueError, match="scheduled_at"):
        new_draft(text="x", targets=[], requester=ALICE, publish_now=False)
    with pytest.raises(ValueError, match="post_id"):
        new_draft(text="x", targets=[], requester=ALICE, publish_now=True, kind="update")


def test_post_create_always_says_publish_now() -> None:
    slot = datetime(2030, 1, 1, 9, tzinfo=UTC)
    scheduled = make_draft(scheduled_at=slot, title="T", tags=["a"], media_urls=["https://x/y.png"])
    body = scheduled.to_post_create().model_dump(mode="json", exclude_none=True)
    assert body["publish_now"] is False
    assert body["scheduled_at"].startswith("2030-01-01T09:00:00")
    assert body["targets"] == [{"platform": "linkedin", "account_id": "acc_linkedin"}]
    assert body["title"] == "T" and body["tags"] == ["a"] and body["media_urls"] == ["https://x/y.png"]

    now = make_draft(publish_now=True).to_post_create().model_dump(mode="json", exclude_none=True)
    assert now["publish_now"] is True
    assert "scheduled_at" not in now


def test_post_update_for_update_drafts() -> None:
    slot = datetime(2030, 1, 1, 9, tzinfo=UTC)
    draft = make_draft(scheduled_at=slot, kind="update", post_id="post_1", text="new text")
    body = draft.to_post_update().model_dump(mode="json", exclude_none=True)
    assert body["text"] == "new text" and body["scheduled_at"].startswith("2030-01-01T09:00")
    with pytest.raises(ValueError, match="to_post_update"):
        draft.to_post_create()


def test_error_messages_say_what_to_do() -> None:
    assert "list_drafts" in str(DraftNotFound("drf_x"))
    assert "version 2" in str(StaleVersion("drf_x", 1, 2))
    stale = str(StaleApproval("drf_x", 1, S.PUBLISHED, 1))
    assert "current state published version 1" in stale and "new draft" in stale
    assert "new draft" in str(DraftExpired("drf_x", "its time passed"))


def test_one_timing_rule_for_new_and_edited_drafts() -> None:
    from datetime import UTC, datetime, timedelta

    from sdassist.publishing.drafts import schedule_and_expiry

    now = datetime(2026, 1, 1, 9, tzinfo=UTC)
    hour = timedelta(hours=1)
    assert schedule_and_expiry(publish_now=True, scheduled_at=now + hour, now=now, ttl=hour * 72) == (
        None, now + hour * 72)
    assert schedule_and_expiry(publish_now=False, scheduled_at=now + hour, now=now, ttl=hour * 72) == (
        now + hour, now + hour)
    assert schedule_and_expiry(publish_now=False, scheduled_at=now + hour * 99, now=now, ttl=hour * 2) == (
        now + hour * 99, now + hour * 2)
    with pytest.raises(ValueError, match="needs scheduled_at"):
        schedule_and_expiry(publish_now=False, scheduled_at=None, now=now, ttl=hour)


def test_a_move_to_the_state_a_draft_is_in_says_it_is_already_there() -> None:
    """Cancelling twice said "cannot move draft … from cancelled to cancelled"."""
    from sdassist.publishing.drafts import InvalidTransition

    assert str(InvalidTransition(DraftState.CANCELLED, DraftState.CANCELLED, "drf_1")) == \
        "draft drf_1 is already cancelled: it was cancelled: create a new draft"
    assert str(InvalidTransition(DraftState.PUBLISHED, DraftState.CANCELLED, "drf_1")).startswith(
        "cannot move draft drf_1 from published to cancelled: ")
