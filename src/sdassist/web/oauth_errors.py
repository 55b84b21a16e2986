"""OAuth error answers in our words, around the mcp SDK's authorize, token and register handlers.

The SDK answers a malformed request with pydantic's text ("code_challenge: Field required", ": Input tag
'password' found using 'grant_type' does not match…"), sends error redirects without the `iss` we advertise
(RFC 9207 §2: every authorization response carries it, errors too) and shows a browser JSON when it cannot
redirect. These checks run the same models first and say which field is wrong and how to fix it, with the
error codes the RFCs define (RFC 6749 §4.1.2.1 and §5.2, RFC 7591 §3.2.2).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from mcp.server.auth.handlers.authorize import AuthorizationRequest
from mcp.server.auth.handlers.token import AuthorizationCodeRequest, RefreshTokenRequest
from mcp.shared.auth import OAuthClientMetadata
from pydantic import BaseModel, ValidationError
from starlette.responses import HTMLResponse, JSONResponse, Response

from sdassist import jsonbody
from sdassist.identity.cimd import MAX_BYTES, MAX_CLIENT_NAME
from sdassist.tools.errors import validation_message
from sdassist.web.pages import message_page

__all__ = ["NO_STORE", "TOKEN_AUTH_METHODS", "authorize_answer", "oauth_error", "pkce_method_problem",
           "registration_refusal", "repeated_parameter", "repeated_problem", "token_refusal"]

NO_STORE = {"Cache-Control": "no-store"}
GRANTS: dict[str, type[BaseModel]] = {"authorization_code": AuthorizationCodeRequest,
                                      "refresh_token": RefreshTokenRequest}
CODE_VERIFIER = re.compile(r"[A-Za-z0-9._~-]{43,128}")
TOKEN_AUTH_METHODS = ("none", "client_secret_post", "client_secret_basic")
"""How a client may authenticate at the token and revocation endpoints (the metadata advertises these)."""
PKCE = "PKCE is required: send code_challenge=BASE64URL(SHA-256(code_verifier)) with code_challenge_method=S256"


def oauth_error(error: str, description: str, status: int = 400) -> JSONResponse:
    return JSONResponse({"error": error, "error_description": description}, status, headers=NO_STORE)


def _fields(data: Mapping[str, Any]) -> dict[str, Any]:
    """Form or query fields as the models take them: one text each (a repeated field keeps its last value)."""
    return {k: v for k, v in data.items()}


def registration_refusal(raw: bytes) -> JSONResponse | None:
    """Why an RFC 7591 registration body cannot be taken (400 with `invalid_redirect_uri` or
    `invalid_client_metadata`), or None for the SDK's handler to register it."""
    example = 'e.g. {"client_name": "My app", "redirect_uris": ["https://app.example/callback"]}'
    if len(raw) > MAX_BYTES:  # the limit a client metadata document has; registration needs no account
        return oauth_error("invalid_client_metadata",
                           f"the client metadata is {len(raw):,} bytes; the limit is {MAX_BYTES:,}")
    try:
        data = jsonbody.loads(raw)
    except jsonbody.JSONBodyError as exc:
        return oauth_error("invalid_client_metadata", f"{exc}: send the client metadata as a JSON object, {example}")
    if not isinstance(data, dict):
        return oauth_error("invalid_client_metadata", f"the body must be a JSON object of client metadata, {example}")
    surrogate = jsonbody.lone_surrogate(data)
    if surrogate is not None:  # valid JSON syntax, but not text: the SDK's reader would answer with pydantic's words
        return oauth_error("invalid_client_metadata", f"the body holds {surrogate}, half of a UTF-16 pair, which is "
                                                      "not a character; send the text itself or a complete pair")
    method = data.get("token_endpoint_auth_method")
    if method is not None and method not in TOKEN_AUTH_METHODS:  # the SDK's words would list one it then refuses
        return oauth_error("invalid_client_metadata", "token_endpoint_auth_method: must be one of "
                           f"{', '.join(repr(m) for m in TOKEN_AUTH_METHODS)} (got {str(method)[:60]!r}); "
                           "MCP hosts register 'none' (a public client with PKCE)")
    try:
        OAuthClientMetadata.model_validate(data)
    except ValidationError as exc:
        where = {str(e["loc"][0]) for e in exc.errors() if e["loc"]}
        code = "invalid_redirect_uri" if where == {"redirect_uris"} else "invalid_client_metadata"
        return oauth_error(code, validation_message(exc))
    name = data.get("client_name")
    if isinstance(name, str) and len(name) > MAX_CLIENT_NAME:
        return oauth_error("invalid_client_metadata",
                           f"client_name: is {len(name):,} characters, the limit is {MAX_CLIENT_NAME}")
    return None


