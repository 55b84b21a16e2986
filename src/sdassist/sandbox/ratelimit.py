"""Fixed-window rate limiting per workspace, on real time (the movable sandbox clock does not apply)."""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass


@dataclass
class Verdict:
    allowed: bool
    limit: int
    remaining: int
    reset: float  # unix seconds when the window ends

    def headers(self) -> dict[str, str]:
        return {
            "X-RateLimit-Limit": str(self.limit),
            "X-RateLimit-Remaining": str(self.remaining),
            "X-RateLimit-Reset": str(math.ceil(self.reset)),
        }


class RateLimiter:
    """Windows aligned on multiples of `window` seconds since the epoch, like a per-minute counter."""

    def __init__(self, window: float, now: Callable[[], float] = time.time) -> None:
        self.window = window
        self._now = now
        self._counts: dict[str, tuple[float, int]] = {}
        self.rejected = 0

    def _window_start(self) -> float:
        return math.floor(self._now() / self.window) * self.window

    def hit(self, bucket: str, limit: int) -> Verdict:
        """Count one request; refuse it when the window's budget is spent."""
        start = self._window_start()
        seen_start, count = self._counts.get(bucket, (start, 0))
        if seen_start != start:
            count = 0
        reset = start + self.window
        if count >= limit:
            self._counts[bucket] = (start, count)
            self.rejected += 1
            return Verdict(False, limit, 0, reset)
        count += 1
        self._counts[bucket] = (start, count)
        return Verdict(True, limit, max(limit - count, 0), reset)

    def peek(self, bucket: str, limit: int) -> Verdict:
        """The state of a bucket without counting a request."""
        start = self._window_start()
        seen_start, count = self._counts.get(bucket, (start, 0))
        if seen_start != start:
            count = 0
        return Verdict(count < limit, limit, max(limit - count, 0), start + self.window)

    def reset(self) -> None:
        self._counts.clear()
        self.rejected = 0
