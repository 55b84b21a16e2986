"""Path building: an id is one percent-encoded segment and can never change the route."""

from __future__ import annotations

from urllib.parse import quote


def segment(value: str) -> str:
    """`value` as one path segment; refuses empty, `.`, `..` and anything containing `/`."""
    if not isinstance(value, str):
        raise ValueError(f"an id must be a string, not {type(value).__name__}")
    if value in ("", ".", "..") or "/" in value or "\\" in value:
        raise ValueError(f"not a valid id: {value!r}")
    return quote(value, safe="")

