"""The mcp SDK's own OAuth client against a real `sdassist mcp --http` in oauth mode, with a real OpenID Connect
provider behind the sign-in: discovery, registration, sign-in, consent, tokens, tool calls as a person,
step-up to a wider scope, refresh, revocation; and two instances sharing one database."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import re
import subprocess
import sys
import time
from typing import Any
from urllib.parse import urlencode

import httpx
import httpx2
import pytest
from mcp import Client
from mcp.client.auth import OAuthClientProvider
from mcp.client.streamable_http import streamable_http_client
from mcp.shared.auth import AuthorizationCodeResult, OAuthClientInformationFull, OAuthClientMetadata, OAuthToken

from sdassist.publishing.store import DraftStore
from tests.oauth.conftest import Browser, Cluster, code_from

REDIRECT_URI = "http://127.0.0.1:1/callback"  # never contacted: the browser stops when it is sent there
POST = {"text": "Launch day!", "targets": ["linkedin"], "when": "tomorrow 9am"}
PING = {"jsonrpc": "2.0", "id": 1, "method": "ping"}
ACCEPT = {"Accept": "application/json, text/event-stream"}


class Storage:
    def __init__(self) -> None:
        self.tokens: OAuthToken | None = None
        self.client: OAuthClientInformationFull | None = None

    async def get_tokens(self) -> OAuthToken | None:
        return self.tokens

    async def set_tokens(self, tokens: OAuthToken) -> None:
        self.tokens = tokens

    async def get_client_info(self) -> OAuthClientInformationFull | None:
        return self.client

    async def set_client_info(self, client_info: OAuthClientInformationFull) -> None:
        self.client = client_info


class Host:
    """An MCP host (like Claude) using the SDK's OAuth client; its person answers in `browser`."""

    def __init__(self, mcp_url: str, browser: Browser, *, name: str = "Claude", decision: str = "allow") -> None:
        self.browser = browser
        self.decision = decision
        self.storage = Storage()
        self.final_urls: list[str] = []
        self.authorize_urls: list[str] = []
        metadata = OAuthClientMetadata(client_name=name, redirect_uris=[REDIRECT_URI],
                                       grant_types=["authorization_code", "refresh_token"],
                                       token_endpoint_auth_method="none")
        self.auth = OAuthClientProvider(mcp_url, metadata, self.storage, self._redirect, self._callback)
        self.mcp_url = mcp_url

    async def _redirect(self, url: str) -> None:
        self.authorize_urls.append(url)
        self.final_urls.append(await asyncio.to_thread(self.browser.authorize, url, REDIRECT_URI,
                                                       decision=self.decision))

    async def _callback(self) -> AuthorizationCodeResult:
        answer = code_from(self.final_urls[-1])
        return AuthorizationCodeResult(code=answer["code"], state=answer.get("state"), iss=answer.get("iss"))

    def client(self) -> Any:
        http = httpx2.AsyncClient(auth=self.auth, timeout=30)
        return http, Client(streamable_http_client(self.mcp_url, http_client=http))


def consents(browser: Browser) -> list[str]:
    """The consent pages the person was shown (not the provider's sign-in pages)."""
    return [p for p in browser.pages if 'name="decision" value="allow"' in p]


async def call(host: Host, tool: str, arguments: dict[str, Any]) -> Any:
    http, client = host.client()
    async with http, client:
        return await client.call_tool(tool, arguments)


