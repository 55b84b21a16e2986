"""The drafts store's change cursor: a round of `DraftStore.changed_since` costs what changed, not the store's size.

Builds a small store (`--small` drafts, the baseline) and a big one (`--drafts`) as bench/scale.py builds them, on
SQLite (a temporary file) and, with `--postgres URL` or SDASSIST_TEST_DATABASE_URL set
(`bash scripts/with_postgres.sh python bench/change_cursor.py`), on PostgreSQL. On each it times a round (one
`changed_since` call, pages of 1,000, as the card poller reads) with 0, 10 and 100 drafts written since the last
round; on PostgreSQL also with a write transaction held open while 100 later writes commit, and the round after.
Prints the median of `--runs` rounds and the ratio big / small store. Targets: every ratio ≤ 1.5 (O(changed)),
and the round after the 100 later writes returns none of them again.

    python bench/change_cursor.py [--drafts 100000] [--small 1000] [--runs 9] [--postgres URL]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import importlib.util
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from sqlalchemy import update

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))

from sdassist.publishing.store import DraftStore, drafts_table  # noqa: E402

RATIO_TARGET = 1.5
PAGE = 1000  # the card poller's CHANGES_PER_ROUND


def _build() -> Any:
    """bench/scale.py's store builder (one way to build a big store for every bench)."""
    spec = importlib.util.spec_from_file_location("bench_scale", ROOT / "bench" / "scale.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.build


async def rounds(store: DraftStore, changed: int, runs: int, *, held_open: bool = False) -> tuple[float, int, int]:
    """Median ms of a round after `changed` writes; drafts returned by it and by the round after (medians)."""
    ids = [d.id for d in await store.list(limit=changed + 1)]
    held, ids = ids[0], ids[1:]  # the write held open takes a draft the others leave alone
    cursor = await store.change_cursor()
    times, returned, again = [], [], []
    for run in range(runs):
        async with contextlib.AsyncExitStack() as stack:
            if held_open:  # a write that stays open while the others commit (another instance, a slow request)
                conn = await stack.enter_async_context(store._engine.begin())
                await conn.execute(update(drafts_table).where(drafts_table.c.id == held)
                                   .values(revision=drafts_table.c.revision + 1, changed_seq=store._next_seq()))
            for draft_id in ids[:changed]:  # cards posted elsewhere: each draft written again
                await store.set_face_refs(draft_id, slack_ts=f"{run}.{draft_id}")
            started = time.perf_counter()
            page, cursor = await store.changed_since(cursor, limit=PAGE)
            times.append(time.perf_counter() - started)
            returned.append(len(page))
            page, cursor = await store.changed_since(cursor, limit=PAGE)
            again.append(len(page))
        page, cursor = await store.changed_since(cursor, limit=PAGE)  # the held write, now committed
    return statistics.median(times) * 1000, int(statistics.median(returned)), int(statistics.median(again))


async def measure(url: str, drafts: int, args: argparse.Namespace) -> dict[str, tuple[float, int, int]]:
    store = await DraftStore.open(url)
    try:
        started = time.perf_counter()
        await _build()(store, drafts, drafts, 365)
        print(f"  {drafts:,} drafts built in {time.perf_counter() - started:.1f} s", flush=True)
        shapes = {f"{n:>3} changed": await rounds(store, n, args.runs) for n in (0, 10, 100)}
        if store._postgres:
            shapes["100 changed, 1 held open"] = await rounds(store, 100, args.runs, held_open=True)
        return shapes
    finally:
        await store.close()


async def one_backend(name: str, url: str, args: argparse.Namespace) -> bool:
    print(f"\n{name}:", flush=True)
    small = await measure(url, args.small, args)
    big = await measure(url, args.drafts, args)
    met = True
    for shape, (ms, returned, again) in big.items():
        ratio = ms / max(small[shape][0], 1e-6)
        met &= ratio <= RATIO_TARGET and again == 0
        print(f"  a round with {shape:<24}: {ms:6.2f} ms at {args.drafts:,} drafts, {small[shape][0]:6.2f} ms at "
              f"{args.small:,} (ratio {ratio:.2f}); {returned} drafts returned, {again} again in the next round")
    return met


async def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--drafts", type=int, default=100_000, help="drafts in the big store (100,000)")
    parser.add_argument("--small", type=int, default=1_000, help="drafts in the baseline store (1,000)")
    parser.add_argument("--runs", type=int, default=9, help="rounds per shape (median)")
    parser.add_argument("--postgres", default=os.environ.get("SDASSIST_TEST_DATABASE_URL"),
                        help="a PostgreSQL URL (postgresql+asyncpg://…); default SDASSIST_TEST_DATABASE_URL")
    parser.add_argument("--no-sqlite", action="store_true")
    args = parser.parse_args()
    load = ", ".join(f"{v:.2f}" for v in os.getloadavg())
    print(f"load average before the run (1, 5, 15 min): {load} on {os.cpu_count()} CPUs")
    met = []
    if not args.no_sqlite:
        path = Path(tempfile.mkdtemp(prefix="sdassist-cursor-")) / "cursor.db"
        met.append(await one_backend("SQLite", f"sqlite+aiosqlite:///{path}", args))
    if args.postgres:
        met.append(await one_backend("PostgreSQL", args.postgres, args))
    else:
        print("\n(PostgreSQL skipped: pass --postgres URL, or run under scripts/with_postgres.sh)")
    print(f"\nevery round <= {RATIO_TARGET:g}x the small store's, and nothing returned twice: "
          f"{'met' if all(met) else 'MISSED'}")
    return 0 if all(met) else 1


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
