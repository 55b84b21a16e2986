"""A SocialDock rate budget shared by every sdassist instance through the database.

The plan's limit belongs to the workspace, not to a process. `SharedBudget` keeps the window's counter
in one row per workspace (keyed by a hash of the API key, never the key itself) and changes it only
inside a transaction that holds the row (`SELECT … FOR UPDATE` on PostgreSQL, `BEGIN IMMEDIATE` on
SQLite), so instances together never take more than the window allows. It plugs into the client's
`RateLimiter` through the `Budget` interface; the client itself knows nothing about databases.

State per workspace, all in server time (unix seconds as SocialDock counts them):
`used` requests taken in the window ending at `window_end`, `paused_until` after a 429, and the plan's
`limit`. Requests sent and not yet answered (they may land in the next window) are counted per instance,
in a lease (`sdassist_rate_leases`: one row per instance, its count and a heartbeat on the database's
clock). A running instance renews its lease every second while it has requests out; the workspace's
in-flight count is the sum over leases renewed within `LEASE_TTL`, so the requests of an instance that
crashed mid-request stop holding the budget back a few seconds later.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
import math
import random
import time
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from sqlalchemy import (
    Column,
    Float,
    Integer,
    MetaData,
    String,
    Table,
    case,
    delete,
    func,
    insert,
    literal_column,
    select,
    update,
)
from sqlalchemy.engine import make_url
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from sdassist.client.ratelimit import DEFAULT_WINDOW, LocalBudget
from sdassist.db import open_engine

__all__ = ["SharedBudget", "workspace_key_hash"]

metadata = MetaData()

budget_table = Table(
    "sdassist_rate_budget",
    metadata,
    Column("key_hash", String(64), primary_key=True),
    Column("plan_limit", Integer, nullable=True),
    Column("window_end", Float, nullable=True),
    Column("used", Integer, nullable=False, default=0),
    Column("in_flight", Integer, nullable=False, default=0),  # unused since the leases (kept for old databases)
    Column("paused_until", Float, nullable=False, default=0.0),
    Column("touched", Float, nullable=False, default=0.0),
)

leases_table = Table(
    "sdassist_rate_leases",
    metadata,
    Column("key_hash", String(64), primary_key=True),
    Column("instance", String(40), primary_key=True),
    Column("in_flight", Integer, nullable=False, default=0),
    Column("heartbeat", Float, nullable=False),  # the database's clock, unix seconds
)

_POLL = 0.02
#: An instance whose lease went unrenewed this long (seconds) is gone: its requests in flight no longer count.
LEASE_TTL = 5.0
#: How often an instance with requests in flight renews its lease.
HEARTBEAT = 1.0
log = logging.getLogger("sdassist.ratebudget")


def workspace_key_hash(api_key: str) -> str:
    """What identifies a workspace's budget in the database: a SHA-256 of its API key."""
    return hashlib.sha256(b"sdassist-rate-budget\n" + api_key.encode()).hexdigest()