async def test_discovery_registration_sign_in_and_a_draft_in_alices_name(cluster: Cluster, browser: Browser) -> None:
    a = cluster.start()
    host = Host(a.mcp_url, browser)
    http, client = host.client()
    async with http, client:
        names = {t.name for t in (await client.list_tools()).tools}
        assert "draft_post" in names
        result = await client.call_tool("draft_post", POST)
    assert not result.is_error, result.content
    draft = result.structured_content
    assert draft["requested_by"] == "Alice via Claude"
    # The consent page said who asks, for what, as whom, and where the browser goes next.
    consent = browser.pages[-1]
    assert "Allow Claude to use sdassist as you?" in consent and "Alice" in consent
    assert "<strong>read</strong>" in consent and "<strong>draft</strong>" in consent and "admin" not in consent
    assert "127.0.0.1:1" in consent
    # RFC 9207: the authorization response named its issuer (the SDK client checked it too).
    assert code_from(host.final_urls[0])["iss"] == a.origin
    # The client registered dynamically (no CIMD URL given) as a public client.
    assert host.storage.client is not None and host.storage.client.client_secret is None
    assert host.storage.tokens is not None and set(host.storage.tokens.scope.split()) == {"read", "draft"}
    # The draft is Alice's: her id from the provider, through Claude.
    store = await DraftStore.open(cluster.database_url)
    try:
        stored = await store.get(draft["draft_id"])
    finally:
        await store.close()
    assert (stored.requester_id, stored.requester_kind, stored.requester_via) == ("alice", "assistant", "Claude")
    # The code is single use: a replay is refused and revokes what it issued (RFC 6749 §4.1.2).
    client_id = host.storage.client.client_id
    replay = httpx.post(f"{a.origin}/token", data={"grant_type": "authorization_code", "client_id": client_id,
                                                   "code": code_from(host.final_urls[0])["code"],
                                                   "redirect_uri": REDIRECT_URI, "code_verifier": "x" * 43})
    assert replay.status_code == 400 and replay.json()["error"] == "invalid_grant"
    headers = {"Authorization": f"Bearer {host.storage.tokens.access_token}", **ACCEPT}
    assert httpx.post(a.mcp_url, json=PING, headers=headers).status_code == 401
    # RFC 8707 on the token endpoint too: a refresh for another resource is refused.
    other = httpx.post(f"{a.origin}/token", data={"grant_type": "refresh_token", "client_id": client_id,
                                                  "refresh_token": host.storage.tokens.refresh_token,
                                                  "resource": "https://elsewhere.example/mcp"})
    assert other.status_code == 400 and other.json()["error"] == "invalid_target"


async def test_step_up_refresh_and_revocation(cluster: Cluster, browser: Browser) -> None:
    a = cluster.start()
    host = Host(a.mcp_url, browser)
    http, client = host.client()
    async with http, client:
        assert not (await client.call_tool("list_accounts", {})).is_error
        assert len(host.authorize_urls) == 1
        # connect_account needs `admin`: 403 insufficient_scope, the SDK asks again for the union, Alice allows.
        stepped = await client.call_tool("connect_account", {"platform": "tiktok"})
        assert not stepped.is_error, stepped.content
        assert len(host.authorize_urls) == 2
        assert set(code_from(host.authorize_urls[1])["scope"].split()) == {"read", "draft", "admin"}
        # The second consent page asked only for what is new, and listed what Alice allowed before.
        wider = consents(browser)[-1]
        assert "asks for more" in wider and "<strong>admin</strong>" in wider.split("You allowed it before")[0]
        assert "<strong>read</strong>" in wider.split("You allowed it before")[1]
        assert "<strong>draft</strong>" not in wider.split("You allowed it before")[0]
        assert set(host.storage.tokens.scope.split()) == {"read", "draft", "admin"}  # type: ignore[union-attr]
        # The access token runs out: the SDK refreshes it (a new refresh token too) without the person.
        before = host.storage.tokens
        host.auth.context.token_expiry_time = time.time() - 1
        assert not (await client.call_tool("list_drafts", {})).is_error
        after = host.storage.tokens
        assert after is not None and before is not None
        assert after.access_token != before.access_token and after.refresh_token != before.refresh_token
        assert len(host.authorize_urls) == 2
    # The old refresh token is spent; presenting it again revokes the whole sign-in (reuse detection).
    client_id = host.storage.client.client_id  # type: ignore[union-attr]
    replay = httpx.post(f"{a.origin}/token", data={"grant_type": "refresh_token", "client_id": client_id,
                                                   "refresh_token": before.refresh_token})
    assert replay.status_code == 400 and replay.json()["error"] == "invalid_grant"
    ping = {"jsonrpc": "2.0", "id": 1, "method": "ping"}
    headers = {"Authorization": f"Bearer {after.access_token}", "Accept": "application/json, text/event-stream"}
    assert httpx.post(a.mcp_url, json=ping, headers=headers).status_code == 401


