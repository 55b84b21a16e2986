"""Typed async client for the SocialDock REST API (see reference/socialdock-api-docs.txt)."""

from ._client import SocialDock
from .ratelimit import Budget, LocalBudget, RateLimiter
from .signing import SIGNATURE_HEADER, sign_payload, verify_signature

__all__ = [
    "SIGNATURE_HEADER",
    "Budget",
    "LocalBudget",
    "RateLimiter",
    "SocialDock",
    "sign_payload",
    "verify_signature",
]
