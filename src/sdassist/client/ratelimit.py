"""Pacing requests so a workspace runs at its plan's limit without ever hitting a 429.

Three layers, after client-notes.md:

1. Pacing (GCRA): one request per `window / (limit · share)` seconds, with a small burst, once both the
   limit and the window are known (never on an assumed window). A pace that fell behind (a wait at the
   window's start, a stalled event loop, a slow answer) may catch up by at most `catch_up` of a window:
   at exactly the plan's rate, any time lost would otherwise be lost for good, and the window would end
   with budget unspent.
2. A budget guard (`Budget`): counts what is left in the server's window, less what is in flight, and
   holds requests back until the window resets once only `reserve` are left.
3. A pause shared by every worker after a 429, until `retry_after` or the reset.

The budget speaks server time (unix seconds as the server counts them), so a budget kept in a database
can be shared by several processes; `RateLimiter` maps its local clock onto server time, estimating the
offset from lower bounds only (the `Date` header, and the start of the window a response was counted
in), so that it may wake late but never early.
"""

from __future__ import annotations

import asyncio
import email.utils
import math
import random
import time
from collections import deque
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import NamedTuple, Protocol, runtime_checkable

import httpx

#: The documented window: limits are per minute.
DEFAULT_WINDOW = 60.0
#: Reset values below this are deltas in seconds, not unix timestamps.
_DELTA_THRESHOLD = 1e9
#: How often to look again while waiting on a response that will tell us more.
_POLL = 0.005
#: How far behind its pace (a fraction of the window) the limiter may catch up.
CATCH_UP = 0.05
#: How long (local seconds) a lower bound of the server clock's offset is kept. Longer than the `Date`
#: header's one-second resolution with room to spare, so the best sample (taken just after the server's
#: second ticked) is always at hand; short enough that a server clock stepped back is followed soon.
OFFSET_HORIZON = 10.0


class Answer(NamedTuple):
    """What one response said about the server's window: `remaining` left until `reset`, seen at `now`
    (all server time)."""

    limit: int
    remaining: int
    reset: float
    now: float


@runtime_checkable
class Budget(Protocol):
    """Bookkeeping of the workspace's request budget, in server time.

    The default lives in memory (`LocalBudget`). A cross-process one keeps the same state in a shared
    store; every method is async for that reason.
    """

    #: Requests per window, once a response has said so.
    limit: int | None
    #: Window length in seconds, inferred from the reset header.
    window: float | None
    #: True once `window` comes from successive resets (exact for fixed windows).
    window_exact: bool

    async def reserve(self, now: float) -> float:
        """Take one request (return 0) or say how long to wait before asking again (take nothing)."""
        ...

    async def release(self, answer: Answer | None = None) -> None:
        """A request taken with `reserve` is over; `answer` is what its response said of the window (None:
        no response, or one without the headers). Giving both at once lets a shared budget settle the
        request in one step, with no moment where it is neither in flight nor counted."""
        ...

    async def observe(self, limit: int, remaining: int, reset: float, now: float) -> None:
        """A response reported the server's window: `remaining` left until `reset` (server time)."""
        ...

    async def pause_until(self, until: float) -> None:
        """Nobody sends before server time `until` (after a 429)."""
        ...


