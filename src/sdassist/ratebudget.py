"""A SocialDock rate budget shared by every sdassist instance through the database.

The plan's limit belongs to the workspace, not to a process. `SharedBudget` keeps the window's counter
in one row per workspace (keyed by a hash of the API key, never the key itself) and changes it only
inside a transaction that holds the row (`SELECT … FOR UPDATE` on PostgreSQL, `BEGIN IMMEDIATE` on
SQLite), so instances together never take more than the window allows. It plugs into the client's
`RateLimiter` through the `Budget` interface; the client itself knows nothing about databases.

SocialDock counts a request in the window in which it receives it. State per workspace, in server time
(unix seconds as SocialDock counts them): the current window's end `window_end` (and the one before it,
`prev_end`), `used` requests taken in it, `server_used` the most any answer from it reported, `paused_until`
after a 429, and the plan's `limit`. What the window has spent is `max(used + carried, server_used)`.

Requests sent and not yet answered are counted per instance, in a lease (`sdassist_rate_leases`: one row
per instance, its count `in_flight` and a heartbeat on the database's clock). When the window rolls over,
each lease's requests still in flight become its `carried`: they may land in the new window, so they count
against it, until an answer shows one was counted in an earlier window (its `X-RateLimit-Reset`), which
gives its place back. Only requests sent before the rollover can be answered from an earlier window, so
that is exact; a carried request whose answer comes from the new window stays counted, as it should.
A running instance renews its lease every second; only leases renewed within `LEASE_TTL` count, so the
requests of an instance that crashed mid-request stop holding the budget back a few seconds later.
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

from sdassist.client.ratelimit import DEFAULT_WINDOW, Answer, LocalBudget
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
    Column("server_used", Integer, nullable=True),  # the most an answer from the current window reported
    Column("prev_end", Float, nullable=True),  # the end of the window before the current one
    Column("window", Float, nullable=True),  # the window's length, once an instance has seen it twice
)

leases_table = Table(
    "sdassist_rate_leases",
    metadata,
    Column("key_hash", String(64), primary_key=True),
    Column("instance", String(40), primary_key=True),
    Column("in_flight", Integer, nullable=False, default=0),
    Column("heartbeat", Float, nullable=False),  # the database's clock, unix seconds
    # requests in flight at the last rollover, not yet shown to have been counted in an earlier window
    Column("carried", Integer, nullable=True),
)

_POLL = 0.02
#: An instance whose lease went unrenewed this long (seconds) is gone: its requests in flight no longer count.
LEASE_TTL = 5.0
#: How often a running instance renews its lease.
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
        self._owed = 0  # releases that could not be written: the heartbeat writes them
        self._heartbeat: asyncio.Task[None] | None = None
        self._next_sweep = 0.0  # monotonic time of the next removal of dead instances' leases
        self._adopted = False  # True while this instance's window length is the row's, not its own finding

    # --- database --------------------------------------------------------------------------------

    async def _open(self) -> AsyncEngine:
        """An engine of its own, not the drafts' shared one (`db.shared_engine`): every SocialDock request waits
        for the budget's row lock, so that turn must never queue behind a drafts pool that a burst of reads
        or a slow App Home render keeps busy, and a request made while a drafts connection is held (one
        connection per process on SQLite) must not wait on the pool that connection came from."""
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
    async def _row(self, conn: AsyncConnection) -> AsyncIterator[dict[str, Any]]:
        """The workspace's row, locked until `conn`'s transaction ends; changes to the dict are written back."""
        query = select(budget_table).where(budget_table.c.key_hash == self.key_hash)
        if self._backend == "postgresql":
            query = query.with_for_update()
        state = dict((await conn.execute(query)).mappings().one())
        before = dict(state)
        yield state
        if state != before:
            await conn.execute(update(budget_table).where(budget_table.c.key_hash == self.key_hash).values(
                **{k: v for k, v in state.items() if k != "key_hash"}))

    def _db_now(self) -> Any:
        """The database's clock in unix seconds, as SQL: one clock for every instance's heartbeat."""
        if self._backend == "postgresql":
            return literal_column("EXTRACT(EPOCH FROM clock_timestamp())::float8")
        return literal_column("(julianday('now') - 2440587.5) * 86400.0")

    async def _live(self, conn: AsyncConnection) -> tuple[int, int, int]:
        """Requests in flight, and requests carried into the current window, in every live instance, and how
        many instances are live; leases of instances long gone are removed now and then."""
        c = leases_table.c
        if time.monotonic() >= self._next_sweep:
            self._next_sweep = time.monotonic() + 10 * LEASE_TTL
            await conn.execute(delete(leases_table).where(
                c.key_hash == self.key_hash, c.heartbeat < self._db_now() - 20 * LEASE_TTL))
        in_flight, carried, live = (await conn.execute(
            select(func.coalesce(func.sum(c.in_flight), 0), func.coalesce(func.sum(c.carried), 0), func.count()).where(
                c.key_hash == self.key_hash, c.heartbeat >= self._db_now() - LEASE_TTL))).one()
        return int(in_flight), int(carried), int(live)

    async def _roll_over(self, conn: AsyncConnection, st: dict[str, Any], end: float | None) -> None:
        """A new window begins (ending at `end`, None while unknown): every request still in flight is carried
        into it."""
        st.update(prev_end=st["window_end"], window_end=end, used=0, server_used=0)
        await conn.execute(update(leases_table).where(leases_table.c.key_hash == self.key_hash).values(
            carried=leases_table.c.in_flight))

    async def _take(self, conn: AsyncConnection) -> None:
        """One more request in flight on this instance's lease (counted here once the transaction is over)."""
        c = leases_table.c
        changed = await conn.execute(update(leases_table).where(self._mine_where()).values(
            in_flight=c.in_flight + 1, heartbeat=self._db_now()))
        if changed.rowcount == 0:
            await conn.execute(insert(leases_table).values(
                key_hash=self.key_hash, instance=self.instance, in_flight=1, heartbeat=self._db_now()))

    def _mine_where(self) -> Any:
        c = leases_table.c
        return (c.key_hash == self.key_hash) & (c.instance == self.instance)

    async def _renew(self) -> None:
        """Renew this instance's lease, writing the releases that could not be written when they happened."""
        engine = await self._open()
        owed = self._owed
        values: dict[str, Any] = {"heartbeat": self._db_now()}
        if owed:
            c = leases_table.c
            values["in_flight"] = case((c.in_flight > owed, c.in_flight - owed), else_=0)
        async with engine.begin() as conn:
            await conn.execute(update(leases_table).where(self._mine_where()).values(**values))
        self._owed -= owed

    async def _keep_lease(self) -> None:
        """Renew the lease every HEARTBEAT seconds for as long as this instance runs: its requests carried into
        the current window count while it lives, even once it has nothing in flight."""
        while True:
            await asyncio.sleep(HEARTBEAT)
            try:
                await self._renew()
            except Exception as exc:  # the database briefly away: try again at the next beat
                log.warning("could not renew the rate-budget lease: %s", type(exc).__name__)

    def _learn_window(self, reset: float, now: float) -> None:
        """As a single process does, but a window length counts as known only once two intervals between resets
        have shown it: an instance idle for a while sees one long interval (several windows at once), and one
        instance's wrong length would mislead all of them."""
        super()._learn_window(reset, now)
        self._adopted = False
        if self.window_exact and self.window:
            seen = sum(abs(d - self.window) < 1e-3 * self.window for d in self._deltas)
            self.window_exact = seen >= 2

    def _adopt_window(self, st: dict[str, Any], now: float) -> None:
        """The window length another instance has confirmed (the shortest any has: every interval between
        resets is a whole number of windows). An instance that has had no answer yet takes the time left in
        the current window as its first estimate, as it would from an answer: its pace (one request per
        window / limit) would otherwise assume the documented minute, 12 times too slow on a 5 s window."""
        shared = st.get("window")
        if shared and (not self.window_exact or not self.window or shared < self.window - 1e-6):
            self.window, self.window_exact, self._adopted = shared, True, True
        elif not shared and self._adopted:  # the row dropped the length this instance took from it
            self.window_exact, self._adopted = False, False
        elif self.window is None and st["window_end"] is not None and st["window_end"] > now:
            self.window = max(0.5, st["window_end"] - now)

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
            self._beat()
        return wait

    def _beat(self) -> None:
        if self._heartbeat is None or self._heartbeat.done():
            self._heartbeat = asyncio.create_task(self._keep_lease())

    async def _reserve(self, now: float) -> float:
        engine = await self._open()
        async with engine.begin() as conn, self._row(conn) as st:
            in_flight, carried, live = await self._live(conn)
            if st["plan_limit"] is not None and not live and now - st["touched"] > (st["window"] or DEFAULT_WINDOW):
                # No instance running and nothing sent for a window: what the row knows may predate a change of
                # plan (a limit or a window length the server no longer has): one probe learns it again.
                st.update(plan_limit=None, window=None, window_end=None, prev_end=None, used=0, server_used=0)
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
            self._adopt_window(st, now)
            end = st["window_end"]
            if end is not None and now >= end:
                # The window has ended: a fresh one, into which the requests still in flight are carried.
                # Fixed windows of the length the row has confirmed: the next end is predictable (and every
                # answer checks it, `_off_grid`); else wait for an answer.
                window = st["window"]
                end = end + (math.floor((now - end) / window) + 1) * window if window else None
                await self._roll_over(conn, st, end)
                carried = in_flight
            if max(st["used"] + carried, st["server_used"] or 0) >= limit - self._floor():
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

    async def release(self, answer: Answer | None = None) -> None:
        """This request is over: one fewer in flight on the lease and, in the same transaction, what its answer
        said of the window (so it is never neither in flight nor counted). Locks are taken in one order
        everywhere, the workspace's row before any lease, so instances never deadlock."""
        self._mine = max(0, self._mine - 1)
        try:
            engine = await self._open()
            async with engine.begin() as conn:
                if answer is None or await self._same_window(conn, answer):
                    await self._untake(conn)
                    return
                async with self._row(conn) as st:
                    await self._untake(conn)
                    await self._observe(conn, st, answer)
        except Exception:
            self._owed += 1  # the heartbeat writes it once the database answers again
            self._beat()
            raise

    async def _same_window(self, conn: AsyncConnection, answer: Answer) -> bool:
        """The common answer, from the window the row is in: record what the server counted in one statement,
        so the row is locked for one write rather than a read and a write (every instance's reserve waits on
        that lock). False, and nothing written, for any other answer: `_observe` takes those."""
        limit, remaining, reset, now = answer
        self.limit = limit
        self._learn_window(reset, now)
        if reset <= now:
            return False
        b = budget_table.c
        counted = limit - remaining
        values: dict[str, Any] = {"plan_limit": limit, "server_used": case(
            (func.coalesce(b.server_used, 0) < counted, counted), else_=b.server_used)}
        if self.window_exact and self.window:
            values["window"] = case((b.window.is_(None) | (b.window > self.window + 1e-6), self.window),
                                    else_=b.window)
        changed = await conn.execute(update(budget_table).where(
            b.key_hash == self.key_hash, b.window_end >= reset - 1e-6, b.window_end <= reset + 1e-6).values(**values))
        return changed.rowcount == 1

    async def _untake(self, conn: AsyncConnection) -> None:
        c = leases_table.c
        await conn.execute(update(leases_table).where(self._mine_where()).values(
            in_flight=case((c.in_flight > 0, c.in_flight - 1), else_=0), heartbeat=self._db_now()))

    async def observe(self, limit: int, remaining: int, reset: float, now: float) -> None:
        engine = await self._open()
        async with engine.begin() as conn, self._row(conn) as st:
            await self._observe(conn, st, Answer(limit, remaining, reset, now))

    async def _observe(self, conn: AsyncConnection, st: dict[str, Any], answer: Answer) -> None:
        """Learn from one answer, inside the transaction that holds the workspace's row `st`."""
        limit, remaining, reset, now = answer
        self.limit = limit
        self._learn_window(reset, now)
        if self.window_exact and self.window and self.window < (st["window"] or math.inf) - 1e-6:
            st["window"] = self.window
        self._adopt_window(st, now)
        st["plan_limit"] = limit
        end, prev = st["window_end"], st["prev_end"]
        if prev is not None and reset <= prev + 1e-6:
            # Counted in a window that had ended when the row rolled over: a request carried over, which never
            # landed in the windows since. (While the windows' length is not yet known, the row's window may
            # span several of the server's, so an answer from one between says nothing of that kind.)
            c = leases_table.c
            await conn.execute(update(leases_table).where(self._mine_where() & (c.carried > 0)).values(
                carried=c.carried - 1))
            return
        if reset <= now:  # describes a window that is over
            return
        counted = limit - remaining
        if end is not None and self._off_grid(st, reset):
            await self._drop_window(conn, st, reset, counted, now)
            return
        if end is None:  # the first answer from the window the row rolled over into
            st["window_end"] = reset
        elif reset > end + 1e-6:
            # An answer from a window this row has not rolled over into yet: roll over now. What the server
            # counted so far is spent, and whatever is still in flight is carried.
            await self._roll_over(conn, st, reset)
            st["used"] = counted
        elif reset < end - 1e-6:
            return  # a window between the previous one and the row's: it tells nothing of either
        st["server_used"] = max(st["server_used"] or 0, counted)

    @staticmethod
    def _off_grid(st: dict[str, Any], reset: float) -> bool:
        """True when `reset` proves the row's shared window length wrong: fixed windows end on one grid, so
        every reset lies a whole number of windows from the row's end. A length kept from before a change of
        plan (or from one instance's mistake) is otherwise self-confirming: instances that wait for the row's
        predicted end send their burst at once and see resets exactly that far apart."""
        window = st.get("window")
        if not window:
            return False
        steps = (st["window_end"] - reset) / window
        return abs(steps - round(steps)) * window > 1e-3 * window + 1e-6

    async def _drop_window(self, conn: AsyncConnection, st: dict[str, Any], reset: float, counted: int,
                           now: float) -> None:
        """The shared window length is wrong: forget it (here and in this instance) and put the row in the
        window the answer came from, which ends at `reset`: what the server counted in it is spent, and every
        request still in flight may land in it, so it is carried. The previous end stays: answers from before
        it still give carried places back."""
        st.update(window=None, window_end=reset, used=counted, server_used=counted)
        await conn.execute(update(leases_table).where(leases_table.c.key_hash == self.key_hash).values(
            carried=leases_table.c.in_flight))
        self.window, self.window_exact = max(0.5, reset - now), False
        self._deltas.clear()
        self._last_reset = reset

    async def pause_until(self, until: float) -> None:
        self._paused_until = max(self._paused_until, until)
        engine = await self._open()
        async with engine.begin() as conn, self._row(conn) as st:
            st["paused_until"] = max(st["paused_until"], until)
