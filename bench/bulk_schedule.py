"""Benchmark: schedule posts in bulk through the client against a sandbox served by uvicorn.

The sandbox runs in a subprocess, so this process's CPU time is the client's own. Each run starts at a
random point of a sandbox window (a real client does not start on a boundary) with a fresh client (the
limiter learns the limit from scratch), and counts the requests SocialDock accepted in every window the run
covered from start to end (each response names its window by `X-RateLimit-Reset`). Target: every full
window ≥ 0.97 of the plan limit, on BUILD and ACCELERATE, no 429 at all and no transport error (a create
whose request failed on the way is counted, named on stderr, and the run goes on without it).

    python bench/bulk_schedule.py [--plan BUILD|ACCELERATE|both] [--runs 2] [--windows 3] [--window 5] [--full]

`--full`: 5 runs of 6 windows per plan.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import httpx

from sdassist.client import RateLimiter, SocialDock
from sdassist.client.errors import TransportError
from sdassist.client.models import PostCreate, Target
from sdassist.client.ratelimit import CATCH_UP
from sdassist.sandbox.server import free_loopback_port as free_port

KEYS = {"BUILD": "sd_test_build", "ACCELERATE": "sd_test_sandbox"}
LIMITS = {"BUILD": 100, "ACCELERATE": 500}

SERVER = """
import sys
from sdassist.sandbox import SandboxConfig, build_server
port, window = int(sys.argv[1]), float(sys.argv[2])
build_server("127.0.0.1", port, SandboxConfig(window_seconds=window, demo_accounts=True)).run()
"""


TARGET = 0.97


class CountingLimiter(RateLimiter):
    """The client's own limiter, noting which server window answered each request and how."""

    def __init__(self, catch_up: float) -> None:
        super().__init__(catch_up=catch_up)
        self.answers: list[tuple[float, int]] = []  # (X-RateLimit-Reset, status)

    async def complete(self, response: httpx.Response | None) -> None:
        if response is not None and "x-ratelimit-reset" in response.headers:
            self.answers.append((float(response.headers["x-ratelimit-reset"]), response.status_code))
        await super().complete(response)


@dataclass
class Run:
    posts: int
    elapsed: float
    cpu: float
    rate_limited: int
    full_windows: list[int]  # accepted requests in each window the run covered whole
    transport_errors: int  # creates that failed on the way (connection reset, timeout…), not retried


def start_server(port: int, window: float) -> subprocess.Popen[bytes]:
    proc = subprocess.Popen([sys.executable, "-c", SERVER, str(port), str(window)])
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        try:
            httpx.get(f"http://127.0.0.1:{port}/_sandbox/stats", timeout=1)
            return proc
        except httpx.TransportError:
            time.sleep(0.05)
    proc.kill()
    raise SystemExit("the sandbox did not start")


def full_windows(answers: list[tuple[float, int]], started: float, ended: float, window: float) -> list[int]:
    """Accepted requests per window that began after the run's first request and ended before its last."""
    counts: dict[float, int] = {}
    for reset, status in answers:
        if status != 429:
            counts[reset] = counts.get(reset, 0) + 1
    return [counts[r] for r in sorted(counts) if r - window >= started and r <= ended]


