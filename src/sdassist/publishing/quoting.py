"""User input quoted back in a refusal: cut short and escaped, so an error never grows with what was sent."""

from __future__ import annotations


def shown(value: str, limit: int = 40) -> str:
    """A value quoted for an error: cut short, control and non-ASCII characters escaped."""
    cut = value[:limit] + ("…" if len(value) > limit else "")
    return ascii(cut) if not cut.isascii() or not cut.isprintable() else repr(cut)
