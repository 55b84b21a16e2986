"""The authorization server's HTTP side: metadata, the SDK's authorize/token/register/revoke handlers over our
provider, and the pages a person sees (sign-in through the upstream provider, consent).

What the SDK's `create_auth_routes` would not do, and this does: advertise public clients (`none`), Client ID
Metadata Documents and the `iss` response parameter (RFC 9207) in the metadata; send `iss` back with every
authorization response; check client secrets against their stored digests.

No `/.well-known/openid-configuration`: that document describes an OpenID Provider (ID tokens, `jwks_uri`,
subject types, all REQUIRED by OpenID Connect Discovery 1.0), and this server issues no ID tokens. MCP clients
read RFC 8414 metadata first (the spec's order, and the SDK client's) and find it at the root; serving the RFC
8414 fields under the OpenID name would advertise an OpenID Provider that is not there.
"""

from __future__ import annotations

import base64
import binascii
import ipaddress
import logging
from typing import Any
from urllib.parse import unquote_plus, urlencode

from mcp.server.auth.handlers.authorize import AuthorizationHandler
from mcp.server.auth.handlers.register import RegistrationHandler
from mcp.server.auth.handlers.token import TokenHandler
from mcp.server.auth.middleware.client_auth import AuthenticationError, ClientAuthenticator
from mcp.server.auth.provider import construct_redirect_uri
from mcp.server.auth.routes import create_protected_resource_routes
from mcp.server.auth.settings import ClientRegistrationOptions
from mcp.server.transport_security import DEFAULT_MAX_REQUEST_BODY_SIZE, RequestBodyLimitMiddleware
from mcp.shared.auth import InvalidRedirectUriError, OAuthClientInformationFull
from pydantic import AnyUrl, ValidationError
from starlette.middleware.cors import CORSMiddleware
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from starlette.routing import BaseRoute, Route, request_response

from sdassist import jsonbody
from sdassist.identity.cimd import one_lookup_per_request, refusal
from sdassist.identity.oidc import OidcError, UpstreamOidc
from sdassist.identity.provider import SdassistAuthProvider, same_resource
from sdassist.identity.redirects import consent_host, redirect_host
from sdassist.identity.scopes import DEFAULT_SCOPES, SCOPES, describe_scope
from sdassist.web.oauth_errors import (
    NO_STORE,
    TOKEN_AUTH_METHODS,
    authorize_answer,
    oauth_error,
    pkce_method_problem,
    registration_refusal,
    repeated_parameter,
    repeated_problem,
    token_refusal,
)
from sdassist.web.pages import FORM_PAGE_HEADERS, consent_page, message_page
from sdassist.web.session import BrowserSession, Sessions

__all__ = ["HashedClientAuthenticator", "auth_server_metadata", "auth_server_routes"]

log = logging.getLogger("sdassist.web")

LOGIN_TTL = 15 * 60
REGISTRATION_WINDOW = 60
"""Seconds over which dynamic client registrations per source address are counted."""


def rate_source(address: str) -> str:
    """Whom a per-address limit counts: an IPv4 address (also written IPv4-mapped), or an IPv6 address's /64,
    since one subscriber is handed a whole /64 and could otherwise take a fresh address for every request."""
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return address
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:
            return str(ip.ipv4_mapped)
        return str(ipaddress.IPv6Network(f"{ip}/64", strict=False))
    return str(ip)


def basic_credentials(request: Request) -> tuple[str, str] | None:
    """The client id and secret of an `Authorization: Basic` header (RFC 6749 §2.3.1: each form-urlencoded,
    then joined by a colon), or None when there is none or it cannot be read."""
    header = request.headers.get("authorization", "")
    if not header.startswith("Basic "):
        return None
    try:
        client_id, colon, secret = base64.b64decode(header[6:], validate=True).decode().partition(":")
    except (ValueError, UnicodeDecodeError, binascii.Error):
        return None
    return (unquote_plus(client_id), unquote_plus(secret)) if colon else None


def _client_id(request: Request, form: Any) -> str | None:
    """The client id of a token or revocation request: the form's, else the Basic header's. A client that
    authenticates with HTTP Basic need not repeat it in the body (RFC 6749 §2.3.1, §4.1.3)."""
    given = form.get("client_id")
    if isinstance(given, str) and given:
        return given
    basic = basic_credentials(request)
    return basic[0] if basic and basic[0] else None


