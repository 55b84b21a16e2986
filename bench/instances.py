"""Approvals per second with 1, 2 and 4 sdassist instances sharing one database and one rate budget.

A sandbox is served by uvicorn on loopback, answering every API request after a network-like delay (default
50-150 ms, seeded), on a plan whose window is shortened to 5 s (default 200 requests a window, 40/s). For each
run the drafts are stored first (pending, one target on a platform without posting caps); then N instance
processes, each a full runtime (`open_runtime`: draft store, publisher, client, and the rate budget in the
database, SDASSIST_SHARED_RATE_BUDGET=1), start together and approve them, `--tasks` approvals at once per
instance, as approvers clicking in Slack would. Each approval is a few statements in the database and one
`POST /posts`; it counts as approved only when the draft ends published (an approval left `unknown` or
`failed` counts as failed, with its reason on stderr). So one instance's approvals per second are bounded by
its concurrency over the latency, more instances add capacity, and the plan's limit caps them all together.

Printed for each instance count: the median over `--runs` runs of the approvals per second (over the server
windows a run covers whole), its ratio to the plan's limit, the 429s, and the CPU spent per approval by the
instances, the sandbox and PostgreSQL, with what this machine's cores could carry at that cost: when that is
below the plan's limit, the machine, not the design, is the limit. The targets: zero 429s and every draft
approved; n instances reach 0.9 of min(limit, n x one instance's rate).

The control runs 4 instances on a tight plan (`--control-limit` requests per 1 s window) with many approvals
at once, coordinated and uncoordinated (each instance believes the whole budget is its own): uncoordinated they
get 429s, coordinated they get none.

    bash scripts/with_postgres.sh python bench/instances.py      # PostgreSQL (SDASSIST_TEST_DATABASE_URL)
    python bench/instances.py [--database-url URL] [--instances 1,2,4] [--runs 3] [--tasks 2] [--full]

Without a PostgreSQL URL it runs on a SQLite file (one writer at a time: slower, still correct).
`--full`: 5 runs, and drafts for 3 windows at the limit per run.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))

from sdassist.ratebudget import LEASE_TTL  # noqa: E402
from sdassist.sandbox import SandboxConfig, ServedSandbox  # noqa: E402

KEY = "sd_test_sandbox"  # ACCELERATE
WINDOW = 5.0  # the plan's window, shortened from a minute
CONTROL_WINDOW = 1.0
APPROVER, ASKER = "U0BOSS", "U0ASKER"
UNCAPPED = ("facebook", "x", "tiktok", "youtube", "pinterest", "bluesky")
TARGET = 0.9  # of min(limit, n x one instance's rate)


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
        cpu = time.process_time()

        async def approver() -> None:
            nonlocal approved, failed
            while ids:
                draft_id = ids.pop()
                try:
                    draft = await rt.publisher.approve(draft_id, version=1, actor=boss)
                except Exception as exc:
                    failed += 1
                    print(f"approve {draft_id}: {type(exc).__name__}: {exc}", file=sys.stderr)
                    continue
                if draft.state in ("published", "scheduled"):
                    approved += 1
                    stamps.append(time.time())
                else:  # approved but not posted: failed, or unknown after a request that got no answer
                    failed += 1
                    print(f"approve {draft_id}: {draft.state}: {draft.error}", file=sys.stderr)

        await asyncio.gather(*(approver() for _ in range(tasks)))
        cpu = time.process_time() - cpu
    return {"approved": approved, "failed": failed, "stamps": stamps, "cpu": cpu}


# --- CPU accounting (Linux /proc) ----------------------------------------------------------------------------

def _ticks(pid: int | str) -> tuple[int, int, int]:
    """(parent pid, own CPU ticks, CPU ticks of children already reaped) of a process."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return int(fields[1]), int(fields[11]) + int(fields[12]), int(fields[13]) + int(fields[14])