async def test_two_instances_share_tokens_and_revocation(cluster: Cluster, browser: Browser) -> None:
    """Two instances behind one public URL (as behind a load balancer) on one database; a third elsewhere."""
    a = cluster.start(0)
    b = cluster.start(1, SDASSIST_PUBLIC_URL=a.origin)
    elsewhere = cluster.start(2)
    host = Host(a.mcp_url, browser)
    assert not (await call(host, "list_accounts", {})).is_error
    tokens = host.storage.tokens
    assert tokens is not None
    headers = {"Authorization": f"Bearer {tokens.access_token}", "Accept": "application/json, text/event-stream"}
    init = {"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
        "protocolVersion": "2025-11-25", "capabilities": {}, "clientInfo": {"name": "t", "version": "1"}}}
    assert httpx.post(a.mcp_url, json=init, headers=headers).status_code == 200
    assert httpx.post(b.mcp_url, json=init, headers=headers).status_code == 200
    # Another server (another resource) knows the token from the database but it was not issued for it.
    refused = httpx.post(elsewhere.mcp_url, json=init, headers=headers)
    assert refused.status_code == 401 and 'error="invalid_token"' in refused.headers["www-authenticate"]
    # Revoking at B (RFC 7009, with the refresh token) ends the sign-in on both.
    client_id = host.storage.client.client_id  # type: ignore[union-attr]
    revoked = httpx.post(f"{b.origin}/revoke", data={"token": tokens.refresh_token, "client_id": client_id})
    assert revoked.status_code == 200
    assert httpx.post(a.mcp_url, json=init, headers=headers).status_code == 401
    assert httpx.post(b.mcp_url, json=init, headers=headers).status_code == 401


async def test_deny_sends_access_denied_back(cluster: Cluster, browser: Browser) -> None:
    a = cluster.start()
    host = Host(a.mcp_url, browser, decision="deny")
    with pytest.raises(Exception):  # noqa: B017 - the SDK gives up (as it should) in its own way: there is no code
        await call(host, "list_accounts", {})
    answer = code_from(host.final_urls[0])
    assert answer["error"] == "access_denied" and answer["iss"] == a.origin and "code" not in answer


LINK = re.compile(r"(http://127\.0\.0\.1:\d+/confirm/[A-Za-z0-9_-]+)")


async def test_alice_confirms_on_the_page_and_only_alice_can(cluster: Cluster, browser: Browser) -> None:
    a = cluster.start()
    host = Host(a.mcp_url, browser)
    http, client = host.client()
    async with http, client:
        drafted = (await client.call_tool("draft_post", POST)).structured_content
        assert drafted["state"] == "pending" and drafted.get("confirmation_token") is None
        link = LINK.search(drafted["next_step"])
        assert link, drafted["next_step"]
        url = link.group(1)
        # The link carries nothing but an opaque key: no draft id, no person, no token.
        assert drafted["draft_id"] not in url and "alice" not in url.lower()
        # The assistant cannot use the pass-back token path instead.
        refused = await client.call_tool("draft_post", {**POST, "confirmation_token": "x.1.1.y"})
        assert refused.is_error and "not used for signed-in people" in str(refused.content)

        # Bob, signed in in his own browser, cannot confirm Alice's draft.
        bob = Browser("bob")
        try:
            shown, _ = bob.confirm(url, None)
            assert shown.status_code == 403 and "belongs to someone else" in shown.text
        finally:
            bob.close()
        # A browser that is signed in nowhere is sent to sign in first (here as Alice, in a fresh browser).
        fresh = Browser("alice")
        try:
            shown, _ = fresh.confirm(url, None)
            assert shown.status_code == 200 and "Publish this post?" in shown.text
        finally:
            fresh.close()

        shown, pressed = browser.confirm(url, "publish")
        page = shown.text
        assert "Launch day!" in page and "LinkedIn" in page and "11 of 3,000 characters" in page
        assert "Europe/Berlin" in page or "CET" in page
        assert "UTC" in page and "by Claude" in page
        # The page with the Publish button is never cached, framed, or leaks its link as a referrer.
        assert shown.headers["cache-control"] == "no-store" and shown.headers["x-frame-options"] == "DENY"
        assert "frame-ancestors 'none'" in shown.headers["content-security-policy"]
        assert shown.headers["referrer-policy"] == "no-referrer"
        assert pressed is not None and pressed.status_code == 200 and "Scheduled on SocialDock" in pressed.text
        outcome = (await client.call_tool("get_draft", {"draft_id": drafted["draft_id"]})).structured_content
        assert outcome["state"] == "scheduled"
        # The link is spent: the draft is no longer pending.
        again, _ = browser.confirm(url, None)
        assert "Nothing to confirm" in again.text and "scheduled" in again.text

    store = await DraftStore.open(cluster.database_url)
    try:
        decisions = await store.decisions(drafted["draft_id"])
    finally:
        await store.close()
    approval = next(d for d in decisions if d.to_state.value in ("approved", "publishing"))
    assert (approval.actor_id, approval.face, approval.actor_kind) == ("alice", "web", "human")


