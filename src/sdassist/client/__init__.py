"""Typed async client for the SocialDock REST API (see reference/socialdock-api-docs.txt).

The constants load with the package; everything else (httpx, the models) on first use, so a settings module
or a server that only needs the base URL does not pay for the client at start-up.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from sdassist.lazy import lazy_exports

from ._constants import DEFAULT_BASE_URL, PUBLIC_SANDBOX_KEY

if TYPE_CHECKING:
    from ._client import SocialDock, check_secret_transport, is_loopback_host, is_production_url
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

__getattr__ = lazy_exports(__name__, {
    "SocialDock": "._client", "check_secret_transport": "._client", "is_loopback_host": "._client",
    "is_production_url": "._client", "Budget": ".ratelimit", "LocalBudget": ".ratelimit",
    "RateLimiter": ".ratelimit", "SIGNATURE_HEADER": ".signing", "sign_payload": ".signing",
    "verify_signature": ".signing",
}, globals())
