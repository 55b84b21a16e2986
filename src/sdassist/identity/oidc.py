"""Signing people in through an upstream OpenID Connect provider, with Authlib as the relying party.

sdassist stays the authorization server the MCP host talks to; the provider (Google, Okta, Keycloak, Sign in
with Slack, …) only tells us who the person is. The flow is the authorization code flow with PKCE and a nonce;
the ID token is verified with joserfc against the provider's published keys (signature, `iss`, `aud`, `exp`,
`nonce`). With Sign in with Slack the person's id is their Slack user id, so the same person is recognised in
Slack and over MCP.
"""

from __future__ import annotations

import contextlib
import secrets
import time
from dataclasses import dataclass
from typing import Any

import httpx
from authlib.common.security import generate_token
from authlib.integrations.httpx_client import AsyncOAuth2Client
from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import KeySet

from sdassist.identity.store import Person

__all__ = ["OidcError", "OidcLogin", "UpstreamOidc"]

SLACK_ISSUER = "https://slack.com"
SLACK_USER_CLAIM = "https://slack.com/user_id"
DISCOVERY_TTL = 3600


class OidcError(Exception):
    """Sign-in at the provider failed; the message is safe to show the person (no secrets, no tokens)."""


@dataclass(frozen=True)
class OidcLogin:
    """What to remember between sending the browser to the provider and its return."""

    url: str
    state: str
    nonce: str
    code_verifier: str


class UpstreamOidc:
    """One configured provider: `issuer`, the client sdassist registered there, and our callback URL."""

    def __init__(self, issuer: str, client_id: str, client_secret: str | None, redirect_uri: str, *,
                 scope: str = "openid profile email", http: httpx.AsyncClient | None = None) -> None:
        self.issuer = issuer.rstrip("/")
        self.client_id = client_id
        self._client_secret = client_secret
        self.redirect_uri = redirect_uri
        self.scope = scope
        self._http = http
        self._discovery: dict[str, Any] | None = None
        self._discovered_at = 0.0
        self._keys: KeySet | None = None

    def _client(self) -> AsyncOAuth2Client:
        auth_method = "client_secret_basic" if self._client_secret else "none"
        return AsyncOAuth2Client(self.client_id, self._client_secret, scope=self.scope, redirect_uri=self.redirect_uri,
                                 token_endpoint_auth_method=auth_method, code_challenge_method="S256", timeout=10)

    async def discovery(self) -> dict[str, Any]:
        if self._discovery is None or time.monotonic() - self._discovered_at > DISCOVERY_TTL:
            doc = await self._get_json(f"{self.issuer}/.well-known/openid-configuration")
            if doc.get("issuer", "").rstrip("/") != self.issuer:
                raise OidcError(f"the provider at {self.issuer} names itself {doc.get('issuer')!r}: "
                                "check SDASSIST_OIDC_ISSUER")
            self._discovery, self._discovered_at, self._keys = doc, time.monotonic(), None
        return self._discovery

    async def _get(self, url: str, headers: dict[str, str] | None = None) -> httpx.Response:
        """GET through the client given at construction (tests), else a short-lived one."""
        if self._http is not None:
            return await self._http.get(url, headers=headers)
        async with httpx.AsyncClient(timeout=10) as http:
            return await http.get(url, headers=headers)

    async def _get_json(self, url: str) -> dict[str, Any]:
        try:
            response = await self._get(url)
            response.raise_for_status()
            doc = response.json()
        except (httpx.HTTPError, ValueError) as exc:
            raise OidcError(f"could not read {url}: {type(exc).__name__}") from None
        if not isinstance(doc, dict):
            raise OidcError(f"{url} did not return a JSON object")
        return doc

    async def start(self) -> OidcLogin:
        """Where to send the browser, with fresh state, nonce and PKCE verifier."""
        meta = await self.discovery()
        state, nonce, verifier = secrets.token_urlsafe(24), secrets.token_urlsafe(24), generate_token(64)
        async with self._client() as client:
            url, _ = client.create_authorization_url(meta["authorization_endpoint"], state=state, nonce=nonce,
                                                     code_verifier=verifier)
        return OidcLogin(url=url, state=state, nonce=nonce, code_verifier=verifier)

    async def finish(self, code: str, *, nonce: str, code_verifier: str) -> Person:
        """Exchange the code and verify the ID token; the person it names."""
        meta = await self.discovery()
        try:
            async with self._client() as client:
                token = await client.fetch_token(meta["token_endpoint"], code=code, code_verifier=code_verifier)
        except Exception as exc:  # Authlib raises its own OAuthError and httpx errors alike
            raise OidcError(f"the provider refused the sign-in ({getattr(exc, 'error', type(exc).__name__)})") from None
        id_token = token.get("id_token")
        if not id_token:
            raise OidcError("the provider sent no ID token: is 'openid' among the scopes it allows?")
        claims = await self._verify(id_token, nonce)
        if "name" not in claims and meta.get("userinfo_endpoint") and token.get("access_token"):
            claims = {**await self._userinfo(meta["userinfo_endpoint"], token["access_token"], claims["sub"]),
                      **claims}
        return person_from_claims(claims, meta["issuer"])

    async def _userinfo(self, url: str, access_token: str, sub: str) -> dict[str, Any]:
        """Profile claims many providers keep out of the ID token; only if they are about the same subject."""
        headers = {"Authorization": f"Bearer {access_token}"}
        try:
            response = await self._get(url, headers)
            info = response.json() if response.status_code == 200 else {}
        except (httpx.HTTPError, ValueError):
            return {}
        return info if isinstance(info, dict) and info.get("sub") == sub else {}

    async def _verify(self, id_token: str, nonce: str) -> dict[str, Any]:
        """The ID token's claims, checked. Against the key set kept from the last fetch; when that fails, once
        more against a fresh one, since a provider that rotated its keys signs with one not in the kept set."""
        meta = await self.discovery()
        if self._keys is not None:
            with contextlib.suppress(OidcError):
                return self._check(id_token, nonce, meta)
        self._keys = KeySet.import_key_set(await self._get_json(meta["jwks_uri"]))  # type: ignore[arg-type]
        return self._check(id_token, nonce, meta)

    def _check(self, id_token: str, nonce: str, meta: dict[str, Any]) -> dict[str, Any]:
        assert self._keys is not None
        try:
            decoded = jwt.decode(id_token, self._keys)
            jwt.JWTClaimsRegistry(
                iss={"essential": True, "value": meta["issuer"]},
                aud={"essential": True, "value": self.client_id},
                sub={"essential": True},
                nonce={"essential": True, "value": nonce},
                exp={"essential": True},
            ).validate(decoded.claims)
        except (JoseError, ValueError) as exc:
            raise OidcError(f"the ID token did not verify ({type(exc).__name__})") from None
        return decoded.claims


def person_from_claims(claims: dict[str, Any], issuer: str) -> Person:
    """Slack's user id when the provider is Sign in with Slack, else the issuer's subject. Only Slack's tokens are
    read for Slack's claim: another provider may let people or its admins set claims of any name, and a Slack
    user id is who may approve in Slack."""
    slack_id = claims.get(SLACK_USER_CLAIM) if issuer.rstrip("/") == SLACK_ISSUER else None
    person_id = str(slack_id or claims["sub"])
    name = claims.get("name") or claims.get("preferred_username") or claims.get("email") or person_id
    return Person(id=person_id, name=str(name)[:100])
