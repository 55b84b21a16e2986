"""The deadline covers the wait for the limiter; a request never sent is never reported as sent; the
limiter's bookkeeping cannot change a request's outcome."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from sdassist.client import RateLimiter, SocialDock
from sdassist.client.errors import RateLimitError, TransportError
from sdassist.client.models import PostCreate, Target
from sdassist.sandbox import create_app

from .conftest import TEST_KEY, sandbox_config


class StuckLimiter(RateLimiter):
    """A limiter that never gives a turn (a budget waiting on a window that will not come)."""

    async def acquire(self) -> None:
        await asyncio.sleep(3600)


class BrokenBookkeeping(RateLimiter):
    async def complete(self, response: httpx.Response | None) -> None:
        raise RuntimeError("budget database went away")


@pytest.fixture
async def one_per_minute() -> AsyncIterator[Any]:
    app = create_app(sandbox_config(window_seconds=60.0, rate_limits={"ACCELERATE": 1}))
    clients: list[SocialDock] = []

    def client(**kwargs: Any) -> SocialDock:
        c = SocialDock(TEST_KEY, base_url="http://sandbox.test", transport=httpx.ASGITransport(app=app), **kwargs)
        clients.append(c)
        return c

    yield client
    for c in clients:
        await c.aclose()
    await app.state.sandbox.aclose()


def _post(account: str) -> PostCreate:
    return PostCreate(text="x", targets=[Target(platform="linkedin", account_id=account)], publish_now=True)


async def test_the_deadline_covers_the_limiter_wait_and_nothing_is_reported_sent(one_per_minute: Any) -> None:
    client = one_per_minute(rate_limiter=StuckLimiter(), deadline=0.3)
    started = time.monotonic()
    with pytest.raises(TransportError) as caught:
        await asyncio.wait_for(client.posts.create(_post("acc_x")), 5)
    assert time.monotonic() - started < 2
    assert caught.value.request_sent is False and "not sent" in str(caught.value)


async def test_a_429_then_no_turn_within_the_deadline_is_a_rate_limit_error(one_per_minute: Any) -> None:
    first = one_per_minute()
    account = next(a.id for a in await first.accounts.list() if a.platform == "linkedin")  # the window's one
    second = one_per_minute(deadline=0.5)  # its own limiter knows nothing yet: it meets the 429
    started = time.monotonic()
    with pytest.raises(RateLimitError):
        await asyncio.wait_for(second.posts.create(_post(account)), 5)
    assert time.monotonic() - started < 2


async def test_bookkeeping_errors_never_mask_the_result(one_per_minute: Any, caplog: Any) -> None:
    client = one_per_minute(rate_limiter=BrokenBookkeeping())
    accounts = await client.accounts.list()
    assert accounts
    assert "bookkeeping failed" in caplog.text


async def test_a_one_request_window_never_stalls_the_local_budget() -> None:
    from sdassist.client.ratelimit import LocalBudget

    budget = LocalBudget(reserve=1)  # a reserve of one would otherwise keep the only request back
    assert await budget.reserve(1000.0) == 0
    await budget.release()
    await budget.observe(1, 0, 1001.0, 1000.1)
    assert await budget.reserve(1000.2) > 0.7  # spent: wait for the reset
    assert await budget.reserve(1001.5) == 0  # rolled over locally, nothing in flight: a probe goes
    assert await budget.reserve(1001.6) < 0.1  # and only one, until it is answered
    await budget.release()


async def test_a_one_request_window_keeps_sending_through_the_sandbox() -> None:
    app = create_app(sandbox_config(window_seconds=0.3, rate_limits={"ACCELERATE": 1}))
    client = SocialDock(TEST_KEY, base_url="http://sandbox.test", transport=httpx.ASGITransport(app=app))
    try:
        for _ in range(3):
            await asyncio.wait_for(client.accounts.list(), 5)
    finally:
        await client.aclose()
        await app.state.sandbox.aclose()
