"""Input field types that refuse what would break further down, naming the field (pydantic puts the name in).

An id becomes a URL path segment at SocialDock and a key in our database: `../posts/…`, `%2F`, spaces or
non-ASCII letters in one are refused here with what an id looks like, instead of failing deep inside the
client as an internal error. Every text a tool takes is refused if it holds control characters (a NUL cannot
be stored in PostgreSQL); line breaks and tabs are fine.
"""

from __future__ import annotations

import re
from functools import partial
from typing import Annotated, Any

from pydantic import AfterValidator

from sdassist.publishing.quoting import shown

_ID_BODY = re.compile(r"[A-Za-z0-9_-]{1,100}")
_TOKEN = re.compile(r"[A-Za-z0-9_.:-]{1,300}")
_ALLOWED_CONTROL = frozenset("\n\r\t")


def _check_id(prefix: str, what: str, value: str) -> str:
    body = value[len(prefix) + 1:] if value.startswith(f"{prefix}_") else None
    if body is None or not body.isascii() or not _ID_BODY.fullmatch(body):
        raise ValueError(f"{shown(value)} is not {what} id: they look like {prefix}_01hx… (letters, digits, _ "
                         f"or - after {prefix}_)")
    return value


def _check_token(value: str) -> str:
    if not value.isascii() or not _TOKEN.fullmatch(value):
        raise ValueError(f"{shown(value)} is not a token this server issued (tokens are ASCII letters, digits, "
                         "dots and dashes)")
    return value


def id_of(prefix: str, what: str) -> Any:
    """A `str` field holding an id that starts with `prefix_` ("a draft", "drf")."""
    return Annotated[str, AfterValidator(partial(_check_id, prefix, what))]


DraftId = id_of("drf", "a draft")
PostId = id_of("post", "a post")
AccountId = id_of("acc", "an account")
WebhookId = id_of("wh", "a webhook")
ConfirmationToken = Annotated[str, AfterValidator(_check_token)]


def _is_control(c: str) -> bool:
    code = ord(c)
    return (code < 32 and c not in _ALLOWED_CONTROL) or 0x7F <= code < 0xA0


def control_character(value: Any) -> str | None:
    """The first control character in any text inside `value` (a string, or lists/dicts of them), or None."""
    if isinstance(value, str):
        return next((ascii(c) for c in value if _is_control(c)), None)
    if isinstance(value, (list, tuple)):
        return next((c for c in map(control_character, value) if c), None)
    if isinstance(value, dict):
        return next((c for c in map(control_character, [*value, *value.values()]) if c), None)
    return None
