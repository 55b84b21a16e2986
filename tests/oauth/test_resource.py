"""The MCP endpoint as a protected resource, and the authorization server's contract, over real HTTP.

Personal access tokens stand in for signed-in people here (no provider needed); the full sign-in is in
test_sdk_client.py. What is checked is what the RFCs and the MCP authorization spec say a client may rely on.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import hashlib
import json
import secrets
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit

import httpx
import pytest

from sdassist.config import Settings
from sdassist.identity import IdentityStore, Person
from sdassist.mcp import build_server
from sdassist.mcp.http import HttpConfigError, auth_mode, http_app, upstream_oidc
from sdassist.sandbox.server import free_loopback_port as free_port
from tests.conftest import make_settings
from tests.oauth.conftest import served

ACCEPT = {"Accept": "application/json, text/event-stream"}
INIT = {"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
    "protocolVersion": "2025-11-25", "capabilities": {}, "clientInfo": {"name": "t", "version": "1"}}}


class Served:
    def __init__(self, settings: Settings, port: int) -> None:
        self.settings = settings
        self.origin = f"http://127.0.0.1:{port}"
        self.mcp = f"{self.origin}/mcp"

    def pat(self, *scopes: str, user: str = "U0ALICE", name: str = "Alice", ttl: int | None = 3600) -> str:
        async def issue() -> str:
            store = await IdentityStore.open(self.settings.effective_database_url)
            try:
                secret, _ = await store.issue("pat", person=Person(user, name), client_id="personal-access-token",
                                              client_name="CI", scopes=list(scopes), resource=None, ttl=ttl)
            finally:
                await store.close()
            return secret

        return asyncio.run(issue())

    @contextlib.contextmanager
    def session(self, token: str) -> Iterator[httpx.Client]:
        """An initialized MCP session (streamable HTTP) with this token."""
        with httpx.Client(headers={"Authorization": f"Bearer {token}", **ACCEPT}, timeout=20) as http:
            response = http.post(self.mcp, json=INIT)
            assert response.status_code == 200, response.text
            http.headers["mcp-session-id"] = response.headers["mcp-session-id"]
            http.headers["mcp-protocol-version"] = "2025-11-25"
            http.post(self.mcp, json={"jsonrpc": "2.0", "method": "notifications/initialized"})
            yield http


def answer(response: httpx.Response) -> Any:
    """The JSON-RPC answer, whether sent as JSON or as one server-sent event."""
    assert response.status_code == 200, response.text
    if response.headers["content-type"].startswith("text/event-stream"):
        data = [line[5:] for line in response.text.splitlines() if line.startswith("data:")]
        return json.loads(data[-1])
    return response.json()


def serve(tmp_path: Path, **env: str) -> Iterator[Served]:
    port = free_port()
    settings = make_settings(tmp_path, SDASSIST_PUBLIC_URL=f"http://127.0.0.1:{port}", **env)
    with served(http_app(build_server(settings), settings, "127.0.0.1", port), port):
        yield Served(settings, port)


@pytest.fixture
def oauth_server(tmp_path: Path) -> Iterator[Served]:
    yield from serve(tmp_path, SDASSIST_MCP_AUTH="oauth")


def challenge(response: httpx.Response) -> dict[str, str]:
    header = response.headers["www-authenticate"]
    assert header.startswith("Bearer ")
    parts = {}
    for item in header[7:].split('", '):
        key, _, value = item.partition("=")
        parts[key.strip()] = value.strip().strip('"')
    return parts


def test_no_token_is_a_401_that_says_where_to_sign_in(oauth_server: Served) -> None:
    response = httpx.post(oauth_server.mcp, json=INIT, headers=ACCEPT)
    assert response.status_code == 401
    parts = challenge(response)
    assert parts["resource_metadata"] == f"{oauth_server.origin}/.well-known/oauth-protected-resource/mcp"
    assert parts["scope"] == "read draft"
    # RFC 6750 §3.1: no credentials sent, so no error code, in the challenge nor in the body.
    assert "error" not in parts and "error" not in response.json()
    assert response.json()["error_description"].startswith("sign in")
    # RFC 9728, at the path-inserted well-known URI (and the root one).
    for path in ("/.well-known/oauth-protected-resource/mcp", "/.well-known/oauth-protected-resource"):
        prm = httpx.get(oauth_server.origin + path).json()
        assert prm["resource"] == oauth_server.mcp
        assert prm["authorization_servers"] == [oauth_server.origin]
        assert prm["scopes_supported"] == ["read", "draft", "admin"]


def test_authorization_server_metadata(oauth_server: Served) -> None:
    for path in ("/.well-known/oauth-authorization-server",):
        meta = httpx.get(oauth_server.origin + path).json()
        assert meta["issuer"] == oauth_server.origin
        assert meta["code_challenge_methods_supported"] == ["S256"]
        assert meta["client_id_metadata_document_supported"] is True
        assert "none" in meta["token_endpoint_auth_methods_supported"]
        assert meta["authorization_response_iss_parameter_supported"] is True
        assert meta["registration_endpoint"] == f"{oauth_server.origin}/register"
        assert meta["revocation_endpoint"] == f"{oauth_server.origin}/revoke"
        assert "offline_access" not in meta["scopes_supported"]
        # Nothing of OpenID Connect, which this server does not do (no ID tokens, no keys to verify them).
        assert "openid" not in meta["scopes_supported"]
        assert not {"jwks_uri", "id_token_signing_alg_values_supported", "subject_types_supported",
                    "userinfo_endpoint"} & set(meta)


def test_no_openid_configuration_is_served(oauth_server: Served) -> None:
    """OpenID Connect Discovery 1.0 requires jwks_uri, subject_types_supported and
    id_token_signing_alg_values_supported: fields of a provider that issues ID tokens, which this one does not.
    So the document is not served at all; MCP clients try RFC 8414 metadata first and find it at the root
    (the SDK client's order is checked here, so a change in it shows)."""
    from mcp.client.auth.utils import build_oauth_authorization_server_metadata_discovery_urls as order

    missing = httpx.get(f"{oauth_server.origin}/.well-known/openid-configuration")
    assert missing.status_code == 404
    tried = order(oauth_server.origin, oauth_server.mcp)
    assert tried[0] == f"{oauth_server.origin}/.well-known/oauth-authorization-server"
    assert httpx.get(tried[0]).status_code == 200


@pytest.mark.parametrize("token", ["wrong", "sda_at_" + "x" * 43])
def test_unknown_tokens_are_401_invalid_token(oauth_server: Served, token: str) -> None:
    response = httpx.post(oauth_server.mcp, json=INIT, headers={"Authorization": f"Bearer {token}", **ACCEPT})
    assert response.status_code == 401
    assert challenge(response)["error"] == "invalid_token" and response.json()["error"] == "invalid_token"
    assert token not in response.text


def test_expired_and_revoked_tokens_are_refused(oauth_server: Served) -> None:
    expired = oauth_server.pat("read", ttl=1)
    time.sleep(1.5)
    response = httpx.post(oauth_server.mcp, json=INIT, headers={"Authorization": f"Bearer {expired}", **ACCEPT})
    assert response.status_code == 401

    token = oauth_server.pat("read")
    assert httpx.post(oauth_server.mcp, json=INIT, headers={"Authorization": f"Bearer {token}", **ACCEPT}
                      ).status_code == 200

    async def revoke_all() -> None:
        store = await IdentityStore.open(oauth_server.settings.effective_database_url)
        try:
            for record in await store.list_tokens(kind="pat"):
                await store.revoke_id(record.id)
        finally:
            await store.close()

    asyncio.run(revoke_all())
    response = httpx.post(oauth_server.mcp, json=INIT, headers={"Authorization": f"Bearer {token}", **ACCEPT})
    assert response.status_code == 401 and challenge(response)["error"] == "invalid_token"


def test_a_call_beyond_the_scopes_is_a_403_naming_them(oauth_server: Served) -> None:
    with oauth_server.session(oauth_server.pat("read")) as http:
        listed = http.post(oauth_server.mcp, json={"jsonrpc": "2.0", "id": 2, "method": "tools/list"})
        assert listed.status_code == 200
        call = {"jsonrpc": "2.0", "id": 3, "method": "tools/call",
                "params": {"name": "draft_post", "arguments": {"text": "hi", "targets": ["linkedin"]}}}
        refused = http.post(oauth_server.mcp, json=call)
        assert refused.status_code == 403
        parts = challenge(refused)
        assert parts["error"] == "insufficient_scope" and parts["scope"] == "draft"
        assert parts["resource_metadata"].endswith("/.well-known/oauth-protected-resource/mcp")
        # A batch needs the union of what its calls need.
        batch = [call, {**call, "id": 4, "params": {"name": "delete_post", "arguments": {"post_id": "p"}}}]
        assert challenge(http.post(oauth_server.mcp, json=batch))["scope"] == "draft admin"
        allowed = http.post(oauth_server.mcp, json={**call, "params": {"name": "list_accounts", "arguments": {}}})
        assert allowed.status_code == 200


def test_a_personal_access_token_drafts_as_its_person(oauth_server: Served) -> None:
    with oauth_server.session(oauth_server.pat("read", "draft")) as http:
        call = {"jsonrpc": "2.0", "id": 3, "method": "tools/call",
                "params": {"name": "draft_post", "arguments": {"text": "Launch!", "targets": ["linkedin"],
                                                                "when": "tomorrow 9am"}}}
        draft = answer(http.post(oauth_server.mcp, json=call))["result"]["structuredContent"]
        assert draft["requested_by"] == "Alice via CI"
        mine = {"jsonrpc": "2.0", "id": 4, "method": "tools/call",
                "params": {"name": "list_drafts", "arguments": {"mine_only": True}}}
        listed = answer(http.post(oauth_server.mcp, json=mine))["result"]["structuredContent"]["drafts"]
        assert [d["draft_id"] for d in listed] == [draft["draft_id"]]
    with oauth_server.session(oauth_server.pat("read", user="U0BOB", name="Bob")) as http:
        listed = answer(http.post(oauth_server.mcp, json=mine))["result"]["structuredContent"]["drafts"]
        assert listed == []


def pkce() -> tuple[str, str]:
    verifier = secrets.token_urlsafe(48)
    challenge_ = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).decode().rstrip("=")
    return verifier, challenge_


