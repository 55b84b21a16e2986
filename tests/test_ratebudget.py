"""The workspace's rate budget, shared through the database by several processes (bench/ratebudget.py)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from sdassist.client.ratelimit import RateLimiter
from sdassist.config import Settings
from sdassist.ratebudget import SharedBudget, workspace_key_hash
from sdassist.runtime import build_client
from sdassist.sandbox import SandboxConfig, ServedSandbox
from tests.conftest import load_bench


@pytest.fixture
def database_url(tmp_path: Path) -> str:
    return os.environ.get("SDASSIST_TEST_DATABASE_URL") or f"sqlite+aiosqlite:///{tmp_path / 'budget.db'}"


def test_the_setting_wires_a_database_budget_into_the_client(tmp_path: Path) -> None:
    settings = Settings(_env_file=None, SDASSIST_DATA_DIR=str(tmp_path), SDASSIST_SHARED_RATE_BUDGET="1",
                        SOCIALDOCK_BASE_URL="http://127.0.0.1:9")
    client, _ = build_client(settings)
    assert isinstance(client.rate_limiter.budget, SharedBudget)
    plain, _ = build_client(Settings(_env_file=None, SDASSIST_DATA_DIR=str(tmp_path), SDASSIST_RATE_SHARE="0.5",
                                     SOCIALDOCK_BASE_URL="http://127.0.0.1:9"))
    assert not isinstance(plain.rate_limiter.budget, SharedBudget) and plain.rate_limiter.share == 0.5


async def test_two_budgets_on_one_database_never_take_more_than_the_window_allows(database_url: str) -> None:
    key = "sd_live_budget_test_key_1234"
    first, second = SharedBudget(database_url, key, reserve=0), SharedBudget(database_url, key, reserve=0)
    try:
        assert await first.reserve(1000.0) == 0  # nothing known yet: one probe at a time, everywhere
        assert await second.reserve(1000.0) > 0
        await first.release()
        await first.observe(10, 9, 1002.0, 1000.1)
        taken = 0
        for budget in [first, second] * 10:
            if await budget.reserve(1000.2) == 0:
                taken += 1
        assert taken == 9  # the probe took one of the window's ten
        wait = await second.reserve(1000.3)
        assert 1.7 < wait < 3.0  # until the reset, plus a small random margin
        for _ in range(9):
            await (first if _ % 2 else second).release()
        assert await second.reserve(1002.5) == 0  # a new window
        await first.pause_until(1010.0)
        assert await second.reserve(1003.0) > 6.9  # a 429 seen by one instance pauses the other
    finally:
        await first.aclose()
        await second.aclose()


async def test_the_api_key_is_stored_only_as_a_hash(database_url: str) -> None:
    key = "sd_live_never_store_me_5678"
    budget = SharedBudget(database_url, key)
    limiter = RateLimiter(budget=budget)
    try:
        await limiter.budget.reserve(1.0)
        engine = await budget._open()
        async with engine.connect() as conn:
            from sqlalchemy import select

            from sdassist.ratebudget import budget_table

            rows = (await conn.execute(select(budget_table))).all()
        assert rows and key not in repr(rows) and workspace_key_hash(key) in repr(rows)
    finally:
        await budget.aclose()


def test_two_processes_share_one_budget_with_zero_429s(database_url: str) -> None:
    bench = load_bench("ratebudget")
    with ServedSandbox(SandboxConfig(window_seconds=bench.WINDOW)) as sandbox:
        row = bench.run_mode("shared", seconds=4.0, database_url=database_url, sandbox=sandbox)
    bench.print_table([row])
    assert row["rate_limited"] == 0 and row["failed"] == 0
    # The sandbox counts arrivals (its zero 429s are the proof); we count answers, which may straddle a reset.
    assert row["max_window"] <= bench.LIMIT * 1.1
    assert all(n > 0 for n in row["per_process"])  # both processes did work
    assert row["rate"] >= 0.8 * row["limit_rate"]  # and together they ran near the plan's limit


async def test_a_one_request_window_never_stalls_the_shared_budget(database_url: str) -> None:
    budget = SharedBudget(database_url, "sd_live_one_request_plan_42", reserve=1)
    try:
        assert await budget.reserve(1000.0) == 0
        await budget.release()
        await budget.observe(1, 0, 1001.0, 1000.1)
        assert await budget.reserve(1000.2) > 0.7
        assert await budget.reserve(1001.5) == 0  # the window rolled over and nothing is in flight: a probe
        assert await budget.reserve(1001.6) < 0.1
    finally:
        await budget.aclose()


async def test_a_database_that_cannot_take_the_tables_leaves_no_engine_open(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Both the draft store and the budget open their database through `sdassist.db.open_engine`."""
    from sqlalchemy.ext.asyncio import AsyncEngine

    from sdassist.publishing.store import DraftStore

    disposed: list[object] = []
    real = AsyncEngine.dispose

    async def dispose(self: AsyncEngine, *a: object, **k: object) -> None:
        disposed.append(self)
        await real(self, *a, **k)

    def refuse(*_a: object, **_k: object) -> None:
        raise RuntimeError("permission denied for schema public")

    monkeypatch.setattr(AsyncEngine, "dispose", dispose)
    from sdassist import ratebudget
    from sdassist.publishing import store as store_module

    monkeypatch.setattr(ratebudget.metadata, "create_all", refuse)
    monkeypatch.setattr(store_module.metadata, "create_all", refuse)
    url = f"sqlite+aiosqlite:///{tmp_path / 'x' / 'budget.db'}"
    budget = SharedBudget(url, "sd_live_leak_check_1")
    with pytest.raises(RuntimeError, match="permission denied"):
        await budget.reserve(1000.0)
    with pytest.raises(RuntimeError, match="permission denied"):
        await DraftStore.open(url)
    assert len(disposed) == 2


