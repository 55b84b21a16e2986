"""Approvals per second with 1, 2 and 4 sdassist instances sharing one database and one rate budget.

A sandbox is served by uvicorn on loopback (ACCELERATE: 500 requests per 5 s window, 100/s). For each run
the drafts are stored first (pending, one target on a platform without posting caps); then N instance
processes, each a full runtime (`open_runtime`: draft store, publisher, client, and with
SDASSIST_SHARED_RATE_BUDGET=1 the budget in the database), start together and approve them, `--tasks`
approvals at once per instance, as approvers clicking in Slack would. Each approval is one compare-and-set
in the database and one `POST /posts`. Printed: approvals per second over the run against the plan's limit,
and the 429s the sandbox counted.

The control runs 4 instances twice on a plan they can outrun (`--control-limit`: 5 requests per 2 s window),
coordinated and uncoordinated (each instance believes the whole budget is its own): uncoordinated they get
429s, coordinated they do not.

    bash scripts/with_postgres.sh python bench/instances.py      # PostgreSQL (SDASSIST_TEST_DATABASE_URL)
    python bench/instances.py [--database-url URL] [--instances 1,2,4] [--drafts 300] [--tasks 16] [--full]

Without a PostgreSQL URL it runs on a SQLite file (one writer at a time: slower, still correct).
`--full`: 1,000 drafts per run (100 in the control runs).
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

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))

from sdassist.sandbox import SandboxConfig, ServedSandbox  # noqa: E402

KEY = "sd_test_sandbox"  # ACCELERATE
LIMIT, WINDOW = 500, 5.0  # ACCELERATE's 500 a window, in 5 s windows instead of a minute
CONTROL_WINDOW = 2.0
APPROVER, ASKER = "U0BOSS", "U0ASKER"
UNCAPPED = ("facebook", "x", "tiktok", "youtube", "pinterest", "bluesky")


def settings_env(sandbox_url: str, database_url: str, coordinated: bool) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SDASSIST_", "SOCIALDOCK_"))}
    env.update(SOCIALDOCK_API_KEY=KEY, SOCIALDOCK_BASE_URL=sandbox_url, SDASSIST_DATABASE_URL=database_url,
               SDASSIST_APPROVERS=APPROVER, SDASSIST_LOG="warning", SDASSIST_TIMEZONE="UTC")
    if coordinated:
        env["SDASSIST_SHARED_RATE_BUDGET"] = "1"
    return env


# --- an instance ---------------------------------------------------------------------------------------

async def _instance(ids_file: str, tasks: int) -> dict[str, Any]:
    from sdassist.config import Settings
    from sdassist.publishing.drafts import Principal
    from sdassist.runtime import open_runtime

    ids: list[str] = json.loads(Path(ids_file).read_text())
    boss = Principal(id=APPROVER, kind="human", face="slack", name="boss")
    approved = failed = 0
    stamps: list[float] = []
    async with open_runtime(Settings(_env_file=None), announce=False, reconcile=False) as rt:
        print("ready", flush=True)  # then every instance starts at the moment the bench names
        start_at = float(await asyncio.to_thread(sys.stdin.readline))
        await asyncio.sleep(max(0.0, start_at - time.time()))

        async def approver() -> None:
            nonlocal approved, failed
            while ids:
                draft_id = ids.pop()
                try:
                    await rt.publisher.approve(draft_id, version=1, actor=boss)
                    approved += 1
                    stamps.append(time.time())
                except Exception as exc:
                    failed += 1
                    print(f"approve {draft_id}: {type(exc).__name__}: {exc}", file=sys.stderr)

        await asyncio.gather(*(approver() for _ in range(tasks)))
    return {"approved": approved, "failed": failed, "stamps": stamps}


# --- a run -----------------------------------------------------------------------------------------------

async def store_drafts(database_url: str, account: str, platform: str, count: int) -> list[str]:
    from sdassist.publishing.drafts import Principal, new_draft
    from sdassist.publishing.store import DraftStore

    asker = Principal(id=ASKER, kind="human", face="slack", name="asker")
    store = await DraftStore.open(database_url)
    try:
        ids = []
        for i in range(count):
            draft = new_draft(text=f"Instance bench {time.time_ns()} #{i}", publish_now=True, requester=asker,
                              targets=[{"platform": platform, "account_id": account}])
            ids.append((await store.add(draft, asker)).id)
        return ids
    finally:
        await store.close()


def run(n: int, *, coordinated: bool, sandbox: ServedSandbox, database_url: str, drafts: int, tasks: int,
        account: tuple[str, str], limit: int, window: float) -> dict[str, Any]:
    ids = asyncio.run(store_drafts(database_url, account[1], account[0], drafts))
    sandbox.control("POST", "/_sandbox/reset")
    tmp = Path(tempfile.mkdtemp(prefix="sdassist-instances-"))
    procs = []
    for i in range(n):
        part = tmp / f"ids-{i}.json"
        part.write_text(json.dumps(ids[i::n]))
        procs.append(subprocess.Popen(
            [sys.executable, __file__, "--instance", str(part), str(tasks)], stdin=subprocess.PIPE,
            env=settings_env(sandbox.url, database_url, coordinated), stdout=subprocess.PIPE, text=True))
    for p in procs:  # every runtime open (imports, database, client) before the clock starts
        assert p.stdout is not None and p.stdout.readline().strip() == "ready", "an instance did not start"
    start_at = time.time() + 0.2
    reports = []
    for p in procs:
        out, _ = p.communicate(f"{start_at}\n", timeout=600)
        if p.returncode != 0:
            raise RuntimeError(f"an instance failed with status {p.returncode}")
        reports.append(json.loads(out.strip().splitlines()[-1]))
    stats = sandbox.control("GET", "/_sandbox/stats")
    stamps = sorted(s for r in reports for s in r["stamps"])
    elapsed = (stamps[-1] - start_at) if stamps else 0.0
    approved = sum(r["approved"] for r in reports)
    return {"instances": n, "coordinated": coordinated, "approved": approved, "limit_rate": limit / window,
            "failed": sum(r["failed"] for r in reports), "per_instance": [r["approved"] for r in reports],
            "rate": approved / elapsed if elapsed else 0.0, "rate_limited": stats["rate_limited"]}


def sandbox_account(sandbox: ServedSandbox) -> tuple[str, str]:
    import httpx

    answer = httpx.get(sandbox.url + "/api/v1/accounts", headers={"Authorization": f"Bearer {KEY}"}, timeout=10)
    answer.raise_for_status()
    data = answer.json()["data"]
    for account in data["accounts"] if isinstance(data, dict) else data:
        if account["platform"] in UNCAPPED:
            return account["platform"], account["id"]
    raise SystemExit("the sandbox has no account on a platform without posting caps")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--instance", nargs=2, metavar=("IDS", "TASKS"), help=argparse.SUPPRESS)
    parser.add_argument("--instances", default="1,2,4")
    parser.add_argument("--drafts", type=int, default=None, help="drafts approved per run (300; --full 1,000)")
    parser.add_argument("--limit", type=int, default=LIMIT, help=f"requests per {WINDOW:g} s window ({LIMIT})")
    parser.add_argument("--control-limit", type=int, default=5, help="the control runs' plan (5 per 2 s window)")
    parser.add_argument("--tasks", type=int, default=16, help="approvals at once per instance")
    parser.add_argument("--database-url", default=os.environ.get("SDASSIST_TEST_DATABASE_URL"))
    parser.add_argument("--no-control", action="store_true", help="skip the uncoordinated control run")
    parser.add_argument("--full", action="store_true")
    args = parser.parse_args(argv)
    if args.instance:
        ids_file, tasks = args.instance
        print(json.dumps(asyncio.run(_instance(ids_file, int(tasks)))), flush=True)
        return 0
    drafts = args.drafts or (1000 if args.full else 300)
    counts = [int(n) for n in args.instances.split(",")]
    rows: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory() as tmp:
        url = args.database_url or f"sqlite+aiosqlite:///{Path(tmp) / 'instances.db'}"
        common = {"database_url": url, "tasks": args.tasks}
        with ServedSandbox(SandboxConfig(window_seconds=WINDOW, rate_limits={"ACCELERATE": args.limit})) as sandbox:
            account = sandbox_account(sandbox)
            rows += [run(n, coordinated=True, sandbox=sandbox, drafts=drafts, account=account, limit=args.limit,
                         window=WINDOW, **common) for n in counts]
        if not args.no_control:
            control = {"ACCELERATE": args.control_limit}
            with ServedSandbox(SandboxConfig(window_seconds=CONTROL_WINDOW, rate_limits=control)) as sandbox:
                rows += [run(max(counts), coordinated=c, sandbox=sandbox, drafts=40 if not args.full else 100,
                             account=account, limit=args.control_limit, window=CONTROL_WINDOW, **common)
                         for c in (True, False)]
    print(f"\nplans: {args.limit} requests per {WINDOW:g} s, control {args.control_limit} per {CONTROL_WINDOW:g} s; "
          f"database {url.split('://')[0]}; "
          f"{args.tasks} approvals at once per instance; 2-core machine")
    head = f"{'instances':>9} {'budget':<13} {'limit/s':>7} {'approved':>8} {'per instance':>16} {'failed':>6} " \
           f"{'429s':>5} {'approvals/s':>11} {'of limit':>8}"
    print(head)
    print("-" * len(head))
    for r in rows:
        per = "/".join(str(n) for n in r["per_instance"])
        print(f"{r['instances']:>9} {'shared' if r['coordinated'] else 'uncoordinated':<13} "
              f"{r['limit_rate']:>7g} {r['approved']:>8} {per:>16} {r['failed']:>6} {r['rate_limited']:>5} "
              f"{r['rate']:>11.1f} {r['rate'] / r['limit_rate']:>8.0%}")
    bad = [r for r in rows if r["coordinated"] and (r["rate_limited"] or r["failed"])]
    print("target (coordinated instances: zero 429s, every draft approved): " + ("MISSED" if bad else "met"))
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