def register(origin: str, **extra: Any) -> httpx.Response:
    body = {"client_name": "Test host", "redirect_uris": ["http://127.0.0.1:1/cb"],
            "token_endpoint_auth_method": "none", "grant_types": ["authorization_code", "refresh_token"], **extra}
    return httpx.post(f"{origin}/register", json=body)


def test_registration_checks_redirect_uris(oauth_server: Served) -> None:
    assert register(oauth_server.origin).status_code == 201
    for bad in ("http://evil.example/cb", "https://ok.example/cb#frag", "javascript:alert(1)",
                "https://claude.ai@evil.example/cb", "https://claude.ai:x@evil.example/cb"):
        refused = register(oauth_server.origin, redirect_uris=[bad])
        assert refused.status_code == 400 and refused.json()["error"] == "invalid_redirect_uri", bad
    confidential = register(oauth_server.origin, token_endpoint_auth_method="client_secret_post").json()
    assert confidential["client_secret"]

    async def stored() -> Any:
        store = await IdentityStore.open(oauth_server.settings.effective_database_url)
        try:
            return await store.get_client(confidential["client_id"])
        finally:
            await store.close()

    body, _source, secret_hash, _ = asyncio.run(stored())
    assert "client_secret" not in body and secret_hash != confidential["client_secret"]
    assert secret_hash == hashlib.sha256(confidential["client_secret"].encode()).hexdigest()


