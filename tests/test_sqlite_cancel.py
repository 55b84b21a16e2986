"""Cancelling SQLite work at any point leaves no connection open, no lock held and nothing to wait on at exit.

aiosqlite (issue 259 upstream) closed nothing when a stopped connection was then closed, and never answered
that close; a connection closed mid-transaction with a cursor still referenced stayed open inside SQLite and
kept the file's write lock. A face stopped while its store calls ran could so leave the next writer waiting
out the busy timeout, and the process hanging at exit (`sdassist.sqlite_connection`)."""

from __future__ import annotations

import asyncio
import sqlite3
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from sdassist import sqlite_connection

CHILD = textwrap.dedent("""
    import asyncio, random, sqlite3, sys, threading
    from sqlalchemy import MetaData, text
    from sdassist.db import open_engine

    path = sys.argv[1]

    def workers():
        return [t for t in threading.enumerate() if "_connection_worker_thread" in t.name and t.is_alive()]

    async def query(engine):
        for _ in range(3):
            async with engine.begin() as conn:
                await conn.execute(text("select 1"))

    async def main():
        rnd = random.Random(7)
        for round_ in range(int(sys.argv[2])):
            engine = await open_engine(f"sqlite+aiosqlite:///{path}", MetaData())
            await engine.dispose()  # so the tasks below connect afresh
            tasks = [asyncio.create_task(query(engine)) for _ in range(3)]
            await asyncio.sleep(rnd.random() * 0.003)  # cut them short while connecting, in BEGIN, in a query
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            await engine.dispose()
            other = sqlite3.connect(path, timeout=0)
            try:
                other.execute("BEGIN IMMEDIATE")
            except sqlite3.OperationalError as exc:
                sys.exit(f"round {round_}: the write lock is still held after dispose: {exc}")
            finally:
                other.close()
        for _ in range(100):
            if not workers():
                return
            await asyncio.sleep(0.05)
        sys.exit(f"worker threads left after dispose: {workers()}")

    asyncio.run(main())
    print("exited")
""")


def test_cancelled_connects_and_queries_leave_no_lock_no_thread_and_the_process_exits(tmp_path: Path) -> None:
    proc = subprocess.run([sys.executable, "-c", CHILD, str(tmp_path / "cut.db"), "120"],
                          capture_output=True, text=True, timeout=240)
    assert proc.returncode == 0 and proc.stdout.strip() == "exited", proc.stdout + proc.stderr


@pytest.mark.asyncio
async def test_close_after_stop_returns_and_closes_the_connection(tmp_path: Path) -> None:
    """What SQLAlchemy does to a connection whose graceful close was cancelled: stop it, then close it."""
    path = str(tmp_path / "stopped.db")
    conn = await sqlite_connection.connect(path)
    await conn.execute("BEGIN IMMEDIATE")  # its cursor stays referenced: the case SQLite keeps open
    conn.stop()
    await asyncio.wait_for(conn.close(), 30)  # aiosqlite's own close never returns here
    conn._thread.join(30)
    assert not conn._thread.is_alive() and conn._thread.daemon
    other = sqlite3.connect(path, timeout=0)
    other.execute("BEGIN IMMEDIATE")  # the write lock was let go
    other.close()
