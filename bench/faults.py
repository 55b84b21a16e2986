"""A fault run: approve many drafts while SocialDock misbehaves, then check nothing was lost or doubled.

    python bench/faults.py                  # 200 drafts, concurrency 20, seed 7
    python bench/faults.py --drafts 50 --seed 3

A sandbox is served by uvicorn on loopback (so a dropped connection is a real one) and injects, from a
seeded RNG: 20 % server errors, latency spikes (some longer than the client's timeout), connections
dropped after the request was processed, POSTs held until after their client gave up, and, a third of the
way in, a burst of 429s. Every draft is approved through the `Publisher` (the path every face takes) with
bounded concurrency. Afterwards the faults are lifted and drafts left `unknown` are reconciled; then the
held requests land (late), and every draft "not found on SocialDock yet" is approved again once its request
could no longer land, as a person would. The run is checked:

- every approved draft ended `scheduled`/`published` with a post id, or `failed`/`unknown` with a reason;
- the sandbox's posts are exactly the drafts' post ids, one post per draft (no duplicate texts);
- no draft lost (each is in the store, none left `pending`/`publishing`).

Prints a table; exits 1 when a check fails. Uses SDASSIST_TEST_DATABASE_URL when set, else a SQLite file.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx

from sdassist.client import SocialDock
from sdassist.publishing.drafts import DraftState, Principal, new_draft, utcnow
from sdassist.publishing.policy import ApprovalPolicy
from sdassist.publishing.publisher import Publisher
from sdassist.publishing.store import DraftStore
from sdassist.sandbox import SandboxConfig, ServedSandbox
from sdassist.sandbox.config import DEFAULT_KEY

REQUESTER = Principal(id="U_FAULT_AUTHOR", kind="human", face="slack", name="author")
APPROVER = Principal(id="U_FAULT_APPROVER", kind="human", face="slack", name="approver")
SETTLED = {DraftState.SCHEDULED, DraftState.PUBLISHED}
UNSETTLED_OK = {DraftState.FAILED, DraftState.UNKNOWN}


def base_faults() -> list[dict[str, Any]]:
    return [
        {"path": "/api/v1/*", "latency_rate": 0.10, "latency_ms": 250},
        {"path": "/api/v1/posts", "method": "POST", "latency_rate": 0.04, "latency_ms": 1600},
        {"path": "/api/v1/*", "error_rate": 0.20, "status": 500},
        {"path": "/api/v1/*", "drop_rate": 0.08, "drop_after_processing": True},
        {"path": "/api/v1/posts", "method": "POST", "hold_rate": 0.04},  # until released, after the reconcile
    ]


def burst_429(count: int = 15) -> dict[str, Any]:
    return {"path": "/api/v1/*", "error_rate": 1.0, "status": 429, "count": count, "retry_after_seconds": 1.0}


@dataclass
class FaultRun:
    drafts: int
    wall: float = 0.0
    states: Counter[str] = field(default_factory=Counter)
    states_before_reconcile: Counter[str] = field(default_factory=Counter)
    sandbox_posts: int = 0
    drafts_with_post: int = 0
    duplicates: int = 0
    lost: int = 0
    orphans: int = 0  # sandbox posts no draft knows about
    missing: int = 0  # drafts claiming a post the sandbox does not have
    without_reason: int = 0
    raised: Counter[str] = field(default_factory=Counter)
    faults_fired: int = 0
    rate_limited: int = 0
    requests: int = 0
    held: int = 0  # POSTs held past their client's deadline, released after the reconcile
    approved_again: int = 0  # drafts "not found on SocialDock yet", approved again after the window
    taken_late: int = 0  # of those, drafts that took their earlier request's late post instead of a new POST
    failures: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.failures

    def check(self) -> None:
        problems = []
        if self.duplicates:
            problems.append(f"{self.duplicates} duplicate post(s)")
        if self.lost:
            problems.append(f"{self.lost} draft(s) lost")
        if self.orphans:
            problems.append(f"{self.orphans} sandbox post(s) no draft knows about")
        if self.missing:
            problems.append(f"{self.missing} draft(s) claim a post the sandbox does not have")
        if self.without_reason:
            problems.append(f"{self.without_reason} failed/unknown draft(s) without a reason")
        if self.sandbox_posts != self.drafts_with_post:
            problems.append(f"{self.sandbox_posts} sandbox posts but {self.drafts_with_post} drafts with a post id")
        if sum(self.raised.values()):
            problems.append(f"approve raised {dict(self.raised)}")
        self.failures = problems

    def table(self) -> str:
        rows: list[tuple[str, str]] = [("drafts approved", str(self.drafts))]
        for state in ("scheduled", "published", "failed", "unknown", "publishing", "pending"):
            before = self.states_before_reconcile.get(state, 0)
            rows.append((f"  {state}", f"{self.states.get(state, 0)}  (before reconcile {before})"))
        others = {k: v for k, v in self.states.items() if k not in
                  ("scheduled", "published", "failed", "unknown", "publishing", "pending")}
        for state, n in sorted(others.items()):
            rows.append((f"  {state}", str(n)))
        rows += [
            ("posts in sandbox", str(self.sandbox_posts)),
            ("drafts with a post id", str(self.drafts_with_post)),
            ("duplicates", str(self.duplicates)),
            ("lost", str(self.lost)),
            ("orphan posts / missing posts", f"{self.orphans} / {self.missing}"),
            ("failed/unknown without reason", str(self.without_reason)),
            ("approve raised", str(sum(self.raised.values()))),
            ("held past the deadline", str(self.held)),
            ("approved again / took late post", f"{self.approved_again} / {self.taken_late}"),
            ("sandbox requests", str(self.requests)),
            ("faults fired", str(self.faults_fired)),
            ("429s answered", str(self.rate_limited)),
            ("wall time", f"{self.wall:.1f} s"),
            ("result", "PASS" if self.ok else "FAIL: " + "; ".join(self.failures)),
        ]
        width = max(len(k) for k, _ in rows)
        return "\n".join(f"{k:<{width}}  {v}" for k, v in rows)


async def fault_run(
    drafts: int = 200,
    *,
    concurrency: int = 20,
    seed: int = 7,
    database_url: str | None = None,
    sandbox_url: str,
    timeout: float = 1.0,
    burst: int = 15,
) -> FaultRun:
    """Run against a served sandbox at `sandbox_url` (reset first) and a store at `database_url`."""
    result = FaultRun(drafts=drafts)
    control = httpx.AsyncClient(base_url=sandbox_url, headers={"Authorization": f"Bearer {DEFAULT_KEY}"},
                                timeout=10)
    store = await DraftStore.open(database_url) if database_url else None
    assert store is not None
    client = SocialDock(DEFAULT_KEY, base_url=sandbox_url, timeout=timeout, max_retries=3)
    # The run's own reconcile runs right after each ambiguous answer; the final one may call a draft
    # lost at once, since by then no request of the run is still on its way.
    publisher = Publisher(client, store, ApprovalPolicy())
    try:
        (await control.post("/_sandbox/reset")).raise_for_status()
        accounts = (await control.get("/api/v1/accounts")).json()["data"]["accounts"]
        by_platform = {a["platform"]: a["id"] for a in accounts}
        run_id = f"{seed}-{int(time.time() * 1000) % 100000}"
        ids = []
        for i in range(drafts):
            platforms = ["linkedin", "facebook"] if i % 3 == 0 else ["linkedin"]
            targets = [{"platform": p, "account_id": by_platform[p]} for p in platforms]
            now_draft = i % 4 == 0
            draft = new_draft(
                text=f"Fault run {run_id}: update #{i} of {drafts}", targets=targets, requester=REQUESTER,
                publish_now=now_draft, scheduled_at=None if now_draft else utcnow() + timedelta(days=1 + i % 5),
            )
            await store.add(draft, REQUESTER)
            ids.append(draft.id)

        r = await control.post("/_sandbox/faults", json={"seed": seed, "rules": base_faults()})
        r.raise_for_status()
        gate = asyncio.Semaphore(concurrency)
        done = 0
        burst_sent = False

        async def approve(draft_id: str) -> None:
            nonlocal done, burst_sent
            async with gate:
                try:
                    await publisher.approve(draft_id, version=1, actor=APPROVER)
                except Exception as exc:
                    result.raised[type(exc).__name__] += 1
                done += 1
                if not burst_sent and done >= drafts // 3:
                    burst_sent = True
                    await control.post("/_sandbox/faults", json={"seed": seed + 1,
                                                                 "rules": [burst_429(burst), *base_faults()]})

        started = time.monotonic()
        await asyncio.gather(*[approve(i) for i in ids])
        stats = (await control.get("/_sandbox/stats")).json()["data"]
        result.faults_fired = stats["faults_fired"]
        (await control.delete("/_sandbox/faults")).raise_for_status()

        for draft_id in ids:
            result.states_before_reconcile[(await store.get(draft_id)).state.value] += 1
        publisher.reconcile_grace = timedelta(0)
        await publisher.reconcile_all()
        await approve_again(publisher, control, store, ids, result)
        result.wall = time.monotonic() - started
        stats = (await control.get("/_sandbox/stats")).json()["data"]
        result.rate_limited = stats["rate_limited"]
        result.requests = sum(stats["requests"].values())

        final = {}
        for draft_id in ids:
            try:
                final[draft_id] = await store.get(draft_id)
            except Exception:
                result.lost += 1
        for d in final.values():
            result.states[d.state.value] += 1
            if d.state not in SETTLED | UNSETTLED_OK:
                result.lost += 1  # stuck before or in flight: nobody would ever finish it
            if d.state in SETTLED and not d.post_id:
                result.lost += 1
            if d.state in UNSETTLED_OK and not (d.error or "").strip():
                result.without_reason += 1

        posts = [p async for p in client.posts.iter_all()]
        texts = Counter(p.text for p in posts)
        result.sandbox_posts = len(posts)
        result.duplicates = sum(n - 1 for n in texts.values() if n > 1)
        draft_posts = {d.post_id for d in final.values() if d.post_id}
        result.drafts_with_post = sum(1 for d in final.values() if d.post_id)
        sandbox_ids = {p.id for p in posts}
        result.orphans = len(sandbox_ids - draft_posts)
        result.missing = len(draft_posts - sandbox_ids)
        by_id = {p.id: p for p in posts}
        for d in final.values():
            if d.post_id and d.post_id in by_id and by_id[d.post_id].text != d.text:
                result.missing += 1
    finally:
        await client.aclose()
        await store.close()
        await control.aclose()
    result.check()
    return result


async def approve_again(publisher: Publisher, control: httpx.AsyncClient, store: DraftStore, ids: list[str],
                        result: FaultRun) -> None:
    """The held requests land now, after their clients gave up; each draft not found meanwhile is approved
    again once its request could no longer land: it must take its late post, never make a second one."""
    result.held = (await control.post("/_sandbox/faults/release")).json()["data"]["released"]
    for _ in range(500):
        if not (await control.get("/_sandbox/faults")).json()["data"]["held"]:
            break
        await asyncio.sleep(0.01)
    later = utcnow() + publisher.attempt_may_land
    publisher.clock = lambda: later
    # A person approving again waits for SocialDock's rate-limit window rather than giving up within the
    # run's 1 s timeout: the look before each new POST reads the post list, and the run is near the limit.
    publisher.client = SocialDock(DEFAULT_KEY, base_url=str(control.base_url), timeout=5.0, deadline=120.0)
    for draft_id in ids:
        draft = await store.get(draft_id)
        if draft.state != DraftState.FAILED or draft.open_attempt is None:
            continue
        try:
            again = await publisher.approve(draft_id, version=draft.version, actor=APPROVER)
        except Exception as exc:
            result.raised[type(exc).__name__] += 1
            continue
        result.approved_again += 1
        result.taken_late += again.late_note is not None
    await publisher.client.aclose()


def run(drafts: int, *, concurrency: int, seed: int, database_url: str | None = None, burst: int = 15) -> FaultRun:
    with tempfile.TemporaryDirectory() as tmp:
        url = database_url or f"sqlite+aiosqlite:///{Path(tmp) / 'faults.db'}"
        config = SandboxConfig(state_file=None, fault_seed=seed, webhook_max_attempts=1)
        with ServedSandbox(config, quiet_disconnects=True) as sandbox:
            return asyncio.run(fault_run(drafts, concurrency=concurrency, seed=seed, database_url=url,
                                         sandbox_url=sandbox.url, burst=burst))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--drafts", type=int, default=200)
    parser.add_argument("--concurrency", type=int, default=20)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--database-url", default=os.environ.get("SDASSIST_TEST_DATABASE_URL"))
    args = parser.parse_args(argv)
    result = run(args.drafts, concurrency=args.concurrency, seed=args.seed, database_url=args.database_url)
    db = (args.database_url or "sqlite").split("+")[0].split(":")[0]
    print(f"fault run: {args.drafts} drafts, concurrency {args.concurrency}, seed {args.seed}, database {db}")
    print("faults: 20% 500s, 10% +250 ms, 4% of POST /posts +1.6 s (client timeout 1 s), "
          "8% dropped after processing, 4% of POST /posts held until after the reconcile, a burst of 15 429s "
          "a third of the way in")
    print(result.table())
    return 0 if result.ok else 1


if __name__ == "__main__":
    sys.exit(main())