CURSOR = ["cursor://anysphere.cursor-mcp/oauth/callback", "https://www.cursor.com/agents/mcp/oauth/callback",
          "http://localhost:8787/callback"]  # what Cursor registers, all three in one request


def test_native_app_redirects_are_taken_and_web_schemes_refused() -> None:
    from sdassist.identity.redirects import check_redirect_uri, redirect_host

    for uri in [*CURSOR, "com.example.app:/cb", "vscode://vscode.mcp/cb", "http://[::1]:9/cb"]:
        assert check_redirect_uri(uri) is None, uri
    for uri in ("javascript://x/%0aalert(1)", "data:text/html,x", "file:///etc/passwd", "ws://evil.example/",
                "about:blank", "1abc:/cb", "http://evil.example/cb"):
        assert check_redirect_uri(uri), uri
    assert redirect_host(CURSOR[0]) == "cursor: (an app on this device)"  # not "anysphere.cursor-mcp"


def test_cursor_registers_as_it_really_does(oauth_server: Served) -> None:
    answer = register(oauth_server.origin, client_name="Cursor", redirect_uris=CURSOR)
    assert answer.status_code == 201, answer.text


def test_the_operator_narrows_the_redirect_hosts(tmp_path: Path) -> None:
    """SDASSIST_OAUTH_REDIRECT_HOSTS: https redirect URIs must name a listed host, at registration and at
    every authorization request (a client registered before the list was set too); loopback and private-use
    scheme redirects (native apps, RFC 8252) stay allowed, so Claude Code, VS Code and Cursor keep working."""
    for server in serve(tmp_path, SDASSIST_MCP_AUTH="oauth",
                        SDASSIST_OAUTH_REDIRECT_HOSTS="claude.ai,Claude.com,chatgpt.com,www.cursor.com"):
        for uris in (["https://claude.ai/api/mcp/auth_callback"], ["https://claude.com/api/mcp/auth_callback"],
                     ["https://chatgpt.com/connector_platform_oauth_redirect"], CURSOR,
                     ["http://127.0.0.1:33418/callback"], ["http://localhost:5173/cb"]):
            assert register(server.origin, redirect_uris=uris).status_code == 201, uris
        for uris in (["https://evil.example/cb"], ["https://claude.ai/cb", "https://claude.ai.evil.example/cb"]):
            refused = register(server.origin, redirect_uris=uris)
            assert refused.status_code == 400, uris
            body = refused.json()
            assert body["error"] == "invalid_redirect_uri"
            assert uris[-1].split("/")[2] in body["error_description"]
            assert "SDASSIST_OAUTH_REDIRECT_HOSTS" in body["error_description"]

        async def registered_earlier(url: str) -> None:
            store = await IdentityStore.open(url)
            try:
                await store.save_client("old-client", {"client_id": "old-client", "redirect_uris": [
                    "https://old.example/cb"], "token_endpoint_auth_method": "none",
                    "grant_types": ["authorization_code"], "response_types": ["code"]}, source="dcr")
            finally:
                await store.close()

        asyncio.run(registered_earlier(server.settings.effective_database_url))
        _verifier, code_challenge = pkce()
        refused = httpx.get(f"{server.origin}/authorize", params={
            "client_id": "old-client", "response_type": "code", "state": "s", "code_challenge": code_challenge,
            "code_challenge_method": "S256"})
        assert refused.status_code == 400 and "location" not in refused.headers
        assert "old.example" in refused.text and "SDASSIST_OAUTH_REDIRECT_HOSTS" in refused.text
    with pytest.raises(HttpConfigError, match=r"'https://claude\.ai' is not a host name"):
        http_app(build_server(make_settings(tmp_path)), make_settings(
            tmp_path, SDASSIST_MCP_AUTH="oauth", SDASSIST_PUBLIC_URL="http://127.0.0.1:9",
            SDASSIST_OAUTH_REDIRECT_HOSTS="https://claude.ai"), "127.0.0.1", 9)


