"""A bulk job runs at the plan's limit without a 429, and a burst of 429s is waited out by every worker."""

from __future__ import annotations

import asyncio
import email.utils
import math
import random
import time

import httpx
import pytest

from sdassist.client import LocalBudget, RateLimiter

from .conftest import BUILD_KEY, Sandbox


async def run_bulk(sandbox: Sandbox, requests: int, workers: int) -> float:
    client = sandbox.client(BUILD_KEY)
    queue = list(range(requests))

    async def worker() -> None:
        while queue:
            queue.pop()
            await client.posts.list(limit=1)

    started = time.monotonic()
    await asyncio.gather(*(worker() for _ in range(workers)))
    return time.monotonic() - started


async def test_bulk_job_never_sees_a_429(sandbox: Sandbox) -> None:
    elapsed = await run_bulk(sandbox, 120, workers=6)  # BUILD: 100 per 2 s window
    stats = await sandbox.stats()
    assert stats["rate_limited"] == 0
    assert stats["requests"]["GET /api/v1/posts"] == 120
    assert elapsed < 6.0  # two windows at most, plus the partial first one


async def test_injected_429_burst_pauses_every_worker(asgi_sandbox: Sandbox) -> None:
    await asgi_sandbox.faults({"path": "/api/v1/posts", "method": "GET", "error_rate": 1.0, "status": 429,
                               "count": 2, "retry_after_seconds": 0.2})
    await run_bulk(asgi_sandbox, 30, workers=5)
    stats = await asgi_sandbox.stats()
    assert stats["requests"]["GET /api/v1/posts"] == 32  # each 429 retried, and all 30 done
    assert stats["rate_limited"] == stats["faults_fired"] == 2  # only the injected ones


def response(status: int = 200, **headers: str) -> httpx.Response:
    return httpx.Response(status, headers=headers, json={"data": None})


async def test_one_request_in_flight_until_the_limit_is_known() -> None:
    limiter = RateLimiter()
    await limiter.acquire()
    second = asyncio.create_task(limiter.acquire())
    await asyncio.sleep(0.02)
    assert not second.done()
    await limiter.complete(response(**{"X-RateLimit-Limit": "100", "X-RateLimit-Remaining": "99",
                                       "X-RateLimit-Reset": str(int(time.time()) + 60)}))
    await asyncio.wait_for(second, 1)
    assert limiter.budget.limit == 100


async def test_budget_guard_waits_for_reset_and_reset_may_be_a_delta() -> None:
    now = [1000.0]
    slept: list[float] = []

    async def sleep(seconds: float) -> None:
        slept.append(seconds)
        now[0] += seconds

    limiter = RateLimiter(clock=lambda: now[0], sleep=sleep, wall=lambda: 1_700_000_000 + now[0], reserve=1)
    await limiter.acquire()
    # a server speaking in deltas: 2 s until the reset, 2 left
    await limiter.complete(response(**{"X-RateLimit-Limit": "10", "X-RateLimit-Remaining": "2",
                                       "X-RateLimit-Reset": "2"}))
    await limiter.acquire()  # uses the one above the reserve
    assert sum(slept) < 2
    await limiter.acquire()  # must wait for the window to reset
    assert sum(slept) >= 2


async def test_429_pauses_until_retry_after() -> None:
    budget = LocalBudget()
    limiter = RateLimiter(budget=budget)
    await limiter.acquire()
    reset = time.time() + 30
    await limiter.complete(httpx.Response(
        429, json={"data": None, "error": {"message": "Too Many Requests", "details": ""},
                   "meta": {"retry_after": "2001-01-01T00:00:00Z"}},
        headers={"X-RateLimit-Limit": "10", "X-RateLimit-Remaining": "0", "X-RateLimit-Reset": str(reset)}))
    wait = await budget.reserve(limiter.server_now())
    assert 29 < wait < 31  # remaining 0 until the reset outweighs an earlier retry_after


def _fake_time() -> tuple[list[float], list[float], object]:
    now, slept = [1000.0], []

    async def sleep(seconds: float) -> None:
        slept.append(seconds)
        now[0] += seconds

    return now, slept, sleep


