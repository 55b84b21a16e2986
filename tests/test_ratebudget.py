"""The workspace's rate budget, shared through the database by several processes (bench/ratebudget.py)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

from sdassist.client.ratelimit import Answer, RateLimiter
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
    # The sandbox counts arrivals: its zero 429s are the proof. How near the limit they ran is the bench's
    # business (bench/ratebudget.py, bench/instances.py): on a loaded machine it says nothing about the design.
    assert row["rate_limited"] == 0 and row["failed"] == 0
    assert all(n > 0 for n in row["per_process"])  # both processes made progress


async def _learn_fixed_windows(budget: SharedBudget, limit: int) -> None:
    """Answers from three successive 2 s windows (up to 1000, 1002, 1004): two intervals between resets show the
    window's length, so the budget knows the windows exactly."""
    for reset in (1000.0, 1002.0, 1004.0):
        assert await budget.reserve(reset - 2.0) == 0
        await budget.release(Answer(limit, limit - 1, reset, reset - 1.9))
    assert budget.window == 2.0 and budget.window_exact


async def test_requests_in_flight_at_a_rollover_give_their_place_back_when_answered_from_the_old_window(
    database_url: str,
) -> None:
    """SocialDock counts a request in the window in which it receives it. Requests still in flight when a
    window ends may land in the next one, so they count against it, but only until their answer says which
    window counted them: one from the old window gives its place back, one from the new window keeps it."""
    key = "sd_live_carry_over_test_key_5"
    first, second = SharedBudget(database_url, key, reserve=0), SharedBudget(database_url, key, reserve=0)
    try:
        await _learn_fixed_windows(first, 10)
        for budget in (first, second) * 4:  # eight requests late in the window ending at 1004, all in flight
            assert await budget.reserve(1003.9) == 0
        assert await first.reserve(1004.05) == 0  # the new window (1004-1006): the eight are carried into it
        assert await first.reserve(1004.06) == 0
        assert await second.reserve(1004.07) > 1.9  # 8 carried + 2 new: spent until 1006
        for budget in (first, second) * 3:  # six answers: counted in the window that ended at 1004
            await budget.release(Answer(10, 1, 1004.0, 1004.1))
        for _ in range(6):  # their places are back
            assert await second.reserve(1004.2) == 0
        assert await first.reserve(1004.2) > 1.7
        await first.release(Answer(10, 7, 1006.0, 1004.3))  # a carried request that landed in the new window
        await second.release(Answer(10, 6, 1006.0, 1004.3))  # keeps its place: nothing comes back
        assert await first.reserve(1004.4) > 1.5
    finally:
        await first.aclose()
        await second.aclose()


async def test_an_answer_from_a_window_the_budget_has_not_reached_rolls_it_over(database_url: str) -> None:
    """A request sent just before a window's end that lands after it: its answer starts the new window in
    the shared row; what is still in flight is carried into it, and what the server counted is kept."""
    key = "sd_live_answer_rollover_key_9"
    budget = SharedBudget(database_url, key, reserve=0)
    try:
        await _learn_fixed_windows(budget, 10)
        for _ in range(3):
            assert await budget.reserve(1005.9) == 0
        await budget.release(Answer(10, 5, 1008.0, 1005.95))  # the server has 5 in 1006-1008 (others' too)
        # spent: the 5 the server counted, and the 2 still in flight, which may land there too
        assert sum([await budget.reserve(1006.0) == 0 for _ in range(5)]) == 3
        await budget.release(Answer(10, 0, 1006.0, 1006.0))  # one carried request was counted before 1006
        assert await budget.reserve(1006.01) == 0  # so its place in 1006-1008 is free again
        assert await budget.reserve(1006.02) > 1.9
    finally:
        await budget.aclose()


async def test_while_the_window_is_unknown_only_answers_from_before_the_rollover_give_places_back(
    database_url: str,
) -> None:
    """Until the window's length is known the row's window may span several of the server's. An answer from one
    of those (its own clock lagging, as early estimates from a whole-second Date header do) was not carried:
    it must not give back the place of a request that was."""
    from sqlalchemy import select

    from sdassist.ratebudget import leases_table

    key = "sd_live_unknown_window_key_4"
    budget = SharedBudget(database_url, key, reserve=0)
    try:
        assert await budget.reserve(1000.0) == 0
        await budget.release(Answer(10, 9, 1002.0, 1000.1))  # a 2 s window, not yet known to be one
        assert not budget.window_exact
        assert await budget.reserve(1001.9) == 0  # C: in flight when the window ends
        assert await budget.reserve(1002.5) == 0  # A: the row rolls over (end unknown); C is carried
        assert await budget.reserve(1004.2) == 0  # B: lands in the server's next window
        await budget.release(Answer(10, 9, 1006.0, 1004.3))  # B answers first: the row's window ends at 1006
        await budget.release(Answer(10, 9, 1004.0, 1003.9))  # A, from the window between, seen with a lagging clock
        engine = await budget._open()
        async with engine.connect() as conn:
            carried = (await conn.execute(select(leases_table.c.carried).where(
                leases_table.c.instance == budget.instance))).scalar_one()
        assert carried == 1  # C may still land in the window ending at 1006
    finally:
        await budget.aclose()