def test_authorize_requires_pkce_s256_and_this_resource(oauth_server: Served) -> None:
    client = register(oauth_server.origin).json()
    _verifier, code_challenge = pkce()
    base = {"client_id": client["client_id"], "redirect_uri": "http://127.0.0.1:1/cb", "response_type": "code",
            "state": "s1", "resource": oauth_server.mcp, "code_challenge_method": "S256"}
    no_pkce = httpx.get(f"{oauth_server.origin}/authorize", params=base)
    assert no_pkce.status_code in (302, 400)
    assert "code_challenge" in (no_pkce.headers.get("location", "") + no_pkce.text)
    plain = httpx.get(f"{oauth_server.origin}/authorize",
                      params={**base, "code_challenge": code_challenge, "code_challenge_method": "plain"})
    assert "consent" not in plain.headers.get("location", "")
    other = httpx.get(f"{oauth_server.origin}/authorize",
                      params={**base, "code_challenge": code_challenge, "resource": "https://other.example/mcp"})
    assert "error=invalid_target" in other.headers["location"]
    good = httpx.get(f"{oauth_server.origin}/authorize", params={**base, "code_challenge": code_challenge})
    assert good.status_code == 302 and "/oauth/consent?request=" in good.headers["location"]


def test_authorize_refuses_a_missing_pkce_method(oauth_server: Served) -> None:
    """RFC 7636 §4.3: no `code_challenge_method` means `plain`, which is not S256; the SDK's model would read
    it as S256, so the refusal is ours: invalid_request to the registered redirect URI, with iss and state."""
    client = register(oauth_server.origin).json()
    _verifier, code_challenge = pkce()
    base = {"client_id": client["client_id"], "redirect_uri": "http://127.0.0.1:1/cb", "response_type": "code",
            "state": "s1", "resource": oauth_server.mcp, "code_challenge": code_challenge}
    for method in (None, "plain", "s256", ""):
        params = {**base, "code_challenge_method": method} if method is not None else base
        refused = httpx.get(f"{oauth_server.origin}/authorize", params=params)
        assert refused.status_code == 302, method
        query = dict(parse_qsl(urlsplit(refused.headers["location"]).query))
        assert refused.headers["location"].startswith("http://127.0.0.1:1/cb?"), method
        assert query["error"] == "invalid_request" and query["iss"] == oauth_server.origin and query["state"] == "s1"
        assert "code_challenge_method" in query["error_description"] and "S256" in query["error_description"]
        assert not any(w in query["error_description"] for w in PYDANTIC_WORDS), query
    # POSTed the same way (RFC 6749 §3.1 allows a form), and the same request with S256 goes on to consent.
    posted = httpx.post(f"{oauth_server.origin}/authorize", data=base)
    assert "error=invalid_request" in posted.headers["location"] and "iss=" in posted.headers["location"]
    good = httpx.get(f"{oauth_server.origin}/authorize", params={**base, "code_challenge_method": "S256"})
    assert good.status_code == 302 and "/oauth/consent?request=" in good.headers["location"]
    # An unregistered redirect URI is never redirected to, whatever else is wrong.
    stray = httpx.get(f"{oauth_server.origin}/authorize", params={**base, "redirect_uri": "https://evil.example/cb"})
    assert stray.status_code == 400 and "location" not in stray.headers


def test_modes_and_their_refusals(tmp_path: Path) -> None:
    def settings(**env: str) -> Settings:
        return make_settings(tmp_path, **env)

    assert auth_mode(settings(SDASSIST_PUBLIC_URL="https://sd.example.com"), "0.0.0.0") == "oauth"
    assert auth_mode(settings(SDASSIST_PUBLIC_URL="https://sd.example.com"), "127.0.0.1") == "oauth"
    assert auth_mode(settings(), "127.0.0.1") == "none"
    assert auth_mode(settings(SDASSIST_MCP_TOKEN="t" * 20), "127.0.0.1") == "token"
    with pytest.raises(HttpConfigError, match="SDASSIST_MCP_AUTH=none"):
        auth_mode(settings(SDASSIST_MCP_AUTH="none"), "0.0.0.0")
    with pytest.raises(HttpConfigError, match="needs SDASSIST_PUBLIC_URL"):
        auth_mode(settings(SDASSIST_MCP_AUTH="oauth"), "127.0.0.1")
    with pytest.raises(HttpConfigError, match="https"):
        auth_mode(settings(SDASSIST_MCP_AUTH="oauth", SDASSIST_PUBLIC_URL="http://sd.example.com"), "0.0.0.0")
    with pytest.raises(HttpConfigError, match="without a path"):
        auth_mode(settings(SDASSIST_PUBLIC_URL="https://sd.example.com/x"), "0.0.0.0")
    # The upstream provider gets a client secret and codes: only over TLS (plain http on loopback only).
    with pytest.raises(HttpConfigError, match="SDASSIST_OIDC_ISSUER"):
        upstream_oidc(settings(SDASSIST_OIDC_ISSUER="http://idp.example.com", SDASSIST_OIDC_CLIENT_ID="c"),
                      "https://sd.example.com")
    with pytest.raises(HttpConfigError, match="SDASSIST_OIDC_CLIENT_ID"):
        upstream_oidc(settings(SDASSIST_OIDC_ISSUER="https://idp.example.com"), "https://sd.example.com")
    assert upstream_oidc(settings(SDASSIST_OIDC_ISSUER="https://idp.example.com", SDASSIST_OIDC_CLIENT_ID="c"),
                         "https://sd.example.com").redirect_uri == "https://sd.example.com/oauth/callback"


