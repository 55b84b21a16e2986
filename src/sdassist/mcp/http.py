"""Streamable HTTP at /mcp: a bearer token unless bound to loopback, and an explicit Host allow-list.

A static token is all a single-tenant server needs, so the check is a small ASGI wrapper rather than the
SDK's OAuth resource-server machinery (which would advertise an authorization server we do not run).
"""

from __future__ import annotations

import hmac
import ipaddress
from typing import Any

from mcp.server import MCPServer
from mcp.server.transport_security import TransportSecuritySettings

from sdassist.config import Settings

LOOPBACK_NAMES = frozenset({"localhost", "127.0.0.1", "::1"})


class HttpConfigError(ValueError):
    """The HTTP mode cannot start as configured; the message says how to fix it."""


def is_loopback(host: str) -> bool:
    if host in LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def required_token(settings: Settings, host: str) -> str | None:
    """The bearer token to demand, or None on loopback without one; refuse an open non-loopback server."""
    token = settings.mcp_token.get_secret_value() if settings.mcp_token else None
    if token is None and not is_loopback(host):
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
    if not is_loopback(host) and host not in ("0.0.0.0", "::"):
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


def http_app(server: MCPServer, settings: Settings, host: str, port: int) -> Any:
    """The ASGI app: the SDK's streamable HTTP app at /mcp, behind the token when one is required."""
    app = server.streamable_http_app(streamable_http_path="/mcp", host=host,
                                     transport_security=transport_security(settings, host, port))
    token = required_token(settings, host)
    return BearerAuth(app, token) if token else app


def serve_http(server: MCPServer, settings: Settings, host: str, port: int) -> None:
    import uvicorn

    app = http_app(server, settings, host, port)
    uvicorn.run(app, host=host, port=port, log_level="warning")
