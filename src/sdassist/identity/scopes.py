"""What a token may do: `read` looks, `draft` drafts (and edits, withdraws, uploads media for drafts),
`admin` changes the workspace (accounts, webhooks) or deletes posts. Every tool needs exactly one, read from
the tool's own metadata (`scope_for`, `Tool.scope`), so a new tool needs no list here."""

from __future__ import annotations

from collections.abc import Iterable, Mapping

__all__ = ["ADMIN", "DEFAULT_SCOPES", "DRAFT", "READ", "SCOPES", "describe_scope", "scope_for", "scopes_needed"]

READ, DRAFT, ADMIN = "read", "draft", "admin"
SCOPES: tuple[str, ...] = (READ, DRAFT, ADMIN)
DEFAULT_SCOPES: tuple[str, ...] = (READ, DRAFT)
"""What a host is asked to request first (the 401's `scope=`); `admin` only by step-up when a call needs it."""

_WORDS = {
    READ: "see your connected accounts, posts, drafts and analytics",
    DRAFT: "draft posts in your name (nothing is published until a person approves it)",
    ADMIN: "connect and disconnect accounts, delete posts and manage webhooks",
}


def describe_scope(scope: str) -> str:
    """What a scope lets the app do, in words for the consent page."""
    return _WORDS.get(scope, scope)


def scope_for(kind: str, *, admin: bool = False) -> str:
    """The scope a tool needs, from its metadata: one marked `admin` needs `admin`; a read (MCP's read-only
    hint) `read`; any other write (drafting, editing, withdrawing, media for drafts) `draft`."""
    if admin:
        return ADMIN
    return READ if kind == "read" else DRAFT


def scopes_needed(tool_names: Iterable[str], scopes: Mapping[str, str]) -> list[str]:
    """Every scope a set of tool calls needs (`scopes`: each tool's, by name), in canonical order (unknown
    tools need nothing here: the server answers them with its own error)."""
    needed = {scopes[n] for n in tool_names if n in scopes}
    return [s for s in SCOPES if s in needed]
