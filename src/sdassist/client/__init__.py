"""Typed async client for the SocialDock REST API (see reference/socialdock-api-docs.txt)."""

from ._client import (
    DEFAULT_BASE_URL,
    PUBLIC_SANDBOX_KEY,
    SocialDock,
    check_secret_transport,
    is_loopback_host,
    is_production_url,
)
from .ratelimit import Budget, LocalBudget, RateLimiter
from .signing import SIGNATURE_HEADER, sign_payload, verify_signature

__all__ = [
    "DEFAULT_BASE_URL",
    "PUBLIC_SANDBOX_KEY",
    "SIGNATURE_HEADER",
    "Budget",
    "LocalBudget",
    "RateLimiter",
    "SocialDock",
    "check_secret_transport",
    "is_loopback_host",
    "is_production_url",
    "sign_payload",
    "verify_signature",
]
