"""Streamable HTTP at /mcp, with an explicit Host allow-list and one of three ways to know the caller
(SDASSIST_MCP_AUTH): `oauth` (sdassist is the OAuth authorization server, every token belongs to a person),
`token` (the shared SDASSIST_MCP_TOKEN, plus personal access tokens), `none` (loopback only).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

from mcp.server import MCPServer
from mcp.server.transport_security import DEFAULT_MAX_REQUEST_BODY_SIZE, TransportSecuritySettings

from sdassist import jsonbody
from sdassist.client import is_loopback_host
from sdassist.config import Settings
from sdassist.mcp.jsonrpc import INVALID_REQUEST, PARSE_ERROR, Refusal, check_message

JSONRPC_FIELDS = ("jsonrpc", "id", "method", "params", "result", "error")
log = logging.getLogger("sdassist.mcp")
GUARD_KEY = "sdassist.resource_guard"
"""Where the resource guard leaves itself in the ASGI scope, to check scopes once the body is parsed."""


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


async def _refuse(send: Any, status: int, refusal: Refusal) -> None:
    body = json.dumps(refusal.as_json()).encode()
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
        too_large = Refusal(None, INVALID_REQUEST, f"Request body too large: the limit is {self.max_body} bytes")
        declared = dict(scope.get("headers") or []).get(b"content-length", b"")
        if declared.isdigit() and int(declared) > self.max_body:
            await _refuse(send, 413, too_large)
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
                await _refuse(send, 413, too_large)
                return
            chunks.append(chunk)
            more = message.get("more_body", False)
        raw = b"".join(chunks)
        try:
            message = jsonbody.loads(raw)
        except jsonbody.TooDeep as exc:
            await _refuse(send, 400, Refusal(None, PARSE_ERROR, f"Parse error: {exc}"))
            return
        except jsonbody.JSONBodyError:
            message = None  # the SDK answers malformed JSON with its own parse error
        unknown = _unknown_members(message)
        guard = scope.get(GUARD_KEY)
        if guard is not None and not await guard.allows(scope, message, send):
            return
        if unknown:
            await _refuse(send, 400, Refusal(None, INVALID_REQUEST, f"Invalid Request: unknown JSON-RPC member(s) "
                                             f"{', '.join(unknown)}; a message has only {', '.join(JSONRPC_FIELDS)}"))
            return
        refusal = check_message(message) if isinstance(message, dict) else None
        if refusal is not None:  # the SDK would answer with pydantic's text and id null
            await _refuse(send, 400, refusal)
            return
        replayed = False

        async def replay() -> Any:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": raw, "more_body": False}
            return await receive()

        await self.app(scope, replay, send)


def auth_mode(settings: Settings, host: str) -> str:
    """The configured SDASSIST_MCP_AUTH, or the safe default; refuse what would leave the server open."""
    public = (settings.public_url or "").rstrip("/")
    mode = settings.mcp_auth
    if mode is None:
        public_host = urlsplit(public).hostname if public else None
        if public_host and not is_loopback_host(public_host):
            mode = "oauth"
        elif settings.mcp_token is not None or not is_loopback_host(host):
            mode = "token"
        else:
            mode = "none"
    if mode == "none" and not is_loopback_host(host):
        raise HttpConfigError(f"refusing SDASSIST_MCP_AUTH=none on {host}: anyone who can reach it could draft posts. "
                              "Use SDASSIST_MCP_AUTH=oauth (with SDASSIST_PUBLIC_URL) or token, or bind to 127.0.0.1.")
    if mode == "token":
        required_token(settings, host)
    if mode == "oauth":
        parts = urlsplit(public) if public else None
        if parts is None or parts.scheme not in ("https", "http") or not parts.hostname:
            raise HttpConfigError("SDASSIST_MCP_AUTH=oauth needs SDASSIST_PUBLIC_URL, the address people and their "
                                  "assistants reach this server at, e.g. https://sdassist.example.com")
        if parts.scheme != "https" and not is_loopback_host(parts.hostname):
            raise HttpConfigError(f"SDASSIST_PUBLIC_URL must be https:// for OAuth (got {public}); plain http only "
                                  "on loopback")
        if parts.path not in ("", "/") or parts.query or parts.fragment:
            raise HttpConfigError(f"SDASSIST_PUBLIC_URL must be an origin like https://sdassist.example.com, without "
                                  f"a path (got {public}); the MCP endpoint is <origin>/mcp")
    return mode


def _tool_scopes() -> Any:
    from sdassist.identity.scopes import scopes_needed
    from sdassist.tools.registry import ALL_TOOLS

    scopes = {t.name: t.scope for t in ALL_TOOLS}
    return lambda names: scopes_needed(names, scopes)


#: What a browser-based MCP host sends and must read (MCP streamable HTTP and authorization specs).
CORS_ALLOW_HEADERS = ["Authorization", "Content-Type", "Mcp-Session-Id", "MCP-Protocol-Version", "Last-Event-ID"]
CORS_EXPOSE_HEADERS = ["Mcp-Session-Id", "MCP-Protocol-Version", "WWW-Authenticate"]


class _OriginAnswered:
    """Drops the Origin header on its way to the SDK app: CORS has answered it, and in these modes a bearer token,
    not ambient credentials (cookies), authorizes every call, so a page on any origin may call with the token
    its person gave it. The SDK's Host check (DNS rebinding) still runs."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "http":
            scope = {**scope, "headers": [(k, v) for k, v in scope.get("headers") or [] if k != b"origin"]}
        await self.app(scope, receive, send)


