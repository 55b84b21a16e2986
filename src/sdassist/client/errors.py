"""One error tree for everything that can go wrong talking to SocialDock.

Every error carries a message a person can act on and never the API key.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

RENEW_KEY_HINT = (
    "The SocialDock API key is invalid or has expired (keys last 30 days). Renew it in "
    "Dashboard → Settings → API and set SOCIALDOCK_API_KEY to the new key."
)


class SocialDockError(Exception):
    """Base of every client error."""

    def __init__(self, message: str, *, details: str | None = None, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.details = details
        self.hint = hint

    def __str__(self) -> str:
        parts = [self.message]
        if self.details and self.details != self.message:
            parts.append(self.details)
        if self.hint:
            parts.append(self.hint)
        return ": ".join(parts[:2]) + (f" ({parts[2]})" if len(parts) > 2 else "")


class APIStatusError(SocialDockError):
    """SocialDock answered with an error status and envelope."""

    status_code: int = 0

    def __init__(
        self,
        message: str,
        *,
        status_code: int | None = None,
        details: str | None = None,
        hint: str | None = None,
        body: Any = None,
    ) -> None:
        super().__init__(message, details=details, hint=hint)
        if status_code is not None:
            self.status_code = status_code
        self.body = body


class BadRequestError(APIStatusError):
    status_code = 400


class AuthenticationError(APIStatusError):
    status_code = 401


class PermissionDeniedError(APIStatusError):
    status_code = 403


class NotFoundError(APIStatusError):
    status_code = 404


class RateLimitError(APIStatusError):
    status_code = 429

    def __init__(self, message: str, *, retry_after: datetime | None = None, **kwargs: Any) -> None:
        super().__init__(message, **kwargs)
        self.retry_after = retry_after


class ServerError(APIStatusError):
    status_code = 500


class UnexpectedResponse(SocialDockError):
    """SocialDock answered with success, but not in the documented shape (a field missing or of another type)."""


class TransportError(SocialDockError):
    """No answer: a timeout or a broken connection.

    `request_sent` says whether the request may have reached SocialDock. When it may have, a create
    must not be replayed: its outcome is unknown and has to be reconciled.
    """

    def __init__(self, message: str, *, request_sent: bool, hint: str | None = None) -> None:
        super().__init__(message, hint=hint)
        self.request_sent = request_sent


STATUS_ERRORS: dict[int, type[APIStatusError]] = {
    400: BadRequestError,
    401: AuthenticationError,
    403: PermissionDeniedError,
    404: NotFoundError,
    429: RateLimitError,
}


def error_class_for(status_code: int) -> type[APIStatusError]:
    if status_code >= 500:
        return ServerError
    return STATUS_ERRORS.get(status_code, APIStatusError)


UPGRADE_PLAN_HINT = (
    "The workspace's SocialDock plan does not include API access (the FREE plan has none). "
    "Upgrade to BUILD or higher in Dashboard → Settings → Billing."
)


__all__ = [
    "RENEW_KEY_HINT",
    "STATUS_ERRORS",
    "UPGRADE_PLAN_HINT",
    "APIStatusError",
    "AuthenticationError",
    "BadRequestError",
    "NotFoundError",
    "PermissionDeniedError",
    "RateLimitError",
    "ServerError",
    "SocialDockError",
    "TransportError",
    "error_class_for",
]
