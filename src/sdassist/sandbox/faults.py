"""Injected faults: errors, latency, dropped connections and held requests on matching API paths, from a
seeded RNG.

A held request is read in full and answered only when released (after `hold_ms`, or by
`POST /_sandbox/faults/release`); it is then processed even if the client has given up meanwhile, as a
request stuck in a slow network still lands after the client's timeout.
"""

from __future__ import annotations

import asyncio
import contextlib
import fnmatch
import math
import random
from dataclasses import dataclass
from typing import Any


@dataclass
class FaultRule:
    path: str = "/api/v1/*"
    method: str | None = None
    error_rate: float = 0.0
    status: int = 500
    latency_rate: float = 0.0
    latency_ms: float = 0.0
    latency_jitter_ms: float = 0.0  # a further random 0..jitter ms on top of latency_ms, as a network varies
    drop_rate: float = 0.0
    drop_after_processing: bool = True
    count: int | None = None  # how many more times the rule may fire; None = unlimited
    retry_after_seconds: float | None = None  # for status 429; default: until the window resets
    hold_rate: float = 0.0  # hold the request, then process it (even after the client gave up)
    hold_ms: float | None = None  # how long; None = until POST /_sandbox/faults/release

    def matches(self, method: str, path: str) -> bool:
        if self.count is not None and self.count <= 0:
            return False
        if self.method and self.method.upper() != method.upper():
            return False
        return fnmatch.fnmatchcase(path, self.path)

    def as_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


@dataclass
class FaultDecision:
    latency_ms: float = 0.0
    error_status: int | None = None
    drop: bool = False
    drop_after_processing: bool = True
    retry_after_seconds: float | None = None
    hold: bool = False
    hold_ms: float | None = None


MAX_HOLD_MS = 3_600_000.0
_FIELDS = set(FaultRule.__dataclass_fields__)


MAX_RETRY_AFTER_S = 86_400.0


def _number(value: Any, name: str, low: float, high: float, *, optional: bool = False) -> None:
    if value is None and optional:
        return
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value) \
            or not low <= value <= high:
        also = " or null" if optional else ""
        raise ValueError(f"{name} must be a number from {low:g} to {high:g}{also}")


def parse_rule(raw: Any) -> FaultRule:
    """A rule from JSON; raises ValueError naming the offending field (every field's type is checked here, so a
    rule that is accepted can never break request handling later)."""
    if not isinstance(raw, dict):
        raise ValueError("each rule must be an object")
    unknown = set(raw) - _FIELDS
    if unknown:
        raise ValueError(f"unknown rule fields: {', '.join(sorted(map(str, unknown)))}")
    rule = FaultRule(**raw)
    if not isinstance(rule.path, str) or not rule.path:
        raise ValueError('path must be a non-empty string pattern, e.g. "/api/v1/posts*"')
    if rule.method is not None and (not isinstance(rule.method, str) or not rule.method.isalpha()):
        raise ValueError('method must be an HTTP method such as "POST", or null')
    for name in ("error_rate", "latency_rate", "drop_rate", "hold_rate"):
        _number(getattr(rule, name), name, 0, 1)
    if isinstance(rule.status, bool) or not isinstance(rule.status, int) or not 400 <= rule.status <= 599:
        raise ValueError("status must be an HTTP error status (400-599)")
    _number(rule.latency_ms, "latency_ms", 0, MAX_HOLD_MS)
    _number(rule.latency_jitter_ms, "latency_jitter_ms", 0, MAX_HOLD_MS)
    if not isinstance(rule.drop_after_processing, bool):
        raise ValueError("drop_after_processing must be true or false")
    _number(rule.retry_after_seconds, "retry_after_seconds", 0, MAX_RETRY_AFTER_S, optional=True)
    hold = rule.hold_ms
    if hold is not None and (isinstance(hold, bool) or not isinstance(hold, int | float)
                             or not math.isfinite(hold) or not 0 <= hold <= MAX_HOLD_MS):
        raise ValueError(f"hold_ms must be a number of milliseconds from 0 to {MAX_HOLD_MS:.0f}, or null "
                         "(held until POST /_sandbox/faults/release)")
    if rule.count is not None and (isinstance(rule.count, bool) or not isinstance(rule.count, int)
                                   or rule.count < 0):
        raise ValueError("count must be a non-negative integer or null")
    return rule


class FaultInjector:
    """Decides, per request, which faults fire. The same seed and traffic give the same faults."""

    def __init__(self, seed: int | None = None) -> None:
        self.rules: list[FaultRule] = []
        self.seed = seed
        self.rng = random.Random(seed)
        self.fired = 0
        self._release = asyncio.Event()
        self.holding: set[asyncio.Task[None]] = set()

    def configure(self, rules: list[FaultRule], seed: int | None) -> None:
        self.rules = rules
        self.seed = seed
        self.rng = random.Random(seed)

    def clear(self) -> None:
        self.rules = []

    def decide(self, method: str, path: str) -> FaultDecision:
        decision = FaultDecision()
        for rule in self.rules:
            if not rule.matches(method, path):
                continue
            fired = False
            if rule.latency_rate and self.rng.random() < rule.latency_rate:
                decision.latency_ms += rule.latency_ms
                if rule.latency_jitter_ms:
                    decision.latency_ms += self.rng.uniform(0, rule.latency_jitter_ms)
                fired = True
            if decision.error_status is None and not decision.drop:
                if rule.error_rate and self.rng.random() < rule.error_rate:
                    decision.error_status = rule.status
                    decision.retry_after_seconds = rule.retry_after_seconds
                    fired = True
                elif rule.drop_rate and self.rng.random() < rule.drop_rate:
                    decision.drop = True
                    decision.drop_after_processing = rule.drop_after_processing
                    fired = True
                elif rule.hold_rate and not decision.hold and self.rng.random() < rule.hold_rate:
                    decision.hold, decision.hold_ms = True, rule.hold_ms
                    fired = True
            if fired:
                self.fired += 1
                if rule.count is not None:
                    rule.count -= 1
        return decision

    async def held(self, hold_ms: float | None) -> None:
        """Wait until a held request may go on: `hold_ms` later, or at the next release."""
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(None if hold_ms is None else hold_ms / 1000):
                await self._release.wait()

    def release(self) -> int:
        """Let every held request go on now; how many there were."""
        count = sum(not t.done() for t in self.holding)
        self._release.set()
        self._release = asyncio.Event()
        return count

    async def aclose(self) -> None:
        """Drop requests still held (the sandbox is closing): they never land."""
        for task in list(self.holding):
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