async def test_one_long_interval_between_resets_is_not_taken_for_the_window(database_url: str) -> None:
    """An instance that was idle sees two resets 24 s apart: that is some whole number of windows, not the
    window. It takes the length another instance has confirmed (two intervals alike) from the shared row."""
    key = "sd_live_window_learning_key_3"
    busy, idle = SharedBudget(database_url, key, reserve=0), SharedBudget(database_url, key, reserve=0)
    try:
        assert await idle.reserve(998.0) == 0
        await idle.release(Answer(10, 9, 1000.0, 998.1))
        assert await idle.reserve(1023.0) == 0
        await idle.release(Answer(10, 9, 1024.0, 1023.1))
        assert not idle.window_exact  # one interval of 24 s says little
        await _learn_fixed_windows(busy, 10)
        assert await idle.reserve(1024.5) == 0
        assert idle.window == 2.0 and idle.window_exact
    finally:
        await busy.aclose()
        await idle.aclose()


async def test_an_instance_that_has_had_no_answer_paces_on_the_shared_window(database_url: str) -> None:
    """The limit comes from the shared row; the window must come with it, or the client's pace (one request per
    window / limit) assumes the documented minute: 6 s between requests on a 10-per-2 s plan."""
    key = "sd_live_fresh_instance_key_8"
    first, fresh = SharedBudget(database_url, key), SharedBudget(database_url, key)
    limiter = RateLimiter(budget=fresh)
    try:
        assert await first.reserve(1000.0) == 0
        await first.release(Answer(10, 9, 1002.0, 1000.1))
        assert await fresh.reserve(1000.5) == 0
        assert fresh.limit == 10 and fresh.window == 1.5  # the time left in the window, as an answer would say
        assert limiter.emission_interval() == 0.15
    finally:
        await first.aclose()
        await fresh.aclose()


async def test_an_instance_that_joins_after_a_rollover_does_not_pace_on_an_assumed_minute(database_url: str) -> None:
    """The row knows the limit but, once its window has ended and no answer from the next one has come, not the
    window. An instance that joins then must not pace on the documented minute (6 s between requests on a
    10-per-1 s plan): a few requests taken at that pace push its pace tens of seconds ahead, and once an answer
    shows the real window, every worker of the instance waits that long with nothing sent (the ~15 s stalls of
    the control run in bench/instances.py). A virtual clock: no time passes but what the limiter sleeps."""
    key = "sd_live_rollover_join_key_17"
    first, fresh = SharedBudget(database_url, key), SharedBudget(database_url, key)
    clock = [1001.2]

    async def sleep(seconds: float) -> None:
        clock[0] += seconds

    limiter = RateLimiter(budget=fresh, clock=lambda: clock[0], sleep=sleep, wall=lambda: clock[0])
    try:
        assert await first.reserve(1000.0) == 0
        await first.release(Answer(10, 9, 1001.0, 1000.1))  # the row: 10 per window, ending at 1001
        for _ in range(5):  # 1001.2: the window has ended and no answer from the next one has come
            await limiter.acquire()
        assert fresh.limit == 10 and fresh.window is None
        await fresh.release(Answer(10, 5, 1002.0, clock[0] + 0.1))  # the first answer: windows are short
        for _ in range(3):
            await limiter.acquire()
        assert clock[0] - 1001.2 < 1.0  # eight requests of a ten-request window, within that window
    finally:
        await first.aclose()
        await fresh.aclose()


async def test_a_shared_window_that_answers_contradict_is_dropped_and_never_paced_on(database_url: str) -> None:
    """The row keeps the window length an instance confirmed, also across a change of plan (bench/instances.py
    runs its 1 s control on the database its 5 s runs used). A window 5 times too long stays self-consistent:
    every instance waits for the row's predicted end, sends its burst at once, and sees resets exactly 5 s
    apart, so the instances ran at a fifth of the plan (1.9 approvals/s on a 10/s plan). An answer from a window
    that ends strictly inside the row's, off the row's grid, proves the shared length wrong: it is dropped, the
    row takes the answer's end, and no instance waits past it."""
    key = "sd_live_stale_window_key_23"
    first, second = SharedBudget(database_url, key), SharedBudget(database_url, key)
    try:
        for reset in (1000.0, 1005.0, 1010.0):  # 5 s windows, then the plan changes to 1 s ones
            assert await first.reserve(reset - 4.9) == 0
            await first.release(Answer(10, 9, reset, reset - 4.8))
        assert first.window == 5.0 and first.window_exact
        taken = [b for b in (first, second) * 5 if await b.reserve(1010.05) == 0]
        assert len(taken) == 9  # the row rolled over to a predicted end at 1015; one kept in reserve
        for i, budget in enumerate(taken):  # all counted in the server's window ending at 1011
            await budget.release(Answer(10, 9 - i, 1011.0, 1010.2))
        wait = await second.reserve(1010.3)
        assert 0 < wait < 0.8  # until 1011 plus a small margin, not until 1015
        assert await first.reserve(1011.05) == 0 and await second.reserve(1011.05) == 0
        assert not (first.window_exact and first.window == 5.0)
    finally:
        await first.aclose()
        await second.aclose()


