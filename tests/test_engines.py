"""One database engine, so one connection pool, per process: the drafts, the media files and the sign-in
store share it; the shared rate budget keeps a pool of its own (its turn must never queue behind drafts)."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from sdassist import db
from sdassist.identity import IdentityStore, Person
from sdassist.publishing.drafts import Principal
from sdassist.publishing.store import DraftStore
from sdassist.runtime import open_runtime
from tests.conftest import make_settings

pytestmark = pytest.mark.asyncio
ME = Principal(id="cli:tester", kind="operator", face="cli", name="tester")


def shared_here(url: str) -> db._Shared | None:
    return db._SHARED.get(asyncio.get_running_loop(), {}).get(url)


async def test_drafts_media_and_sign_ins_share_one_engine_and_the_budget_keeps_its_own(tmp_path: Path) -> None:
    settings = make_settings(tmp_path, SDASSIST_SHARED_RATE_BUDGET="true")
    url = settings.effective_database_url
    async with open_runtime(settings, announce=False, reconcile=False) as rt:
        identity = await IdentityStore.open(url)  # the MCP HTTP server's sign-in store, in the same process
        try:
            assert rt.media._engine is rt.store._engine  # they each had a pool of their own
            assert await identity._engine_() is rt.store._engine
            await rt.client.accounts.list()  # opens the budget
            budget_engine = rt.client.rate_limiter.budget._engine
            assert budget_engine is not None and budget_engine is not rt.store._engine
            # every store works on it, side by side
            await identity.issue("pat", person=Person("U1", "Ann"), client_id="personal-access-token",
                                 client_name="CI", scopes=["read"], resource=None, ttl=60)
            assert await rt.store.list() == [] and await rt.media.by_source("nowhere") is None
        finally:
            await identity.close()
        assert await rt.store.list() == []  # the sign-in store gave its share back; the drafts keep theirs
        shared = shared_here(url)
        assert shared is not None and shared.users == 2  # drafts and media
    assert shared_here(url) is None  # the last one out disposed it


async def test_a_store_closing_leaves_the_others_working(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'one.db'}"
    first, second = await DraftStore.open(url), await DraftStore.open(url)
    assert first._engine is second._engine
    await first.close()
    assert await second.mark_event_seen("evt_after_the_other_closed")
    await second.close()
    assert shared_here(url) is None


async def test_another_event_loop_gets_its_own_engine(tmp_path: Path) -> None:
    """A connection belongs to the loop that opened it: a store opened in another loop (another thread's
    `asyncio.run`) must not be handed this loop's engine."""
    url = f"sqlite+aiosqlite:///{tmp_path / 'one.db'}"
    here = await DraftStore.open(url)
    try:
        async def elsewhere() -> bool:
            store = await DraftStore.open(url)
            try:
                assert await store.mark_event_seen("evt_from_another_loop")
                return store._engine is here._engine
            finally:
                await store.close()

        assert await asyncio.to_thread(asyncio.run, elsewhere()) is False
        assert await here.mark_event_seen("evt_from_another_loop") is False
    finally:
        await here.close()


async def test_the_shared_pool_is_the_size_the_operations_docs_give() -> None:
    text = " ".join((Path(__file__).resolve().parents[1] / "docs" / "operations.md").read_text().split())
    pool = db.SHARED_POOL
    assert (f"SQLAlchemy's pool: {pool['pool_size']}, plus {pool['max_overflow']} overflow: up to "
            f"{pool['pool_size'] + pool['max_overflow']} connections") in text


async def test_a_new_sqlite_file_held_by_another_process_is_opened_not_refused(tmp_path: Path) -> None:
    """Two instances starting on a new SQLite file: switching to WAL needs the file to itself, and SQLite refuses
    that at once ("database is locked", no busy wait) while the other one writes. Opening must still work, and
    our first transaction waits for the other's, as any write does."""
    import sqlite3

    from sqlalchemy import MetaData, text

    path = tmp_path / "new.db"
    other = sqlite3.connect(path, isolation_level=None)
    other.execute("CREATE TABLE elsewhere (x INTEGER)")
    other.execute("BEGIN IMMEDIATE")
    other.execute("INSERT INTO elsewhere VALUES (1)")
    loop = asyncio.get_running_loop()
    loop.call_later(0.3, other.execute, "COMMIT")
    engine = await db.open_engine(f"sqlite+aiosqlite:///{path}", MetaData())
    try:
        async with engine.connect() as conn:
            assert (await conn.execute(text("SELECT count(*) FROM elsewhere"))).scalar() == 1
    finally:
        await engine.dispose()
        other.close()