def test_token_mode_takes_the_shared_token_and_personal_tokens(tmp_path: Path) -> None:
    for server in serve(tmp_path, SDASSIST_MCP_AUTH="token", SDASSIST_MCP_TOKEN="shared-token-0123456789"):
        bearer = {"Authorization": "Bearer shared-token-0123456789", **ACCEPT}
        shared = httpx.post(server.mcp, json=INIT, headers=bearer)
        assert shared.status_code == 200
        personal = server.pat("read")
        assert httpx.post(server.mcp, json=INIT, headers={"Authorization": f"Bearer {personal}", **ACCEPT}
                          ).status_code == 200
        refused = httpx.post(server.mcp, json=INIT, headers=ACCEPT)
        assert refused.status_code == 401 and "resource_metadata" not in refused.headers["www-authenticate"]


def test_confidential_clients_authenticate_against_the_stored_digest(oauth_server: Served) -> None:
    client = register(oauth_server.origin, token_endpoint_auth_method="client_secret_post").json()
    revoke = f"{oauth_server.origin}/revoke"
    form = {"token": "sda_rt_unknown", "client_id": client["client_id"]}
    wrong = httpx.post(revoke, data={**form, "client_secret": "wrong"})
    assert wrong.status_code == 401 and wrong.json()["error"] == "invalid_client"
    assert wrong.headers["cache-control"] == "no-store"
    assert httpx.post(revoke, data=form).status_code == 401
    assert httpx.post(revoke, data={**form, "client_secret": client["client_secret"]}).status_code == 200
    basic = register(oauth_server.origin, token_endpoint_auth_method="client_secret_basic").json()
    form = {"token": "sda_rt_unknown", "client_id": basic["client_id"]}
    assert httpx.post(revoke, data=form, auth=(basic["client_id"], "wrong")).status_code == 401
    assert httpx.post(revoke, data=form, auth=(basic["client_id"], basic["client_secret"])).status_code == 200
    # A public client needs no secret.
    public = register(oauth_server.origin).json()
    assert httpx.post(revoke, data={"token": "x", "client_id": public["client_id"]}).status_code == 200


def test_a_client_authenticating_with_http_basic_need_not_repeat_its_id(oauth_server: Served) -> None:
    """RFC 6749 §2.3.1: a client with a password authenticates with HTTP Basic, and the body's `client_id` is for
    clients that do not authenticate (§4.1.3), so a Basic-only request is the client's; a refused one is a 401
    naming the Basic scheme (§5.2)."""
    basic = register(oauth_server.origin, token_endpoint_auth_method="client_secret_basic").json()
    me, wrong = (basic["client_id"], basic["client_secret"]), (basic["client_id"], "wrong")
    grant = {"grant_type": "refresh_token", "refresh_token": "sda_rt_unknown"}
    token = httpx.post(f"{oauth_server.origin}/token", data=grant, auth=me)
    assert token.status_code == 400 and token.json()["error"] == "invalid_grant", token.text  # past client auth
    refused = httpx.post(f"{oauth_server.origin}/token", data=grant, auth=wrong)
    assert refused.status_code == 401 and refused.json()["error"] == "invalid_client"
    assert refused.headers["www-authenticate"].startswith("Basic ")
    assert httpx.post(f"{oauth_server.origin}/revoke", data={"token": "sda_rt_unknown"}, auth=me).status_code == 200
    refused = httpx.post(f"{oauth_server.origin}/revoke", data={"token": "sda_rt_unknown"}, auth=wrong)
    assert refused.status_code == 401 and refused.headers["www-authenticate"].startswith("Basic ")
    # The body's id, when given, must be the header's.
    other = {**grant, "client_id": register(oauth_server.origin).json()["client_id"]}
    assert httpx.post(f"{oauth_server.origin}/token", data=other, auth=me).status_code == 401


PYDANTIC_WORDS = ("Input should", "Field required", "Unable to extract", "Input tag", "\n", "valid URL")


def test_malformed_registrations_get_oauth_errors_in_our_words(oauth_server: Served) -> None:
    cases = [(b"nope", "invalid_client_metadata", "not JSON"),
             (b"[1]", "invalid_client_metadata", "JSON object"),
             (b"{}", "invalid_redirect_uri", "redirect_uris: is required"),
             (b'{"redirect_uris": "https://a.example/cb"}', "invalid_redirect_uri", "redirect_uris: must be a list"),
             (b'{"redirect_uris": ["not a url"]}', "invalid_redirect_uri", "redirect_uris.0: must be an absolute URL"),
             (b'{"redirect_uris": ["https://a.example/cb"], "client_name": "A\\ud800"}', "invalid_client_metadata",
              "half of a UTF-16 pair"),
             (b'{"redirect_uris": ["https://a.example/cb"], "client_name": 5}', "invalid_client_metadata",
              "client_name: must be text"),
             (json.dumps({"redirect_uris": ["https://a.example/cb"], "client_name": "A" * 5000}).encode(),
              "invalid_client_metadata", "client_name: is 5,000 characters, the limit is 100"),
             (json.dumps({"redirect_uris": ["https://a.example/cb"] * 4000}).encode(), "invalid_client_metadata",
              "bytes; the limit is 65,536"),
             # only the methods the metadata advertises are named (the SDK's words named one it then refuses)
             (b'{"redirect_uris": ["https://a.example/cb"], "token_endpoint_auth_method": "private_key_jwt"}',
              "invalid_client_metadata", "must be one of 'none', 'client_secret_post', 'client_secret_basic' (got "
              "'private_key_jwt')"),
             (b'{"redirect_uris": ["https://a.example/cb"], "token_endpoint_auth_method": "client_secret_jwt"}',
              "invalid_client_metadata", "(got 'client_secret_jwt')")]
    for body, error, words in cases:
        refused = httpx.post(f"{oauth_server.origin}/register", content=body,
                             headers={"content-type": "application/json"})
        assert refused.status_code == 400, body
        answer = refused.json()
        assert answer["error"] == error and words in answer["error_description"], (body, answer)
        assert not any(w in answer["error_description"] for w in PYDANTIC_WORDS), answer


