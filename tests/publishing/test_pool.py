"""Pooled PostgreSQL connections: checked before use only after sitting idle (sdassist.db)."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import MetaData, text

from sdassist import db


async def test_a_pooled_connection_closed_while_idle_is_replaced_unseen(
    database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A database restart or an idle timeout closes connections waiting in the pool: the next use gets a fresh
    one instead of an error. (Connections in steady use are not checked at every checkout: that cost three
    round trips before each transaction.)"""
    if not database_url.startswith("postgresql"):
        pytest.skip("SQLite connections are files, not server sessions")
    monkeypatch.setattr(db, "PING_AFTER_IDLE", 0.0)
    engine = await db.open_engine(database_url, MetaData(), pool_size=1, max_overflow=0)
    other = await db.open_engine(database_url, MetaData(), pool_size=1, max_overflow=0)
    try:
        async with engine.connect() as conn:
            pid = (await conn.execute(text("SELECT pg_backend_pid()"))).scalar_one()
        async with other.connect() as conn:
            assert (await conn.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})).scalar_one()
            for _ in range(100):  # until the server has let it go
                gone = (await conn.execute(text("SELECT count(*) FROM pg_stat_activity WHERE pid = :pid"),
                                           {"pid": pid})).scalar_one() == 0
                if gone:
                    break
                await asyncio.sleep(0.05)
        async with engine.connect() as conn:
            assert (await conn.execute(text("SELECT pg_backend_pid()"))).scalar_one() != pid
    finally:
        await engine.dispose()
        await other.dispose()
