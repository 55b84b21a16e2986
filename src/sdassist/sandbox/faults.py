"""Injected faults: errors, latency and dropped connections on matching API paths, from a seeded RNG."""

from __future__ import annotations

import fnmatch
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
    drop_rate: float = 0.0
    drop_after_processing: bool = True
    count: int | None = None  # how many more times the rule may fire; None = unlimited
    retry_after_seconds: float | None = None  # for status 429; default: until the window resets

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


_FIELDS = set(FaultRule.__dataclass_fields__)


def parse_rule(raw: Any) -> FaultRule:
    """A rule from JSON; raises ValueError naming the offending field."""
    if not isinstance(raw, dict):
        raise ValueError("each rule must be an object")
    unknown = set(raw) - _FIELDS
    if unknown:
        raise ValueError(f"unknown rule fields: {', '.join(sorted(unknown))}")
    rule = FaultRule(**raw)
    for name in ("error_rate", "latency_rate", "drop_rate"):
        value = getattr(rule, name)
        if not isinstance(value, int | float) or not 0 <= value <= 1:
            raise ValueError(f"{name} must be a number between 0 and 1")
    if not isinstance(rule.status, int) or not 400 <= rule.status <= 599:
        raise ValueError("status must be an HTTP error status (400-599)")
    if rule.count is not None and (not isinstance(rule.count, int) or rule.count < 0):
        raise ValueError("count must be a non-negative integer or null")
    return rule


class FaultInjector:
    """Decides, per request, which faults fire. The same seed and traffic give the same faults."""

    def __init__(self, seed: int | None = None) -> None:
        self.rules: list[FaultRule] = []
        self.seed = seed
        self.rng = random.Random(seed)
        self.fired = 0

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
            if fired:
                self.fired += 1
                if rule.count is not None:
                    rule.count -= 1
        return decision