HOLDER = """
import asyncio, sys
from sdassist.ratebudget import SharedBudget

async def main():
    budget = SharedBudget(sys.argv[1], sys.argv[2])
    assert await budget.reserve(1000.0) == 0  # the limit is unknown: this is the one request in flight
    print("holding", flush=True)
    await asyncio.sleep(3600)  # a request that never ends, in a process that will be killed

asyncio.run(main())
"""


async def test_a_killed_instances_requests_in_flight_are_released_within_seconds(database_url: str) -> None:
    """Each instance holds its requests in flight in a lease it renews; one killed mid-request stops
    holding the budget back once its lease lapses (LEASE_TTL), while a live one keeps its lease."""
    import asyncio
    import signal
    import sys
    import time

    from sdassist import ratebudget

    key = "sd_live_lease_test_key_77"
    holder = await asyncio.create_subprocess_exec(sys.executable, "-c", HOLDER, database_url, key,
                                                  stdout=asyncio.subprocess.PIPE)
    other = SharedBudget(database_url, key)
    try:
        assert holder.stdout is not None
        assert (await asyncio.wait_for(holder.stdout.readline(), 60)).strip() == b"holding"
        assert await other.reserve(1000.0) > 0  # one request at a time until the limit is known: held
        await asyncio.sleep(ratebudget.LEASE_TTL + 1.5)  # longer than a lease lasts unrenewed
        assert await other.reserve(1000.0) > 0  # the live holder renewed its lease
        holder.send_signal(signal.SIGKILL)
        await holder.wait()
        killed = time.monotonic()
        while await other.reserve(1000.0) > 0:
            assert time.monotonic() - killed < ratebudget.LEASE_TTL + 5, "the dead instance's lease never lapsed"
            await asyncio.sleep(0.2)
    finally:
        if holder.returncode is None:
            holder.kill()
            await holder.wait()
        await other.aclose()