def test_malformed_token_requests_get_oauth_errors_in_our_words(oauth_server: Served) -> None:
    client_id = register(oauth_server.origin).json()["client_id"]
    cases = [({}, "invalid_request", "grant_type: is required"),
             ({"grant_type": "password"}, "unsupported_grant_type", "'password' is not supported"),
             ({"grant_type": "authorization_code"}, "invalid_request", "code: is required"),
             ({"grant_type": "refresh_token"}, "invalid_request", "refresh_token: is required"),
             ({"grant_type": "authorization_code", "code": "c", "code_verifier": "short"}, "invalid_request",
              "code_verifier: must be 43 to 128 characters")]
    for form, error, words in cases:
        refused = httpx.post(f"{oauth_server.origin}/token", data={"client_id": client_id, **form})
        assert refused.status_code == 400, form
        answer = refused.json()
        assert answer["error"] == error and words in answer["error_description"], (form, answer)
        assert not any(w in answer["error_description"] for w in PYDANTIC_WORDS), answer


def test_authorization_errors_carry_iss_and_never_go_to_an_unregistered_address(oauth_server: Served) -> None:
    """RFC 9207 §2: `iss` in every authorization response, errors included (we advertise it, so clients
    reject a response without it); a redirect URI the client did not register gets a page, not a redirect."""
    client = register(oauth_server.origin).json()
    _verifier, code_challenge = pkce()
    base = {"client_id": client["client_id"], "redirect_uri": "http://127.0.0.1:1/cb", "response_type": "code",
            "state": "s1", "code_challenge": code_challenge, "code_challenge_method": "S256"}
    for change in ({"code_challenge_method": "plain"}, {"code_challenge_method": None}, {"code_challenge": None},
                   {"code_challenge": "abc="},
                   {"code_challenge": code_challenge + "="}, {"scope": "root"},
                   {"resource": "https://other.example/mcp"}):
        params = {k: v for k, v in {**base, **change}.items() if v is not None}
        refused = httpx.get(f"{oauth_server.origin}/authorize", params=params)
        assert refused.status_code == 302, change
        query = dict(parse_qsl(urlsplit(refused.headers["location"]).query))
        assert query["iss"] == oauth_server.origin and query["state"] == "s1" and query["error"], (change, query)
        assert not any(w in query.get("error_description", "") for w in PYDANTIC_WORDS), query
    attacker = httpx.get(f"{oauth_server.origin}/authorize", params={**base, "redirect_uri": "https://evil.example/cb"})
    assert attacker.status_code == 400 and "location" not in attacker.headers
    assert attacker.headers["content-type"].startswith("text/html") and "not registered" in attacker.text


def test_a_parameter_given_twice_is_refused(oauth_server: Served) -> None:
    """RFC 6749 §3.1/§3.2: parameters MUST NOT be included more than once. Two redirect URIs (or client ids): a
    page, since where to send the browser is unknowable; another one twice: invalid_request to the registered
    redirect URI, with iss and state; at the token endpoint, invalid_request."""
    client = register(oauth_server.origin).json()
    _verifier, code_challenge = pkce()
    base = [("client_id", client["client_id"]), ("redirect_uri", "http://127.0.0.1:1/cb"), ("response_type", "code"),
            ("state", "s1"), ("code_challenge", code_challenge), ("code_challenge_method", "S256")]
    for twice in (("redirect_uri", "https://evil.example/cb"), ("client_id", "other")):
        for params in ([twice, *base], [*base, twice]):
            refused = httpx.get(f"{oauth_server.origin}/authorize", params=params)
            assert refused.status_code == 400 and "location" not in refused.headers, params
            assert f"{twice[0]}: is given more than once" in refused.text
    refused = httpx.get(f"{oauth_server.origin}/authorize", params=[*base, ("scope", "read"), ("scope", "admin")])
    assert refused.status_code == 302 and refused.headers["location"].startswith("http://127.0.0.1:1/cb?")
    query = dict(parse_qsl(urlsplit(refused.headers["location"]).query))
    assert query["error"] == "invalid_request" and query["iss"] == oauth_server.origin and query["state"] == "s1"
    assert query["error_description"].startswith("scope: is given more than once")
    # RFC 8707 allows several resources: not refused as repeated (this server issues for its own only).
    twice = httpx.get(f"{oauth_server.origin}/authorize", params=[*base, ("resource", oauth_server.mcp),
                                                                  ("resource", oauth_server.mcp)])
    assert "more than once" not in twice.headers.get("location", "") + twice.text
    token = httpx.post(f"{oauth_server.origin}/token", content=urlencode([
        ("grant_type", "authorization_code"), ("code", "a"), ("code", "b"), ("client_id", client["client_id"]),
        ("redirect_uri", "http://127.0.0.1:1/cb"), ("code_verifier", "v" * 43)]),
        headers={"content-type": "application/x-www-form-urlencoded"})
    assert token.status_code == 400 and token.json() == {
        "error": "invalid_request", "error_description": "code: is given more than once; send each parameter once "
                                                         "(RFC 6749 §3.1)"}


