"""Short-lived confirmation tokens for hosts that cannot ask the user themselves.

A token is bound to one draft id and one version and expires; it is signed, so an assistant cannot
forge one, and an edit (a new version) makes every earlier token worthless.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time
from dataclasses import dataclass, field

from sdassist.tools.errors import ToolError

TOKEN_TTL_SECONDS = 600


@dataclass(frozen=True)
class ConfirmationTokens:
    key: bytes = field(repr=False)
    ttl_seconds: int = TOKEN_TTL_SECONDS

    @classmethod
    def with_key(cls, key: str | None) -> ConfirmationTokens:
        """A shared key lets several server processes accept each other's tokens; none means per process."""
        return cls(key.encode() if key else secrets.token_bytes(32))

    def _sign(self, payload: str) -> str:
        return hmac.new(self.key, payload.encode(), hashlib.sha256).hexdigest()[:32]

    def issue(self, draft_id: str, version: int, *, now: float | None = None) -> str:
        expires = int((now if now is not None else time.time()) + self.ttl_seconds)
        payload = f"{draft_id}.{version}.{expires}"
        return f"{payload}.{self._sign(payload)}"

    def verify(self, token: str, *, now: float | None = None) -> tuple[str, int]:
        """The (draft id, version) a valid token confirms; a ToolError says why any other is refused."""
        parts = token.strip().split(".") if token.isascii() else []
        if len(parts) != 4 or not parts[1].isdigit() or not parts[2].isdigit():
            raise ToolError("confirmation_token is not a token this server issued",
                            hint="Use the confirmation_token from the preview, unchanged.")
        draft_id, version, expires, signature = parts
        if not hmac.compare_digest(signature.encode(), self._sign(f"{draft_id}.{version}.{expires}").encode()):
            raise ToolError("confirmation_token is not valid for this server",
                            hint="Use the confirmation_token from the preview, unchanged.")
        if int(expires) < (now if now is not None else time.time()):
            raise ToolError("confirmation_token has expired",
                            hint=f"Call get_draft draft_id={draft_id} to see it, then edit_draft to get a new preview "
                                 "and token.")
        return draft_id, int(version)
