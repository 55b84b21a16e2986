"""The store's change cursor under any interleaving of writers and a paging reader: no committed write is ever
missed, none is returned twice, and a round that comes back short of a full page has returned every write
committed before it, even while other write transactions stay open.

On PostgreSQL (scripts/with_postgres.sh) up to three write transactions stay open at once on their own
connections, beside writes committed at once and one-transaction imports of several drafts (which share one
transaction id). On SQLite (one writer at a time) the writes come from a second engine on the same file, as from
another process."""

from __future__ import annotations

import asyncio
import itertools
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import insert, update

from sdassist.publishing import store as store_module
from sdassist.publishing.store import DraftStore, drafts_table
from tests.publishing.conftest import ALICE, make_draft

POSTGRES_URL = os.environ.get("SDASSIST_TEST_DATABASE_URL")
ROWS = 6  # drafts that exist before the cursor is taken, written again by the steps
TXNS = 3  # write transactions that may be open at once (PostgreSQL)


class Stores:
    """A reader and a writer store on one database, on an event loop of their own."""

    def __init__(self, url: str) -> None:
        self.loop = asyncio.new_event_loop()
        self.reader: DraftStore = self.loop.run_until_complete(DraftStore.open(url))
        # SQLite: another engine on the file, as another process would have; PostgreSQL: the same pool will do
        self.writer = self.reader if self.reader._postgres else self.loop.run_until_complete(DraftStore.open(url))

    def close(self) -> None:
        for s in {id(self.reader): self.reader, id(self.writer): self.writer}.values():
            self.loop.run_until_complete(s.close())
        self.loop.close()


@pytest.fixture
def stores(tmp_path: Path) -> Iterator[Stores]:
    """One pair for all of the test's examples (each example takes a cursor of its own)."""
    url = POSTGRES_URL or f"sqlite+aiosqlite:///{tmp_path / 'sdassist.db'}"
    s = Stores(url)
    try:
        yield s
    finally:
        s.close()


_txn = st.sampled_from([None, *range(TXNS)]) if POSTGRES_URL else st.just(None)
steps = st.lists(st.one_of(
    st.tuples(st.just("write"), _txn, st.integers(0, ROWS - 1)),  # write an existing draft again
    st.tuples(st.just("insert"), _txn),  # a new draft
    st.tuples(st.just("import_"), st.integers(2, 7)),  # several new drafts in one transaction
    st.tuples(st.just("end"), st.integers(0, TXNS - 1), st.booleans()),  # commit (True) or roll back an open one
    st.tuples(st.just("read"), st.integers(1, 4)),  # a round of the reader, with this page size
), max_size=40)


class Scenario:
    """Runs the steps and keeps the model: what is committed, what each open transaction wrote."""

    def __init__(self, stores: Stores) -> None:
        self.reader, self.writer = stores.reader, stores.writer
        self.revisions = itertools.count(1000)  # each write sets a revision of its own: (id, revision) names it
        self.committed: dict[str, int] = {}  # drafts written since the cursor: their last committed revision
        self.open: dict[int, tuple[Any, dict[str, int]]] = {}  # transaction → (connection, its writes)
        self.ever: set[tuple[str, int]] = set()  # every write committed since the cursor
        self.returned: list[tuple[str, int]] = []

    async def run(self, plan: list[tuple[Any, ...]]) -> None:
        self.rows = [(await self.writer.add(make_draft(text=f"row {i}"), ALICE)).id for i in range(ROWS)]
        self.cursor = await self.reader.change_cursor()
        try:
            for step in plan:
                await getattr(self, step[0])(*step[1:])
        finally:
            for k in list(self.open):
                await self.end(k, True)
        await self.drain()

    def _holder(self, draft_id: str) -> int | None:
        return next((k for k, (_, writes) in self.open.items() if draft_id in writes), None)

    async def _conn(self, txn: int) -> Any:
        if txn not in self.open:
            conn = await self.writer._engine.connect()
            await conn.begin()
            self.open[txn] = (conn, {})
        return self.open[txn][0]

    async def _in(self, txn: int | None, statement: Any, draft_id: str, revision: int) -> None:
        if txn is None:
            async with self.writer._engine.begin() as conn:
                await conn.execute(statement)
            self.committed[draft_id] = revision
        else:
            await (await self._conn(txn)).execute(statement)
            self.open[txn][1][draft_id] = revision

    async def write(self, txn: int | None, row: int) -> None:
        draft_id = self.rows[row]
        holder = self._holder(draft_id)
        if holder is not None and holder != txn:
            return  # it would wait for the other transaction's row lock: this one-task scenario would hang
        revision = next(self.revisions)
        await self._in(txn, update(drafts_table).where(drafts_table.c.id == draft_id).values(
            revision=revision, changed_seq=self.writer._next_seq()), draft_id, revision)

    def _row(self, text: str) -> tuple[str, int, dict[str, Any]]:
        draft, revision = make_draft(text=text), next(self.revisions)
        return draft.id, revision, {"id": draft.id, **store_module._row_values(draft), "revision": revision}

    async def insert(self, txn: int | None) -> None:
        draft_id, revision, row = self._row("inserted")
        await self._in(txn, insert(drafts_table).values(**row, changed_seq=self.writer._next_seq()), draft_id,
                       revision)

    async def import_(self, count: int) -> None:
        rows = [self._row(f"imported {i}") for i in range(count)]
        async with self.writer._engine.begin() as conn:
            await conn.execute(insert(drafts_table).values(changed_seq=self.writer._next_seq()), [r for *_, r in rows])
        self.committed.update({draft_id: revision for draft_id, revision, _ in rows})

    async def end(self, txn: int, commit: bool) -> None:
        if txn not in self.open:
            return
        conn, writes = self.open.pop(txn)
        await (conn.commit() if commit else conn.rollback())
        await conn.close()
        if commit:
            self.committed.update(writes)

    async def read(self, limit: int) -> bool:
        page, self.cursor = await self.reader.changed_since(self.cursor, limit=limit)
        assert len(page) <= limit
        got = [(d.id, d.revision) for d in page]
        self.returned += got
        assert len(set(self.returned)) == len(self.returned), f"returned twice: {got}"
        self.ever |= set(self.committed.items())
        assert set(got) <= self.ever, f"returned what was never committed: {sorted(set(got) - self.ever)}"
        committed = set(self.committed.items())
        if len(page) == limit:
            return False
        missed = committed - set(self.returned)  # a short round has returned every write committed before it
        assert not missed, f"missed: {sorted(missed)}"
        return True

    async def drain(self) -> None:
        for _ in range(200):
            if await self.read(3):
                return
        raise AssertionError("the reader never came to an end")


@settings(max_examples=60)
@given(plan=steps)
def test_no_write_is_missed_or_returned_twice(stores: Stores, plan: list[tuple[Any, ...]]) -> None:
    stores.loop.run_until_complete(Scenario(stores).run(plan))