def test_the_consent_page_shows_where_the_browser_really_goes() -> None:
    """The host a person reads is the host the browser goes to: a look-alike letter shows (ASCII form of an
    international name), a port is kept, an IPv6 address is bracketed."""
    from sdassist.identity.redirects import redirect_host

    assert redirect_host("https://claude.ai/api/mcp/auth_callback") == "claude.ai"
    assert redirect_host("https://cl\u0430ude.ai/cb") == "xn--clude-5ve.ai"  # a Cyrillic a
    assert redirect_host("http://127.0.0.1:33418/callback") == "127.0.0.1:33418"
    assert redirect_host("http://[::1]:8080/cb") == "[::1]:8080"
    assert redirect_host("com.example.app:/cb") == "com.example.app: (an app on this device)"


def test_registrations_are_limited_per_address(tmp_path: Path) -> None:
    """RFC 7591 registration needs no account: each source address gets SDASSIST_OAUTH_REGISTRATIONS_PER_MINUTE,
    counted in the shared database (so across instances), then 429 with Retry-After; other addresses go on."""
    for server in serve(tmp_path, SDASSIST_MCP_AUTH="oauth", SDASSIST_OAUTH_REGISTRATIONS_PER_MINUTE="3"):
        assert [register(server.origin).status_code for _ in range(3)] == [201, 201, 201]
        refused = register(server.origin)
        assert refused.status_code == 429
        assert 1 <= int(refused.headers["retry-after"]) <= 60
        assert refused.headers["cache-control"] == "no-store"
        body = refused.json()
        assert body["error"] == "temporarily_unavailable"
        assert "the limit is 3 a minute" in body["error_description"] and "try again in" in body["error_description"]
        assert asyncio.run(register_at_another_instance(server, "127.0.0.1")) == 429  # the same address
        assert asyncio.run(register_at_another_instance(server, "203.0.113.7")) == 201


async def test_concurrent_registrations_never_pass_the_limit(tmp_path: Path) -> None:
    """Registrations from one address arriving at once, at two instances on one database: exactly the limit
    gets through (the count and the slot it takes are one transaction), the rest get 429."""
    origin = "http://127.0.0.1:8765"
    settings = make_settings(tmp_path, SDASSIST_MCP_AUTH="oauth", SDASSIST_OAUTH_REGISTRATIONS_PER_MINUTE="3",
                             SDASSIST_PUBLIC_URL=origin)
    address = f"198.51.100.{secrets.randbelow(250) + 1}"
    instances = [http_app(build_server(settings), settings, "127.0.0.1", 8765) for _ in range(2)]
    clients = [httpx.AsyncClient(transport=httpx.ASGITransport(app, client=(address, 40000)), base_url=origin)
               for app in instances]
    async with clients[0], clients[1]:
        answers = await asyncio.gather(*(
            clients[i % 2].post("/register", json={"redirect_uris": ["http://127.0.0.1:1/cb"],
                                                    "token_endpoint_auth_method": "none"})
            for i in range(12)))
    assert sorted(a.status_code for a in answers) == [201] * 3 + [429] * 9


def test_registrations_are_counted_per_ipv4_address_or_ipv6_64() -> None:
    """One IPv6 subscriber holds a whole /64: counted per address, it could register without limit."""
    from sdassist.web.oauth import rate_source

    assert rate_source("2001:db8:1:2::1") == rate_source("2001:db8:1:2:ffff:eeee:dddd:cccc") == "2001:db8:1:2::/64"
    assert rate_source("2001:db8:1:3::1") != rate_source("2001:db8:1:2::1")
    assert rate_source("203.0.113.7") == rate_source("::ffff:203.0.113.7") == "203.0.113.7"
    assert rate_source("203.0.113.8") != rate_source("203.0.113.7")
    assert rate_source("unknown") == "unknown"


async def register_at_another_instance(server: Served, address: str) -> int:
    """A registration at another instance on the same database (in process), coming from `address`."""
    app = http_app(build_server(server.settings), server.settings, "127.0.0.1", 1)
    transport = httpx.ASGITransport(app, client=(address, 40000))
    async with httpx.AsyncClient(transport=transport, base_url=server.origin) as http:
        answer = await http.post("/register", json={"redirect_uris": ["http://127.0.0.1:1/cb"],
                                                     "token_endpoint_auth_method": "none"})
    return answer.status_code


