"""Webhook signatures: lowercase hex HMAC-SHA256 of the raw body, compared in constant time."""

from __future__ import annotations

import hashlib
import hmac

SIGNATURE_HEADER = "X-SocialDock-Signature"


def sign_payload(raw: bytes, secret: str) -> str:
    """The signature SocialDock sends for `raw` under `secret`."""
    return hmac.new(secret.encode("utf-8"), raw, hashlib.sha256).hexdigest()


def verify_signature(raw: bytes, signature: str | None, secret: str) -> bool:
    """True only when `signature` is the HMAC of the exact raw bytes; never raises on garbage."""
    if not signature or not isinstance(signature, str) or not secret:
        return False
    candidate = signature.strip().lower()
    if candidate.startswith("sha256="):
        candidate = candidate[len("sha256="):]
    try:
        given = bytes.fromhex(candidate)
    except ValueError:
        return False
    expected = hmac.new(secret.encode("utf-8"), raw, hashlib.sha256).digest()
    return hmac.compare_digest(given, expected)
