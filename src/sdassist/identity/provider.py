"""sdassist as an OAuth 2.1 authorization server for its own MCP endpoint, on the mcp SDK's provider protocol.

The SDK's handlers parse and check the requests (PKCE S256, redirect URIs, grant types); this provider keeps
the state in `IdentityStore` and adds what the SDK leaves to it: audience binding (RFC 8707: a token is for
this server's MCP endpoint only), single-use codes whose replay revokes what they issued, short-lived access
tokens, refresh tokens that rotate on every use and whose reuse revokes the whole sign-in, revocation of a
sign-in as a whole (RFC 7009), client secrets and tokens stored hashed, and Client ID Metadata Documents.
"""

from __future__ import annotations

import hmac
import logging
import re
import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from mcp.server.auth.provider import (
    AccessToken,
    AuthorizationCode,
    AuthorizationParams,
    AuthorizeError,
    RefreshToken,
    RegistrationError,
    TokenError,
)
from mcp.shared.auth import OAuthClientInformationFull, OAuthToken

from sdassist.identity.redirects import check_redirect_uri, redirect_host_problem
from sdassist.identity.scopes import DEFAULT_SCOPES, SCOPES
from sdassist.identity.store import IdentityStore, Person, TokenRecord, digest

log = logging.getLogger("sdassist.identity")

__all__ = ["AuthServerConfig", "IssuedAccessToken", "SdassistAuthProvider", "same_resource"]

S256_CHALLENGE = re.compile(r"[A-Za-z0-9_-]{43}")
"""A PKCE S256 code challenge: a SHA-256 digest in base64url without padding (RFC 7636 §4.2)."""
AUTHORIZE_REQUEST_TTL = 15 * 60
"""Seconds a person has to sign in and consent after the host opened the authorization URL."""


@dataclass(frozen=True)
class AuthServerConfig:
    issuer: str  # e.g. https://sdassist.example.com (no trailing slash)
    resource: str  # this server's MCP endpoint, e.g. https://sdassist.example.com/mcp
    access_ttl: int = 3600
    refresh_ttl: int = 30 * 24 * 3600
    code_ttl: int = 300
    redirect_hosts: tuple[str, ...] = ()  # the operator's allowlist of https redirect hosts; empty: any
    client_idle_days: int = 90  # a registered client unused this long is deleted (it registers again)
    registrations_per_minute: int = 10  # dynamic registrations per source address; 0: no limit

    @property
    def client_idle_seconds(self) -> int:
        return self.client_idle_days * 86400

    @property
    def consent_url(self) -> str:
        return f"{self.issuer}/oauth/consent"


class IssuedCode(AuthorizationCode):
    family: str
    person_name: str


class IssuedRefreshToken(RefreshToken):
    family: str
    person_name: str | None = None
    client_name: str = ""


class IssuedAccessToken(AccessToken):
    """An access token (or personal access token) this server issued, with who stands behind it."""

    family: str
    person_name: str | None = None
    client_name: str = ""
    kind: str = "access"

    @property
    def person(self) -> Person:
        return Person(self.subject or "", self.person_name or self.subject or "")


def same_resource(given: str | None, ours: str) -> bool:
    """RFC 8707 resources compared as URLs: scheme and host case-insensitively, a trailing slash aside."""
    if not given:
        return False
    try:
        a, b = urlsplit(given), urlsplit(ours)
    except ValueError:
        return False
    return (a.scheme.lower(), (a.netloc or "").lower(), a.path.rstrip("/"), a.query) == \
        (b.scheme.lower(), (b.netloc or "").lower(), b.path.rstrip("/"), b.query) and not a.fragment


def token_response(access: str, access_rec: TokenRecord, refresh: str | None, ttl: int) -> OAuthToken:
    return OAuthToken(access_token=access, token_type="Bearer", expires_in=ttl, scope=" ".join(access_rec.scopes),
                      refresh_token=refresh)