async def test_cancel_on_the_page(cluster: Cluster, browser: Browser) -> None:
    a = cluster.start()
    host = Host(a.mcp_url, browser)
    drafted = (await call(host, "draft_post", POST)).structured_content
    url = LINK.search(drafted["next_step"]).group(1)  # type: ignore[union-attr]
    for stray in ("", "allow", "Publish"):  # only the buttons' own values decide: nothing else cancels
        _, pressed = browser.confirm(url, stray)
        assert pressed is not None and pressed.status_code == 400 and "Nothing was done" in pressed.text
    assert (await call(host, "get_draft", {"draft_id": drafted["draft_id"]})).structured_content["state"] == \
        "pending"
    _, pressed = browser.confirm(url, "cancel")
    assert pressed is not None and "Nothing was published" in pressed.text
    assert (await call(host, "get_draft", {"draft_id": drafted["draft_id"]})).structured_content["state"] == \
        "cancelled"


async def test_no_secret_reaches_the_log_even_at_debug(cluster: Cluster, browser: Browser) -> None:
    """Tokens, codes, client secrets and the session cookie never appear in the server's log (SDASSIST_LOG=debug)."""
    from tests.oauth.conftest import CLIENT_SECRET

    a = cluster.start(SDASSIST_LOG="debug")
    host = Host(a.mcp_url, browser)
    http, client = host.client()
    async with http, client:
        assert not (await client.call_tool("draft_post", POST)).is_error
        first = host.storage.tokens
        host.auth.context.token_expiry_time = time.time() - 1
        assert not (await client.call_tool("list_drafts", {})).is_error
    assert first is not None and host.storage.tokens is not None and host.storage.client is not None
    code = code_from(host.final_urls[0])["code"]
    confidential = httpx.post(f"{a.origin}/register", json={
        "client_name": "Server app", "redirect_uris": [REDIRECT_URI],
        "token_endpoint_auth_method": "client_secret_post"}).json()
    refused = httpx.post(f"{a.origin}/token", data={
        "grant_type": "refresh_token", "client_id": confidential["client_id"],
        "client_secret": confidential["client_secret"] + "x", "refresh_token": first.refresh_token})
    assert refused.status_code == 401
    replay = httpx.post(f"{a.origin}/token", data={"grant_type": "refresh_token", "refresh_token": first.refresh_token,
                                                   "client_id": host.storage.client.client_id})
    assert replay.json()["error"] == "invalid_grant"
    revoked = httpx.post(f"{a.origin}/revoke", data={"token": host.storage.tokens.access_token,
                                                     "client_id": host.storage.client.client_id})
    assert revoked.status_code == 200
    bad = httpx.post(a.mcp_url, json=PING, headers={"Authorization": f"Bearer {first.access_token}", **ACCEPT})
    assert bad.status_code == 401  # rotated away: refused, and the refusal is logged without the token
    log = a.log.read_text()
    assert "DEBUG" in log  # the level took effect, so the check below means something
    # Every sdassist.* logger follows SDASSIST_LOG on this face, not only the SocialDock client's.
    assert "sdassist.web: INFO: alice signed in" in log, log
    assert "sdassist.web: INFO: alice allowed" in log
    assert "sdassist.identity: INFO: token endpoint: issued access token" in log
    assert "sdassist.identity: WARNING: token endpoint: refresh token of alice reused" in log
    assert "sdassist.mcp: DEBUG: refused the access token sent to /mcp" in log
    secrets_ = {"access token": first.access_token, "refresh token": first.refresh_token, "code": code,
                "new access token": host.storage.tokens.access_token,
                "new refresh token": host.storage.tokens.refresh_token or "",
                "client secret": confidential["client_secret"], "OIDC client secret": CLIENT_SECRET,
                **{f"cookie {c.name}": c.value for c in browser.http.cookies.jar if len(c.value or "") >= 16}}
    leaked = [what for what, value in secrets_.items() if value and value in log]
    assert not leaked, f"in the log: {leaked}"


