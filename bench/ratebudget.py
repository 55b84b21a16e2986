"""Two OS processes share one workspace's rate budget: run bulk work at once and count the 429s.

    python bench/ratebudget.py                      # shared budget (SQLite file), share split, uncoordinated
    python bench/ratebudget.py --modes shared --database-url postgresql+asyncpg://…

A sandbox is served by uvicorn on loopback with a short window (BUILD: 100 requests per 2 s). Each mode
starts two `sdassist` processes (built by `runtime.build_client` from settings, like a real instance)
that hammer `GET /posts` with many concurrent tasks for a few windows. The sandbox's own counters give
the 429s; the combined rate is compared with the plan's limit. Exit status 1 when a coordinated mode
(`shared`, `share`) saw a 429.

Modes: `shared` = SDASSIST_SHARED_RATE_BUDGET=1 (one budget in the database); `share` =
SDASSIST_RATE_SHARE=0.5 each (a fixed split); `none` = two instances each believing they own the budget.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from sdassist.sandbox import SandboxConfig, ServedSandbox

KEY = "sd_test_build"
LIMIT = 100
WINDOW = 2.0


# --- a worker process --------------------------------------------------------------------------------

async def _work(seconds: float, tasks: int) -> dict[str, Any]:
    from sdassist.client.errors import SocialDockError
    from sdassist.config import Settings
    from sdassist.runtime import build_client

    settings = Settings(_env_file=None)
    client, _ = build_client(settings)
    done = failed = 0
    stamps: list[float] = []
    start = time.monotonic()
    stop = start + seconds

    async def loop() -> None:
        nonlocal done, failed
        while time.monotonic() < stop:
            try:
                await client.posts.list(limit=1)
                done += 1
                stamps.append(time.time())
            except SocialDockError:
                failed += 1

    try:
        await asyncio.gather(*[loop() for _ in range(tasks)])
    finally:
        await client.aclose()
        close = getattr(client.rate_limiter.budget, "aclose", None)
        if close is not None:
            await close()
    return {"ok": done, "failed": failed, "elapsed": time.monotonic() - start, "stamps": stamps}


# --- the run -----------------------------------------------------------------------------------------

def run_mode(mode: str, *, seconds: float, database_url: str, sandbox: ServedSandbox, tasks: int = 16,
             processes: int = 2) -> dict[str, Any]:
    """Run `processes` workers at once in `mode`; the sandbox's counts and the workers' reports."""
    sandbox.control("POST", "/_sandbox/reset")
    before = sandbox.control("GET", "/_sandbox/stats")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SDASSIST_", "SOCIALDOCK_"))}
    env.update(SOCIALDOCK_API_KEY=KEY, SOCIALDOCK_BASE_URL=sandbox.url, SDASSIST_LOG="warning")
    if mode == "shared":
        env.update(SDASSIST_SHARED_RATE_BUDGET="1", SDASSIST_DATABASE_URL=database_url)
    elif mode == "share":
        env.update(SDASSIST_RATE_SHARE=str(1 / processes))
    # Start together at the beginning of a window, as a fair worst case for the window's edge.
    start_at = (int(time.time() / WINDOW) + 1) * WINDOW + 0.05
    time.sleep(max(0.0, start_at - time.time()))
    t0 = time.monotonic()
    procs = [
        subprocess.Popen([sys.executable, __file__, "--worker", str(seconds), str(tasks)], env=env,
                         stdout=subprocess.PIPE, text=True)
        for _ in range(processes)
    ]
    reports = []
    for p in procs:
        out, _ = p.communicate(timeout=seconds + 60)
        if p.returncode != 0:
            raise RuntimeError(f"worker failed with status {p.returncode}")
        reports.append(json.loads(out.strip().splitlines()[-1]))
    wall = time.monotonic() - t0
    after = sandbox.control("GET", "/_sandbox/stats")
    rejected = after["rate_limited"] - (before["rate_limited"] if before else 0)
    ok = sum(r["ok"] for r in reports)
    # Answers per server window (fixed windows on multiples of WINDOW); the first and last are partial.
    per_window: dict[int, int] = {}
    for stamp in (s for r in reports for s in r["stamps"]):
        per_window[int(stamp // WINDOW)] = per_window.get(int(stamp // WINDOW), 0) + 1
    counts = [per_window[k] for k in sorted(per_window)]
    full = counts[1:-1] or counts
    return {
        "windows": counts, "max_window": max(counts, default=0),
        "rate": sum(full) / (len(full) * WINDOW) if full else 0.0,
        "mode": mode, "processes": processes, "ok": ok, "failed": sum(r["failed"] for r in reports),
        "per_process": [r["ok"] for r in reports], "rate_limited": rejected,
        "limit_rate": LIMIT / WINDOW, "wall": wall,
    }


def print_table(rows: list[dict[str, Any]]) -> None:
    head = (f"{'mode':<8} {'ok':>6} {'per process':>12} {'429s':>5} {'max/window':>11} {'req/s':>7} "
            f"{'limit/s':>8} {'of limit':>9}")
    print(head)
    print("-" * len(head))
    for r in rows:
        per = "/".join(str(n) for n in r["per_process"])
        print(f"{r['mode']:<8} {r['ok']:>6} {per:>12} {r['rate_limited']:>5} {r['max_window']:>11} "
              f"{r['rate']:>7.1f} {r['limit_rate']:>8.1f} {r['rate'] / r['limit_rate']:>9.0%}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--worker", nargs=2, metavar=("SECONDS", "TASKS"), help=argparse.SUPPRESS)
    parser.add_argument("--modes", default="shared,share,none")
    parser.add_argument("--seconds", type=float, default=6.0)
    parser.add_argument("--database-url", default=os.environ.get("SDASSIST_TEST_DATABASE_URL"))
    args = parser.parse_args(argv)
    if args.worker:
        print(json.dumps(asyncio.run(_work(float(args.worker[0]), int(args.worker[1])))), flush=True)
        return 0
    with tempfile.TemporaryDirectory() as tmp:
        url = args.database_url or f"sqlite+aiosqlite:///{Path(tmp) / 'budget.db'}"
        with ServedSandbox(SandboxConfig(window_seconds=WINDOW)) as sandbox:
            rows = [run_mode(m, seconds=args.seconds, database_url=url, sandbox=sandbox)
                    for m in args.modes.split(",")]
    print(f"two processes, BUILD plan {LIMIT} requests / {WINDOW:g} s, database {url.split('://')[0]}")
    print_table(rows)
    print("req/s over the full windows only; max/window: answers in the busiest window by "
          f"answer time (the server counts arrivals; limit {LIMIT})")
    bad = [r for r in rows if r["mode"] in ("shared", "share") and (r["rate_limited"] or r["failed"])]
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