def _with_client_id(request: Request, form: Any) -> Request:
    """The same request, its body carrying the client id the Basic header gave (the SDK's token handler reads
    it from the form only)."""
    client_id = _client_id(request, form)
    if client_id is None or form.get("client_id"):
        return request
    body = urlencode([*form.multi_items(), ("client_id", client_id)]).encode()

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": body, "more_body": False}

    return Request(request.scope, receive)


class HashedClientAuthenticator(ClientAuthenticator):
    """The SDK's client authentication, but against the digest of the secret (we never keep the secret)."""

    provider: SdassistAuthProvider

    async def authenticate_request(self, request: Request) -> OAuthClientInformationFull:
        form = await request.form()
        client_id = _client_id(request, form)
        if client_id is None:
            raise AuthenticationError("Missing client_id")
        basic = basic_credentials(request)
        if basic is not None and basic[0] != client_id:  # one client per request, whatever its method
            raise AuthenticationError("Client ID mismatch in Basic auth")
        client = await self.provider.get_client(client_id)
        if client is None:
            raise AuthenticationError("Invalid client_id")
        method = client.token_endpoint_auth_method or "client_secret_post"
        if method == "none":
            return client
        secret: str | None = None
        if method == "client_secret_basic":
            if basic is None:
                raise AuthenticationError("Missing or invalid Basic authentication in Authorization header")
            secret = basic[1]
        elif method == "client_secret_post":
            given = form.get("client_secret")
            secret = given if isinstance(given, str) else None
        else:
            raise AuthenticationError(f"Unsupported auth method: {method}")
        if not await self.provider.client_secret_matches(client_id, secret):
            raise AuthenticationError("Invalid client_secret")
        return client


def client_refused(request: Request, response: Response) -> Response:
    """An `invalid_client` answer to a client that tried HTTP Basic carries `WWW-Authenticate: Basic` (RFC 6749
    §5.2: a 401 naming the scheme the client used)."""
    if response.status_code == 401 and request.headers.get("authorization", "").startswith("Basic "):
        response.headers["WWW-Authenticate"] = 'Basic realm="sdassist", charset="UTF-8"'
    return response


def grant_refused(response: Response) -> Response:
    """The SDK's token answer, with RFC 6749 §5.2's code where the SDK picks another: a redirect URI that is not
    the authorization request's makes the grant unusable (`invalid_grant`), the request itself is well formed."""
    if response.status_code == 400:
        try:
            body = jsonbody.loads(bytes(response.body))
        except jsonbody.JSONBodyError:
            return response
        if (isinstance(body, dict) and body.get("error") == "invalid_request"
                and str(body.get("error_description", "")).startswith("redirect_uri did not match")):
            return oauth_error("invalid_grant", "redirect_uri: must be the redirect URI of the authorization request "
                                                "this code was issued for")
    return response


def auth_server_metadata(issuer: str, *, registration: bool) -> dict[str, Any]:
    """RFC 8414 metadata, as MCP clients need it (Claude uses CIMD only with `none` and the CIMD flag)."""
    meta: dict[str, Any] = {
        "issuer": issuer,
        "authorization_endpoint": f"{issuer}/authorize",
        "token_endpoint": f"{issuer}/token",
        "revocation_endpoint": f"{issuer}/revoke",
        "scopes_supported": list(SCOPES),
        "response_types_supported": ["code"],
        "response_modes_supported": ["query"],
        "grant_types_supported": ["authorization_code", "refresh_token"],
        "token_endpoint_auth_methods_supported": list(TOKEN_AUTH_METHODS),
        "revocation_endpoint_auth_methods_supported": list(TOKEN_AUTH_METHODS),
        "code_challenge_methods_supported": ["S256"],
        "client_id_metadata_document_supported": True,
        "authorization_response_iss_parameter_supported": True,
        "service_documentation": f"{issuer}/oauth/about",
    }
    if registration:
        meta["registration_endpoint"] = f"{issuer}/register"
    return meta


