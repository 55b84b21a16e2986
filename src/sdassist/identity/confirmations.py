"""Confirmation links: a page where the person behind an assistant confirms a draft in their own browser.

The link carries no credential and nothing about the person: an opaque random key that the database maps
to one draft, one version and one person. The page acts only for that person's signed-in browser session,
so an assistant that reads the link cannot use it; an edit (a new version) makes the link stale.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sdassist.identity.store import IdentityStore

__all__ = ["CONFIRM_LINK_TTL", "ConfirmLinks", "PendingConfirmation"]

CONFIRM_LINK_TTL = 72 * 3600


@dataclass(frozen=True)
class PendingConfirmation:
    draft_id: str
    version: int
    subject: str
    client_name: str


class ConfirmLinks:
    def __init__(self, store: IdentityStore, origin: str, *, ttl: int = CONFIRM_LINK_TTL) -> None:
        self.store = store
        self.origin = origin.rstrip("/")
        self.ttl = ttl

    async def link(self, draft: Any, principal: Any) -> str:
        """The link for this draft version and person (the same one when asked again)."""
        binding = f"{draft.id}:{draft.version}:{principal.id}"
        known = await self.store.get_pending("confirm-of", binding)
        if known is not None:
            return f"{self.origin}/confirm/{known['key']}"
        body = {"draft_id": draft.id, "version": draft.version, "subject": principal.id,
                "client_name": principal.via or "an assistant"}
        key = await self.store.put_pending("confirm", body, self.ttl)
        await self.store.put_pending("confirm-of", {"key": key}, self.ttl, key=binding)
        return f"{self.origin}/confirm/{key}"

    async def lookup(self, key: str) -> PendingConfirmation | None:
        body = await self.store.get_pending("confirm", key)
        if body is None:
            return None
        return PendingConfirmation(body["draft_id"], int(body["version"]), body["subject"], body["client_name"])
