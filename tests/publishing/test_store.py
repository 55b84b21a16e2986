"""The draft store: compare-and-set, edits, the decision log, expiry, dedup and surviving a restart."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import textwrap
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from sdassist.publishing.drafts import (
    SYSTEM,
    DraftBrief,
    DraftNotFound,
    DraftState,
    InvalidTransition,
    StaleVersion,
)
from sdassist.publishing.store import DraftStore
from tests.publishing.conftest import ALICE, ASSISTANT, BOB, OPERATOR, force_state, make_draft

S = DraftState


async def test_add_and_get_round_trip(store: DraftStore) -> None:
    draft = make_draft(title="Launch", tags=["news"], face_refs={"slack_channel": "C1"})
    await store.add(draft, ALICE)
    assert await store.get(draft.id) == draft


async def test_every_read_shares_the_reading_connection(store: DraftStore) -> None:
    """Inside `reading()` (one connection; SQLite's pool holds one) every read goes through that connection: a
    read that asked the pool for another would wait for the pool's timeout instead."""
    draft = await store.add(make_draft(), ALICE)

    async def reads() -> list[object]:
        async with store.reading():  # one after the other, as on one connection
            return [await store.get(draft.id), await store.decisions(draft.id), await store.watched(),
                    await store.list(limit=5)]

    found = await asyncio.wait_for(reads(), 5)
    assert found[0] == draft and found[1][0].to_state == S.PENDING and found[2] == [] and found[3] == [draft]


async def test_get_unknown_draft_says_how_to_find_yours(store: DraftStore) -> None:
    with pytest.raises(DraftNotFound, match="no draft with id drf_nope; list_drafts"):
        await store.get("drf_nope")


async def test_cas_only_matching_state_and_version_wins(store: DraftStore) -> None:
    draft = await store.add(make_draft(), ALICE)
    assert await store.transition(draft.id, to=S.PUBLISHING, actor=BOB, expected_state=S.PENDING,
                                  expected_version=2) is None
    won = await store.transition(draft.id, to=S.PUBLISHING, actor=BOB, expected_state=S.PENDING,
                                 expected_version=1, changes={"error": None})
    assert won is not None and won.state == S.PUBLISHING
    # The same request again lost: the draft is no longer pending.
    assert await store.transition(draft.id, to=S.REJECTED, actor=BOB, expected_state=S.PENDING) is None


async def test_fifty_concurrent_transitions_have_one_winner(store: DraftStore) -> None:
    draft = await store.add(make_draft(), ALICE)
    results = await asyncio.gather(*[
        store.transition(draft.id, to=S.PUBLISHING, actor=BOB, expected_state=S.PENDING, expected_version=1)
        for _ in range(50)
    ])
    assert sum(r is not None for r in results) == 1
    decisions = await store.decisions(draft.id)
    assert [(d.from_state, d.to_state) for d in decisions] == [(None, S.PENDING), (S.PENDING, S.PUBLISHING)]


async def test_transition_accepts_several_expected_states(store: DraftStore) -> None:
    draft = await store.add(make_draft(), ALICE)
    await force_state(store, draft.id, S.UNKNOWN)
    won = await store.transition(draft.id, to=S.FAILED, actor=SYSTEM,
                                 expected_state=[S.PUBLISHING, S.UNKNOWN], changes={"error": "gone"})
    assert won is not None and won.error == "gone"
    with pytest.raises(InvalidTransition):  # refused up front, whatever the row holds
        await store.transition(draft.id, to=S.PENDING, actor=BOB, expected_state=[S.FAILED, S.SCHEDULED])


async def test_changes_are_validated(store: DraftStore) -> None:
    draft = await store.add(make_draft(), ALICE)
    with pytest.raises(ValueError, match="no field"):
        await store.transition(draft.id, to=S.PUBLISHING, actor=BOB, expected_state=S.PENDING,
                               changes={"nonsense": 1})
    with pytest.raises(ValueError, match="cannot be changed"):
        await store.transition(draft.id, to=S.PUBLISHING, actor=BOB, expected_state=S.PENDING,
                               changes={"version": 9})
    assert (await store.get(draft.id)).state == S.PENDING


async def test_edit_bumps_version_and_voids_old_approvals(store: DraftStore) -> None:
    draft = await store.add(make_draft(), ALICE)
    edited = await store.edit(draft.id, expected_version=1, changes={"text": "Better text"}, actor=ALICE)
    assert (edited.version, edited.state, edited.text) == (2, S.PENDING, "Better text")
    # An approval bound to version 1 cannot move version 2.
    assert await store.transition(draft.id, to=S.PUBLISHING, actor=BOB, expected_state=S.PENDING,
                                  expected_version=1) is None
    with pytest.raises(StaleVersion, match="now version 2"):
        await store.edit(draft.id, expected_version=1, changes={"text": "Other"}, actor=BOB)


async def test_edit_of_failed_draft_returns_it_to_pending(store: DraftStore) -> None:
    draft = await store.add(make_draft(), ALICE)
    await force_state(store, draft.id, S.FAILED, error="Reddit needs a title", post_id="post_x")
    edited = await store.edit(draft.id, expected_version=1, changes={"title": "A title"}, actor=ALICE)
    assert edited.state == S.PENDING and edited.version == 2
    assert edited.error is None and edited.post_id is None
    assert edited.title == "A title"


async def test_edit_restarts_the_approval_window(store: DraftStore) -> None:
    slot = datetime.now(UTC) + timedelta(hours=3)
    draft = await store.add(make_draft(scheduled_at=slot, now=datetime.now(UTC) - timedelta(hours=1)), ALICE)
    later = datetime.now(UTC) + timedelta(days=10)
    edited = await store.edit(draft.id, expected_version=1, changes={"scheduled_at": later}, actor=ALICE)
    assert edited.scheduled_at == later
    assert edited.expires_at is not None
    assert abs(edited.expires_at - (datetime.now(UTC) + store.draft_ttl)) < timedelta(seconds=10)
    now = await store.edit(draft.id, expected_version=2, changes={"publish_now": True}, actor=ALICE)
    assert now.scheduled_at is None and now.to_post_create().publish_now is True


async def test_edit_refuses_past_drafts_and_fixed_fields(store: DraftStore) -> None:
    draft = await store.add(make_draft(), ALICE)
    with pytest.raises(ValueError, match="cannot be edited"):
        await store.edit(draft.id, expected_version=1, changes={"post_id": "post_1"}, actor=ALICE)
    await force_state(store, draft.id, S.PUBLISHED)
    with pytest.raises(InvalidTransition, match="from published to pending: it is already published"):
        await store.edit(draft.id, expected_version=1, changes={"text": "x"}, actor=ALICE)


async def test_decision_log_records_who_when_where(store: DraftStore) -> None:
    before = datetime.now(UTC)
    draft = await store.add(make_draft(requester=ASSISTANT), ASSISTANT)
    await store.edit(draft.id, expected_version=1, changes={"text": "v2"}, actor=OPERATOR)
    await store.transition(draft.id, to=S.REJECTED, actor=BOB, expected_state=S.PENDING,
                           expected_version=2, note="off brand")
    log = await store.decisions(draft.id)
    assert [(d.actor_id, d.actor_kind, d.face, d.from_state, d.to_state, d.version) for d in log] == [
        ("claude", "assistant", "mcp", None, S.PENDING, 1),
        ("operator", "operator", "cli", S.PENDING, S.PENDING, 2),
        ("U_BOB", "human", "slack", S.PENDING, S.REJECTED, 2),
    ]
    assert log[-1].note == "off brand" and log[0].note == "created"
    assert log[-1].actor_name == "bob"
    for d in log:
        assert d.at.tzinfo is not None and d.at.utcoffset() == timedelta(0)
        assert before - timedelta(seconds=1) <= d.at <= datetime.now(UTC) + timedelta(seconds=1)


async def test_list_filters_newest_first(store: DraftStore) -> None:
    base = datetime.now(UTC) - timedelta(minutes=10)
    drafts = [make_draft(requester=ALICE if i % 2 else BOB, now=base + timedelta(minutes=i)) for i in range(5)]
    for d in drafts:
        await store.add(d, d.requester)
    await force_state(store, drafts[4].id, S.REJECTED)
    assert [d.id for d in await store.list()] == [d.id for d in reversed(drafts)]
    assert [d.id for d in await store.list(states=[S.PENDING], requester_id=ALICE.id)] == [drafts[3].id, drafts[1].id]
    assert len(await store.list(limit=2)) == 2
    await force_state(store, drafts[1].id, S.CANCELLED)
    several = await store.list(states=[S.REJECTED, S.CANCELLED, S.PENDING], limit=4)  # merged across states
    assert [d.id for d in several] == [drafts[4].id, drafts[3].id, drafts[2].id, drafts[1].id]
    assert await store.list(states=[]) == []


async def test_list_breaks_ties_by_id_and_merges_states_newest_first(store: DraftStore) -> None:
    """Drafts made in the same instant come newest id first, also when their states are listed together."""
    at = datetime.now(UTC) - timedelta(minutes=5)
    same = [await store.add(make_draft(now=at), ALICE) for _ in range(4)]
    older = await store.add(make_draft(now=at - timedelta(minutes=1), requester=BOB), BOB)
    await force_state(store, same[1].id, S.FAILED)
    await force_state(store, same[2].id, S.SCHEDULED, post_id="post_2")
    await force_state(store, older.id, S.FAILED)
    by_id = sorted(same, key=lambda d: d.id, reverse=True)
    assert [d.id for d in await store.list()] == [*(d.id for d in by_id), older.id]
    assert [d.id for d in await store.list(states=[S.FAILED, S.SCHEDULED, S.PENDING], limit=3)] == [
        d.id for d in by_id[:3]]
    assert [d.id for d in await store.list(states=[S.FAILED])] == [same[1].id, older.id]
    assert [d.id for d in await store.list(states=[S.FAILED, S.UNKNOWN], requester_id=BOB.id)] == [older.id]
    assert [d.id for d in await store.list(states=list(S), limit=10)] == [d.id for d in await store.list(limit=10)]


async def test_briefs_are_what_list_finds_without_validating_drafts_whole(store: DraftStore) -> None:
    """Every filter of `list` gives the same drafts, in the same order, through `briefs`; each brief carries
    exactly the draft's own values (several targets, a zone, a post id, a publish-now draft, a long text)."""
    base = datetime.now(UTC) - timedelta(hours=1)
    berlin = datetime(2031, 3, 4, 9, 0, tzinfo=ZoneInfo("Europe/Berlin"))
    made = [
        make_draft(now=base, text="Line one\nline two " + "long " * 60,
                   targets=[{"platform": "linkedin", "account_id": "acc_linkedin"},
                            {"platform": "threads", "account_id": "acc_threads"}],
                   scheduled_at=berlin, timezone="Europe/Berlin"),
        make_draft(now=base + timedelta(minutes=1), requester=BOB, publish_now=True),
        make_draft(now=base + timedelta(minutes=2), text="Grüße \u2014 ünïcode"),
        make_draft(now=base + timedelta(minutes=3), requester=BOB, timezone="America/New_York"),
        make_draft(now=base + timedelta(minutes=4)),
    ]
    for draft in made:
        await store.add(draft, draft.requester)
    await force_state(store, made[0].id, S.SCHEDULED, post_id="post_abc")
    await force_state(store, made[1].id, S.FAILED)
    await force_state(store, made[3].id, S.PUBLISHED, post_id="post_def")
    filters = [{}, {"limit": 2}, {"states": [S.PENDING]}, {"states": [S.FAILED, S.SCHEDULED, S.PUBLISHED]},
               {"states": [S.SCHEDULED, S.PENDING], "limit": 2}, {"requester_id": BOB.id},
               {"requester_id": ALICE.id, "states": [S.PENDING, S.SCHEDULED]}, {"states": list(S)},
               {"states": [S.UNKNOWN]}, {"states": []}, {"requester_id": "U_NOBODY"}]
    for which in filters:
        drafts = await store.list(**which)
        assert await store.briefs(**which) == [DraftBrief.of(d) for d in drafts], which
    first = (await store.briefs(states=[S.SCHEDULED]))[0]
    assert first.platforms == ["linkedin", "threads"] and first.timezone == "Europe/Berlin"
    assert first.scheduled_at == berlin and first.post_id == "post_abc" and first.text.startswith("Line one\n")
    assert (await store.briefs(states=[S.FAILED]))[0].scheduled_at is None


async def test_face_refs_merge_without_version_bump(store: DraftStore) -> None:
    draft = await store.add(make_draft(face_refs={"slack_channel": "C1"}), ALICE)
    await store.set_face_refs(draft.id, slack_ts="123.45")
    got = await store.get(draft.id)
    assert got.face_refs == {"slack_channel": "C1", "slack_ts": "123.45"}
    assert got.version == 1 and len(await store.decisions(draft.id)) == 1


async def test_find_by_post_id(store: DraftStore) -> None:
    draft = await store.add(make_draft(), ALICE)
    await force_state(store, draft.id, S.SCHEDULED, post_id="post_abc")
    update = await store.add(make_draft(kind="update", post_id="post_abc"), ALICE)
    found = await store.find_by_post_id("post_abc")
    assert found is not None and found.id == draft.id  # the creator, not the later change
    assert update.post_id == "post_abc"
    assert await store.find_by_post_id("post_other") is None


async def test_mark_event_seen_once(store: DraftStore, database_url: str) -> None:
    assert await store.mark_event_seen("evt_1") is True
    assert await store.mark_event_seen("evt_1") is False
    assert await store.mark_event_seen("evt_2") is True
    other = await DraftStore.open(database_url)  # another process would share only the database
    try:
        assert await other.mark_event_seen("evt_1") is False
    finally:
        await other.close()


async def test_concurrent_event_marks_have_one_first(store: DraftStore) -> None:
    results = await asyncio.gather(*[store.mark_event_seen("evt_same") for _ in range(20)])
    assert results.count(True) == 1


async def test_expire_due_slot_passed_and_ttl(store: DraftStore) -> None:
    now = datetime.now(UTC)
    past_slot = await store.add(make_draft(scheduled_at=now - timedelta(minutes=1),
                                           now=now - timedelta(hours=1)), ALICE)
    ttl_over = await store.add(make_draft(publish_now=True, now=now - timedelta(hours=2),
                                          ttl=timedelta(hours=1)), ALICE)
    fresh = await store.add(make_draft(scheduled_at=now + timedelta(hours=1)), ALICE)
    approved = await store.add(make_draft(scheduled_at=now - timedelta(minutes=1)), ALICE)
    await force_state(store, approved.id, S.SCHEDULED)

    expired = await store.expire_due(now)
    assert {d.id for d in expired} == {past_slot.id, ttl_over.id}
    assert (await store.get(past_slot.id)).state == S.EXPIRED
    assert "passed before it was approved" in (await store.get(past_slot.id)).error
    assert "nobody approved it" in (await store.get(ttl_over.id)).error
    assert (await store.get(fresh.id)).state == S.PENDING
    assert (await store.get(approved.id)).state == S.SCHEDULED
    log = await store.decisions(past_slot.id)
    assert log[-1].actor_id == SYSTEM.id and log[-1].face == "system"
    assert await store.expire_due(now) == []


async def test_datetimes_come_back_utc_aware(store: DraftStore) -> None:
    tokyo = datetime(2031, 3, 4, 9, 30, 15, 123456, tzinfo=ZoneInfo("Asia/Tokyo"))
    created = datetime(2031, 3, 3, tzinfo=UTC)
    draft = await store.add(make_draft(scheduled_at=tokyo, timezone="Asia/Tokyo", now=created), ALICE)
    got = await store.get(draft.id)
    for value in (got.scheduled_at, got.created_at, got.updated_at, got.expires_at):
        assert value is not None and value.utcoffset() == timedelta(0)
    assert got.scheduled_at == tokyo
    assert got.timezone == "Asia/Tokyo"
    # The indexed columns compare in UTC too: a draft due at 00:30 UTC is not due at 00:29 UTC.
    assert await store.expire_due(datetime(2031, 3, 4, 0, 29, tzinfo=UTC)) == []
    assert [d.id for d in await store.expire_due(datetime(2031, 3, 4, 0, 31, tzinfo=UTC))] == [draft.id]


async def test_drafts_survive_a_restart(database_url: str) -> None:
    first = await DraftStore.open(database_url)
    draft = await first.add(make_draft(), ALICE)
    await first.transition(draft.id, to=S.PUBLISHING, actor=BOB, expected_state=S.PENDING, expected_version=1)
    await first.close()

    second = await DraftStore.open(database_url)
    try:
        got = await second.get(draft.id)
        assert got.state == S.PUBLISHING
        assert len(await second.decisions(draft.id)) == 2
    finally:
        await second.close()


async def test_drafts_survive_into_a_fresh_process(database_url: str) -> None:
    store = await DraftStore.open(database_url)
    draft = await store.add(make_draft(scheduled_at=datetime(2031, 1, 1, 8, tzinfo=UTC)), ALICE)
    await store.set_face_refs(draft.id, slack_ts="1.2")
    await store.close()
    script = textwrap.dedent(f"""
        import asyncio, json
        from sdassist.publishing.store import DraftStore
        async def main():
            store = await DraftStore.open({database_url!r})
            d = await store.get({draft.id!r})
            seen = await store.mark_event_seen("evt_from_child")
            await store.close()
            print(json.dumps({{"state": d.state, "at": d.scheduled_at.isoformat(), "refs": d.face_refs,
                               "seen": seen}}))
        asyncio.run(main())
    """)
    out = await asyncio.to_thread(
        subprocess.run, [sys.executable, "-c", script], capture_output=True, text=True, timeout=60, check=True
    )
    data = json.loads(out.stdout.strip().splitlines()[-1])
    assert data == {"state": "pending", "at": "2031-01-01T08:00:00+00:00", "refs": {"slack_ts": "1.2"},
                    "seen": True}
    again = await DraftStore.open(database_url)
    try:
        assert await again.mark_event_seen("evt_from_child") is False
    finally:
        await again.close()


async def test_open_creates_the_sqlite_directory(tmp_path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'deep' / 'er' / 'x.db'}"
    store = await DraftStore.open(url)
    await store.close()
    assert (tmp_path / "deep" / "er" / "x.db").exists()


async def test_an_older_database_gets_the_indexes_added_since(database_url: str) -> None:
    from sqlalchemy import inspect, text

    store = await DraftStore.open(database_url)
    async with store._engine.begin() as conn:
        await conn.execute(text("DROP INDEX ix_sdassist_drafts_scheduled_at"))
    await store.close()
    store = await DraftStore.open(database_url)  # as a new version opening an old file
    async with store._engine.connect() as conn:
        names = await conn.run_sync(lambda c: {i["name"] for i in inspect(c).get_indexes("sdassist_drafts")})
    await store.close()
    assert "ix_sdassist_drafts_scheduled_at" in names


async def test_changed_since_returns_what_was_written_after_the_cursor(store: DraftStore) -> None:
    before = await store.add(make_draft(text="before"), ALICE)
    cursor = await store.change_cursor()
    assert (await store.changed_since(cursor))[0] == []  # nothing written since
    added = await store.add(make_draft(text="added"), ALICE)
    await store.transition(before.id, to=S.REJECTED, actor=BOB, expected_state=S.PENDING)
    changed, cursor = await store.changed_since(cursor)
    assert [d.id for d in changed] == [added.id, before.id]  # in the order they were written
    assert changed[1].state == S.REJECTED
    assert (await store.changed_since(cursor))[0] == []  # and not again
    await store.set_face_refs(added.id, slack_ts="1.1")
    changed, cursor = await store.changed_since(cursor)
    assert [(d.id, d.face_refs.get("slack_ts")) for d in changed] == [(added.id, "1.1")]


async def test_changed_since_pages_through_many_changes(store: DraftStore) -> None:
    cursor = await store.change_cursor()
    ids = {(await store.add(make_draft(text=f"draft {i}"), ALICE)).id for i in range(7)}
    seen: set[str] = set()
    for _ in range(5):
        page, cursor = await store.changed_since(cursor, limit=3)
        assert len(page) <= 3
        seen |= {d.id for d in page}
    assert seen == ids


async def test_changed_since_sees_a_write_committed_after_a_later_one(store: DraftStore) -> None:
    """PostgreSQL hands out transaction ids at the first write and commits in any order: a write that
    was still open when the poller looked is returned once it commits, never skipped."""
    from sqlalchemy import update

    from sdassist.publishing.store import drafts_table

    if not store._postgres:
        pytest.skip("SQLite has one writer at a time: writes commit in the order of their sequence")
    slow, fast = await store.add(make_draft(text="slow"), ALICE), await store.add(make_draft(text="fast"), ALICE)
    cursor = await store.change_cursor()
    async with store._engine.begin() as conn:  # a write that stays open…
        await conn.execute(update(drafts_table).where(drafts_table.c.id == slow.id)
                           .values(state="rejected", changed_seq=store._next_seq()))
        # …while a later one commits
        await store.transition(fast.id, to=S.REJECTED, actor=BOB, expected_state=S.PENDING)
        changed, cursor = await store.changed_since(cursor)
        assert [d.id for d in changed] == [fast.id]
    changed, cursor = await store.changed_since(cursor)
    assert slow.id in [d.id for d in changed]


async def test_an_older_database_gets_the_columns_added_since(database_url: str) -> None:
    from sqlalchemy import text

    store = await DraftStore.open(database_url)
    old = await store.add(make_draft(text="made by an earlier version"), ALICE)
    async with store._engine.begin() as conn:
        await conn.execute(text("DROP INDEX ix_sdassist_drafts_changed"))
        await conn.execute(text("ALTER TABLE sdassist_drafts DROP COLUMN changed_seq"))
    await store.close()
    store = await DraftStore.open(database_url)  # as a new version opening an old database
    try:
        assert (await store.get(old.id)).text == "made by an earlier version"
        cursor = await store.change_cursor()
        await store.transition(old.id, to=S.REJECTED, actor=BOB, expected_state=S.PENDING)
        assert [d.id for d in (await store.changed_since(cursor))[0]] == [old.id]
    finally:
        await store.close()