def token_refusal(form: Mapping[str, Any]) -> JSONResponse | None:
    """Why a token request is malformed (RFC 6749 §5.2: `unsupported_grant_type`, `invalid_request`), or None."""
    repeated = repeated_problem(form)
    if repeated:
        return oauth_error("invalid_request", repeated)
    grant = form.get("grant_type")
    if not isinstance(grant, str) or not grant:
        return oauth_error("invalid_request", f"grant_type: is required; use {' or '.join(GRANTS)}")
    model = GRANTS.get(grant)
    if model is None:
        return oauth_error("unsupported_grant_type",
                           f"grant_type: {grant[:60]!r} is not supported here; use {' or '.join(GRANTS)}")
    try:
        model.model_validate(_fields(form))
    except ValidationError as exc:
        return oauth_error("invalid_request", validation_message(exc))
    verifier = form.get("code_verifier")
    if grant == "authorization_code" and not (isinstance(verifier, str) and CODE_VERIFIER.fullmatch(verifier)):
        return oauth_error("invalid_request", "code_verifier: must be 43 to 128 characters of A-Z a-z 0-9 - . _ ~ "
                                              "(RFC 7636 §4.1)")
    return None


def _authorize_problem(params: Mapping[str, Any]) -> str | None:
    """The authorization request's problems in our words (None when the SDK's model takes it)."""
    try:
        AuthorizationRequest.model_validate(_fields(params))
    except ValidationError as exc:
        message = validation_message(exc)
        if any(e["loc"] and str(e["loc"][0]).startswith("code_challenge") for e in exc.errors()):
            message = f"{message}. {PKCE}"
        return message
    return None


REPEATABLE = frozenset({"resource"})
"""Parameters a request may give more than once: RFC 8707 §2 allows several `resource`s (checked elsewhere)."""


def repeated_parameter(params: Mapping[str, Any]) -> str | None:
    """The first parameter a request gives more than once, or None. RFC 6749 §3.1 and §3.2: "Request and response
    parameters MUST NOT be included more than once"; which of two redirect URIs or codes was meant is anyone's
    guess, so neither is taken."""
    items = params.multi_items() if hasattr(params, "multi_items") else list(params.items())
    seen: set[str] = set()
    for key, _ in items:
        if key in seen and key not in REPEATABLE:
            return key
        seen.add(key)
    return None


def repeated_problem(params: Mapping[str, Any]) -> str | None:
    repeated = repeated_parameter(params)
    return f"{repeated}: is given more than once; send each parameter once (RFC 6749 §3.1)" if repeated else None


def pkce_method_problem(params: Mapping[str, Any]) -> str | None:
    """Why an otherwise well-formed authorization request's PKCE method is refused, or None for S256.

    The SDK's model takes a missing `code_challenge_method` as S256; RFC 7636 §4.3 says a missing method
    means `plain`, which this server does not accept, so a request without it is refused rather than read
    as something the client did not say. (Other malformed requests are left to `_authorize_problem`.)"""
    if params.get("code_challenge_method") == "S256" or _authorize_problem(params) is not None:
        return None
    return ("code_challenge_method: is missing, and RFC 7636 reads a missing method as 'plain', which this server "
            f"does not accept. {PKCE}")


def _with_query(url: str, **extra: str) -> str:
    parts = urlsplit(url)
    query = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if k not in extra]
    return urlunsplit(parts._replace(query=urlencode([*query, *extra.items()])))


def authorize_answer(response: Response, params: Mapping[str, Any], *, issuer: str, own_prefix: str,
                     refused_document: str | None = None) -> Response:
    """The SDK's answer to an authorization request, completed: an error redirect to the client carries `iss`
    and a description in our words; an error it cannot redirect (unknown client, unregistered redirect URI)
    is a page for the person in the browser, never a redirect to an address the client did not register.
    `refused_document` says why the client's metadata document was refused (the SDK says only "not found")."""
    problem = _authorize_problem(params)
    location = response.headers.get("location")
    if location is not None:
        if location.startswith(own_prefix):  # on to our consent page: not an authorization response yet
            return response
        query = dict(parse_qsl(urlsplit(location).query, keep_blank_values=True))
        extra = {"iss": issuer}
        if "error" in query and problem:
            extra["error_description"] = problem
        response.headers["location"] = _with_query(location, **extra)
        return response
    if response.status_code < 400:
        return response
    try:
        body = jsonbody.loads(bytes(response.body))
    except jsonbody.JSONBodyError:
        body = {}
    description = (refused_document or problem or (body.get("error_description") if isinstance(body, dict) else None)
                   or "bad request")
    return HTMLResponse(message_page("This app's sign-in request cannot be used",
                                     f"{description}. Nothing was shared with the app; tell its developer."),
                        response.status_code, headers=NO_STORE)