class LocalBudget:
    """A `Budget` in this process's memory."""

    def __init__(self, *, share: float = 1.0, reserve: int = 1, rng: random.Random | None = None) -> None:
        if not 0 < share <= 1:
            raise ValueError("share must be in (0, 1]")
        self.share = share
        self.reserve_floor = max(0, reserve)
        self.limit: int | None = None
        self.window: float | None = None
        self.window_exact = False
        self._rng = rng or random.Random()
        self._in_flight = 0
        self._remaining = 0  # server's remaining in the current window, less our requests in flight
        self._used = 0  # our requests counted in the current window (for `share`)
        self._reset: float | None = None  # end of the current window; None right after a local rollover
        self._last_reset: float | None = None
        self._deltas: list[float] = []
        self._paused_until = 0.0

    @property
    def in_flight(self) -> int:
        return self._in_flight

    def _quota(self) -> int:
        assert self.limit is not None
        return max(1, math.floor(self.limit * self.share))

    def _floor(self) -> int:
        """Requests kept back at the end of a window: never all of them (a 1-request plan still sends)."""
        return min(self.reserve_floor, max(0, (self.limit or 1) - 1))

    def _margin(self) -> float:
        window = self.window or DEFAULT_WINDOW
        return 0.01 * window + 0.005 + self._rng.uniform(0, 0.01 * window)

    async def reserve(self, now: float) -> float:
        if now < self._paused_until:
            return self._paused_until - now + self._margin()
        if self.limit is None:  # nothing known yet: one request at a time until a response tells
            if self._in_flight:
                return _POLL
            self._in_flight += 1
            return 0.0
        if self._reset is not None and now >= self._reset:
            # The window has ended: assume a fresh one. In-flight requests may land in it.
            self._reset = None
            self._remaining = self.limit - self._in_flight
            self._used = self._in_flight
        if self._remaining <= self._floor() or self._used >= self._quota():
            if self._reset is None:  # spent before any answer from this window: wait for one
                if self._in_flight:
                    return _POLL
                # Nothing in flight, so no answer will ever come: one probe learns the new window.
                self._remaining = max(0, self._remaining) - 1
                self._used += 1
                self._in_flight += 1
                return 0.0
            return self._reset - now + self._margin()
        self._remaining -= 1
        self._used += 1
        self._in_flight += 1
        return 0.0

    async def release(self, answer: Answer | None = None) -> None:
        self._in_flight = max(0, self._in_flight - 1)
        if answer is not None:
            await self.observe(*answer)

    async def observe(self, limit: int, remaining: int, reset: float, now: float) -> None:
        first = self.limit is None
        self.limit = limit
        self._learn_window(reset, now)
        if reset <= now:  # describes a window that is over
            return
        header_left = remaining - self._in_flight
        if first or (self._reset is not None and reset > self._reset + 1e-6):
            # First sight of this window: the header is the truth.
            self._reset = reset
            self._remaining = header_left
            self._used = self._in_flight + 1
        elif self._reset is None:  # we rolled over locally; this is the first answer from the new window
            self._reset = reset
            self._remaining = min(self._remaining, header_left)
        elif reset >= self._reset - 1e-6:
            self._remaining = min(self._remaining, header_left)
        # an older window's answer arriving late tells nothing new

    def _learn_window(self, reset: float, now: float) -> None:
        last = self._last_reset
        if last is None or reset > last + 1e-6:
            self._last_reset = reset
        if last is not None and reset - last >= 0.5:
            self._deltas.append(reset - last)
            smallest = min(self._deltas)
            # Fixed windows: every delta is a whole number of windows. Anything else (a sliding or
            # rounded reset) and the window is only an estimate.
            self.window_exact = all(
                abs(d / smallest - round(d / smallest)) < 1e-3 for d in self._deltas[-32:]
            )
            self.window = smallest
            del self._deltas[:-32]
        elif not self._deltas and reset > now:
            self.window = max(0.5, reset - now)

    async def pause_until(self, until: float) -> None:
        self._paused_until = max(self._paused_until, until)


def parse_http_date(value: str | None) -> float | None:
    """Unix seconds of an HTTP `Date` header, or None."""
    if not value:
        return None
    try:
        parsed = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if parsed.tzinfo is None:
        return None
    return parsed.timestamp()


def _int_header(headers: httpx.Headers, name: str) -> int | None:
    try:
        return int(float(headers[name]))
    except (KeyError, ValueError):
        return None


def _float_header(headers: httpx.Headers, name: str) -> float | None:
    try:
        return float(headers[name])
    except (KeyError, ValueError):
        return None


