"""Client ID Metadata Documents: fetched safely, checked, cached; and the SDK's client signing in with one.

The documents are served over real TLS on loopback with a test certificate authority (trustme); only these
tests allow loopback (`loopback_ok=True`), which the server itself never does.
"""

from __future__ import annotations

import asyncio
import html
import json
import ssl
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx2
import pytest
import trustme
from mcp import Client
from mcp.client.auth import OAuthClientProvider
from mcp.client.streamable_http import streamable_http_client
from mcp.shared.auth import OAuthClientMetadata
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response, StreamingResponse
from starlette.routing import Route

from sdassist.identity import IdentityStore
from sdassist.identity.cimd import ClientDocumentError, ClientDocuments, check_document
from sdassist.mcp import build_server
from sdassist.mcp.http import http_app
from sdassist.sandbox.server import free_loopback_port as free_port
from tests.conftest import make_settings
from tests.oauth.conftest import CLIENT_ID, CLIENT_SECRET, Browser, Oidc, served
from tests.oauth.test_sdk_client import REDIRECT_URI, Host, Storage


class DocumentServer:
    def __init__(self, tmp: Path) -> None:
        self.port = free_port()
        self.origin = f"https://127.0.0.1:{self.port}"
        self.fetches: list[str] = []
        ca = trustme.CA()
        leaf = ca.issue_cert("127.0.0.1")
        self.key, self.chain = tmp / "key.pem", tmp / "chain.pem"
        leaf.private_key_pem.write_to_path(str(self.key))
        leaf.cert_chain_pems[0].write_to_path(str(self.chain))
        self.trust = ssl.create_default_context()
        ca.configure_trust(self.trust)

    def url(self, name: str) -> str:
        return f"{self.origin}/clients/{name}.json"

    def document(self, name: str, **changes: Any) -> dict[str, Any]:
        doc = {"client_id": self.url(name), "client_name": "Claude", "redirect_uris": [REDIRECT_URI],
               "grant_types": ["authorization_code", "refresh_token"], "response_types": ["code"],
               "token_endpoint_auth_method": "none"}
        doc.update(changes)
        return doc

    def app(self) -> Starlette:
        async def serve(request: Request) -> Response:
            name = request.path_params["name"]
            self.fetches.append(name)
            if name == "moved":
                return RedirectResponse(self.url("good"), 302)
            if name == "missing":
                return Response(status_code=404)
            if name == "big":
                return JSONResponse(self.document("big", padding="x" * 100_000))
            if name == "wrong-id":
                return JSONResponse(self.document("good"))
            if name == "deep":  # under the size limit, past Python's recursion limit
                return Response(b"[" * 30_000 + b"]" * 30_000, media_type="application/json")
            if name == "slow":  # a valid document, a few bytes at a time: each read is quick, the whole is not
                body = json.dumps(self.document("slow")).encode()

                async def drip() -> AsyncIterator[bytes]:
                    for at in range(0, len(body), 16):
                        yield body[at:at + 16]
                        await asyncio.sleep(0.25)

                return StreamingResponse(drip(), media_type="application/json")
            if name == "secret":
                return JSONResponse(self.document("secret", client_secret="s3cr3t"))
            if name == "web":  # a web app's callback, besides a loopback one
                return JSONResponse(self.document("web", redirect_uris=["https://app.example/cb", REDIRECT_URI]))
            return JSONResponse(self.document(name), headers={"Cache-Control": "public, max-age=600"})

        return Starlette(routes=[Route("/clients/{name}.json", serve)])


@pytest.fixture
def documents(tmp_path: Path) -> Iterator[DocumentServer]:
    server = DocumentServer(tmp_path)
    with served(server.app(), server.port, ssl_keyfile=str(server.key), ssl_certfile=str(server.chain)):
        yield server


