"""Bad input on every HTTP endpoint the project serves: oversized, wrong content type, malformed JSON, unknown fields.

Each answers a 4xx that says why, and nothing crashes. Where a 2xx is right it is stated: Slack adds form fields
and payload fields over time, so Bolt ignores unknown ones (the command runs as usual); SocialDock's webhook body
is undocumented and signed, so unknown fields in a correctly signed event are ignored too.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import httpx
import pytest
from aiohttp import web
from starlette.testclient import TestClient

from sdassist.mcp import build_server
from sdassist.mcp.http import http_app
from sdassist.sandbox import DEFAULT_KEY, SandboxConfig, create_app
from tests.conftest import make_settings
from tests.slack import conftest as slack_fixtures
from tests.slack.conftest import SIGNING_SECRET, WEBHOOK_SECRET, Harness

fake, harness = slack_fixtures.fake, slack_fixtures.harness  # the Slack harness's fixtures, used through `slack`

KINDS = ("oversized", "content_type", "malformed", "unknown_field", "deep")
DEPTH = 20_000  # far past Python's recursion limit, under every size limit (40 KB; the webhook takes 64 KiB)
BIG = "x" * (5 * 1024 * 1024)  # above every limit: sandbox and Slack 1 MiB, /mcp 4 MiB, webhook 64 KiB


def bad(kind: str, valid: dict[str, Any], ctype: str = "application/json") -> tuple[bytes, str]:
    """A body and content type carrying one kind of bad input, built around a valid body."""
    if kind == "oversized":
        return json.dumps({**valid, "padding": BIG}).encode(), ctype
    if kind == "content_type":
        return json.dumps(valid).encode(), "text/plain"
    if kind == "malformed":
        return b'{"text": "unterminated', ctype
    if kind == "deep":
        return json.dumps({**valid, "deep": "DEEP"}).replace('"DEEP"', "[" * DEPTH + "]" * DEPTH).encode(), ctype
    return json.dumps({**valid, "bogus_field": 1}).encode(), ctype


# --- the sandbox ---------------------------------------------------------------------------------------

@pytest.fixture
async def sandbox() -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(SandboxConfig(tick_seconds=0.05))
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://sandbox.test",
                                 headers={"Authorization": f"Bearer {DEFAULT_KEY}"}) as client:
        yield client
    await app.state.sandbox.aclose()


async def _account(client: httpx.AsyncClient) -> str:
    accounts = (await client.get("/api/v1/accounts")).json()["data"]["accounts"]
    return next(a["id"] for a in accounts if a["platform"] == "linkedin")


async def _scheduled_post(client: httpx.AsyncClient) -> str:
    body = {"text": "hello", "targets": [{"platform": "linkedin", "account_id": await _account(client)}],
            "publish_now": False, "scheduled_at": "2099-01-01T09:00:00Z"}
    created = await client.post("/api/v1/posts", json=body)
    assert created.status_code == 200, created.text
    return created.json()["data"]["post_id"]


async def sandbox_endpoint(client: httpx.AsyncClient, name: str) -> tuple[str, str, dict[str, Any]]:
    """(method, path, a valid body) for each sandbox endpoint that reads a body."""
    if name == "create_post":
        return "POST", "/api/v1/posts", {"text": "hi", "publish_now": True, "targets": [
            {"platform": "linkedin", "account_id": await _account(client)}]}
    if name == "update_post":
        return "PUT", f"/api/v1/posts/{await _scheduled_post(client)}", {"text": "changed"}
    return {
        "connect": ("POST", "/api/v1/accounts/connect", {"platform": "linkedin", "redirect_url": "http://127.0.0.1/back"}),
        "media": ("POST", "/api/v1/media", {"url": "https://example.com/a.png"}),
        "webhooks": ("POST", "/api/v1/webhooks", {"url": "https://example.com/h", "events": ["post_published"]}),
        "clock": ("POST", "/_sandbox/clock", {"advance_seconds": 1}),
        "failures": ("POST", "/_sandbox/failures", {"platform": "linkedin"}),
        "faults": ("POST", "/_sandbox/faults", {"rules": []}),
        "tick": ("POST", "/_sandbox/tick", {}),
        "reset": ("POST", "/_sandbox/reset", {}),
    }[name]


SANDBOX_ENDPOINTS = ("create_post", "update_post", "connect", "media", "webhooks", "clock", "failures", "faults",
                     "tick", "reset")
SANDBOX_EXPECTED = {"oversized": (413, "1 MiB"), "content_type": (400, "Content-Type must be application/json"),
                    "malformed": (400, "Malformed JSON"), "unknown_field": (400, "bogus_field"),
                    "deep": (400, "nested too deeply")}


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("endpoint", SANDBOX_ENDPOINTS)
async def test_sandbox_refuses_bad_bodies_in_the_envelope(sandbox: httpx.AsyncClient, endpoint: str,
                                                           kind: str) -> None:
    method, path, valid = await sandbox_endpoint(sandbox, endpoint)
    before = (await sandbox.get("/_sandbox/stats")).json()["data"]["posts"]
    content, ctype = bad(kind, valid)
    answer = await sandbox.request(method, path, content=content, headers={"Content-Type": ctype})
    status, reason = SANDBOX_EXPECTED[kind]
    assert answer.status_code == status, answer.text
    body = answer.json()
    assert body["data"] is None and reason in body["error"]["details"]
    assert (await sandbox.get("/_sandbox/stats")).json()["data"]["posts"] == before
    good = await sandbox.request(method, path, json=valid)  # the same endpoint takes the valid body
    assert good.status_code == 200, good.text


async def test_sandbox_unknown_target_fields_are_named(sandbox: httpx.AsyncClient) -> None:
    body = {"text": "hi", "targets": [{"platform": "linkedin", "account_id": await _account(sandbox), "acount": 1}]}
    answer = await sandbox.post("/api/v1/posts", json=body)
    assert answer.status_code == 400 and "targets[0]: unknown field 'acount'" in answer.json()["error"]["details"]


async def test_sandbox_chunked_oversized_body_is_413(sandbox: httpx.AsyncClient) -> None:
    async def chunks() -> AsyncIterator[bytes]:
        yield b'{"text": "'
        for _ in range(20):
            yield b"x" * 65536
        yield b'"}'

    answer = await sandbox.post("/api/v1/posts", content=chunks(), headers={"Content-Type": "application/json"})
    assert answer.status_code == 413 and "1 MiB" in answer.json()["error"]["details"]


# --- the Slack face: /socialdock/webhook and /slack/events ------------------------------------------------

@pytest.fixture
async def slack(harness: Harness) -> Harness:
    return harness


def _event(post_id: str = "post_missing") -> dict[str, Any]:
    return {"id": "evt_in_1", "event": "post_published", "created_at": "2026-03-26T10:00:00Z",
            "data": {"post_id": post_id, "platform": "linkedin", "status": "published"}}


WEBHOOK_EXPECTED = {"oversized": (413, "larger than"), "content_type": (415, "application/json"),
                    "malformed": (400, "not JSON"), "unknown_field": (200, None), "deep": (400, "nested too deeply")}


@pytest.mark.parametrize("kind", KINDS)
async def test_webhook_receiver_refuses_bad_bodies(slack: Harness, kind: str) -> None:
    raw, ctype = bad(kind, _event())
    signature = hmac.new(WEBHOOK_SECRET.encode(), raw, hashlib.sha256).hexdigest()
    answer = await slack.http.post(slack.url + "/socialdock/webhook", data=raw,
                               headers={"Content-Type": ctype, "X-SocialDock-Signature": signature})
    status, reason = WEBHOOK_EXPECTED[kind]
    assert answer.status == status, await answer.text()
    body = await answer.json()
    if reason is None:  # signed by SocialDock, whose event body is undocumented: unknown fields are ignored
        assert body == {"ok": True, "applied": False}  # no draft has that post: nothing changes
    else:
        assert body["ok"] is False and reason in body["error"]
    unsigned = await slack.http.post(slack.url + "/socialdock/webhook", data=raw[:60_000],
                                 headers={"Content-Type": "application/json", "X-SocialDock-Signature": "0" * 64})
    assert unsigned.status == 401


def _sign(raw: bytes, ts: str, secret: str = SIGNING_SECRET) -> str:
    return "v0=" + hmac.new(secret.encode(), b"v0:" + ts.encode() + b":" + raw, hashlib.sha256).hexdigest()


async def _slack_post(slack: Harness, raw: bytes, ctype: str, *, secret: str = SIGNING_SECRET) -> tuple[int, str]:
    ts = str(int(time.time()))
    answer = await slack.http.post(slack.url + "/slack/events", data=raw, headers={
        "Content-Type": ctype, "X-Slack-Request-Timestamp": ts, "X-Slack-Signature": _sign(raw, ts, secret)})
    return answer.status, await answer.text()


def _command_form(slack: Harness, **extra: str) -> dict[str, str]:
    return {"token": "legacy", "team_id": "T0FAKE", "channel_id": "C0GENERAL", "user_id": "U0ASKER",
            "command": "/socialdock", "text": "drafts", "api_app_id": "A0APP",
            "response_url": slack.fake.response_url("U0ASKER"), "trigger_id": "trigger-in", **extra}


SLACK_BODIES: dict[str, tuple[Any, str, int, str | None]] = {
    # name: (body, content type, status, reason in the answer)
    "oversized": ("big", "application/x-www-form-urlencoded", 413, "Maximum request body size"),
    "content_type": ("command-json", "text/plain", 415, "Content-Type must be"),
    "malformed_json": (b'{"type": "event_callback", ', "application/json", 400, "not JSON"),
    "malformed_payload": (b"payload=%7Bnope", "application/x-www-form-urlencoded", 400, "not JSON"),
    "payload_not_an_object": (urlencode({"payload": "[1]"}).encode(), "application/x-www-form-urlencoded", 400,
                              "not an object"),
    "not_utf8": (b"\xff\xfe payload", "application/x-www-form-urlencoded", 400, "UTF-8"),
    "view_without_type": (urlencode({"payload": json.dumps({"type": "view_submission", "user": {"id": "U0ASKER"},
                                                            "view": {"callback_id": "sd_compose"}})}).encode(),
                          "application/x-www-form-urlencoded", 400, "view.type"),
    "actions_without_user": (urlencode({"payload": json.dumps({"type": "block_actions", "actions": [
        {"action_id": "sd_approve"}]})}).encode(), "application/x-www-form-urlencoded", 400, "user.id"),
    "unknown_payload_type": (urlencode({"payload": json.dumps({"type": "bogus", "user": {"id": "U0ASKER"}})}).encode(),
                             "application/x-www-form-urlencoded", 404, "unhandled request"),
    "deep_payload": (urlencode({"payload": '{"type": "block_actions", "x": ' + "[" * DEPTH + "]" * DEPTH + "}"})
                     .encode(),
                     "application/x-www-form-urlencoded", 400, "nested too deeply"),
    "nested_100": (json.dumps({"type": "event_callback", "x": json.loads("[" * 100 + "]" * 100)}).encode(),
                   "application/json", 400, "nested too deeply"),
    # Slack adds fields over time: an unknown form field is ignored and the command runs as usual (harmless 200)
    "unknown_field": ("command-extra", "application/x-www-form-urlencoded", 200, None),
}


@pytest.mark.parametrize("name", list(SLACK_BODIES))
async def test_slack_events_signed_bad_bodies_are_4xx_and_never_5xx(slack: Harness, name: str) -> None:
    raw, ctype, status, reason = SLACK_BODIES[name]
    if raw == "big":
        raw = urlencode(_command_form(slack, padding=BIG)).encode()
    elif raw == "command-json":
        raw = json.dumps(_command_form(slack)).encode()
    elif raw == "command-extra":
        raw = urlencode(_command_form(slack, bogus_field="1")).encode()
    got, text = await _slack_post(slack, raw, ctype)
    assert got == status, text
    if reason:
        assert reason in text
    if name == "not_utf8":  # slack_sdk's verifier reads text only: such a body is refused before any signature
        assert (await _slack_post(slack, raw, ctype, secret="wrong"))[0] == 400
    elif name != "oversized":  # the same body with a wrong signature is Bolt's 401, before any parsing
        assert (await _slack_post(slack, raw, ctype, secret="wrong"))[0] == 401
    assert await slack.rt.store.list() == []


# --- the MCP server at /mcp -----------------------------------------------------------------------------

MCP_INIT = {"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
    "protocolVersion": "2025-06-18", "capabilities": {}, "clientInfo": {"name": "t", "version": "1"}}}
MCP_EXPECTED = {"oversized": (413, "too large"), "content_type": (400, "Content-Type"),
                "malformed": (400, "Parse error"), "unknown_field": (400, "bogus_field"),
                "deep": (400, "Parse error")}


@pytest.fixture(scope="module")
def mcp_client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    tmp: Path = tmp_path_factory.mktemp("mcp")
    settings = make_settings(tmp, SDASSIST_MCP_TOKEN="tok-inputs")
    app = http_app(build_server(settings), settings, "127.0.0.1", 8000)
    with TestClient(app, base_url="http://127.0.0.1:8000") as client:
        yield client


@pytest.mark.parametrize("kind", KINDS)
def test_mcp_refuses_bad_bodies(mcp_client: TestClient, kind: str) -> None:
    raw, ctype = bad(kind, MCP_INIT)
    headers = {"Accept": "application/json, text/event-stream", "Authorization": "Bearer tok-inputs",
               "Content-Type": ctype}
    answer = mcp_client.post("/mcp", content=raw, headers=headers)
    status, reason = MCP_EXPECTED[kind]
    assert answer.status_code == status and reason in answer.text, answer.text
    assert mcp_client.post("/mcp", content=raw, headers={**headers, "Authorization": "Bearer no"}).status_code == 401
    assert mcp_client.post("/mcp", content=json.dumps(MCP_INIT), headers={**headers, "Content-Type":
                                                                          "application/json"}).status_code == 200


async def test_nesting_under_the_recursion_limit_is_refused_too(sandbox: httpx.AsyncClient, slack: Harness) -> None:
    body = {"text": "hi", "targets": [], "publish_now": True, "metadata": json.loads("[" * 500 + "]" * 500)}
    answer = await sandbox.post("/api/v1/posts", json=body)
    assert answer.status_code == 400 and "nested too deeply" in answer.json()["error"]["details"]
    raw = json.dumps({**_event(), "data": {"post_id": "post_x", "extra": json.loads("[" * 500 + "]" * 500)}}).encode()
    signature = hmac.new(WEBHOOK_SECRET.encode(), raw, hashlib.sha256).hexdigest()
    hook = await slack.http.post(slack.url + "/socialdock/webhook", data=raw,
                                 headers={"Content-Type": "application/json", "X-SocialDock-Signature": signature})
    assert hook.status == 400 and "nested too deeply" in (await hook.json())["error"]


async def test_slack_events_without_a_signing_secret_are_refused_not_passed_to_bolt() -> None:
    """Bolt's own verification is off (the guard verifies before Bolt parses), so no secret must fail closed."""
    from aiohttp.test_utils import TestClient as AioClient
    from aiohttp.test_utils import TestServer

    from sdassist.slack.webhook import events_guard

    async def reached(request: web.Request) -> web.Response:
        return web.json_response({"reached": True})

    app = web.Application(middlewares=[events_guard(None)])
    app.router.add_post("/slack/events", reached)
    async with AioClient(TestServer(app, host="127.0.0.1", port=0)) as client:
        answer = await client.post("/slack/events", data=b"command=%2Fsocialdock",
                                   headers={"Content-Type": "application/x-www-form-urlencoded"})
        assert answer.status == 503 and "SLACK_SIGNING_SECRET" in await answer.text()