async def _paced(catch_up: float) -> tuple[list[float], list[float], RateLimiter]:
    """A limiter that knows its window (1,000 per 100 s: one request per 0.1 s) and has just been paced."""
    now, slept, sleep = _fake_time()
    limiter = RateLimiter(clock=lambda: now[0], sleep=sleep, wall=lambda: 1_700_000_000 + now[0], burst=1,
                          catch_up=catch_up)
    await limiter.acquire()
    await limiter.complete(response(**{"X-RateLimit-Limit": "1000", "X-RateLimit-Remaining": "999",
                                       "X-RateLimit-Reset": "100"}))
    for _ in range(3):
        await limiter.acquire()
    return now, slept, limiter


async def test_a_pace_that_fell_behind_catches_up_within_its_allowance() -> None:
    now, slept, limiter = await _paced(catch_up=0.05)  # 5 s of a 100 s window: 50 requests owed at most
    now[0] += 2.0  # the loop stalled for 2 s: 20 requests behind
    slept.clear()
    for _ in range(20):
        await limiter.acquire()
    assert sum(slept) < 0.2  # sent at once to make up the stall (only the last one waits its own turn)
    for _ in range(5):
        await limiter.acquire()
    assert sum(slept) >= 0.4  # caught up: back to one per 0.1 s


async def test_catch_up_is_bounded_and_can_be_switched_off() -> None:
    now, slept, limiter = await _paced(catch_up=0.05)
    now[0] += 60.0  # a long idle: only 5 s of it is owed, not a minute's worth of burst
    slept.clear()
    for _ in range(50):
        await limiter.acquire()
    assert sum(slept) < 0.2
    for _ in range(10):
        await limiter.acquire()
    assert sum(slept) >= 0.85  # one per 0.1 s again
    now, slept, limiter = await _paced(catch_up=0.0)
    now[0] += 2.0
    slept.clear()
    for _ in range(10):
        await limiter.acquire()
    assert sum(slept) >= 0.75  # without catch-up the lost time stays lost


class _FixedWindowServer:
    """SocialDock's documented headers on a virtual clock: fixed windows aligned on the epoch, the reset as a
    whole unix second and `Date` truncated to the second, as the sandbox sends them."""

    def __init__(self, limit: int, window: float) -> None:
        self.limit, self.window = limit, window
        self.counts: dict[float, int] = {}

    def answer(self, server_now: float) -> httpx.Response:
        reset = (math.floor(server_now / self.window) + 1) * self.window
        count = self.counts.get(reset, 0)
        status = 429 if count >= self.limit else 200
        self.counts[reset] = count + (status == 200)
        date = email.utils.formatdate(server_now, usegmt=True)
        return response(status, **{"X-RateLimit-Limit": str(self.limit), "Date": date,
                                   "X-RateLimit-Remaining": str(max(0, self.limit - count - 1)),
                                   "X-RateLimit-Reset": str(math.ceil(reset))})


async def _bulk_on_virtual_time(seed: int, limit: int, windows: int) -> tuple[list[int], int]:
    """One worker sends as fast as the limiter lets it for `windows` full windows plus the partial ones, from a
    random point of a window; returns the count of every full window and the number of 429s."""
    rng = random.Random(seed)
    window, latency = 5.0, 0.002
    skew = 1_700_000_000 + rng.uniform(0, window)  # server time = local clock + skew: a random start
    now, _, sleep = _fake_time()
    limiter = RateLimiter(clock=lambda: now[0], sleep=sleep, wall=lambda: now[0] + skew)
    limiter.budget._rng = random.Random(seed)  # type: ignore[attr-defined]  # the reset margin's jitter
    server = _FixedWindowServer(limit, window)
    first = last = None
    rejected = 0
    for _ in range(int(limit * (windows + 1.5))):
        await limiter.acquire()
        at = now[0] + skew
        first = at if first is None else first
        last = at
        answer = server.answer(at)
        rejected += answer.status_code == 429
        now[0] += latency
        await limiter.complete(answer)
    full = [n for reset, n in sorted(server.counts.items()) if reset - window >= first and reset <= last]
    return full, rejected


@pytest.mark.parametrize("limit", [100, 500])
async def test_every_full_window_reaches_the_limit_from_a_random_start(limit: int) -> None:
    """The server clock's offset is learnt from whole-second `Date` headers: the estimate must keep the sample
    taken just after a second ticked, or the limiter wakes up to a second late after each reset."""
    for seed in range(8):
        full, rejected = await _bulk_on_virtual_time(seed, limit, windows=6)
        assert rejected == 0
        assert len(full) >= 6
        assert min(full) >= limit - 1, (seed, full)  # all but the one request the budget keeps back
        assert max(full) <= limit