async def test_the_consent_page_escapes_the_apps_name(cluster: Cluster, browser: Browser) -> None:
    a = cluster.start()
    host = Host(a.mcp_url, browser, name='<img src=x onerror="alert(1)">Claude')
    http, client = host.client()
    async with http, client:
        await client.list_tools()
    consent = browser.pages[-1]
    assert "<img" not in consent and "&lt;img src=x onerror=&quot;alert(1)&quot;&gt;Claude" in consent
    assert "127.0.0.1:1" in consent


def test_a_callback_from_someone_elses_sign_in_signs_nobody_in(cluster: Cluster) -> None:
    """Login CSRF (RFC 6749 §10.12): Mallory signs in up to the provider's redirect and sends Alice the
    callback URL; opening it must not sign Alice's browser in as Mallory."""
    a = cluster.start()
    mallory, alice = Browser("mallory"), Browser("alice")
    try:
        callback = mallory.authorize(f"{a.origin}/oauth/login?next=/oauth/about", f"{a.origin}/oauth/callback")
        assert "code=" in callback and "state=" in callback
        opened = alice.http.get(callback)
        assert opened.status_code == 403 and "another browser" in opened.text
        assert not any(c.name.endswith("sdassist_session") for c in alice.http.cookies.jar)
    finally:
        mallory.close()
        alice.close()


async def test_a_forged_post_from_another_site_neither_consents_nor_publishes(cluster: Cluster, browser: Browser
                                                                              ) -> None:
    """CSRF: Alice is signed in; a page elsewhere makes her browser post the consent form for Mallory's app and
    the Publish form of her own pending draft, without (or with a made-up) CSRF token. Neither takes effect."""
    a = cluster.start()
    host = Host(a.mcp_url, browser)
    http, client = host.client()
    async with http, client:
        drafted = (await client.call_tool("draft_post", POST)).structured_content
        link = LINK.search(drafted["next_step"])
        assert link, drafted["next_step"]
        mallory = httpx.post(f"{a.origin}/register", json={"client_name": "Mallory", "redirect_uris": [REDIRECT_URI],
                                                            "token_endpoint_auth_method": "none"}).json()
        challenge = base64.urlsafe_b64encode(hashlib.sha256(b"v" * 43).digest()).decode().rstrip("=")
        started = httpx.get(f"{a.origin}/authorize", params={
            "client_id": mallory["client_id"], "redirect_uri": REDIRECT_URI, "response_type": "code",
            "code_challenge": challenge, "code_challenge_method": "S256", "state": "m"})
        key = code_from(started.headers["location"])["request"]
        for forged in ({}, {"csrf": "made-up"}):
            consent = browser.http.post(f"{a.origin}/oauth/consent",
                                        data={"request": key, "decision": "allow", **forged})
            assert consent.status_code == 403 and "location" not in consent.headers
            publish = browser.http.post(link.group(1), data={"decision": "publish", **forged})
            assert publish.status_code == 403
        outcome = (await client.call_tool("get_draft", {"draft_id": drafted["draft_id"]})).structured_content
        assert outcome["state"] == "pending"
    # Alice can still answer Mallory's request herself, on the page: the forged posts spent nothing.
    shown = browser.http.get(f"{a.origin}/oauth/consent", params={"request": key})
    assert shown.status_code == 200 and "Allow Mallory" in shown.text


