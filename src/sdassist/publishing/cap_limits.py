"""The posting caps the platforms set per account, as numbers: the one place they are written.

`caps.py` counts posts against them; `platforms.py` describes them (`Cap.describe`), so the rules a person
reads and the caps sdassist enforces cannot disagree. Source: `reference/platform-rules.md`.
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Literal

__all__ = ["CAPS", "Cap"]


@dataclass(frozen=True)
class Cap:
    """One platform's posting cap per account: `limit` posts in a rolling `span`, or per UTC calendar day."""

    platform: str
    limit: int
    window: Literal["rolling", "utc_day"]
    span: timedelta = timedelta(hours=24)
    counts: str = "posts"  # what the platform counts, as its rules say it ("API posts")

    def describe(self) -> str:
        """"50 API posts per rolling 24 h", "150 posts per UTC day": the rule as a person reads it."""
        if self.window == "utc_day":
            return f"{self.limit} {self.counts} per UTC day"
        return f"{self.limit} {self.counts} per rolling {int(self.span.total_seconds() // 3600)} h"

    def bounds(self, at: datetime) -> tuple[datetime, datetime]:
        """The stretch of time whose posts can share a window with a post at `at`."""
        if self.window == "utc_day":
            day = at.astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
            return day, day + timedelta(days=1)
        return at - self.span + timedelta(microseconds=1), at + self.span

    def busiest(self, times: Sequence[datetime], at: datetime) -> int:
        """Posts (of `times`) in the fullest window that also contains `at`, not counting a post at `at` itself."""
        lo, hi = self.bounds(at)
        inside = sorted(t for t in times if lo <= t < hi)
        if self.window == "utc_day":
            return len(inside)
        # The fullest window holding `at` opens at a post before it, or at `at` itself (between those openings
        # the count only grows as the window's end moves on).
        best = 0
        for start in [*(t for t in inside if t <= at), at]:
            best = max(best, bisect_left(inside, start + self.span) - bisect_left(inside, start))
        return best


    def peak(self, ordered: Sequence[datetime], start: datetime, end: datetime) -> int:
        """The fullest window that overlaps [start, end), from post times sorted ascending (for a calendar day)."""
        if self.window == "utc_day":
            best, day = 0, self.bounds(start)[0]
            while day < end:
                best = max(best, bisect_left(ordered, day + timedelta(days=1)) - bisect_left(ordered, day))
                day += timedelta(days=1)
            return best
        first = bisect_left(ordered, start - self.span + timedelta(microseconds=1))
        return max((bisect_left(ordered, ordered[i] + self.span) - i
                    for i in range(first, bisect_left(ordered, end))), default=0)


CAPS: dict[str, Cap] = {
    "instagram": Cap("instagram", 50, "rolling", counts="API posts"),
    "linkedin": Cap("linkedin", 150, "utc_day"),
    "threads": Cap("threads", 250, "rolling"),
}
"""The caps that are counted, by platform. Last checked against the platform rules on 2026-12-05."""
