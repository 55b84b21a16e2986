"""Benchmark: schedule N posts through the client against a sandbox served by uvicorn.

The sandbox runs in a subprocess, so this process's CPU time is the client's own. Each run starts on a
fresh sandbox window with a fresh client (the limiter learns the limit from scratch) and reports the
achieved rate against the plan's allowed rate and the 429s the sandbox counted.

    python bench/bulk_schedule.py [--posts 300] [--window 5] [--plan BUILD|ACCELERATE] [--runs 3]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import httpx

from sdassist.client import RateLimiter, SocialDock
from sdassist.client.models import PostCreate, Target
from sdassist.sandbox.server import free_loopback_port as free_port

KEYS = {"BUILD": "sd_test_build", "ACCELERATE": "sd_test_sandbox"}
LIMITS = {"BUILD": 100, "ACCELERATE": 500}

SERVER = """
import sys
from sdassist.sandbox import SandboxConfig, build_server
port, window = int(sys.argv[1]), float(sys.argv[2])
build_server("127.0.0.1", port, SandboxConfig(window_seconds=window, demo_accounts=True)).run()
"""


@dataclass
class Run:
    posts: int
    elapsed: float
    cpu: float
    rate_limited: int




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


async def wait_for_window_start(window: float) -> None:
    """Sandbox windows are aligned on multiples of `window`: start just after a boundary."""
    await asyncio.sleep(window - time.time() % window + 0.01)


async def one_run(base: str, key: str, posts: int, workers: int, window: float) -> Run:
    async with httpx.AsyncClient(base_url=base) as control:
        await control.post("/_sandbox/reset")
        await wait_for_window_start(window)
        client = SocialDock(key, base_url=base, rate_limiter=RateLimiter())
        async with client:
            accounts = await client.accounts.list()
            account = next(a.id for a in accounts if a.platform == "instagram")
            when = datetime.now(UTC) + timedelta(days=1)
            todo = list(range(posts))

            async def worker() -> None:
                while todo:
                    i = todo.pop()
                    body = PostCreate(text=f"bulk {i}", publish_now=False, scheduled_at=when,
                                      targets=[Target(platform="instagram", account_id=account)])
                    await client.posts.create(body)

            cpu0, t0 = time.process_time(), time.monotonic()
            await asyncio.gather(*(worker() for _ in range(workers)))
            elapsed, cpu = time.monotonic() - t0, time.process_time() - cpu0
        stats = (await control.get("/_sandbox/stats")).json()["data"]
    return Run(posts, elapsed, cpu, stats["rate_limited"])


async def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--posts", type=int, default=300)
    parser.add_argument("--window", type=float, default=5.0)
    parser.add_argument("--plan", choices=sorted(KEYS), default="BUILD")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--workers", type=int, default=6)
    args = parser.parse_args()

    port = free_port()
    proc = start_server(port, args.window)
    allowed = LIMITS[args.plan] / args.window
    # The first request of a run (accounts.list) and the posts share the budget: +1.
    runs: list[Run] = []
    try:
        for n in range(args.runs):
            run = await one_run(f"http://127.0.0.1:{port}", KEYS[args.plan], args.posts, args.workers,
                                args.window)
            runs.append(run)
            rate = run.posts / run.elapsed
            print(f"run {n + 1}: {run.posts} posts in {run.elapsed:.2f} s = {rate:.2f}/s, "
                  f"ratio {rate / allowed:.3f}, 429s {run.rate_limited}, "
                  f"client CPU {run.cpu / run.posts * 1000:.2f} ms/request", flush=True)
    finally:
        proc.terminate()
        proc.wait(10)

    ratio = statistics.median(r.posts / r.elapsed / allowed for r in runs)
    cpu = statistics.median(r.cpu / r.posts * 1000 for r in runs)
    print(f"\n{args.plan} {LIMITS[args.plan]} per {args.window:g} s window, allowed {allowed:.2f}/s, "
          f"{args.workers} workers")
    print(f"median ratio achieved/allowed: {ratio:.3f}")
    print(f"429s: {sum(r.rate_limited for r in runs)} over {len(runs)} runs")
    print(f"median client CPU per request: {cpu:.2f} ms")
    met = ratio >= 0.95 and not any(r.rate_limited for r in runs)
    print("targets (ratio >= 0.95, zero 429s): " + ("met" if met else "MISSED"))
    return 0 if met else 1


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