class SdassistAuthProvider:
    """`OAuthAuthorizationServerProvider` over the identity store. `client_documents` fetches Client ID
    Metadata Documents (None: only registered clients)."""

    def __init__(self, store: IdentityStore, config: AuthServerConfig, client_documents: Any = None) -> None:
        self.store = store
        self.config = config
        self.client_documents = client_documents

    # --- clients ---------------------------------------------------------------------------------

    async def get_client(self, client_id: str) -> OAuthClientInformationFull | None:
        if client_id.startswith("https://") and self.client_documents is not None:
            return await self.client_documents.get(client_id)
        found = await self.store.get_client(client_id)
        if found is None or found[1] != "dcr":
            return None
        if await self.store.client_used(client_id) < time.time() - self.config.client_idle_seconds:
            await self.store.forget_client(client_id)  # unused too long: it registers again
            return None
        body, _source, _secret_hash, _fresh = found
        return OAuthClientInformationFull.model_validate({**body, "scope": " ".join(SCOPES)})

    async def register_client(self, client_info: OAuthClientInformationFull) -> None:
        """RFC 7591: check the redirect URIs and store the client, its secret (if any) hashed."""
        for uri in client_info.redirect_uris or []:
            problem = check_redirect_uri(str(uri)) or self.redirect_problem(str(uri))
            if problem:
                raise RegistrationError("invalid_redirect_uri", problem)
        if not client_info.redirect_uris:
            raise RegistrationError("invalid_redirect_uri", "redirect_uris: give at least one redirect URI")
        body = client_info.model_dump(mode="json", exclude_none=True, exclude={"client_secret"})
        secret = client_info.client_secret
        await self.store.forget_idle_clients(int(time.time()) - self.config.client_idle_seconds)
        await self.store.save_client(client_info.client_id, body, source="dcr", secret=secret)

    def redirect_problem(self, uri: str) -> str | None:
        """Why the operator's redirect host allowlist refuses `uri`, or None."""
        return redirect_host_problem(uri, self.config.redirect_hosts)

    async def client_secret_matches(self, client_id: str, secret: str | None) -> bool:
        """Constant-time check of a presented client secret against its stored digest."""
        found = await self.store.get_client(client_id)
        if found is None or found[2] is None or secret is None:
            return False
        return hmac.compare_digest(found[2], digest(secret))

    async def client_has_secret(self, client_id: str) -> bool:
        found = await self.store.get_client(client_id)
        return found is not None and found[2] is not None

    # --- authorization ---------------------------------------------------------------------------

    async def authorize(self, client: OAuthClientInformationFull, params: AuthorizationParams) -> str:
        """Park the validated request and send the browser to the consent page (sign-in first if needed)."""
        if params.resource is not None and not same_resource(params.resource, self.config.resource):
            raise AuthorizeError("invalid_target",
                                 f"resource must be this server's MCP endpoint, {self.config.resource}")
        if not S256_CHALLENGE.fullmatch(params.code_challenge):
            raise AuthorizeError("invalid_request", f"code_challenge: is {len(params.code_challenge)} characters; PKCE "
                                 "S256 sends BASE64URL(SHA-256(code_verifier)), 43 characters without '=' padding")
        scopes = [s for s in SCOPES if s in set(params.scopes or DEFAULT_SCOPES)]
        if not scopes:
            raise AuthorizeError("invalid_scope", f"ask for one or more of: {' '.join(SCOPES)}")
        request = {
            "client_id": client.client_id,
            "client_name": client.client_name or _host_of(client.client_id),
            "scopes": scopes,
            "state": params.state,
            "code_challenge": params.code_challenge,
            "redirect_uri": str(params.redirect_uri),
            "redirect_uri_provided_explicitly": params.redirect_uri_provided_explicitly,
            "resource": self.config.resource,
        }
        key = await self.store.put_pending("authorize", request, AUTHORIZE_REQUEST_TTL)
        return f"{self.config.consent_url}?request={key}"

    async def issue_code(self, request: dict[str, Any], person: Person) -> str:
        """The person consented: a single-use code for exactly that request."""
        body = {**request, "subject": person.id, "person_name": person.name,
                "family": "fam_" + digest(request["code_challenge"] + str(time.time_ns()))[:16]}
        return await self.store.save_code(body, self.config.code_ttl)

    async def load_authorization_code(self, client: OAuthClientInformationFull, authorization_code: str
                                      ) -> IssuedCode | None:
        found = await self.store.find_code(authorization_code)
        if found is None:
            return None
        body, expires_at, used_at = found
        if used_at is not None:  # a replayed code: whatever it issued may be in the wrong hands (RFC 6749 §4.1.2)
            log.warning("token endpoint: an authorization code was presented twice; revoked what it issued")
            await self.store.revoke_family(body["family"])
            return None
        return IssuedCode(
            code=authorization_code, scopes=body["scopes"], expires_at=expires_at, client_id=body["client_id"],
            code_challenge=body["code_challenge"], redirect_uri=body["redirect_uri"],
            redirect_uri_provided_explicitly=body["redirect_uri_provided_explicitly"], resource=body["resource"],
            subject=body["subject"], family=body["family"], person_name=body["person_name"],
        )

    async def exchange_authorization_code(self, client: OAuthClientInformationFull, authorization_code: IssuedCode
                                          ) -> OAuthToken:
        if not await self.store.use_code(authorization_code.code):
            await self.store.revoke_family(authorization_code.family)
            raise TokenError("invalid_grant", "authorization code was already used")
        person = Person(authorization_code.subject or "", authorization_code.person_name)
        return await self._issue_pair(client, person, authorization_code.scopes, authorization_code.family)

    async def _issue_pair(self, client: OAuthClientInformationFull, person: Person, scopes: list[str],
                          family: str) -> OAuthToken:
        name = client.client_name or _host_of(client.client_id)
        common = {"person": person, "client_id": client.client_id, "client_name": name, "scopes": scopes,
                  "resource": self.config.resource, "family": family}
        access, record = await self.store.issue("access", ttl=self.config.access_ttl, **common)
        refresh, _ = await self.store.issue("refresh", ttl=self.config.refresh_ttl, **common)
        log.info("token endpoint: issued access token %s to %s for %s (%s)", record.id, name, person.id,
                 " ".join(scopes))
        return token_response(access, record, refresh, self.config.access_ttl)

    # --- refresh ---------------------------------------------------------------------------------

    async def load_refresh_token(self, client: OAuthClientInformationFull, refresh_token: str
                                 ) -> IssuedRefreshToken | None:
        record = await self.store.find(refresh_token)
        if record is None or record.kind != "refresh" or record.client_id != client.client_id:
            return None
        if record.used_at is not None:  # reuse of a rotated token: someone else holds it; end the sign-in
            log.warning("token endpoint: refresh token of %s reused after rotation; revoked the sign-in",
                        record.subject)
            await self.store.revoke_family(record.family)
            return None
        if not record.usable():
            return None
        return IssuedRefreshToken(
            token=refresh_token, client_id=record.client_id, scopes=list(record.scopes), expires_at=record.expires_at,
            resource=record.resource, subject=record.subject, family=record.family, person_name=record.person_name,
            client_name=record.client_name)

    async def exchange_refresh_token(self, client: OAuthClientInformationFull, refresh_token: IssuedRefreshToken,
                                     scopes: list[str]) -> OAuthToken:
        if not await self.store.use_refresh(refresh_token.token):
            await self.store.revoke_family(refresh_token.family)
            raise TokenError("invalid_grant", "refresh token was already used; sign in again")
        person = Person(refresh_token.subject or "", refresh_token.person_name or refresh_token.subject or "")
        return await self._issue_pair(client, person, scopes, refresh_token.family)

    # --- access tokens and revocation ------------------------------------------------------------

    async def load_access_token(self, token: str) -> IssuedAccessToken | None:
        record = await self.store.find(token)
        if record is None or record.kind not in ("access", "pat") or not record.usable():
            return None
        return access_token_from(token, record, self.config.resource)

    async def verify_token(self, token: str) -> IssuedAccessToken | None:
        """The `TokenVerifier` protocol: the resource side checks tokens against the same store."""
        return await self.load_access_token(token)

    async def revoke_token(self, token: AccessToken | RefreshToken) -> None:
        family = getattr(token, "family", None)
        if family is None:
            record = await self.store.find(token.token)
            family = record.family if record else None
        if family is not None:
            await self.store.revoke_family(family)


def access_token_from(token: str, record: TokenRecord, resource: str) -> IssuedAccessToken:
    """The SDK's view of a stored token. A personal access token is issued by the operator for this server
    only, so its audience is this resource."""
    return IssuedAccessToken(
        token=token, client_id=record.client_id, scopes=list(record.scopes), expires_at=record.expires_at,
        resource=record.resource or resource, subject=record.subject, family=record.family,
        person_name=record.person_name, client_name=record.client_name, kind=record.kind)


def _host_of(client_id: str) -> str:
    host = urlsplit(client_id).hostname if client_id.startswith("https://") else None
    return host or "an unnamed app"