def browser_hosts(app: Any) -> Any:
    """CORS for /mcp in `oauth` and `token` mode (never `none`, where nothing but the Origin check keeps a web page
    from driving a loopback server): preflights answered, the session id and the challenge readable."""
    from starlette.middleware.cors import CORSMiddleware

    return CORSMiddleware(_OriginAnswered(app), allow_origins=["*"], allow_methods=["GET", "POST", "DELETE"],
                          allow_headers=CORS_ALLOW_HEADERS, expose_headers=CORS_EXPOSE_HEADERS, max_age=600)


class PathDispatch:
    """/mcp (and the lifespan) to the MCP app behind its guard; every other path to the web app."""

    def __init__(self, mcp: Any, web: Any) -> None:
        self.mcp, self.web = mcp, web

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        path = scope.get("path", "")
        if scope["type"] == "lifespan" or path == "/mcp" or path.startswith("/mcp/"):
            await self.mcp(scope, receive, send)
        else:
            await self.web(scope, receive, send)


def client_documents(store: Any) -> Any:
    """Client ID Metadata Documents, fetched safely and cached in the database."""
    from sdassist.identity.cimd import ClientDocuments

    return ClientDocuments(store)


def http_app(server: MCPServer, settings: Settings, host: str, port: int, *,
             documents: Callable[[Any], Any] = client_documents) -> Any:
    """The ASGI app: the SDK's streamable HTTP app at /mcp behind the configured authentication, and (with
    OAuth) the authorization server and its pages beside it."""
    mode = auth_mode(settings, host)
    app = server.streamable_http_app(streamable_http_path="/mcp", host=host,
                                     transport_security=transport_security(settings, host, port))
    guarded = InputGuard(app)
    from starlette.applications import Starlette

    from sdassist.web.media import media_routes

    async def media_store() -> Any:  # signed media links (files handed to upload_media) are served here too
        return (await server.sdassist_state.runtime()).media  # type: ignore[attr-defined]

    if mode == "none":
        return PathDispatch(guarded, Starlette(routes=media_routes(media_store)))

    from sdassist.identity import DEFAULT_SCOPES, AuthServerConfig, IdentityStore, SdassistAuthProvider
    from sdassist.mcp.auth import ChainedVerifier, ResourceGuard, StaticTokenVerifier
    from sdassist.web.oauth import resource_metadata_routes

    origin = (settings.public_url or "").rstrip("/") or f"http://{host}:{port}"
    resource = f"{origin}/mcp"
    store = IdentityStore(settings.effective_database_url)
    if settings.database_url is None:
        settings.data_dir.mkdir(parents=True, exist_ok=True)
    from sdassist.identity.redirects import RedirectHostsError, parse_redirect_hosts

    try:
        redirect_hosts = parse_redirect_hosts(settings.oauth_redirect_hosts)
    except RedirectHostsError as exc:
        raise HttpConfigError(str(exc)) from None
    provider = SdassistAuthProvider(store, AuthServerConfig(
        issuer=origin, resource=resource, redirect_hosts=redirect_hosts,
        client_idle_days=settings.oauth_client_idle_days,
        registrations_per_minute=settings.oauth_registrations_per_minute),
                                    client_documents=documents(store))
    routes: list[Any] = media_routes(media_store)
    if mode == "oauth":
        from sdassist.identity.confirmations import ConfirmLinks
        from sdassist.web.confirm import confirm_routes
        from sdassist.web.oauth import auth_server_routes
        from sdassist.web.session import Sessions

        sessions = Sessions(store, secure=origin.startswith("https://"))
        state = server.sdassist_state  # type: ignore[attr-defined]
        state.confirm_links = ConfirmLinks(store, origin)
        routes += [*auth_server_routes(provider, sessions, upstream_oidc(settings, origin)),
                  *resource_metadata_routes(resource, origin),
                  *confirm_routes(state.confirm_links, sessions, state.runtime, state.open_pages.answered)]
        verifier: Any = provider
    else:
        static = settings.mcp_token.get_secret_value() if settings.mcp_token else None
        verifier = ChainedVerifier(*([StaticTokenVerifier(static, resource)] if static else []), provider)
    metadata_url = None
    if mode == "oauth":
        metadata_url = f"{origin}/.well-known/oauth-protected-resource/mcp"
    guard = ResourceGuard(guarded, verifier, resource=resource, metadata_url=metadata_url,
                          default_scopes=list(DEFAULT_SCOPES), scopes_for=_tool_scopes())
    return PathDispatch(browser_hosts(guard), Starlette(routes=routes))