class SharedBudget(LocalBudget):
    """A `Budget` kept in a SQL database and shared by every process using the same workspace key.

    Open lazily on first use; close with `await budget.aclose()`.
    """

    def __init__(
        self,
        database_url: str,
        api_key: str,
        *,
        reserve: int = 1,
        rng: random.Random | None = None,
    ) -> None:
        super().__init__(share=1.0, reserve=reserve, rng=rng)
        self.key_hash = workspace_key_hash(api_key)
        self._url = database_url
        self._backend = make_url(database_url).get_backend_name()
        self._engine: AsyncEngine | None = None
        self.instance = uuid.uuid4().hex  # this process's lease
        self._mine = 0  # this instance's requests in flight
        self._heartbeat: asyncio.Task[None] | None = None
        self._next_sweep = 0.0  # monotonic time of the next removal of dead instances' leases

    # --- database --------------------------------------------------------------------------------

    async def _open(self) -> AsyncEngine:
        if self._engine is not None:
            return self._engine
        engine = await open_engine(self._url, metadata, pool_size=3, max_overflow=5)
        try:
            async with engine.begin() as conn:
                exists = (await conn.execute(
                    select(budget_table.c.key_hash).where(budget_table.c.key_hash == self.key_hash))).first()
                if exists is None:
                    await conn.execute(insert(budget_table).values(
                        key_hash=self.key_hash, used=0, in_flight=0, paused_until=0.0, touched=0.0))
        except IntegrityError:
            pass  # another instance created the row first
        except BaseException:
            await engine.dispose()
            raise
        self._engine = engine
        return engine

    @asynccontextmanager
    async def _row(self) -> AsyncIterator[tuple[AsyncConnection, dict[str, Any]]]:
        """The workspace's row, locked until the block ends; changes to the dict are written back."""
        engine = await self._open()
        async with engine.begin() as conn:
            query = select(budget_table).where(budget_table.c.key_hash == self.key_hash)
            if self._backend == "postgresql":
                query = query.with_for_update()
            row = (await conn.execute(query)).mappings().one()
            state = dict(row)
            before = dict(state)
            yield conn, state
            if state != before:
                await conn.execute(
                    update(budget_table).where(budget_table.c.key_hash == self.key_hash).values(
                        **{k: v for k, v in state.items() if k != "key_hash"}))

    def _db_now(self) -> Any:
        """The database's clock in unix seconds, as SQL: one clock for every instance's heartbeat."""
        if self._backend == "postgresql":
            return literal_column("EXTRACT(EPOCH FROM clock_timestamp())::float8")
        return literal_column("(julianday('now') - 2440587.5) * 86400.0")

    async def _live_in_flight(self, conn: AsyncConnection) -> int:
        """Requests in flight in every live instance; leases of instances long gone are removed now and then."""
        c = leases_table.c
        if time.monotonic() >= self._next_sweep:
            self._next_sweep = time.monotonic() + 10 * LEASE_TTL
            await conn.execute(delete(leases_table).where(
                c.key_hash == self.key_hash, c.heartbeat < self._db_now() - 20 * LEASE_TTL))
        total = (await conn.execute(select(func.coalesce(func.sum(c.in_flight), 0)).where(
            c.key_hash == self.key_hash, c.heartbeat >= self._db_now() - LEASE_TTL))).scalar_one()
        return int(total)

    async def _take(self, conn: AsyncConnection) -> None:
        """One more request in flight on this instance's lease (counted here once the transaction is over)."""
        c = leases_table.c
        mine = (c.key_hash == self.key_hash) & (c.instance == self.instance)
        changed = await conn.execute(update(leases_table).where(mine).values(
            in_flight=c.in_flight + 1, heartbeat=self._db_now()))
        if changed.rowcount == 0:
            await conn.execute(insert(leases_table).values(
                key_hash=self.key_hash, instance=self.instance, in_flight=1, heartbeat=self._db_now()))

    async def _renew(self, *, released: bool = False) -> None:
        """Renew this instance's lease (and count one request fewer in flight when `released`)."""
        engine = await self._open()
        c = leases_table.c
        values: dict[str, Any] = {"heartbeat": self._db_now()}
        if released:
            values["in_flight"] = case((c.in_flight > 0, c.in_flight - 1), else_=0)
        async with engine.begin() as conn:
            await conn.execute(update(leases_table).where(
                c.key_hash == self.key_hash, c.instance == self.instance).values(**values))

    async def _keep_lease(self) -> None:
        """Renew the lease every HEARTBEAT seconds while this instance has requests out."""
        while self._mine > 0:
            await asyncio.sleep(HEARTBEAT)
            try:
                await self._renew()
            except Exception as exc:  # the database briefly away: try again at the next beat
                log.warning("could not renew the rate-budget lease: %s", type(exc).__name__)

    async def aclose(self) -> None:
        if self._heartbeat is not None:
            self._heartbeat.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._heartbeat
            self._heartbeat = None
        if self._engine is not None:
            await self._engine.dispose()
            self._engine = None

    # --- Budget ----------------------------------------------------------------------------------

    async def reserve(self, now: float) -> float:
        if now < self._paused_until:  # known locally: no need to ask the database
            return self._paused_until - now + self._margin()
        wait = await self._reserve(now)
        if wait <= 0:
            self._mine += 1
            if self._heartbeat is None or self._heartbeat.done():
                self._heartbeat = asyncio.create_task(self._keep_lease())
        return wait

    async def _reserve(self, now: float) -> float:
        async with self._row() as (conn, st):
            in_flight = await self._live_in_flight(conn)
            if st["paused_until"] > now:
                self._paused_until = st["paused_until"]
                return st["paused_until"] - now + self._margin()
            limit = st["plan_limit"]
            if limit is None:  # nothing known yet: one request at a time, in all instances together
                if in_flight:
                    return _POLL
                st.update(used=st["used"] + 1, touched=now)
                await self._take(conn)
                return 0.0
            self.limit = limit
            end = st["window_end"]
            if end is not None and now >= end:
                # The window has ended: a fresh one, in which requests still in flight may be counted.
                # Fixed windows of a known length: the next end is predictable; else wait for an answer.
                window = self.window or DEFAULT_WINDOW
                end = end + (math.floor((now - end) / window) + 1) * window if self.window_exact else None
                st.update(window_end=end, used=min(limit, in_flight))
            if st["used"] >= limit - self._floor():
                if end is None:  # spent before any answer from this window
                    if in_flight:
                        return _POLL
                    # Nothing in flight anywhere, so no answer will come: one probe learns the new window.
                    st.update(used=st["used"] + 1, touched=now)
                    await self._take(conn)
                    return 0.0
                return end - now + self._margin()
            st.update(used=st["used"] + 1, touched=now)
            await self._take(conn)
            return 0.0

    async def release(self) -> None:
        self._mine = max(0, self._mine - 1)
        await self._renew(released=True)

    async def observe(self, limit: int, remaining: int, reset: float, now: float) -> None:
        self.limit = limit
        self._learn_window(reset, now)
        async with self._row() as (conn, st):
            st["plan_limit"] = limit
            if reset <= now:  # describes a window that is over
                return
            in_flight = await self._live_in_flight(conn)
            server_used = max(0, limit - remaining)
            end = st["window_end"]
            if end is None or reset > end + 1e-6:
                # First answer from this window: what the server counted, plus whatever may still land.
                st.update(window_end=reset, used=min(limit, max(st["used"] if end is None else 0,
                                                                server_used + in_flight)))
            elif reset >= end - 1e-6:
                st["used"] = max(st["used"], server_used)
            # an older window's answer arriving late tells nothing new

    async def pause_until(self, until: float) -> None:
        self._paused_until = max(self._paused_until, until)
        async with self._row() as (_conn, st):
            st["paused_until"] = max(st["paused_until"], until)
