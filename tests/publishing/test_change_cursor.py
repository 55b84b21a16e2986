"""The store's "changed since" cursor (`DraftStore.changed_since`): every committed write is returned exactly
once, page after page, whatever else is going on: a write transaction held open while others commit more than a
page, one transaction writing more rows than a page, a draft written again between two pages, another process
writing the same SQLite file, a store opened again. Each test runs on SQLite, and on PostgreSQL under
scripts/with_postgres.sh; those that need two writers open at once run on PostgreSQL only (SQLite has one
writer at a time)."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import subprocess
import sys
import textwrap
from collections import Counter
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import insert, select, text, update

from sdassist.publishing import store as store_module
from sdassist.publishing.drafts import DraftState, utcnow
from sdassist.publishing.store import DraftStore, drafts_table
from tests.publishing.conftest import ALICE, BOB, make_draft

S = DraftState
XID_EPOCH = int(os.environ.get("SDASSIST_PG_XID_EPOCH") or 0)  # read before the tests' environment is cleaned
MAX_ROUNDS = 50  # a reader that needs more than this to drain a test's few writes is stuck, not slow


async def drain(store: DraftStore, cursor: Any, limit: int) -> tuple[list[tuple[str, int]], Any]:
    """Read rounds until one comes back short of a full page: every (draft id, revision) returned, in order."""
    seen: list[tuple[str, int]] = []
    for _ in range(MAX_ROUNDS):
        page, cursor = await store.changed_since(cursor, limit=limit)
        assert len(page) <= limit
        seen += [(d.id, d.revision) for d in page]
        if len(page) < limit:
            return seen, cursor
    raise AssertionError(f"no end after {MAX_ROUNDS} rounds of {limit}: the cursor is stuck ({seen[-limit:]})")


async def stored_revisions(store: DraftStore, ids: list[str]) -> set[tuple[str, int]]:
    return {(i, (await store.get(i)).revision) for i in ids}


@contextlib.asynccontextmanager
async def held_open(store: DraftStore) -> AsyncIterator[Any]:
    """A write transaction on a connection of its own, committed when the block ends."""
    async with store._engine.begin() as conn:
        yield conn


async def write(conn: Any, store: DraftStore, draft_id: str) -> None:
    """What every store write does to the row: a new revision, stamped with the writer's place (`changed_seq`)."""
    await conn.execute(update(drafts_table).where(drafts_table.c.id == draft_id)
                       .values(revision=drafts_table.c.revision + 1, changed_seq=store._next_seq()))


def postgres_only(store: DraftStore) -> None:
    if not store._postgres:
        pytest.skip("SQLite has one writer at a time: a second write waits for the first to commit")


async def test_a_full_page_does_not_skip_a_write_still_open(store: DraftStore) -> None:
    """The edge: a write held open while later writes fill more than a page. Those are returned (each once) while
    it is open; it is returned once it commits; nothing comes twice."""
    postgres_only(store)
    slow = await store.add(make_draft(text="slow"), ALICE)
    cursor = await store.change_cursor()
    async with held_open(store) as conn:
        await write(conn, store, slow.id)
        fast = [(await store.add(make_draft(text=f"fast {i}"), ALICE)).id for i in range(11)]
        while_open, cursor = await drain(store, cursor, limit=4)
        assert sorted(while_open) == sorted(await stored_revisions(store, fast))  # each once, none missing
    after, cursor = await drain(store, cursor, limit=4)
    assert after == [(slow.id, slow.revision + 1)]  # committed late, seen now, not skipped
    assert (await store.changed_since(cursor, limit=4))[0] == []