def postgres_cpu(database_url: str) -> float | None:
    """CPU seconds used so far by the PostgreSQL server on the URL's port (server and backends, live or
    gone), or None when it is not a local server this process can see."""
    port = str(__import__("sqlalchemy").engine.make_url(database_url).port or 5432)
    try:
        pids = [p for p in os.listdir("/proc") if p.isdigit()]
        master = None
        for pid in pids:
            try:
                cmd = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
            except OSError:
                continue
            if cmd and cmd[0].endswith(b"postgres") and b"-p" in cmd and port.encode() in cmd:
                master = int(pid)
                break
        if master is None:
            return None
        _, own, reaped = _ticks(master)
        total = own + reaped
        for pid in pids:
            try:
                parent, own, _ = _ticks(pid)
            except (OSError, IndexError, ValueError):
                continue
            if parent == master:
                total += own
        return total / os.sysconf("SC_CLK_TCK")
    except OSError:
        return None


def machine_busy() -> tuple[float, float]:
    """(busy, total) CPU seconds of the whole machine so far, all cores (/proc/stat)."""
    values = [int(v) for v in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    idle = values[3] + values[4]
    tick = os.sysconf("SC_CLK_TCK")
    return (sum(values) - idle) / tick, sum(values) / tick


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


def full_window_rate(stamps: list[float], start: float, window: float) -> float:
    """Approvals per second over the server windows the run covers whole (fixed windows on multiples of
    `window`); over the whole run when it covers fewer than two."""
    if not stamps:
        return 0.0
    first, last = math.ceil(start / window), math.floor(stamps[-1] / window)
    if last - first >= 2:
        inside = sum(first * window <= s < last * window for s in stamps)
        return inside / ((last - first) * window)
    return len(stamps) / (stamps[-1] - start)


def run(n: int, *, coordinated: bool, sandbox: ServedSandbox, database_url: str, drafts: int, tasks: int,
        account: tuple[str, str], limit: int, window: float, latency: tuple[float, float]) -> dict[str, Any]:
    ids = asyncio.run(store_drafts(database_url, account[1], account[0], drafts))
    sandbox.control("POST", "/_sandbox/reset")
    low, high = latency
    if high > 0:
        sandbox.control("POST", "/_sandbox/faults", json={"seed": n, "rules": [
            {"path": "/api/v1/*", "latency_rate": 1.0, "latency_ms": low, "latency_jitter_ms": high - low}]})
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
    for p in procs:
        assert p.stdin is not None
        p.stdin.write(f"{start_at}\n")
        p.stdin.flush()
    time.sleep(max(0.0, start_at - time.time()))
    pg0, busy0, sandbox0 = postgres_cpu(database_url), machine_busy(), time.process_time()
    reports = []
    for p in procs:
        out, _ = p.communicate(timeout=900)
        if p.returncode != 0:
            raise RuntimeError(f"an instance failed with status {p.returncode}")
        reports.append(json.loads(out.strip().splitlines()[-1]))
    sandbox_cpu, busy1, pg1 = time.process_time() - sandbox0, machine_busy(), postgres_cpu(database_url)
    stats = sandbox.control("GET", "/_sandbox/stats")
    stamps = sorted(s for r in reports for s in r["stamps"])
    approved = sum(r["approved"] for r in reports)
    cpu = sum(r["cpu"] for r in reports) + sandbox_cpu + (pg1 - pg0 if pg0 is not None and pg1 else 0.0)
    busy = (busy1[0] - busy0[0]) / (busy1[1] - busy0[1]) if busy1[1] > busy0[1] else 0.0
    return {"instances": n, "coordinated": coordinated, "approved": approved, "limit_rate": limit / window,
            "failed": sum(r["failed"] for r in reports), "per_instance": [r["approved"] for r in reports],
            "rate": full_window_rate(stamps, start_at, window), "rate_limited": stats["rate_limited"],
            "cpu_ms": 1000 * cpu / approved if approved else 0.0, "pg": pg0 is not None, "busy": busy}


def sandbox_account(sandbox: ServedSandbox) -> tuple[str, str]:
    import httpx

    answer = httpx.get(sandbox.url + "/api/v1/accounts", headers={"Authorization": f"Bearer {KEY}"}, timeout=10)
    answer.raise_for_status()
    data = answer.json()["data"]
    for account in data["accounts"] if isinstance(data, dict) else data:
        if account["platform"] in UNCAPPED:
            return account["platform"], account["id"]
    raise SystemExit("the sandbox has no account on a platform without posting caps")


def median_row(rows: list[dict[str, Any]]) -> dict[str, Any]:
    """The run with the median rate, with the 429s and failures of every run added up."""
    ordered = sorted(rows, key=lambda r: r["rate"])
    row = dict(ordered[len(ordered) // 2])
    row.update(rates=[r["rate"] for r in rows], rate_limited=sum(r["rate_limited"] for r in rows),
               failed=sum(r["failed"] for r in rows), runs=len(rows),
               cpu_ms=statistics.median(r["cpu_ms"] for r in rows), busy=statistics.median(r["busy"] for r in rows))
    return row


def parse_latency(text: str) -> tuple[float, float]:
    low, _, high = text.partition("-")
    values = (float(low), float(high or low))
    if not 0 <= values[0] <= values[1]:
        raise argparse.ArgumentTypeError("latency is LOW-HIGH milliseconds, e.g. 50-150")
    return values


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--instance", nargs=2, metavar=("IDS", "TASKS"), help=argparse.SUPPRESS)
    parser.add_argument("--instances", default="1,2,4")
    parser.add_argument("--runs", type=int, default=None, help="runs per instance count (3; --full 5)")
    parser.add_argument("--drafts", type=int, default=None,
                        help="drafts approved per run (2 windows at the limit; --full 3)")
    parser.add_argument("--limit", type=int, default=200, help=f"requests per {WINDOW:g} s window (200)")
    parser.add_argument("--tasks", type=int, default=2, help="approvals at once per instance (2)")
    parser.add_argument("--latency", type=parse_latency, default=(50.0, 150.0),
                        help="the sandbox's answer delay, LOW-HIGH ms (50-150)")
    parser.add_argument("--control-limit", type=int, default=10,
                        help=f"the control runs' plan, per {CONTROL_WINDOW:g} s window (10)")
    parser.add_argument("--control-tasks", type=int, default=16, help="approvals at once per instance (16)")
    parser.add_argument("--control-drafts", type=int, default=160)
    parser.add_argument("--database-url", default=os.environ.get("SDASSIST_TEST_DATABASE_URL"))
    parser.add_argument("--no-control", action="store_true", help="skip the control runs")
    parser.add_argument("--control-only", action="store_true", help="only the control runs")
    parser.add_argument("--full", action="store_true")
    args = parser.parse_args(argv)
    if args.instance:
        ids_file, tasks = args.instance
        print(json.dumps(asyncio.run(_instance(ids_file, int(tasks)))), flush=True)
        return 0
    runs = args.runs or (5 if args.full else 3)
    drafts = args.drafts or args.limit * (3 if args.full else 2)
    counts = [int(n) for n in args.instances.split(",")]
    load = os.getloadavg()
    rows: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory() as tmp:
        url = args.database_url or f"sqlite+aiosqlite:///{Path(tmp) / 'instances.db'}"
        common = {"database_url": url, "latency": args.latency}
        plan = {"ACCELERATE": args.limit}
        with ServedSandbox(SandboxConfig(window_seconds=WINDOW, rate_limits=plan), quiet_disconnects=True) as sb:
            account = sandbox_account(sb)
            for n in [] if args.control_only else counts:
                rows.append(median_row([
                    run(n, coordinated=True, sandbox=sb, drafts=drafts, account=account, limit=args.limit,
                        window=WINDOW, tasks=args.tasks, **common) for _ in range(runs)]))
        if not args.no_control:
            if not args.control_only:
                # The control's tight plan is a plan change for the workspace's shared row: let the runs' leases
                # lapse and a window pass unused, so the row forgets the old plan (as it does in production when
                # every instance is gone) and the control starts from one probe, not on the old limit.
                time.sleep(LEASE_TTL + WINDOW + 1)
            plan = {"ACCELERATE": args.control_limit}
            with ServedSandbox(SandboxConfig(window_seconds=CONTROL_WINDOW, rate_limits=plan),
                               quiet_disconnects=True) as sb:
                rows += [run(max(counts), coordinated=c, sandbox=sb, drafts=args.control_drafts, account=account,
                             limit=args.control_limit, window=CONTROL_WINDOW, tasks=args.control_tasks, **common)
                         for c in (True, False)]
    load_after = os.getloadavg()
    low, high = args.latency
    print(f"\nplan: {args.limit} requests per {WINDOW:g} s window ({args.limit / WINDOW:g}/s); control "
          f"{args.control_limit} per {CONTROL_WINDOW:g} s. SocialDock answers after {low:g}-{high:g} ms. "
          f"Database {url.split('://')[0]}; {args.tasks} approvals at once per instance "
          f"({args.control_tasks} in the control); median of {runs} runs of {drafts} drafts.")
    print(f"machine: {os.cpu_count()} cores, load average {load[0]:.2f} before, {load_after[0]:.2f} after")
    head = (f"{'instances':>9} {'budget':<13} {'limit/s':>7} {'approved':>8} {'failed':>6} {'429s':>5} "
            f"{'approvals/s':>11} {'of limit':>8} {'target':>7} {'CPU ms/appr':>11} {'cores carry/s':>13} "
            f"{'busy':>5}  runs (approvals/s)")
    print(head)
    print("-" * len(head))
    one = next((r["rate"] for r in rows if r["coordinated"] and r["instances"] == 1), None)
    missed: list[str] = []
    cores = os.cpu_count() or 1
    for r in rows:
        control = r["limit_rate"] != args.limit / WINDOW
        expected = None if control or one is None else min(r["limit_rate"], r["instances"] * one)
        target = "" if expected is None else f"{TARGET * expected:.1f}"
        if expected is not None and r["rate"] < TARGET * expected:
            missed.append(f"{r['instances']} instances: {r['rate']:.1f}/s < {TARGET} x {expected:.1f}")
        carry = cores * 1000 / r["cpu_ms"] if r["cpu_ms"] else 0.0
        runs_text = " ".join(f"{x:.1f}" for x in r.get("rates", [r["rate"]]))
        print(f"{r['instances']:>9} {'shared' if r['coordinated'] else 'uncoordinated':<13} "
              f"{r['limit_rate']:>7g} {r['approved']:>8} {r['failed']:>6} {r['rate_limited']:>5} "
              f"{r['rate']:>11.1f} {r['rate'] / r['limit_rate']:>8.0%} {target:>7} {r['cpu_ms']:>11.1f} "
              f"{carry:>13.0f} {r['busy']:>5.0%}  {runs_text}")
    if not all(r["pg"] for r in rows) and url.startswith("postgresql"):
        print("(PostgreSQL's CPU is not counted: its server is not a process this bench can see)")
    print("CPU ms/appr: instances + sandbox + PostgreSQL per approval; cores carry/s: what this machine's "
          f"{cores} cores could approve at that cost (below the limit: the machine is the limit, not the design); "
          "busy: the whole machine's CPU during the run, other work included")
    coordinated = [r for r in rows if r["coordinated"]]
    bad = [r for r in coordinated if r["rate_limited"] or r["failed"]]
    print("target, coordinated instances: zero 429s, every draft approved: " + ("MISSED" if bad else "met"))
    print(f"target, n instances reach {TARGET} x min(limit, n x one instance's rate): "
          + ("MISSED (" + "; ".join(missed) + ")" if missed else "met"))
    status = 1 if bad or missed else 0
    if not args.no_control:
        loose = [r for r in rows if not r["coordinated"]]
        shown = all(r["rate_limited"] > 0 for r in loose)
        print("target, control: uncoordinated instances get 429s, coordinated none: "
              + ("met" if shown and not bad else "MISSED"))
        status = status or (0 if shown else 1)
    return status


if __name__ == "__main__":
    sys.exit(main())