def upstream_oidc(settings: Settings, origin: str) -> Any:
    """The upstream OpenID Connect provider people sign in with, or None when none is configured."""
    if not settings.oidc_issuer:
        log.warning("SDASSIST_MCP_AUTH=oauth without SDASSIST_OIDC_ISSUER: nobody can sign in through a browser; "
                    "only personal access tokens (sdassist tokens create) work")
        return None
    from sdassist.netsafety import InsecureTransport, check_secret_transport

    try:
        check_secret_transport(settings.oidc_issuer, what="OpenID Connect client secret and codes",
                               setting="SDASSIST_OIDC_ISSUER")
    except InsecureTransport as exc:
        raise HttpConfigError(str(exc)) from None
    if not settings.oidc_client_id:
        raise HttpConfigError("SDASSIST_OIDC_ISSUER is set but SDASSIST_OIDC_CLIENT_ID is not: register sdassist at "
                              f"the provider with the redirect URI {origin}/oauth/callback and set both")
    from sdassist.identity.oidc import UpstreamOidc

    secret = settings.oidc_client_secret.get_secret_value() if settings.oidc_client_secret else None
    return UpstreamOidc(settings.oidc_issuer, settings.oidc_client_id, secret, f"{origin}/oauth/callback")


def serve_http(server: MCPServer, settings: Settings, host: str, port: int) -> None:
    import uvicorn

    app = http_app(server, settings, host, port)
    uvicorn.run(app, host=host, port=port, log_level="warning")
