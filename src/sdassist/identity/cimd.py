"""Client ID Metadata Documents: a client's id is an https URL, and the document there describes it.

Fetching a URL someone hands us is a server-side request forgery risk, so the fetch is careful: https only,
a path other than `/`, the host checked and resolved by `sdassist.netsafety` (no loopback, private, link-local
or metadata addresses), the connection made to the address that was checked (TLS still verified for the
name), no redirects, a time limit and a size limit. The document must name itself (`client_id` equal to its
URL), list valid redirect URIs and be a public client (`none`). Good documents are cached in the database
(Cache-Control max-age, clamped), so every instance shares them; a failed fetch is never cached.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
import time
from collections.abc import Iterator
from contextvars import ContextVar
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import httpx
from mcp.shared.auth import OAuthClientInformationFull

from sdassist import jsonbody
from sdassist.identity.redirects import check_redirect_uri
from sdassist.identity.scopes import SCOPES
from sdassist.identity.store import IdentityStore
from sdassist.netsafety import UnsafeURL, check_resolved

__all__ = ["ClientDocumentError", "ClientDocuments", "one_lookup_per_request", "refusal"]

log = logging.getLogger("sdassist.identity")

MAX_BYTES = 64 * 1024
MAX_CLIENT_NAME = 100
"""Characters of an app's name kept (it is shown on the consent page); registration refuses longer ones."""
TIMEOUT = 5.0
MIN_TTL, DEFAULT_TTL, MAX_TTL = 300, 3600, 24 * 3600
MAX_AGE = re.compile(r"max-age=(\d+)")


_LOOKED_UP: ContextVar[dict[str, Any] | None] = ContextVar("sdassist_client_documents", default=None)


@contextlib.contextmanager
def one_lookup_per_request() -> Iterator[None]:
    """Within the block, each client id is looked up (and a refused document fetched) once: an authorization
    request asks for its client twice (our redirect checks, then the SDK's handler), and a document that is
    refused is fetched again every time (it is never cached)."""
    token, reasons = _LOOKED_UP.set({}), _REFUSED.set({})
    try:
        yield
    finally:
        _REFUSED.reset(reasons)
        _LOOKED_UP.reset(token)


class ClientDocumentError(ValueError):
    """Why a client's metadata document is refused: the message for the log (no secrets in it), and `reason`,
    a short phrase for the person at the browser that names no address the app did not give itself (a host's
    private address, say)."""

    def __init__(self, message: str, reason: str) -> None:
        super().__init__(message)
        self.reason = reason


_REFUSED: ContextVar[dict[str, str] | None] = ContextVar("sdassist_refused_documents", default=None)


def refusal(client_id: str) -> str | None:
    """Within `one_lookup_per_request`: why the document at `client_id` was refused, a sentence for the person
    (the URL without any user name or password); else None."""
    refused = _REFUSED.get()
    reason = refused.get(client_id) if refused is not None else None
    if reason is None:
        return None
    return f"the app's client metadata document {_shown(client_id)} was refused: {reason}"


def _shown(url: str) -> str:
    """`url` without a user name or password, for a log line or a page."""
    parts = urlsplit(url)
    return urlunsplit(parts._replace(netloc=parts.netloc.rpartition("@")[2]))