async def one_run(base: str, key: str, posts: int, workers: int, window: float, catch_up: float) -> Run:
    async with httpx.AsyncClient(base_url=base) as control:
        await control.post("/_sandbox/reset")
        await asyncio.sleep(random.uniform(0, window))  # anywhere in a window, as a real start is
        limiter = CountingLimiter(catch_up)
        client = SocialDock(key, base_url=base, rate_limiter=limiter)
        started = time.time()
        async with client:
            accounts = await client.accounts.list()
            account = next(a.id for a in accounts if a.platform == "instagram")
            when = datetime.now(UTC) + timedelta(days=1)
            todo = list(range(posts))
            failed: list[TransportError] = []

            async def worker() -> None:
                while todo:
                    i = todo.pop()
                    body = PostCreate(text=f"bulk {i}", publish_now=False, scheduled_at=when,
                                      targets=[Target(platform="instagram", account_id=account)])
                    try:
                        await client.posts.create(body)
                    except TransportError as exc:  # counted and reported; the run goes on
                        failed.append(exc)
                        print(f"  transport error on post {i} (sent: {exc.request_sent}): {exc}",
                              file=sys.stderr, flush=True)

            cpu0, t0 = time.process_time(), time.monotonic()
            await asyncio.gather(*(worker() for _ in range(workers)))
            elapsed, cpu = time.monotonic() - t0, time.process_time() - cpu0
        ended = time.time()
        stats = (await control.get("/_sandbox/stats")).json()["data"]
    return Run(posts, elapsed, cpu, stats["rate_limited"], full_windows(limiter.answers, started, ended, window),
               len(failed))


async def bench_plan(plan: str, args: argparse.Namespace) -> tuple[bool, float]:
    port = free_port()
    proc = start_server(port, args.window)
    limit = LIMITS[plan]
    posts = int(limit * (args.windows + 1.5))  # the windows to count, plus the partial ones at either end
    runs: list[Run] = []
    try:
        for n in range(args.runs):
            run = await one_run(f"http://127.0.0.1:{port}", KEYS[plan], posts, args.workers, args.window,
                                args.catch_up)
            runs.append(run)
            ratios = " ".join(f"{c / limit:.3f}" for c in run.full_windows)
            print(f"{plan} run {n + 1}: {run.posts} posts in {run.elapsed:.2f} s; full windows {ratios}; "
                  f"429s {run.rate_limited}; transport errors {run.transport_errors}"
                  f"{' (RUN NOT CLEAN)' if run.transport_errors else ''}; "
                  f"client CPU {run.cpu / run.posts * 1000:.2f} ms/request", flush=True)
    finally:
        proc.terminate()
        proc.wait(10)
    windows = [c / limit for r in runs for c in r.full_windows]
    worst = min(windows, default=0.0)
    rejected = sum(r.rate_limited for r in runs)
    broken = sum(r.transport_errors for r in runs)
    print(f"{plan}: {limit} per {args.window:g} s window, {args.workers} workers, catch_up {args.catch_up}: "
          f"{len(windows)} full windows, "
          f"worst {worst:.3f}, median {statistics.median(windows) if windows else 0:.3f} of the limit; "
          f"429s {rejected}; transport errors {broken} in {sum(1 for r in runs if r.transport_errors)} of "
          f"{len(runs)} runs; median client CPU {statistics.median(r.cpu / r.posts * 1000 for r in runs):.2f} "
          "ms/request\n", flush=True)
    return bool(windows) and worst >= TARGET and rejected == 0 and broken == 0, worst


async def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--plan", choices=[*sorted(KEYS), "both"], default="both")
    parser.add_argument("--window", type=float, default=5.0, help="sandbox window in seconds")
    parser.add_argument("--runs", type=int, default=None, help="runs per plan (2; --full 5)")
    parser.add_argument("--windows", type=int, default=None, help="full windows per run (3; --full 6)")
    parser.add_argument("--workers", type=int, default=6)
    parser.add_argument("--full", action="store_true")
    parser.add_argument("--catch-up", type=float, default=CATCH_UP,
                        help=f"the limiter's catch_up ({CATCH_UP}; 0 = the pace never makes up lost time)")
    args = parser.parse_args()
    args.runs = args.runs or (5 if args.full else 2)
    args.windows = args.windows or (6 if args.full else 3)
    plans = sorted(KEYS) if args.plan == "both" else [args.plan]
    results = [await bench_plan(plan, args) for plan in plans]
    met = all(ok for ok, _ in results)
    print(f"target (every full window >= {TARGET} of the limit, zero 429s, zero transport errors): "
          + ("met" if met else "MISSED"))
    return 0 if met else 1


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
