"""The knobs of a sandbox instance: keys and plans, rate-limit window, webhook retries, persistence."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

DEFAULT_KEY = "sd_test_sandbox"

#: Requests per window for each plan; FREE has no API access at all.
PLAN_LIMITS: dict[str, int] = {"BUILD": 100, "ACCELERATE": 500, "UNLIMITED": 1000}


def _default_keys() -> dict[str, str]:
    return {DEFAULT_KEY: "ACCELERATE", "sd_test_free": "FREE", "sd_test_build": "BUILD"}


@dataclass
class SandboxConfig:
    """Configuration of one sandbox; every field has a default that mirrors SocialDock."""

    keys: dict[str, str] = field(default_factory=_default_keys)
    window_seconds: float = 60.0
    rate_limits: dict[str, int] | None = None
    demo_accounts: bool = True
    state_file: str | Path | None = None
    webhook_backoff_seconds: float = 1.0
    webhook_max_attempts: int = 5
    webhook_timeout_seconds: float = 5.0
    tick_seconds: float = 0.2
    token_ttl_seconds: float = 600.0
    fault_seed: int | None = None
    #: `GET /posts` items carry the post's targets (and its other fields). False: only the documented
    #: `{id, status, text, created_at}`, so clients must read `GET /posts/{id}` for the targets.
    list_targets: bool = True
    #: Order of `GET /posts`: "newest" first (what SocialDock does in practice) or "oldest" first
    #: (the docs promise no order).
    list_order: Literal["newest", "oldest"] = "newest"
    #: `POST /media` fetches loopback URLs (only those): at most this many bytes, within this many seconds.
    media_max_bytes: int = 1_000_000_000
    media_fetch_timeout_seconds: float = 30.0

    def limit_for(self, plan: str) -> int:
        """Requests allowed per window for a plan (0 for plans without API access)."""
        limits = {**PLAN_LIMITS, **(self.rate_limits or {})}
        return limits.get(plan.upper(), 0)
