"""A short fault run (bench/faults.py): drafts approved while SocialDock fails, none lost or doubled."""

from __future__ import annotations

import os
from pathlib import Path

from tests.conftest import load_bench


def test_thirty_drafts_through_faults_end_exactly_once_or_with_a_reason(tmp_path: Path) -> None:
    bench = load_bench("faults")
    url = os.environ.get("SDASSIST_TEST_DATABASE_URL") or f"sqlite+aiosqlite:///{tmp_path / 'faults.db'}"
    result = bench.run(30, concurrency=10, seed=11, database_url=url, burst=5)
    print(result.table())
    assert result.ok, result.failures
    assert sum(result.states.values()) == 30
    assert set(result.states) <= {"scheduled", "published", "failed", "unknown"}
    assert result.states["scheduled"] + result.states["published"] == result.drafts_with_post > 0
    assert result.duplicates == 0 and result.lost == 0 and result.orphans == 0
    assert result.faults_fired > 0  # the faults really happened
    # Every request held past its deadline landed late, and its draft, approved again, took that post.
    assert result.taken_late == result.held