class ClientDocuments:
    """Fetches, checks and caches client metadata documents. `loopback_ok` and `verify` are for tests that
    serve a document on this machine with their own certificate authority."""

    def __init__(self, store: IdentityStore, *, loopback_ok: bool = False, verify: Any = True,
                 max_bytes: int = MAX_BYTES, timeout: float = TIMEOUT) -> None:
        self.store = store
        self.loopback_ok = loopback_ok
        self.verify = verify
        self.max_bytes = max_bytes
        self.timeout = timeout

    async def get(self, client_id: str) -> OAuthClientInformationFull | None:
        """The client a document URL describes, from the cache or freshly fetched; None if it is refused."""
        looked_up = _LOOKED_UP.get()
        if looked_up is not None and client_id in looked_up:
            return looked_up[client_id]  # type: ignore[no-any-return]
        found = await self._lookup(client_id)
        if looked_up is not None:
            looked_up[client_id] = found
        return found

    async def _lookup(self, client_id: str) -> OAuthClientInformationFull | None:
        cached = await self.store.get_client(client_id)
        if cached is not None and cached[1] == "cimd" and (cached[3] or 0) > int(time.time()):
            return _client(cached[0])
        try:
            body, ttl = await self.fetch(client_id)
        except ClientDocumentError as exc:
            log.warning("client metadata document refused: %s", exc)
            refused = _REFUSED.get()
            if refused is not None:
                refused[client_id] = exc.reason
            return None
        await self.store.save_client(client_id, body, source="cimd", fresh_until=int(time.time()) + ttl)
        return _client(body)

    async def fetch(self, url: str) -> tuple[dict[str, Any], int]:
        """The checked document at `url` and how long to cache it; ClientDocumentError says why not."""
        parts = urlsplit(url)
        if parts.scheme != "https" or parts.path in ("", "/") or parts.fragment or parts.username or parts.password:
            raise ClientDocumentError(f"client_id {_shown(url)!r} must be an https URL with a path, no fragment or "
                                      "user name",
                                      "its address must be an https URL with a path, no fragment or user name")
        try:
            addresses = await check_resolved(url, field="client_id", loopback_ok=self.loopback_ok)
        except UnsafeURL as exc:
            unresolved = "could not be resolved" in exc.reason
            raise ClientDocumentError(str(exc), "its host could not be found" if unresolved else
                                      "its address is not allowed (a local or private network)") from None
        host = parts.hostname or ""
        address = str(addresses[0])
        at = f"[{address}]" if ":" in address else address
        pinned = urlunsplit(("https", at if parts.port is None else f"{at}:{parts.port}", parts.path, parts.query, ""))
        try:  # the whole fetch, not each read: a server dripping a byte at a time must not hold it open
            async with asyncio.timeout(self.timeout):
                raw, ttl = await self._get(pinned, host, parts.netloc)
        except TimeoutError:
            raise ClientDocumentError(f"could not fetch the document from {parts.netloc} within "
                                      f"{self.timeout:g} seconds", f"it did not answer within {self.timeout:g} s"
                                      ) from None
        try:
            doc = jsonbody.loads(raw)
        except jsonbody.JSONBodyError as exc:
            raise ClientDocumentError(f"{url}: {str(exc).removeprefix('body ')}",
                                      "it could not be read as JSON") from None
        return check_document(doc, url), ttl

    async def _get(self, pinned: str, host: str, netloc: str) -> tuple[bytes, int]:
        """GET the document from the checked address (TLS verified for `host`): its bytes and cache lifetime."""
        too_large = f"it is too large (over {self.max_bytes // 1024} KB)"
        try:
            async with httpx.AsyncClient(verify=self.verify, timeout=self.timeout, follow_redirects=False,
                                         trust_env=False) as http:
                request = http.build_request("GET", pinned, headers={"Host": netloc, "Accept": "application/json"},
                                             extensions={"sni_hostname": host})
                response = await http.send(request, stream=True)
                try:
                    if response.status_code != 200:
                        raise ClientDocumentError(f"https://{netloc}… answered {response.status_code}, not 200",
                                                  f"its server answered {response.status_code}, not 200")
                    declared = response.headers.get("content-length", "")
                    if declared.isdigit() and int(declared) > self.max_bytes:
                        raise ClientDocumentError(f"the document is over {self.max_bytes} bytes", too_large)
                    chunks, size = [], 0
                    async for chunk in response.aiter_bytes():
                        size += len(chunk)
                        if size > self.max_bytes:
                            raise ClientDocumentError(f"the document is over {self.max_bytes} bytes", too_large)
                        chunks.append(chunk)
                    control = response.headers.get("cache-control", "")
                    found = MAX_AGE.search(control)
                    ttl = DEFAULT_TTL if not found or "no-store" in control else int(found.group(1))
                    return b"".join(chunks), max(MIN_TTL, min(MAX_TTL, ttl))
                finally:
                    await response.aclose()
        except httpx.HTTPError as exc:
            raise ClientDocumentError(f"could not fetch the document from {netloc}: {type(exc).__name__}",
                                      "it could not be fetched") from None


def check_document(doc: Any, url: str) -> dict[str, Any]:
    """The document's client metadata, checked (draft-ietf-oauth-client-id-metadata-document)."""
    if not isinstance(doc, dict):
        raise ClientDocumentError(f"{url} is not a JSON object", "it is not a JSON object")
    if doc.get("client_id") != url:
        raise ClientDocumentError(f"the document's client_id {doc.get('client_id')!r} is not its URL {url}",
                                  "its client_id does not match its URL")
    uris = doc.get("redirect_uris")
    if not isinstance(uris, list) or not uris or not all(isinstance(u, str) for u in uris):
        raise ClientDocumentError("redirect_uris: the document must list at least one redirect URI",
                                  "it lists no redirect URI")
    for uri in uris:
        problem = check_redirect_uri(uri)
        if problem:
            raise ClientDocumentError(f"redirect_uris: {problem}", "it lists a redirect URI that is not allowed")
    method = doc.get("token_endpoint_auth_method", "none")
    if method != "none":
        raise ClientDocumentError(f"token_endpoint_auth_method {method!r} is not supported for metadata documents; "
                                  "use 'none' (a public client with PKCE)",
                                  "its token_endpoint_auth_method is not 'none'")
    if "client_secret" in doc or "client_secret_expires_at" in doc:
        raise ClientDocumentError("a metadata document must not contain a client secret",
                                  "it contains a client secret")
    grants = doc.get("grant_types", ["authorization_code"])
    if not isinstance(grants, list) or "authorization_code" not in grants:
        raise ClientDocumentError("grant_types must include authorization_code",
                                  "its grant_types do not include authorization_code")
    name = doc.get("client_name")
    body = {
        "client_id": url,
        "redirect_uris": uris,
        "token_endpoint_auth_method": "none",
        "grant_types": [g for g in grants if g in ("authorization_code", "refresh_token")],
        "response_types": ["code"],
        "client_name": name[:MAX_CLIENT_NAME] if isinstance(name, str) and name.strip() else None,
    }
    for key in ("client_uri", "logo_uri"):
        if isinstance(doc.get(key), str) and doc[key].startswith("https://"):
            body[key] = doc[key]
    return {k: v for k, v in body.items() if v is not None}


def _client(body: dict[str, Any]) -> OAuthClientInformationFull:
    return OAuthClientInformationFull.model_validate({**body, "scope": " ".join(SCOPES)})