async def test_a_long_write_does_not_hold_back_the_writes_after_it(store: DraftStore) -> None:
    """While a write stays open for many rounds, each round returns only what is new: the writes committed after
    it are not returned again round after round (nor does a round fill up with them)."""
    postgres_only(store)
    slow = await store.add(make_draft(text="slow"), ALICE)
    cursor = await store.change_cursor()
    async with held_open(store) as conn:
        await write(conn, store, slow.id)
        seen: list[tuple[str, int]] = []
        for i in range(6):
            draft = await store.add(make_draft(text=f"round {i}"), ALICE)
            page, cursor = await store.changed_since(cursor, limit=3)
            seen += [(d.id, d.revision) for d in page]
            assert [d.id for d in page] == [draft.id]
    after, cursor = await drain(store, cursor, limit=3)
    assert after == [(slow.id, slow.revision + 1)]
    assert len(seen) == len(set(seen)) == 6


async def test_a_cursor_taken_while_a_write_is_open_returns_it_once_it_commits(store: DraftStore) -> None:
    """The cursor is "now": a write committed before it is not returned, one still open at that moment is."""
    postgres_only(store)
    slow, early = await store.add(make_draft(text="slow"), ALICE), await store.add(make_draft(text="early"), ALICE)
    async with held_open(store) as conn:
        await write(conn, store, slow.id)
        await store.transition(early.id, to=S.REJECTED, actor=BOB, expected_state=S.PENDING)  # before the cursor
        cursor = await store.change_cursor()
        assert (await store.changed_since(cursor))[0] == []
    assert [d.id for d in (await store.changed_since(cursor))[0]] == [slow.id]


async def test_a_write_is_stamped_with_its_transactions_64_bit_id(store: DraftStore) -> None:
    """`xid8`, not the 32-bit `xid` that wraps every ~4 billion transactions (and would then order a new write
    before old ones). Under SDASSIST_PG_XID_EPOCH (scripts/with_postgres.sh) every id is past 2^32, and the
    other tests here run on such ids too."""
    postgres_only(store)
    draft = await store.add(make_draft(text="stamped"), ALICE)
    async with held_open(store) as conn:
        await write(conn, store, draft.id)
        own = (await conn.execute(text("SELECT pg_current_xact_id()::text::bigint"))).scalar_one()
        stamped = (await conn.execute(select(drafts_table.c.changed_seq)
                                      .where(drafts_table.c.id == draft.id))).scalar_one()
    assert stamped == own
    assert stamped >> 32 == XID_EPOCH
    page, _ = await store.changed_since(await store.change_cursor())
    assert page == []


async def test_a_transaction_writing_more_than_a_page_is_read_page_by_page(store: DraftStore) -> None:
    """One transaction writing many drafts (an import, as bench/scale.py builds its store): on PostgreSQL they all
    carry that transaction's id. Pages go through them in one total order, each once, and on to later writes."""
    cursor = await store.change_cursor()
    drafts = [make_draft(text=f"imported {i}") for i in range(10)]
    async with store._engine.begin() as conn:
        await conn.execute(insert(drafts_table).values(changed_seq=store._next_seq()),
                           [{"id": d.id, **store_module._row_values(d)} for d in drafts])
    later = await store.add(make_draft(text="later"), ALICE)
    seen, cursor = await drain(store, cursor, limit=3)
    assert Counter(i for i, _ in seen) == Counter([d.id for d in drafts] + [later.id])  # each exactly once
    assert seen[-1][0] == later.id


async def test_a_draft_written_again_between_pages_comes_again_with_its_new_state(store: DraftStore) -> None:
    cursor = await store.change_cursor()
    ids = [(await store.add(make_draft(text=f"draft {i}"), ALICE)).id for i in range(7)]
    first, cursor = await store.changed_since(cursor, limit=3)
    assert [d.id for d in first] == ids[:3]
    await store.transition(ids[0], to=S.REJECTED, actor=BOB, expected_state=S.PENDING)  # already returned
    await store.transition(ids[5], to=S.REJECTED, actor=BOB, expected_state=S.PENDING)  # not yet returned
    rest, cursor = await drain(store, cursor, limit=3)
    assert Counter(i for i, _ in rest) == Counter([*ids[3:], ids[0]])  # the unread one once, in its new state
    assert set(rest) >= await stored_revisions(store, [ids[0], ids[5]])