class RateLimiter:
    """Paces every request of one workspace; share one instance between the clients of a process.

    `share` is this process's part of the workspace budget when several processes use it. `catch_up` is
    how much lost time (a fraction of the window) the pace may make up by sending faster than the plan's
    rate; the budget guard still keeps every window within the limit.
    """

    def __init__(
        self,
        share: float = 1.0,
        burst: int = 5,
        reserve: int = 1,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[object]] = asyncio.sleep,
        *,
        budget: Budget | None = None,
        wall: Callable[[], float] = time.time,
        catch_up: float = CATCH_UP,
    ) -> None:
        if burst < 1:
            raise ValueError("burst must be at least 1")
        if not 0 <= catch_up <= 1:
            raise ValueError("catch_up must be in [0, 1]")
        self.catch_up = catch_up
        self.share = share
        self.burst = burst
        self.budget: Budget = budget if budget is not None else LocalBudget(share=share, reserve=reserve)
        self._clock = clock
        self._sleep = sleep
        self._wall = wall
        self._tat: float | None = None  # GCRA theoretical arrival time, local clock
        # Lower bounds of (server time - local clock) from the last OFFSET_HORIZON seconds, as (local time,
        # sample) with decreasing samples: the first is the best bound.
        self._offsets: deque[tuple[float, float]] = deque()
        self._offset: float | None = None
        self._saw_date = False
        self._lock: asyncio.Lock | None = None

    # --- time ------------------------------------------------------------------------------------

    def _offset_estimate(self) -> float:
        if self._offset is not None:
            return self._offset
        return self._wall() - self._clock()

    def server_now(self) -> float:
        """Best safe estimate of the server's clock: never ahead of it by what we have seen."""
        return self._clock() + self._offset_estimate()

    def _add_offset(self, sample: float) -> None:
        """Keep the best lower bound seen within the horizon. By count rather than time, the bound taken
        just after the `Date` header's second ticked was soon pushed out by two samples a response, and the
        estimate fell up to a second behind the server: the limiter then waited that long past every reset
        and the window lost requests."""
        now = self._clock()
        while self._offsets and self._offsets[-1][1] <= sample:
            self._offsets.pop()
        self._offsets.append((now, sample))
        while self._offsets[0][0] < now - OFFSET_HORIZON:
            self._offsets.popleft()
        self._offset = self._offsets[0][1]

    # --- pacing -------------------------------------------------------------------------------------

    def emission_interval(self) -> float:
        """Seconds between requests at the plan's rate (0 while the limit or the window is unknown).

        No pace on an assumed window: a shared budget can know the limit (from another instance) and not yet
        the window, and a pace on the documented minute would run a 1 s window's plan 60 times too slow and
        push the pace far ahead. Until an answer gives the window, the budget guard alone keeps the window
        within the limit."""
        limit, window = self.budget.limit, self.budget.window
        if not limit or not window:
            return 0.0
        return window / (limit * self.share)

    async def acquire(self) -> None:
        """Wait for this process's turn and take one request from the budget."""
        if self._lock is None:
            self._lock = asyncio.Lock()
        async with self._lock:
            while True:
                now = self._clock()
                interval = self.emission_interval()
                if self._tat is not None and interval:
                    # A pace set on a longer window than the one since learned is never further ahead than a
                    # burst at the current pace.
                    self._tat = min(self._tat, now + self.burst * interval)
                    early = self._tat - (self.burst - 1) * interval - now
                    if early > 0:
                        await self._sleep(early)
                        continue
                wait = await self.budget.reserve(self.server_now())
                if wait <= 0:
                    break
                await self._sleep(wait)
            now = self._clock()
            # Time the pace lost, up to `catch_up` of a window, is owed: the next requests go sooner.
            owed = self.catch_up * (self.budget.window or DEFAULT_WINDOW) if self.budget.limit else 0.0
            self._tat = max(self._tat if self._tat is not None else now, now - owed) + self.emission_interval()

    async def complete(self, response: httpx.Response | None) -> None:
        """Give the request back and learn from the response's headers (None: no response)."""
        if response is None:
            await self.budget.release()
            return
        received = self._clock()
        headers = response.headers
        date = None
        dates = headers.get_list("date")
        if dates:
            date = max((d for d in (parse_http_date(v) for v in dates) if d is not None), default=None)
        if date is not None:
            self._saw_date = True
            self._add_offset(date - received)
        elif not self._saw_date and self._offset is None:
            self._add_offset(self._wall() - received)
        limit = _int_header(headers, "x-ratelimit-limit")
        remaining = _int_header(headers, "x-ratelimit-remaining")
        reset = _float_header(headers, "x-ratelimit-reset")
        if reset is not None and reset < _DELTA_THRESHOLD:
            reset = self.server_now() + reset
        if limit and remaining is not None and reset is not None:
            await self.budget.release(Answer(limit, remaining, reset, self.server_now()))
            window = self.budget.window
            if self.budget.window_exact and window:
                # The window this response was counted in began at reset - window, at or before now.
                self._add_offset(reset - window - received)
        else:
            await self.budget.release()
        if response.status_code == 429:
            until = retry_after_of(response, self.server_now())
            until_ts = until if until is not None else reset
            if until_ts is None:
                until_ts = self.server_now() + 1.0
            await self.budget.pause_until(until_ts)


def retry_after_of(response: httpx.Response, now: float) -> float | None:
    """Server time (unix seconds) a 429 says to wait for: `meta.retry_after`, else the reset header.

    `now` is the current server time, used when the server speaks in deltas.
    """
    try:
        body = response.json()
    except ValueError:
        body = None
    if isinstance(body, dict) and isinstance(body.get("meta"), dict):
        stamp = parse_iso_timestamp(body["meta"].get("retry_after"))
        if stamp is not None:
            return stamp
    header = response.headers.get("retry-after")
    if header:
        try:
            return now + float(header)
        except ValueError:
            parsed = parse_http_date(header)
            if parsed is not None:
                return parsed
    reset = _float_header(response.headers, "x-ratelimit-reset")
    if reset is not None and reset < _DELTA_THRESHOLD:
        return now + reset
    return reset


def parse_iso_timestamp(value: object) -> float | None:
    """Unix seconds of an ISO 8601 string (`Z` allowed, naive taken as UTC), or None."""
    if not isinstance(value, str) or not value.strip():
        return None
    text = value.strip()
    if text[-1] in "Zz":
        text = text[:-1] + "+00:00"
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.timestamp()