def _local_path(target: str | None, default: str = "/oauth/about") -> str:
    """Only a path on this server (no scheme, no `//host`): the sign-in's `next` is never an open redirect."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return default
    return target


def cors_middleware(handler: Any, allow_methods: list[str]) -> Any:
    """The SDK's CORS for the authorization server's endpoints (any origin, no credentials), also allowing
    `Authorization`, which a browser-based client authenticating with HTTP Basic sends (the SDK's allows only
    MCP-Protocol-Version, so such a preflight was refused)."""
    return CORSMiddleware(request_response(handler), allow_origins="*", allow_methods=allow_methods,
                          allow_headers=["Authorization", "MCP-Protocol-Version"])


def _limited(app: Any) -> Any:
    return RequestBodyLimitMiddleware(app, DEFAULT_MAX_REQUEST_BODY_SIZE)


def auth_server_routes(provider: SdassistAuthProvider, sessions: Sessions, upstream: UpstreamOidc | None
                       ) -> list[BaseRoute]:
    """Every route of the authorization server and its pages, plus the protected resource metadata."""
    issuer = provider.config.issuer
    metadata = auth_server_metadata(issuer, registration=True)
    authenticator = HashedClientAuthenticator(provider)  # type: ignore[arg-type]
    # A client secret's expiry is when an unused client is deleted; every use moves that on (docs/mcp.md).
    registration = RegistrationHandler(provider, ClientRegistrationOptions(  # type: ignore[arg-type]
        enabled=True, valid_scopes=list(SCOPES), default_scopes=list(DEFAULT_SCOPES),
        client_secret_expiry_seconds=provider.config.client_idle_seconds))

    async def as_metadata(_request: Request) -> Response:
        return JSONResponse(metadata, headers={"Cache-Control": "public, max-age=3600"})

    async def about(_request: Request) -> Response:
        return HTMLResponse(message_page("sdassist sign-in", "This server lets AI assistants draft social media "
                                         "posts for you through sdassist. Connect it from your assistant's "
                                         "settings; you will be asked to sign in and to allow it here."))

    async def consent(request: Request) -> Response:
        """The consent page (GET) and its answer (POST). A person who allowed this app as much before (for the
        same destination) is not asked again: the GET answers at once."""
        key = request.query_params.get("request", "") if request.method == "GET" else None
        if request.method == "POST":
            form = await request.form()
            key = str(form.get("request", ""))
        pending = await provider.store.get_pending("authorize", key or "")
        if pending is None:
            return HTMLResponse(message_page("This sign-in link has expired",
                                             "Start connecting again from your assistant."), 400, headers=NO_STORE)
        session = await sessions.current(request)
        if session is None:
            if request.method == "POST":
                return HTMLResponse(message_page("Signed out", "Sign in again from your assistant."), 403)
            return RedirectResponse(f"/oauth/login?{urlencode({'next': f'/oauth/consent?request={key}'})}", 303,
                                    headers=NO_STORE)
        if request.method == "GET":
            granted = await provider.store.granted_scopes(session.person.id, pending["client_id"],
                                                          consent_host(pending["redirect_uri"]))
            new = [s for s in pending["scopes"] if s not in granted]
            if not new:
                return await answer(key or "", session, allow=True, remembered=True)
            html = consent_page(app=pending["client_name"], app_id=pending["client_id"], person=session.person.name,
                                scopes=[(s, describe_scope(s)) for s in new],
                                granted=[(s, describe_scope(s)) for s in granted],
                                redirect_host=redirect_host(pending["redirect_uri"]), request_key=key or "",
                                csrf=session.csrf, action="/oauth/consent")
            return HTMLResponse(html, headers=FORM_PAGE_HEADERS)
        if not session.csrf_ok(form.get("csrf")):
            return HTMLResponse(message_page("Please try again", "The form was stale; reload the page."), 403)
        return await answer(key or "", session, allow=form.get("decision") == "allow")

    async def answer(key: str, session: BrowserSession, *, allow: bool, remembered: bool = False) -> Response:
        """Answer a parked authorization request, once: a code (remembering the consent) or access_denied
        (remembering nothing), sent to the app's redirect URI with `iss`."""
        taken = await provider.store.take_pending("authorize", key)
        if taken is None:
            return HTMLResponse(message_page("Already answered", "This request was answered already."), 400)
        response: dict[str, str | None] = {"state": taken.get("state"), "iss": issuer}
        if allow:
            response["code"] = await provider.issue_code(taken, session.person)
            if not remembered:
                await provider.store.remember_grant(session.person, client_id=taken["client_id"],
                                                    client_name=taken["client_name"],
                                                    redirect_host=consent_host(taken["redirect_uri"]),
                                                    scopes=taken["scopes"])
            log.info("%s allowed %s (%s)%s", session.person.id, taken["client_id"], " ".join(taken["scopes"]),
                     " as remembered" if remembered else "")
        else:
            response.update(error="access_denied", error_description="the person declined")
        return RedirectResponse(construct_redirect_uri(taken["redirect_uri"], **response), 303, headers=NO_STORE)

    async def login(request: Request) -> Response:
        target = _local_path(request.query_params.get("next"))
        if upstream is None:
            return HTMLResponse(message_page(
                "Sign-in is not set up", "The operator has not configured a sign-in provider "
                "(SDASSIST_OIDC_ISSUER). Ask them for a personal access token instead."), 503)
        try:
            started = await upstream.start()
        except OidcError as exc:
            return HTMLResponse(message_page("Sign-in is unavailable", str(exc)), 502)
        response = RedirectResponse(started.url, 303, headers=NO_STORE)
        browser = sessions.bind_login(request, response, LOGIN_TTL)
        await provider.store.put_pending("login", {"nonce": started.nonce, "verifier": started.code_verifier,
                                                   "next": target, "browser": browser}, LOGIN_TTL, key=started.state)
        return response

    async def callback(request: Request) -> Response:
        state = request.query_params.get("state", "")
        pending = await provider.store.take_pending("login", state) if state else None
        if pending is None:
            return HTMLResponse(message_page("This sign-in has expired", "Start again from your assistant."), 400)
        if not sessions.login_bound(request, pending.get("browser")):
            return HTMLResponse(message_page("This sign-in was started in another browser",
                                             "Nobody was signed in. Start again from your assistant in this browser."),
                                403, headers=NO_STORE)
        if "error" in request.query_params:
            return HTMLResponse(message_page("Not signed in", "The sign-in provider said: "
                                             + request.query_params.get("error", "")[:100]), 403)
        try:
            assert upstream is not None
            person = await upstream.finish(request.query_params.get("code", ""), nonce=pending["nonce"],
                                           code_verifier=pending["verifier"])
        except OidcError as exc:
            return HTMLResponse(message_page("Not signed in", str(exc)), 403)
        response = RedirectResponse(_local_path(pending["next"]), 303, headers=NO_STORE)
        await sessions.start(response, person)
        log.info("%s signed in", person.id)
        return response

    async def logout(request: Request) -> Response:
        form = await request.form()
        session = await sessions.current(request)
        if session is not None and not session.csrf_ok(form.get("csrf")):
            return HTMLResponse(message_page("Please try again", "The form was stale; reload the page."), 403)
        response = HTMLResponse(message_page("Signed out", "You are signed out of sdassist in this browser."))
        await sessions.end(request, response)
        return response

    async def revoke(request: Request) -> Response:
        """RFC 7009. Not the SDK's handler: it demands a `client_secret` field even from public clients."""
        try:
            client = await authenticator.authenticate_request(request)
        except AuthenticationError as exc:
            return client_refused(request, oauth_error("invalid_client", exc.message, 401))
        given = (await request.form()).get("token")
        if not isinstance(given, str) or not given:
            return oauth_error("invalid_request", "token: give the token to revoke")
        record = await provider.store.find(given)
        if record is not None and record.client_id == client.client_id and record.kind in ("access", "refresh"):
            await provider.store.revoke_family(record.family)
        return Response(status_code=200, headers=NO_STORE)  # unknown tokens too (RFC 7009 §2.2)

    handler = TokenHandler(provider, authenticator)  # type: ignore[arg-type]

    async def token(request: Request) -> Response:
        """The SDK's token endpoint, after the RFC 8707 check it leaves out: a `resource` on the token request
        must be this server's MCP endpoint (the one every token here is bound to)."""
        form = await request.form()
        given = form.get("resource")
        if isinstance(given, str) and given and not same_resource(given, provider.config.resource):
            return oauth_error("invalid_target",
                               f"resource must be this server's MCP endpoint, {provider.config.resource}")
        request = _with_client_id(request, form)
        return token_refusal(await request.form()) or client_refused(request, grant_refused(
            await handler.handle(request)))

    authorization = AuthorizationHandler(provider)  # type: ignore[arg-type]

    async def redirect_target(params: Any) -> str | None:
        """The redirect URI an authorization response may go to: the client's, registered; else None."""
        client_id = params.get("client_id")
        client = await provider.get_client(client_id) if isinstance(client_id, str) and client_id else None
        if client is None:
            return None
        raw = params.get("redirect_uri")
        try:
            return str(client.validate_redirect_uri(AnyUrl(raw) if isinstance(raw, str) else None))
        except (ValidationError, InvalidRedirectUriError):
            return None

    async def authorize(request: Request) -> Response:
        """The SDK's authorization endpoint, its answers completed (`iss`, our words, a page for people), after
        the checks it leaves out: the operator's redirect hosts (for clients registered or documents fetched
        before the list was set too) and the PKCE method (it reads a missing method as S256)."""
        with one_lookup_per_request():
            return await _authorize(request)

    async def _authorize(request: Request) -> Response:
        params = request.query_params if request.method == "GET" else await request.form()
        answer: Response | None = None
        if repeated_parameter(params) in ("client_id", "redirect_uri"):  # which app, or where to: unknowable
            return HTMLResponse(message_page("This app's sign-in request cannot be used",
                                             f"{repeated_problem(params)}. Nothing was shared with the app."), 400,
                                headers=NO_STORE)
        target = await redirect_target(params)
        refused = provider.redirect_problem(target) if target else None
        if refused:  # never send the browser to a host the operator does not allow, not even with an error
            return HTMLResponse(message_page("This app's sign-in request cannot be used",
                                             f"{refused}. Nothing was shared with the app."), 400, headers=NO_STORE)
        problem = repeated_problem(params) or pkce_method_problem(params)
        if problem and target:  # a redirect URI the client registered: tell the client (RFC 6749 §4.1.2.1)
            state = params.get("state")
            answer = RedirectResponse(construct_redirect_uri(
                target, error="invalid_request", error_description=problem,
                state=state if isinstance(state, str) else None), 302, headers=NO_STORE)
        response = answer or await authorization.handle(request)
        client_id = params.get("client_id")
        return authorize_answer(response, params, issuer=issuer, own_prefix=provider.config.consent_url,
                                refused_document=refusal(client_id) if isinstance(client_id, str) else None)

    async def register(request: Request) -> Response:
        """RFC 7591 through the SDK's handler, after the per-address limit and our checks of the body (which
        field, what is wrong). Registration needs no account, so each address gets a few a minute."""
        source = rate_source(request.client.host if request.client else "unknown")
        limit = provider.config.registrations_per_minute
        slot = None
        if limit:
            slot, wait = await provider.store.take_registration_slot(source, limit=limit, window=REGISTRATION_WINDOW)
            if slot is None:
                return JSONResponse({"error": "temporarily_unavailable", "error_description":
                                     f"too many client registrations from this address: the limit is {limit} a "
                                     f"minute; try again in {wait} seconds"},
                                    429, headers={"Retry-After": str(wait), **NO_STORE})
        response = registration_refusal(await request.body()) or await registration.handle(request)
        if response.status_code == 201:
            await provider.store.note_registration(jsonbody.loads(bytes(response.body))["client_id"], source)
        elif slot is not None:
            await provider.store.release_registration_slot(slot)
        return response

    routes: list[BaseRoute] = [
        Route("/.well-known/oauth-authorization-server", cors_middleware(as_metadata, ["GET", "OPTIONS"]),
              methods=["GET", "OPTIONS"]),
        Route("/authorize", _limited(request_response(authorize)), methods=["GET", "POST"]),
        Route("/token", cors_middleware(token, ["POST", "OPTIONS"]), methods=["POST", "OPTIONS"]),
        Route("/register", _limited(cors_middleware(register, ["POST", "OPTIONS"])), methods=["POST", "OPTIONS"]),
        Route("/revoke", cors_middleware(revoke, ["POST", "OPTIONS"]), methods=["POST", "OPTIONS"]),
        Route("/oauth/about", about, methods=["GET"]),
        Route("/oauth/consent", consent, methods=["GET", "POST"]),
        Route("/oauth/login", login, methods=["GET"]),
        Route("/oauth/callback", callback, methods=["GET"]),
        Route("/oauth/logout", logout, methods=["POST"]),
    ]
    return routes


def resource_metadata_routes(resource: str, issuer: str | None) -> list[BaseRoute]:
    """RFC 9728 metadata at the path-inserted well-known URI (and the root one, for older clients)."""
    # Plain strings: the metadata model keeps an empty path empty, so the issuer reads exactly as in the AS
    # metadata (RFC 8414 compares issuers as strings; `AnyHttpUrl(...)` here would add a trailing slash).
    servers: list[Any] = [issuer] if issuer else []
    routes: list[BaseRoute] = []
    if servers:
        routes = create_protected_resource_routes(resource, servers, scopes_supported=list(SCOPES),  # type: ignore
                                                  resource_name="sdassist")
        routes.append(Route("/.well-known/oauth-protected-resource", routes[0].endpoint,  # type: ignore[attr-defined]
                            methods=["GET", "OPTIONS"]))
    return routes