async def test_an_expired_draft_is_a_change(store: DraftStore) -> None:
    draft = await store.add(make_draft(text="nobody looks"), ALICE)
    cursor = await store.change_cursor()
    await store.expire_due(utcnow() + timedelta(days=30))  # its slot and its approval window have passed
    page, _ = await store.changed_since(cursor)
    assert [(d.id, d.state) for d in page] == [(draft.id, S.EXPIRED)]


async def test_a_cursor_outlives_the_store_that_made_it(database_url: str) -> None:
    """A cursor holds positions in the database's order of writes, not in the process: another instance (or this
    one after a restart) continues from it."""
    first = await DraftStore.open(database_url)
    try:
        await first.add(make_draft(text="before"), ALICE)
        cursor = await first.change_cursor()
    finally:
        await first.close()
    second = await DraftStore.open(database_url)
    try:
        added = await second.add(make_draft(text="after"), ALICE)
        page, cursor = await second.changed_since(cursor)
        assert [d.id for d in page] == [added.id]
        assert (await second.changed_since(cursor))[0] == []
    finally:
        await second.close()


async def test_another_process_writing_the_same_sqlite_file(store: DraftStore, database_url: str) -> None:
    """Several processes on one SQLite file: one writes while this one reads pages as it goes; every write is
    returned, and each one once."""
    if store._postgres:
        pytest.skip("SQLite's file shared between processes")
    cursor = await store.change_cursor()
    script = textwrap.dedent(f"""
        import asyncio, json
        from sdassist.publishing.drafts import DraftState, Principal
        from sdassist.publishing.store import DraftStore
        from tests.publishing.conftest import make_draft
        async def main():
            store = await DraftStore.open({database_url!r})
            who = Principal(id="U_CHILD", kind="human", face="cli")
            ids = []
            for i in range(40):
                ids.append((await store.add(make_draft(text=f"child {{i}}"), who)).id)
                if i % 3 == 0:
                    await store.transition(ids[i // 2], to=DraftState.REJECTED, actor=who,
                                           expected_state=DraftState.PENDING)
            await store.close()
            print(json.dumps(ids))
        asyncio.run(main())
    """)
    child = await asyncio.create_subprocess_exec(sys.executable, "-c", script, stdout=subprocess.PIPE)
    seen: list[tuple[str, int]] = []
    while child.returncode is None:
        page, cursor = await store.changed_since(cursor, limit=7)
        seen += [(d.id, d.revision) for d in page]
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(child.wait(), 0.01)
    out, _ = await child.communicate()
    assert child.returncode == 0
    rest, cursor = await drain(store, cursor, limit=7)
    seen += rest
    ids = json.loads(out.decode().strip().splitlines()[-1])
    assert len(seen) == len(set(seen))  # no write returned twice
    assert set(seen) >= await stored_revisions(store, ids)  # and every draft's last write returned
    assert {i for i, _ in seen} == set(ids)


async def test_an_older_database_trades_its_changed_seq_index_for_the_pair(database_url: str) -> None:
    """Earlier versions indexed changed_seq alone; paging by (changed_seq, id) needs the pair, and two indexes
    leading with changed_seq would both be written on every write."""
    from sqlalchemy import inspect, text

    store = await DraftStore.open(database_url)
    async with store._engine.begin() as conn:
        await conn.execute(text("DROP INDEX ix_sdassist_drafts_changed"))
        await conn.execute(text("CREATE INDEX ix_sdassist_drafts_changed_seq ON sdassist_drafts (changed_seq)"))
    await store.close()
    store = await DraftStore.open(database_url)  # as a new version opening an old database
    try:
        async with store._engine.connect() as conn:
            names = await conn.run_sync(lambda c: {i["name"] for i in inspect(c).get_indexes("sdassist_drafts")})
    finally:
        await store.close()
    assert "ix_sdassist_drafts_changed" in names
    assert "ix_sdassist_drafts_changed_seq" not in names
