"""aiosqlite connections that a cancellation cannot leave open or hung, for the SQLite engine (`db.open_engine`).

aiosqlite 0.22 runs each connection on a worker thread fed by a queue, and `stop()` queues "close the SQLite
connection, end the thread". Cancelling work in the middle of a connection's life (a face stopped while its
store calls run) makes SQLAlchemy stop a connection and then close it, or close it twice, and aiosqlite then
(upstream issue 259): closes nothing, because `close()` forgets the SQLite connection before the queued stop
runs, so the file's write lock stays held by a connection nobody can reach; and waits forever on a second stop
that the ended thread never answers, which hangs whatever awaits it, up to asyncio.run's final cancel-all at
process exit. Here a stop closes the very connection it was given, and a stop after the first is not waited
on. Worker threads are daemons, as SQLAlchemy makes them for connections it opens itself.
"""

from __future__ import annotations

import asyncio
import sqlite3
from functools import partial
from typing import Any

import aiosqlite

__all__ = ["connect"]


class _Connection(aiosqlite.Connection):
    def stop(self) -> asyncio.Future | None:
        """Close the SQLite connection held now (not whatever `_connection` says when the thread gets there) and
        end the thread; only the first stop is answered, so a later one returns nothing to wait on."""
        if not self._running:
            return None
        held = self._connection
        if held is not None:
            self._tx.put_nowait((None, partial(_close, held)))
        return super().stop()

    async def close(self) -> None:
        """As aiosqlite's, rolling back first; a connection already stopped is only forgotten: its stop closes it."""
        if not self._running:
            self._connection = None
            return
        held = self._connection
        if held is None:
            return
        try:
            await self._execute(_close, held)
        finally:
            self._connection = None
            stopped = self.stop()
            if stopped is not None:
                await stopped


def _close(connection: sqlite3.Connection) -> None:
    """Roll back, then close. Closing with a transaction open and a statement not finalized (a cursor still
    referenced, by the traceback of the cancellation that cut it short) leaves SQLite holding the connection
    open, as a "zombie", until that statement goes: its write lock with it, for every other connection."""
    try:
        if connection.in_transaction:
            connection.rollback()
    finally:
        connection.close()


async def connect(database: str, **kwargs: Any) -> aiosqlite.Connection:
    """`aiosqlite.connect(database, **kwargs)` with the connection above."""
    connection = _Connection(partial(sqlite3.connect, database, **kwargs), iter_chunk_size=64)
    connection._thread.daemon = True  # a connection left open must not keep the process from exiting
    return await connection
