"""Reading SocialDock's envelope: `{"data": …}` on success, an error tree entry otherwise."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import httpx

from .errors import (
    RENEW_KEY_HINT,
    UPGRADE_PLAN_HINT,
    APIStatusError,
    AuthenticationError,
    PermissionDeniedError,
    RateLimitError,
    SocialDockError,
    error_class_for,
)
from .logs import redact
from .ratelimit import retry_after_of

_MAX_TEXT = 300


@dataclass
class Envelope:
    """The parts of a successful answer the resources need."""

    data: Any
    meta: dict[str, Any] = field(default_factory=dict)


def _json_or_none(response: httpx.Response) -> Any:
    try:
        return response.json()
    except ValueError:
        return None


def _short(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= _MAX_TEXT else text[:_MAX_TEXT] + "…"


def unwrap(response: httpx.Response) -> Envelope:
    """The `data` and `meta` of a 2xx answer; a body that is not the envelope is an error."""
    body = _json_or_none(response)
    if response.status_code == 204 or (not response.content and body is None):
        return Envelope(data=None)
    if not isinstance(body, dict) or "data" not in body:
        raise SocialDockError(
            f"SocialDock answered {response.status_code} with a body that is not its JSON envelope",
            details=redact(_short(response.text)) or None,
        )
    meta = body.get("meta") if isinstance(body.get("meta"), dict) else {}
    return Envelope(data=body["data"], meta=meta)


def to_error(response: httpx.Response) -> APIStatusError:
    """The error tree entry for an error answer, with a message a person can act on."""
    status = response.status_code
    body = _json_or_none(response)
    message: str | None = None
    details: str | None = None
    if isinstance(body, dict) and isinstance(body.get("error"), dict):
        raw_message = body["error"].get("message")
        raw_details = body["error"].get("details")
        message = redact(raw_message) if raw_message else None
        details = redact(raw_details) if raw_details else None
    elif response.content:
        details = redact(_short(response.text)) or None
    reason = response.reason_phrase or "error"
    message = message or f"HTTP {status} {reason}"
    cls = error_class_for(status)
    kwargs: dict[str, Any] = {"status_code": status, "details": details, "body": body}
    if cls is AuthenticationError:
        kwargs["hint"] = RENEW_KEY_HINT
    elif cls is PermissionDeniedError:
        kwargs["hint"] = UPGRADE_PLAN_HINT
    if cls is RateLimitError:
        stamp = retry_after_of(response, datetime.now(UTC).timestamp())
        retry_at = datetime.fromtimestamp(stamp, UTC) if stamp is not None else None
        return RateLimitError(message, retry_after=retry_at, **kwargs)
    return cls(message, **kwargs)
