"""The MCP endpoint as an OAuth protected resource: who is calling, and may they make this call?

Every request to /mcp needs a bearer token this server issued for this resource (RFC 8707 audience), not
expired and not revoked; otherwise 401 with `WWW-Authenticate: Bearer resource_metadata=…, scope=…` so a host
can discover the authorization server (RFC 9728) and sign the person in. A `tools/call` beyond the token's
scopes is a 403 `error="insufficient_scope"` naming every scope the call needs, so hosts can step up. The
authenticated token is put where the SDK expects it (`scope["user"]`, the auth context), so sessions stay
bound to their principal and tools can tell who is asking (`principal_of`).
"""

from __future__ import annotations

import hmac
import json
import logging
import time
from collections.abc import Callable
from typing import Any

from mcp.server.auth.middleware.auth_context import auth_context_var
from mcp.server.auth.middleware.bearer_auth import AuthenticatedUser
from mcp.server.auth.provider import AccessToken
from starlette.authentication import AuthCredentials

from sdassist.identity.principal import assistant_for
from sdassist.identity.provider import IssuedAccessToken, same_resource
from sdassist.mcp.http import GUARD_KEY
from sdassist.publishing.drafts import Principal

__all__ = ["GUARD_KEY", "ChainedVerifier", "ResourceGuard", "StaticTokenVerifier", "principal_of"]

log = logging.getLogger("sdassist.mcp")

STATIC_CLIENT = "sdassist-static-token"



class StaticTokenVerifier:
    """SDASSIST_MCP_TOKEN: one shared token, no person behind it (calls are made as "an assistant")."""

    def __init__(self, token: str, resource: str) -> None:
        self._token = token.encode()
        self._resource = resource

    async def verify_token(self, token: str) -> AccessToken | None:
        if hmac.compare_digest(token.encode(), self._token):
            return AccessToken(token="static", client_id=STATIC_CLIENT, scopes=["read", "draft", "admin"],
                               resource=self._resource)
        return None


class ChainedVerifier:
    """The first verifier that knows the token wins (the static token, then personal access tokens)."""

    def __init__(self, *verifiers: Any) -> None:
        self._verifiers = verifiers

    async def verify_token(self, token: str) -> AccessToken | None:
        for verifier in self._verifiers:
            found = await verifier.verify_token(token)
            if found is not None:
                return found
        return None


def principal_of(request: Any, anonymous: Principal) -> Principal:
    """The principal of an MCP call: the person behind the token ("Alice via Claude"), else `anonymous`."""
    scope = getattr(request, "scope", None) or {}
    user = scope.get("user")
    token = user.access_token if isinstance(user, AuthenticatedUser) else None
    if isinstance(token, IssuedAccessToken) and token.subject:
        return assistant_for(token.person, token.client_name or token.client_id)
    return anonymous


def _challenge(parts: dict[str, str]) -> bytes:
    return ("Bearer " + ", ".join(f'{k}="{v}"' for k, v in parts.items())).encode()


async def _deny(send: Any, status: int, parts: dict[str, str], description: str) -> None:
    """Answer `status`; the body's error code is the challenge's, so the two never disagree. A request that sent
    no credentials gets no error code in either (RFC 6750 §3.1), only the description."""
    answer = {"error": parts["error"]} if "error" in parts else {}
    body = json.dumps({**answer, "error_description": description}).encode()
    await send({"type": "http.response.start", "status": status, "headers": [
        (b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()),
        (b"www-authenticate", _challenge(parts)), (b"cache-control", b"no-store")]})
    await send({"type": "http.response.body", "body": body})


def tool_calls(message: Any) -> list[str]:
    """The tool names a JSON-RPC message (or batch) calls."""
    messages = message if isinstance(message, list) else [message]
    names = []
    for m in messages:
        if isinstance(m, dict) and m.get("method") == "tools/call" and isinstance(m.get("params"), dict):
            name = m["params"].get("name")
            if isinstance(name, str):
                names.append(name)
    return names


class ResourceGuard:
    """ASGI wrapper for the MCP endpoint: authenticate (401), then check scopes per tool call (403).

    `scopes_for(names)` gives every scope a list of tool calls needs; `body_of(scope)` the parsed JSON-RPC
    message of a POST (set by the input guard that runs inside this one, or None).
    """

    def __init__(self, app: Any, verifier: Any, *, resource: str, metadata_url: str | None,
                 default_scopes: list[str], scopes_for: Callable[[list[str]], list[str]]) -> None:
        self.app = app
        self.verifier = verifier
        self.resource = resource
        self.metadata_url = metadata_url
        self.default_scopes = default_scopes
        self.scopes_for = scopes_for

    def _parts(self, **extra: str) -> dict[str, str]:
        parts = dict(extra)
        if self.metadata_url:
            parts["resource_metadata"] = self.metadata_url
        return parts

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        header = dict(scope.get("headers") or []).get(b"authorization", b"").decode("latin-1")
        token = header[7:].strip() if header[:7].lower() == "bearer " else ""
        found = await self.verifier.verify_token(token) if token else None
        wanted = " ".join(self.default_scopes)
        if found is None or not same_resource(found.resource, self.resource) or _expired(found):
            if token:
                log.debug("refused the access token sent to %s: unknown, expired, revoked or for another resource",
                          scope.get("path"))
                why = "the token is not valid here: expired, revoked, or issued for another server"
                await _deny(send, 401, self._parts(error="invalid_token", error_description=why, scope=wanted), why)
            else:
                why = "sign in: this MCP server needs an OAuth access token or a personal access token"
                await _deny(send, 401, self._parts(scope=wanted), why)
            return
        user = AuthenticatedUser(found)
        scope["user"] = user
        scope["auth"] = AuthCredentials(found.scopes)
        scope[GUARD_KEY] = self
        reset = auth_context_var.set(user)
        try:
            await self.app(scope, receive, send)
        finally:
            auth_context_var.reset(reset)

    async def allows(self, scope: Any, message: Any, send: Any) -> bool:
        """False (after answering 403) when `message` calls a tool beyond the token's scopes."""
        names = tool_calls(message)
        granted = list(scope["auth"].scopes)
        needed = self.scopes_for(names) if names else []
        if all(s in granted for s in needed):
            return True
        missing = [s for s in needed if s not in granted]
        has = " ".join(granted) or "none"
        why = (f"{', '.join(names)} needs the scope(s) {' '.join(needed)}; the token has {has}. "
               f"Sign in again and allow {' '.join(missing)}")
        log.info("refused %s: needs %s, token has %s", ",".join(names), needed, granted)
        await _deny(send, 403, self._parts(error="insufficient_scope", scope=" ".join(needed),
                                           error_description=why), why)
        return False


def _expired(token: AccessToken) -> bool:
    return token.expires_at is not None and token.expires_at <= int(time.time())