async def test_a_row_left_by_instances_long_gone_is_learnt_again_from_one_probe(database_url: str) -> None:
    """The row outlives its instances, and the plan may change meanwhile (bench/instances.py runs its 10-per-1 s
    control on the database its 200-per-5 s runs used): instances that start after a window with no instance
    running must not send a burst on the old limit (the control's 429s), but one probe first."""
    from sqlalchemy import update

    from sdassist.ratebudget import leases_table

    key = "sd_live_old_plan_key_29"
    old, fresh = SharedBudget(database_url, key), SharedBudget(database_url, key)
    try:
        for reset in (1000.0, 1005.0, 1010.0):
            assert await old.reserve(reset - 4.9) == 0
            await old.release(Answer(200, 199, reset, reset - 4.8))
        await old.aclose()
        async with (await fresh._open()).begin() as conn:  # its lease lapsed (LEASE_TTL)
            await conn.execute(update(leases_table).values(heartbeat=0.0))
        assert await fresh.reserve(1020.0) == 0
        assert await fresh.reserve(1020.01) > 0  # one request at a time until an answer tells the new plan
        await fresh.release(Answer(10, 9, 1021.0, 1020.1))
        assert fresh.limit == 10
    finally:
        await old.aclose()
        await fresh.aclose()


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


async def test_instances_with_random_network_delays_never_exceed_a_window(database_url: str) -> None:
    """A discrete-event run on a virtual clock: three instances, four workers each, against a server that counts
    each request in the fixed window in which it arrives (the documented semantics). Each instance paces its
    requests a little faster than its third of the plan, as the client's limiter spreads them, so requests
    are in flight at every window's end; each spends a random time reaching the server and its answer a
    random time coming back, so they cross window ends both ways; a few answers are lost. No window ever gets
    more than the plan allows, with no reserve kept back, and no window is starved by the requests carried
    over from the one before."""
    import heapq
    import random

    limit, window, requests = 10, 2.0, 240
    rng = random.Random(7)
    key = "sd_live_simulation_key_31"
    budgets = [SharedBudget(database_url, key, reserve=0, rng=random.Random(i)) for i in range(3)]
    counted: dict[int, int] = {}
    events: list[tuple[float, int, str, int, Any]] = []  # (time, order, kind, worker, request)
    order = 0

    def at(t: float, kind: str, worker: int, request: Any = None) -> None:
        nonlocal order
        order += 1
        heapq.heappush(events, (t, order, kind, worker, request))

    for worker in range(12):
        at(1000.0 + worker * 0.01, "reserve", worker)
    sent = 0
    pace = 0.9 * window * len(budgets) / limit  # each instance's interval between requests
    next_at = [0.0] * len(budgets)
    try:
        while events:
            t, _, kind, worker, request = heapq.heappop(events)
            budget = budgets[worker % 3]
            if kind == "reserve":
                if sent >= requests:
                    continue
                if t < next_at[worker % 3]:
                    at(next_at[worker % 3], "reserve", worker)
                    continue
                wait = await budget.reserve(t)
                if wait > 0:
                    at(t + wait, "reserve", worker)
                    continue
                sent += 1
                next_at[worker % 3] = t + pace
                at(t + rng.uniform(0.0, 0.2), "arrive", worker)
            elif kind == "arrive":
                slot = int(t // window)
                counted[slot] = counted.get(slot, 0) + 1
                answer = Answer(limit, max(0, limit - counted[slot]), (slot + 1) * window, 0.0)
                at(t + rng.uniform(0.0, 0.8), "answer", worker, None if rng.random() < 0.05 else answer)
            else:
                await budget.release(None if request is None else request._replace(now=t))
                at(t, "reserve", worker)
    finally:
        for budget in budgets:
            await budget.aclose()
    windows = [counted.get(slot, 0) for slot in range(min(counted), max(counted) + 1)]
    assert max(windows) <= limit, windows
    full = windows[2:-1]  # past the start (one request at a time until the limit is known) and the last
    assert sum(full) >= 0.9 * limit * len(full), windows