async def test_fetched_checked_and_cached(documents: DocumentServer, tmp_path: Path) -> None:
    store = await IdentityStore.open(f"sqlite+aiosqlite:///{tmp_path / 'id.db'}")
    try:
        fetcher = ClientDocuments(store, loopback_ok=True, verify=documents.trust)
        client = await fetcher.get(documents.url("good"))
        assert client is not None and client.client_name == "Claude"
        assert client.token_endpoint_auth_method == "none" and [str(u) for u in client.redirect_uris or []] == [
            REDIRECT_URI]
        assert await fetcher.get(documents.url("good")) is not None
        assert documents.fetches == ["good"]  # the second came from the cache (max-age=600)
        for name, why in (("wrong-id", "is not its URL"), ("big", "over 65536 bytes"), ("moved", "302"),
                          ("missing", "404"), ("secret", "client secret"), ("deep", "nested too deeply")):
            with pytest.raises(ClientDocumentError, match=why):
                await fetcher.fetch(documents.url(name))
            assert await fetcher.get(documents.url(name)) is None
        # Without the test's permission, this machine is never fetched from, however it is written.
        strict = ClientDocuments(store, verify=documents.trust)
        for url in (documents.url("other"), f"https://localhost:{documents.port}/c.json",
                    f"https://2130706433:{documents.port}/c.json", "https://10.0.0.1/c.json",
                    "https://169.254.169.254/latest/meta-data", "https://[::ffff:127.0.0.1]/c.json"):
            with pytest.raises(ClientDocumentError, match="refused"):
                await strict.fetch(url)
        for url in ("http://example.com/c.json", "https://example.com/", "https://example.com/c.json#x"):
            with pytest.raises(ClientDocumentError, match="https URL with a path"):
                await strict.fetch(url)
    finally:
        await store.close()


async def test_a_password_in_the_client_id_is_never_repeated(tmp_path: Path) -> None:
    """A client id with a user name and password is refused before anything is fetched, and the refusal (which
    goes to the server log) names the URL without them."""
    store = await IdentityStore.open(f"sqlite+aiosqlite:///{tmp_path / 'id.db'}")
    try:
        with pytest.raises(ClientDocumentError) as refused:
            await ClientDocuments(store).fetch("https://app:hunter2-password@app.example/client.json")
        assert "hunter2" not in str(refused.value) and "https://app.example/client.json" in str(refused.value)
    finally:
        await store.close()


async def test_the_time_limit_is_for_the_whole_fetch(documents: DocumentServer, tmp_path: Path) -> None:
    """docs/mcp.md: at most 64 KB within 5 seconds. A server sending a byte now and then answers every read
    in time; the fetch as a whole is still cut off."""
    store = await IdentityStore.open(f"sqlite+aiosqlite:///{tmp_path / 'id.db'}")
    try:
        fetcher = ClientDocuments(store, loopback_ok=True, verify=documents.trust, timeout=2.0)
        with pytest.raises(ClientDocumentError, match="within 2 seconds"):
            await fetcher.fetch(documents.url("slow"))
    finally:
        await store.close()


@pytest.mark.parametrize(("change", "why"), [
    ({"redirect_uris": []}, "at least one redirect URI"),
    ({"redirect_uris": ["http://evil.example/cb"]}, "plain http"),
    ({"token_endpoint_auth_method": "client_secret_basic"}, "not supported"),
    ({"grant_types": ["client_credentials"]}, "authorization_code"),
    ({"redirect_uris": ["https://claude.ai@evil.example/cb"]}, "user name before its host"),
])
def test_documents_that_are_refused(change: dict[str, Any], why: str) -> None:
    url = "https://app.example/oauth/client.json"
    doc = {"client_id": url, "redirect_uris": ["https://app.example/cb"], **change}
    with pytest.raises(ClientDocumentError, match=why):
        check_document(doc, url)


def sdassist_app(settings: Any, port: int, documents: DocumentServer) -> Any:
    """sdassist's HTTP app, allowed (as only this test is) to fetch client documents from this machine."""
    return http_app(build_server(settings), settings, "127.0.0.1", port,
                    documents=lambda store: ClientDocuments(store, loopback_ok=True, verify=documents.trust))


async def test_the_sdk_client_signs_in_with_a_metadata_document(
    oidc: Oidc, documents: DocumentServer, tmp_path: Path, browser: Browser,
) -> None:
    port = oidc.ports[2]
    settings = make_settings(tmp_path, SDASSIST_MCP_AUTH="oauth", SDASSIST_PUBLIC_URL=f"http://127.0.0.1:{port}",
                             SDASSIST_OIDC_ISSUER=oidc.issuer, SDASSIST_OIDC_CLIENT_ID=CLIENT_ID,
                             SDASSIST_OIDC_CLIENT_SECRET=CLIENT_SECRET)
    mcp_url = f"http://127.0.0.1:{port}/mcp"
    with served(sdassist_app(settings, port, documents), port):
        host = Host(mcp_url, browser)
        metadata = OAuthClientMetadata(client_name="Claude", redirect_uris=[REDIRECT_URI],
                                       grant_types=["authorization_code", "refresh_token"],
                                       token_endpoint_auth_method="none")
        host.storage = Storage()
        host.auth = OAuthClientProvider(mcp_url, metadata, host.storage, host._redirect, host._callback,
                                        client_metadata_url=documents.url("claude"))
        async with httpx2.AsyncClient(auth=host.auth, timeout=30) as http, \
                Client(streamable_http_client(mcp_url, http_client=http)) as client:
            result = await client.call_tool("draft_post", {"text": "Hi", "targets": ["linkedin"],
                                                           "when": "tomorrow 9am"})
        assert not result.is_error, result.content
        assert result.structured_content["requested_by"] == "Alice via Claude"
        # No registration happened: the client id is the document's URL, and the consent page showed it.
        assert host.storage.client is not None and host.storage.client.client_id == documents.url("claude")
        assert documents.url("claude") in browser.pages[-1]
        assert documents.fetches == ["claude"]



