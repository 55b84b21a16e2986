"""The one error type every face shows: what went wrong, and what to do about it.

Client, rule, time and policy failures all become a `ToolError`. Anything else is a bug and is left to
propagate (faces log it and show a generic message, never a traceback or a secret).
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from pydantic import ValidationError

from sdassist.client import errors as client_errors

if TYPE_CHECKING:
    from sdassist.publishing.when import TimeError

_SECRET_SHAPES = re.compile(r"(sd_(?:live|test)_[A-Za-z0-9_]+|xox[a-z]-[A-Za-z0-9-]+|xapp-[A-Za-z0-9-]+)")


def redact(text: str) -> str:
    """Mask anything shaped like a SocialDock key or a Slack token."""
    return _SECRET_SHAPES.sub(lambda m: m.group(0)[:8] + "…", text)


class ToolError(Exception):
    """A refusal or failure the user can act on. `hint` says how."""

    def __init__(self, message: str, *, hint: str | None = None, retry_after: datetime | None = None) -> None:
        super().__init__(redact(message))
        self.message = redact(message)
        self.hint = redact(hint) if hint else None
        self.retry_after = retry_after

    def __str__(self) -> str:
        return f"{self.message} — {self.hint}" if self.hint else self.message


def validation_message(exc: ValidationError) -> str:
    """pydantic's errors as one readable line: `field: problem; field: problem`."""
    parts = []
    for err in exc.errors():
        where = ".".join(str(p) for p in err["loc"]) or "input"
        msg = err["msg"].removeprefix("Value error, ")
        if err["type"] == "extra_forbidden":
            msg = "is not a known field"
        parts.append(f"{where}: {msg}")
    return "; ".join(parts)


def _format_retry(at: datetime | None) -> str:
    if at is None:
        return "in a minute"
    seconds = max(0, round((at - datetime.now(UTC)).total_seconds()))
    return f"at {at.astimezone(UTC):%H:%M:%S} UTC (in {seconds} s)"


def _from_client_error(exc: client_errors.SocialDockError) -> ToolError:
    detail = exc.details if exc.details and exc.details != exc.message else None
    text = f"SocialDock: {exc.message}" + (f": {detail}" if detail else "")
    if isinstance(exc, client_errors.AuthenticationError):
        return ToolError(text, hint=client_errors.RENEW_KEY_HINT)
    if isinstance(exc, client_errors.PermissionDeniedError):
        return ToolError(text, hint="The workspace's plan has no access to this (FREE has no API access): upgrade "
                                    "the plan in the SocialDock dashboard.")
    if isinstance(exc, client_errors.RateLimitError):
        return ToolError(text, hint=f"SocialDock's rate limit is used up; try again {_format_retry(exc.retry_after)}.",
                         retry_after=exc.retry_after)
    if isinstance(exc, client_errors.NotFoundError):
        return ToolError(text, hint="Check the id: list_accounts, list_posts and list_webhooks show the ids "
                                    "that exist.")
    if isinstance(exc, client_errors.BadRequestError):
        return ToolError(text, hint="Correct the field SocialDock names and try again.")
    if isinstance(exc, client_errors.ServerError):
        return ToolError(text, hint="SocialDock had an internal error; try again in a moment.")
    if isinstance(exc, client_errors.TransportError):
        hint = ("The request may have reached SocialDock: check list_posts before trying again."
                if exc.request_sent else "Nothing was sent; check the network and try again.")
        return ToolError(f"SocialDock could not be reached: {exc.message}", hint=hint)
    return ToolError(text, hint=exc.hint)


def tool_error_from(exc: BaseException) -> ToolError | None:
    """Map an anticipated failure to a ToolError; None for anything unexpected (a bug)."""
    if isinstance(exc, client_errors.SocialDockError):
        return _from_client_error(exc)
    if isinstance(exc, ValidationError):
        return ToolError(validation_message(exc))
    from sdassist.publishing import errors as publishing_errors
    from sdassist.publishing.when import TimeError

    if isinstance(exc, TimeError):
        return time_refusal(exc)
    if isinstance(exc, publishing_errors.USER_ERRORS):
        hint = getattr(exc, "hint", None)
        return ToolError(str(exc), hint=hint)
    return None


def time_refusal(exc: TimeError, field: str | None = None) -> ToolError:
    """A time phrase we will not guess at: why (naming the field), and a phrase that works as the hint."""
    prefix = f"{field}: " if field else ""
    return ToolError(prefix + exc.message, hint=f'try "{exc.example}"')