def test_registered_clients_unused_for_long_are_forgotten(oauth_server: Served) -> None:
    """A dynamically registered client unused for SDASSIST_OAUTH_CLIENT_IDLE_DAYS (90) is deleted: refused as
    unknown when it comes back, and swept when anyone registers. A confidential client's
    client_secret_expires_at says when that happens if it is never used."""
    from sqlalchemy import select, update

    from sdassist.identity.store import clients_table

    confidential = register(oauth_server.origin, token_endpoint_auth_method="client_secret_post").json()
    assert confidential["client_secret_expires_at"] == confidential["client_id_issued_at"] + 90 * 86400
    public = register(oauth_server.origin).json()
    assert public.get("client_secret_expires_at") is None and "client_secret" not in public
    swept = register(oauth_server.origin).json()
    day = 86400

    async def age(client_id: str, days: int) -> None:
        store = await IdentityStore.open(oauth_server.settings.effective_database_url)
        try:
            then = int(time.time()) - days * day
            async with (await store._engine_()).begin() as conn:
                await conn.execute(update(clients_table).where(clients_table.c.client_id == client_id)
                                   .values(created_at=then, last_used_at=then))
        finally:
            await store.close()

    async def exists(client_id: str) -> bool:
        store = await IdentityStore.open(oauth_server.settings.effective_database_url)
        try:
            return await store.get_client(client_id) is not None
        finally:
            await store.close()

    async def last_used(client_id: str) -> int:
        store = await IdentityStore.open(oauth_server.settings.effective_database_url)
        try:
            async with (await store._engine_()).connect() as conn:
                return (await conn.execute(select(clients_table.c.last_used_at)
                                           .where(clients_table.c.client_id == client_id))).scalar_one()
        finally:
            await store.close()

    for client_id, days in ((confidential["client_id"], 89), (public["client_id"], 91), (swept["client_id"], 91)):
        asyncio.run(age(client_id, days))
    _verifier, code_challenge = pkce()
    params = {"redirect_uri": "http://127.0.0.1:1/cb", "response_type": "code", "state": "s",
              "code_challenge": code_challenge, "code_challenge_method": "S256"}
    gone = httpx.get(f"{oauth_server.origin}/authorize", params={**params, "client_id": public["client_id"]})
    assert gone.status_code == 400 and "not found" in gone.text and not asyncio.run(exists(public["client_id"]))
    # Used at day 89: it lives on, and its use is recorded (the idle clock starts again).
    kept = httpx.get(f"{oauth_server.origin}/authorize", params={**params, "client_id": confidential["client_id"]})
    assert kept.status_code == 302 and "/oauth/consent?request=" in kept.headers["location"]
    assert asyncio.run(last_used(confidential["client_id"])) >= time.time() - 60
    # Nobody asked for the third; the next registration sweeps it.
    assert asyncio.run(exists(swept["client_id"]))
    assert register(oauth_server.origin).status_code == 201
    assert not asyncio.run(exists(swept["client_id"])) and asyncio.run(exists(confidential["client_id"]))


BROWSER = "https://app.example"
PREFLIGHT = {"Origin": BROWSER, "Access-Control-Request-Method": "POST",
             "Access-Control-Request-Headers": "authorization, content-type, mcp-session-id, mcp-protocol-version"}


@pytest.mark.parametrize("mode", ["oauth", "token"])
def test_browser_based_hosts_may_call_with_a_token(tmp_path: Path, mode: str) -> None:
    """CORS on /mcp in oauth and token mode: the preflight is answered, a call with a token from any page's origin
    goes through (the token authorizes it, not the page), and the session id and the challenge are readable."""
    for server in serve(tmp_path, SDASSIST_MCP_AUTH=mode, SDASSIST_MCP_TOKEN="shared-" + "t" * 32):
        preflight = httpx.options(server.mcp, headers=PREFLIGHT)
        assert preflight.status_code == 200, preflight.text
        assert preflight.headers["access-control-allow-origin"] == "*"
        allowed = preflight.headers["access-control-allow-headers"].lower()
        assert {"authorization", "content-type", "mcp-session-id", "mcp-protocol-version"} <= set(allowed.split(", "))
        refused = httpx.post(server.mcp, json=INIT, headers={"Origin": BROWSER, **ACCEPT})
        assert refused.status_code == 401 and refused.headers["access-control-allow-origin"] == "*"
        assert "www-authenticate" in refused.headers["access-control-expose-headers"].lower()
        token = server.pat("read")
        called = httpx.post(server.mcp, json=INIT,
                            headers={"Origin": BROWSER, "Authorization": f"Bearer {token}", **ACCEPT})
        assert called.status_code == 200, called.text
        assert called.headers["mcp-session-id"]
        assert "mcp-session-id" in called.headers["access-control-expose-headers"].lower()
        # The Host check (DNS rebinding) still holds.
        rebound = httpx.post(server.mcp, json=INIT, headers={"Host": "evil.example", "Origin": BROWSER,
                                                             "Authorization": f"Bearer {token}", **ACCEPT})
        assert rebound.status_code == 421


def test_no_cors_without_authentication(tmp_path: Path) -> None:
    """In `none` mode nothing but the Origin check keeps a web page from driving the loopback server."""
    for server in serve(tmp_path, SDASSIST_MCP_AUTH="none"):
        preflight = httpx.options(server.mcp, headers=PREFLIGHT)
        assert "access-control-allow-origin" not in preflight.headers
        call = httpx.post(server.mcp, json=INIT, headers={"Origin": BROWSER, **ACCEPT})
        assert call.status_code == 403 and "access-control-allow-origin" not in call.headers


def test_the_authorization_servers_endpoints_answer_browser_preflights(oauth_server: Served) -> None:
    for path in ("/token", "/register", "/revoke"):
        preflight = httpx.options(oauth_server.origin + path, headers={
            "Origin": BROWSER, "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "authorization, content-type, mcp-protocol-version"})
        assert preflight.status_code == 200, (path, preflight.text)
        assert preflight.headers["access-control-allow-origin"] == "*"
    metadata = httpx.get(oauth_server.origin + "/.well-known/oauth-authorization-server", headers={"Origin": BROWSER})
    assert metadata.headers["access-control-allow-origin"] == "*"