def test_a_document_redirecting_to_a_host_the_operator_does_not_allow(documents: DocumentServer,
                                                                      tmp_path: Path) -> None:
    """With SDASSIST_OAUTH_REDIRECT_HOSTS set, a metadata document's https redirect to another host is refused
    at the authorization request with a page naming the host and the setting (never a redirect there); the
    same document's loopback redirect (a native app on this device) still goes on to consent."""
    port = free_port()
    settings = make_settings(tmp_path, SDASSIST_MCP_AUTH="oauth", SDASSIST_PUBLIC_URL=f"http://127.0.0.1:{port}",
                             SDASSIST_OAUTH_REDIRECT_HOSTS="claude.ai, chatgpt.com")
    request = {"client_id": documents.url("web"), "response_type": "code", "state": "s1",
               "code_challenge": "E9Melhoa2OwvFrEMTJguCQaoeJQWuaWXyc5EG0_ekw8", "code_challenge_method": "S256"}
    with served(sdassist_app(settings, port, documents), port):
        refused = httpx2.get(f"http://127.0.0.1:{port}/authorize",
                             params={**request, "redirect_uri": "https://app.example/cb"})
        assert refused.status_code == 400 and "location" not in refused.headers
        assert "app.example" in refused.text and "SDASSIST_OAUTH_REDIRECT_HOSTS" in refused.text
        native = httpx2.get(f"http://127.0.0.1:{port}/authorize", params={**request, "redirect_uri": REDIRECT_URI})
        assert native.status_code == 302 and "/oauth/consent?request=" in native.headers["location"]
        # A refused document (never cached) is fetched once per authorization request, not once per check.
        missing = httpx2.get(f"http://127.0.0.1:{port}/authorize",
                             params={**request, "client_id": documents.url("missing"), "redirect_uri": REDIRECT_URI})
        assert missing.status_code == 400 and documents.fetches.count("missing") == 1


def test_the_page_for_a_refused_document_says_why(documents: DocumentServer, tmp_path: Path) -> None:
    """The person sees a short reason (not only "Client ID … not found"), never a password or an address the
    app did not give itself."""
    port = free_port()
    settings = make_settings(tmp_path, SDASSIST_MCP_AUTH="oauth", SDASSIST_PUBLIC_URL=f"http://127.0.0.1:{port}")
    request = {"response_type": "code", "state": "s1", "redirect_uri": REDIRECT_URI,
               "code_challenge": "E9Melhoa2OwvFrEMTJguCQaoeJQWuaWXyc5EG0_ekw8", "code_challenge_method": "S256"}
    cases = {documents.url("missing"): "its server answered 404, not 200",
             documents.url("big"): "it is too large (over 64 KB)",
             documents.url("wrong-id"): "its client_id does not match its URL",
             documents.url("secret"): "it contains a client secret",
             "https://app:hunter2-pw@app.example/client.json": "no fragment or user name"}
    with served(sdassist_app(settings, port, documents), port):
        for client_id, why in cases.items():
            page = httpx2.get(f"http://127.0.0.1:{port}/authorize", params={**request, "client_id": client_id})
            assert page.status_code == 400 and "location" not in page.headers
            text = html.unescape(page.text)
            assert "client metadata document" in text and why in text, text
            assert "not found" not in text and "hunter2" not in text
    # A host on a private network: refused without naming the address it resolved to.
    strict = http_app(build_server(settings), settings, "127.0.0.1", port,
                      documents=lambda store: ClientDocuments(store, verify=documents.trust))
    with served(strict, port):
        page = httpx2.get(f"http://127.0.0.1:{port}/authorize",
                          params={**request, "client_id": f"https://localhost:{documents.port}/c.json"})
        text = html.unescape(page.text)
        assert page.status_code == 400 and "its address is not allowed (a local or private network)" in text, text
        assert "127.0.0.1" not in text and "::1" not in text
