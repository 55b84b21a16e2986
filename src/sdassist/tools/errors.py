"""The one error type every face shows: what went wrong, and what to do about it.

Client, rule, time and policy failures all become a `ToolError`. Anything else is a bug and is left to
propagate (faces log it and show a generic message, never a traceback or a secret).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from pydantic import ValidationError

from sdassist import secret_shapes
from sdassist.client import errors as client_errors

if TYPE_CHECKING:
    from sdassist.publishing.when import TimeError

_SECRET_SHAPES = re.compile(r"((?i:sd_(?:live|test)_)[A-Za-z0-9_]+|xox[a-z]-[A-Za-z0-9-]+|xapp-[A-Za-z0-9-]+)")
_OWN_TOKEN = re.compile(secret_shapes.PATTERN)


def redact(text: str) -> str:
    """Mask anything shaped like a SocialDock key, a Slack token or a token sdassist minted (its prefix stays)."""
    text = _OWN_TOKEN.sub(lambda m: m.group(1) + "…", text)
    return _SECRET_SHAPES.sub(lambda m: m.group(0)[:8] + "…", text)


class ToolError(Exception):
    """A refusal or failure the user can act on. `hint` says how."""

    def __init__(self, message: str, *, hint: str | None = None, retry_after: datetime | None = None,
                 example: str | None = None, unavailable: bool = False) -> None:
        super().__init__(redact(message))
        self.message = redact(message)
        self.hint = redact(hint) if hint else None
        self.retry_after = retry_after
        #: A value that works for the refused input (a time phrase), for a face that rebuilds its command.
        self.example = example
        #: Not a refusal of the input: SocialDock could not be reached or failed (5xx). The same call may work
        #: later; a script tells it from a refusal (the terminal's exit code 3, not 1).
        self.unavailable = unavailable

    def __str__(self) -> str:
        return f"{self.message} — {self.hint}" if self.hint else self.message


_KIND = {str: "text", int: "a whole number", float: "a number", bool: "true or false", list: "a list",
         dict: "an object", type(None): "null"}
_WANTS = {
    "string_type": "must be text", "int_type": "must be a whole number", "int_parsing": "must be a whole number",
    "int_from_float": "must be a whole number", "float_type": "must be a number", "float_parsing": "must be a number",
    "finite_number": "must be a finite number", "bool_type": "must be true or false",
    "bool_parsing": "must be true or false", "list_type": "must be a list", "dict_type": "must be an object",
    "model_type": "must be an object", "model_attributes_type": "must be an object", "missing": "is required",
    "string_unicode": "must be text", "datetime_type": "must be an ISO 8601 date-time",
    "datetime_parsing": "must be an ISO 8601 date-time", "datetime_from_date_parsing": "must be an ISO 8601 date-time",
    "date_type": "must be a date (YYYY-MM-DD)", "date_parsing": "must be a date (YYYY-MM-DD)",
    "date_from_datetime_parsing": "must be a date (YYYY-MM-DD)", "none_required": "must be left out",
    "recursion_loop": "is nested too deeply", "url_type": "must be a URL",
    "url_parsing": "must be an absolute URL, like https://example.com/path",
    "url_scheme": "must be a URL with a scheme this field takes",
}
_LIMITS = {
    "too_short": "needs at least {min_length} item(s)", "too_long": "takes at most {max_length} item(s)",
    "string_too_short": "must be at least {min_length} character(s)",
    "string_too_long": "must be at most {max_length} characters",
    "greater_than": "must be more than {gt}", "greater_than_equal": "must be at least {ge}",
    "less_than": "must be less than {lt}", "less_than_equal": "must be at most {le}",
    "multiple_of": "must be a multiple of {multiple_of}", "string_pattern_mismatch": "has characters it cannot have",
}


def _kind_of(value: object) -> str:
    return next((name for t, name in _KIND.items() if type(value) is t), type(value).__name__)


def _one_problem(err: dict) -> str:
    """One pydantic error in our words: what is wanted and what was given (its kind, or a short value)."""
    kind, ctx, got = err["type"], err.get("ctx") or {}, err.get("input")
    if kind == "value_error":  # our own validators' words
        return str(err["msg"]).removeprefix("Value error, ")
    if kind == "extra_forbidden":
        return "is not a known field"
    if kind in ("literal_error", "enum"):
        shown = repr(got)[:40] if isinstance(got, str) else _kind_of(got)
        return f"must be one of {ctx.get('expected', '')} (got {shown})"
    if kind in _LIMITS:
        return _LIMITS[kind].format(**{k: ctx.get(k, "?") for k in ("min_length", "max_length", "gt", "ge", "lt",
                                                                   "le", "multiple_of")})
    wanted = _WANTS.get(kind, "is not a value this field takes")
    if kind == "missing":
        return wanted
    if kind == "list_type" and isinstance(got, str):
        return f"{wanted}, like [{json.dumps(got[:30], ensure_ascii=False)}], not one text"
    return f"{wanted} (got {_kind_of(got)})"


def validation_message(exc: ValidationError) -> str:
    """pydantic's errors as one readable line in our words, `field: problem; field: problem`.

    Never pydantic's own text or its documentation URL: which field, what it takes, what was given."""
    parts: list[str] = []
    for err in exc.errors(include_url=False):
        loc = [p for p in err["loc"] if not (isinstance(p, str) and ("[" in p or p in ("function-after",
                                                                                     "function-before")))]
        where = ".".join(str(p) for p in loc) or "input"
        line = f"{where}: {_one_problem(err)}"
        if line not in parts:
            parts.append(line)
    return "; ".join(parts)


def input_refusal(tool: str, fields: Iterable[str], exc: ValidationError, *, name_tool: bool = True) -> ToolError:
    """Arguments a tool cannot take, as a refusal: every field's problem, and a hint that helps fix it.

    `name_tool=False` where the face already says which tool failed (the MCP SDK's "Error executing tool X")."""
    names = list(fields)
    unknown = [str(e["loc"][-1]) for e in exc.errors() if e["type"] == "extra_forbidden" and e["loc"]]
    if unknown:
        hint = f"{tool} takes only: {', '.join(names)}."
    else:
        hint = f"Correct the field(s) named and call {tool} again; its input schema lists what each takes."
    return ToolError(f"{tool}: {validation_message(exc)}" if name_tool else validation_message(exc), hint=hint)


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
        return ToolError(text, hint="SocialDock had an internal error; try again in a moment.", unavailable=True)
    if isinstance(exc, client_errors.TransportError):
        hint = ("The request may have reached SocialDock: check list_posts before trying again."
                if exc.request_sent else "Nothing was sent; check the network and try again.")
        return ToolError(f"SocialDock could not be reached: {exc.message}", hint=hint, unavailable=True)
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
    """A time phrase we will not guess at: why (naming the field it is about: the phrase's, or the zone's when
    the zone was the problem), and phrases that work as the hint (both readings when there are two)."""
    name = exc.field or field
    prefix = f"{name}: " if name else ""
    hint = "try " + " or ".join(f'"{e}"' for e in exc.examples)
    return ToolError(prefix + exc.message, hint=hint, example=None if exc.field else exc.example)
