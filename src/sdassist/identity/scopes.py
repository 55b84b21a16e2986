"""What a token may do: `read` looks, `draft` drafts (and edits, withdraws, uploads media for drafts),
`admin` changes the workspace (accounts, webhooks) or deletes posts. Every tool needs exactly one."""

from __future__ import annotations

from collections.abc import Iterable

__all__ = ["ADMIN", "DEFAULT_SCOPES", "DRAFT", "READ", "SCOPES", "describe_scope", "scope_for_tool", "scopes_needed"]

READ, DRAFT, ADMIN = "read", "draft", "admin"
SCOPES: tuple[str, ...] = (READ, DRAFT, ADMIN)
DEFAULT_SCOPES: tuple[str, ...] = (READ, DRAFT)
"""What a host is asked to request first (the 401's `scope=`); `admin` only by step-up when a call needs it."""

_DRAFT_TOOLS = frozenset({"draft_post", "edit_draft", "cancel_draft", "update_post", "upload_media"})

_WORDS = {
    READ: "see your connected accounts, posts, drafts and analytics",
    DRAFT: "draft posts in your name (nothing is published until a person approves it)",
    ADMIN: "connect and disconnect accounts, delete posts and manage webhooks",
}


def describe_scope(scope: str) -> str:
    """What a scope lets the app do, in words for the consent page."""
    return _WORDS.get(scope, scope)


def scope_for_tool(name: str, kind: str) -> str:
    """The scope a tool needs: reads `read`, drafting tools `draft`, anything else that writes `admin`."""
    if kind == "read":
        return READ
    return DRAFT if name in _DRAFT_TOOLS else ADMIN


def scopes_needed(tool_names: Iterable[str], kinds: dict[str, str]) -> list[str]:
    """Every scope a set of tool calls needs, in canonical order (unknown tools need nothing here: the
    server answers them with its own error)."""
    needed = {scope_for_tool(n, kinds[n]) for n in tool_names if n in kinds}
    return [s for s in SCOPES if s in needed]