def grants_cli(cluster: Cluster, *args: str) -> str:
    done = subprocess.run([sys.executable, "-m", "sdassist", "grants", *args], env=cluster.env(cluster.oidc.ports[0]),
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    return done.stdout


def authorize_url(origin: str, client_id: str, scope: str) -> str:
    challenge = base64.urlsafe_b64encode(hashlib.sha256(b"v" * 43).digest()).decode().rstrip("=")
    return f"{origin}/authorize?" + urlencode({
        "client_id": client_id, "redirect_uri": REDIRECT_URI, "response_type": "code", "scope": scope,
        "code_challenge": challenge, "code_challenge_method": "S256", "state": "s", "resource": f"{origin}/mcp"})


async def test_consent_is_remembered_until_revoked(cluster: Cluster, browser: Browser) -> None:
    """Alice allows Claude once; the same app asking again for the same or fewer scopes gets its code without
    the page; a denial remembers nothing; `sdassist grants revoke` forgets the consent and ends the sign-in."""
    a = cluster.start()
    host = Host(a.mcp_url, browser)
    assert not (await call(host, "list_accounts", {})).is_error
    assert len(consents(browser)) == 1
    client = host.storage.client
    assert client is not None
    # The same app signs in again (a new session at the host, same registration): no page, a code.
    again = Host(a.mcp_url, browser)
    again.storage.client = client
    assert not (await call(again, "list_accounts", {})).is_error
    assert len(consents(browser)) == 1 and "code" in code_from(again.final_urls[-1])
    # Fewer scopes: no page either, and the token has only what was asked.
    fewer = browser.authorize(authorize_url(a.origin, client.client_id, "read"), REDIRECT_URI)
    assert "code" in code_from(fewer) and code_from(fewer)["iss"] == a.origin and len(consents(browser)) == 1
    listed = grants_cli(cluster, "list", "--user", "alice")
    assert "read draft" in listed and "Claude" in listed and "127.0.0.1" in listed
    grant_id = listed.split()[0]
    assert grant_id.startswith("grt_")

    # Denying another app remembers nothing: it is asked again next time.
    other = Host(a.mcp_url, browser, name="Other", decision="deny")
    with pytest.raises(Exception):  # noqa: B017 - the SDK gives up in its own way: there is no code
        await call(other, "list_accounts", {})
    assert len(consents(browser)) == 2 and "Other" not in grants_cli(cluster, "list")
    assert other.storage.client is not None
    browser.authorize(authorize_url(a.origin, other.storage.client.client_id, "read"), REDIRECT_URI,
                      decision="deny")
    assert len(consents(browser)) == 3

    # Revoked: the consent is forgotten and Claude's tokens for Alice stop working; the page is back.
    tokens = again.storage.tokens
    assert tokens is not None
    headers = {"Authorization": f"Bearer {tokens.access_token}", **ACCEPT}
    assert httpx.post(a.mcp_url, json=PING, headers=headers).status_code != 401
    assert "forgot " + grant_id in grants_cli(cluster, "revoke", grant_id)
    assert httpx.post(a.mcp_url, json=PING, headers=headers).status_code == 401
    assert "no remembered consents for alice" in grants_cli(cluster, "list", "--user", "alice")
    browser.authorize(authorize_url(a.origin, client.client_id, "read"), REDIRECT_URI)
    assert len(consents(browser)) == 4


def test_a_code_redeemed_with_another_redirect_uri_is_an_invalid_grant(cluster: Cluster, browser: Browser) -> None:
    """RFC 6749 §4.1.3 and §5.2: a redirect URI that is not the one the code was issued for is `invalid_grant`
    (the SDK answered `invalid_request`); the same code with the right one still works (it was not spent)."""
    a = cluster.start()
    other_uri = "http://127.0.0.1:1/other"
    client = httpx.post(f"{a.origin}/register", json={"client_name": "Probe", "token_endpoint_auth_method": "none",
                                                      "redirect_uris": [REDIRECT_URI, other_uri]}).json()
    code = code_from(browser.authorize(authorize_url(a.origin, client["client_id"], "read"), REDIRECT_URI))["code"]
    grant = {"grant_type": "authorization_code", "code": code, "client_id": client["client_id"],
             "code_verifier": "v" * 43}
    refused = httpx.post(f"{a.origin}/token", data={**grant, "redirect_uri": other_uri})
    assert refused.status_code == 400 and refused.json()["error"] == "invalid_grant", refused.text
    assert "redirect_uri" in refused.json()["error_description"]
    issued = httpx.post(f"{a.origin}/token", data={**grant, "redirect_uri": REDIRECT_URI})
    assert issued.status_code == 200 and issued.json()["scope"] == "read"
