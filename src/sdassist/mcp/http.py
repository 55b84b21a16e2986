"""Streamable HTTP at /mcp: a bearer token unless bound to loopback, and an explicit Host allow-list.

A static token is all a single-tenant server needs, so the check is a small ASGI wrapper rather than the
SDK's OAuth resource-server machinery (which would advertise an authorization server we do not run).
"""

from __future__ import annotations

import hmac
import json
from typing import Any

from mcp.server import MCPServer
from mcp.server.transport_security import DEFAULT_MAX_REQUEST_BODY_SIZE, TransportSecuritySettings

from sdassist.client import is_loopback_host
from sdassist.config import Settings

JSONRPC_FIELDS = ("jsonrpc", "id", "method", "params", "result", "error")


class HttpConfigError(ValueError):
    """The HTTP mode cannot start as configured; the message says how to fix it."""



def required_token(settings: Settings, host: str) -> str | None:
    """The bearer token to demand, or None on loopback without one; refuse an open non-loopback server."""
    token = settings.mcp_token.get_secret_value() if settings.mcp_token else None
    if token is None and not is_loopback_host(host):
        raise HttpConfigError(
            f"refusing to serve MCP on {host} without a token: anyone who can reach it could draft posts. "
            "Set SDASSIST_MCP_TOKEN to a long random string (e.g. `python -c 'import secrets; "
            "print(secrets.token_urlsafe(32))'`) and send it as 'Authorization: Bearer <token>', "
            "or bind to 127.0.0.1.")
    return token


def transport_security(settings: Settings, host: str, port: int) -> TransportSecuritySettings:
    """Loopback Host headers always; more from SDASSIST_MCP_ALLOWED_HOSTS (e.g. 'mcp.example.com,10.0.0.5:*')."""
    hosts = ["127.0.0.1:*", "localhost:*", "[::1]:*"]
    origins = ["http://127.0.0.1:*", "http://localhost:*", "http://[::1]:*"]
    for entry in (h.strip() for h in settings.mcp_allowed_hosts.split(",")):
        if entry:
            hosts.append(entry if ":" in entry else f"{entry}:*")
            hosts.append(entry)
            origins.extend([f"https://{entry}", f"http://{entry}"])
    if not is_loopback_host(host) and host not in ("0.0.0.0", "::"):
        hosts.extend([host, f"{host}:{port}"])
    return TransportSecuritySettings(allowed_hosts=hosts, allowed_origins=origins)


class BearerAuth:
    """ASGI wrapper: every HTTP request must carry `Authorization: Bearer <token>` (constant-time check)."""

    def __init__(self, app: Any, token: str) -> None:
        self.app = app
        self._expected = f"Bearer {token}".encode()

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "http":
            given = dict(scope.get("headers") or []).get(b"authorization", b"")
            if not hmac.compare_digest(given, self._expected):
                body = b'{"error":"unauthorized","error_description":"send Authorization: Bearer <SDASSIST_MCP_TOKEN>"}'
                await send({"type": "http.response.start", "status": 401, "headers": [
                    (b"content-type", b"application/json"), (b"www-authenticate", b'Bearer realm="sdassist"'),
                    (b"content-length", str(len(body)).encode())]})
                await send({"type": "http.response.body", "body": body})
                return
        await self.app(scope, receive, send)


async def _refuse(send: Any, status: int, code: int, message: str) -> None:
    body = json.dumps({"jsonrpc": "2.0", "id": None, "error": {"code": code, "message": message}}).encode()
    await send({"type": "http.response.start", "status": status, "headers": [
        (b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]})
    await send({"type": "http.response.body", "body": body})


def _unknown_members(message: Any) -> list[str]:
    messages = message if isinstance(message, list) else [message]
    return sorted({k for m in messages if isinstance(m, dict) for k in m if k not in JSONRPC_FIELDS})


class InputGuard:
    """ASGI wrapper for POSTs: bodies over the SDK's limit are a 413, and a JSON-RPC message with members
    JSON-RPC does not define is a 400 naming them (the SDK would ignore them). The SDK answers the rest
    (wrong content type, malformed JSON, invalid messages) with its own 4xx."""

    def __init__(self, app: Any, max_body: int = DEFAULT_MAX_REQUEST_BODY_SIZE) -> None:
        self.app = app
        self.max_body = max_body

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http" or scope["method"] != "POST":
            await self.app(scope, receive, send)
            return
        too_large = f"Request body too large: the limit is {self.max_body} bytes"
        declared = dict(scope.get("headers") or []).get(b"content-length", b"")
        if declared.isdigit() and int(declared) > self.max_body:
            await _refuse(send, 413, -32600, too_large)
            return
        chunks: list[bytes] = []
        size, more = 0, True
        while more:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.max_body:
                await _refuse(send, 413, -32600, too_large)
                return
            chunks.append(chunk)
            more = message.get("more_body", False)
        raw = b"".join(chunks)
        try:
            unknown = _unknown_members(json.loads(raw))
        except (ValueError, RecursionError):
            unknown = []  # the SDK answers malformed JSON with its own parse error
        if unknown:
            await _refuse(send, 400, -32600, f"Invalid Request: unknown JSON-RPC member(s) {', '.join(unknown)}; "
                                             f"a message has only {', '.join(JSONRPC_FIELDS)}")
            return
        replayed = False

        async def replay() -> Any:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": raw, "more_body": False}
            return await receive()

        await self.app(scope, replay, send)


def http_app(server: MCPServer, settings: Settings, host: str, port: int) -> Any:
    """The ASGI app: the SDK's streamable HTTP app at /mcp, behind the token when one is required."""
    app = server.streamable_http_app(streamable_http_path="/mcp", host=host,
                                     transport_security=transport_security(settings, host, port))
    token = required_token(settings, host)
    guarded = InputGuard(app)
    return BearerAuth(guarded, token) if token else guarded


def serve_http(server: MCPServer, settings: Settings, host: str, port: int) -> None:
    import uvicorn

    app = http_app(server, settings, host, port)
    uvicorn.run(app, host=host, port=port, log_level="warning")
