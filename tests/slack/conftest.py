"""The Slack harness: the fake Slack Web API, an in-process sandbox, and the app on a real loopback port.

Requests to the app are signed like Slack signs them and go over HTTP, so Bolt's own verification runs.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

import aiohttp
import httpx
import pytest
from aiohttp.test_utils import TestServer

from sdassist.client import SocialDock
from sdassist.config import Settings
from sdassist.runtime import open_runtime
from sdassist.sandbox import DEFAULT_KEY, SandboxConfig, create_app
from sdassist.sandbox.server import free_loopback_port
from sdassist.slack.app import SlackFace, web_client
from tests.conftest import TEST_DATABASE_URL
from tests.slack.fake_slack import FakeSlack
from tests.slack.requests import (
    click_body,
    command_body,
    event_callback,
    shortcut_payload,
    signed_webhook,
    slack_headers,
)
from tests.waiting import Rounds, WaitsForDrafts

SIGNING_SECRET = "test-signing-secret"
WEBHOOK_SECRET = "test-webhook-secret"
CHANNEL = "C0APPROVE"
REQUESTER, APPROVER, OTHER_APPROVER, STRANGER = "U0ASKER", "U0BOSS", "U0BOSS2", "U0NOBODY"


@dataclass
class Harness(WaitsForDrafts):
    fake: FakeSlack
    face: SlackFace
    url: str
    sandbox: httpx.AsyncClient
    http: aiohttp.ClientSession
    latencies: list[float] = field(default_factory=list)
    sandbox_app: Any = None
    poller: Rounds | None = None
    """The card poller's rounds: wait for them (`poller.wait()`), not for seconds."""

    @property
    def rt(self) -> Any:
        return self.face.rt

    def draft_store(self) -> Any:
        return self.rt.store

    async def signed(self, body: str, *, secret: str = SIGNING_SECRET, timestamp: int | None = None,
                     path: str = "/slack/events") -> aiohttp.ClientResponse:
        started = time.perf_counter()
        response = await self.http.post(self.url + path, data=body.encode(),
                                        headers=slack_headers(body, secret, timestamp=timestamp))
        await response.read()
        self.latencies.append(time.perf_counter() - started)
        return response

    async def command(self, text: str, *, user: str = REQUESTER, **kwargs: Any) -> aiohttp.ClientResponse:
        return await self.signed(command_body(text, user=user, response_url=self.fake.response_url(user)), **kwargs)

    async def interact(self, payload: dict[str, Any], **kwargs: Any) -> aiohttp.ClientResponse:
        return await self.signed(urlencode({"payload": json.dumps(payload)}), **kwargs)

    async def click(self, action_id: str, draft_id: str, version: int, *, user: str = APPROVER,
                    **kwargs: Any) -> aiohttp.ClientResponse:
        refs = (await self.rt.store.get(draft_id)).face_refs
        body = click_body(action_id, draft_id, version, user=user, refs=refs, channel=CHANNEL,
                          response_url=self.fake.response_url(f"click-{user}"))
        return await self.signed(body, **kwargs)

    async def submit(self, callback_id: str, values: dict[str, dict[str, Any]], *, user: str = REQUESTER,
                     metadata: dict[str, Any] | None = None) -> aiohttp.ClientResponse:
        payload = {
            "type": "view_submission", "team": {"id": "T0FAKE"}, "api_app_id": "A0APP",
            "user": {"id": user, "username": user.lower(), "name": user.lower(), "team_id": "T0FAKE"},
            "view": {"id": "V0VIEW", "type": "modal", "callback_id": callback_id,
                     "private_metadata": json.dumps(metadata or {}),
                     "state": {"values": {k: {"value": v} for k, v in values.items()}}},
        }
        return await self.interact(payload)

    async def shortcut(self, message: dict[str, Any], *, user: str = REQUESTER,
                       channel: str = "C0GENERAL") -> aiohttp.ClientResponse:
        """The message shortcut "Schedule on SocialDock" clicked on `message`."""
        return await self.interact(shortcut_payload(message, user=user, channel=channel,
                                                    response_url=self.fake.response_url(f"shortcut-{user}")))

    async def event(self, event: dict[str, Any]) -> aiohttp.ClientResponse:
        """An Events API delivery (app_mention, message.im, …), signed."""
        return await self.signed(event_callback(event))

    async def webhook(self, event: dict[str, Any], *, secret: str = WEBHOOK_SECRET,
                      content_type: str = "application/json") -> aiohttp.ClientResponse:
        raw, headers = signed_webhook(event, secret)
        response = await self.http.post(self.url + "/socialdock/webhook", data=raw,
                                        headers={**headers, "Content-Type": content_type})
        await response.read()
        return response

    async def work_done(self, timeout: float = 10.0) -> None:
        """Wait until the work acked requests left behind has finished (the face's line is empty): a test that
        counts Slack calls from now on must not count the tail of an earlier command's reply."""
        deadline = time.monotonic() + timeout
        while self.face.backlog:
            if time.monotonic() > deadline:
                raise AssertionError(f"acked work still running after {timeout}s: backlog {self.face.backlog}")
            await asyncio.sleep(0.01)

    async def posts_on_sandbox(self) -> int:
        stats = (await self.sandbox.get("/_sandbox/stats")).json()["data"]
        return sum(stats["posts"].values())

    async def faults(self, *rules: dict[str, Any]) -> None:
        answer = await self.sandbox.post("/_sandbox/faults", json={"rules": list(rules), "seed": 1})
        assert answer.status_code == 200, answer.text


def slack_settings(tmp_path: Any, fake: FakeSlack, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "SLACK_BOT_TOKEN": "xoxb-test-token", "SLACK_SIGNING_SECRET": SIGNING_SECRET,
        "SDASSIST_SLACK_API_URL": fake.api_url, "SDASSIST_APPROVAL": "slack", "SDASSIST_APPROVAL_CHANNEL": CHANNEL,
        "SDASSIST_APPROVERS": f"{APPROVER},{OTHER_APPROVER}", "SDASSIST_WEBHOOK_SECRET": WEBHOOK_SECRET,
        "SDASSIST_DATA_DIR": str(tmp_path),
        "SDASSIST_DATABASE_URL": TEST_DATABASE_URL or f"sqlite+aiosqlite:///{tmp_path / 'sd.db'}",
        "SDASSIST_TIMEZONE": "UTC", "SOCIALDOCK_BASE_URL": "http://sandbox.test",
    }
    values.update(overrides)
    return Settings(_env_file=None, **values)


@pytest.fixture
async def fake() -> AsyncIterator[FakeSlack]:
    server = await FakeSlack().start()
    yield server
    await server.stop()


@pytest.fixture
async def harness(tmp_path: Any, fake: FakeSlack, request: pytest.FixtureRequest) -> AsyncIterator[Harness]:
    overrides = dict(getattr(request, "param", {}) or {})
    port = 0
    if overrides.get("SDASSIST_PUBLIC_URL") == "auto":  # the app's own loopback address (signed media links)
        port = free_loopback_port()
        overrides["SDASSIST_PUBLIC_URL"] = f"http://127.0.0.1:{port}"
    sandbox_app = create_app(SandboxConfig(webhook_backoff_seconds=0.02, tick_seconds=0.05))
    transport = httpx.ASGITransport(app=sandbox_app)
    sandbox = httpx.AsyncClient(transport=transport, base_url="http://sandbox.test")
    client = SocialDock(DEFAULT_KEY, base_url="http://sandbox.test", transport=transport)
    settings = slack_settings(tmp_path, fake, **overrides)
    async with open_runtime(settings, client=client, announce=False) as rt, aiohttp.ClientSession() as http:
        face = SlackFace(settings, rt, web_client(settings))
        face.cards.sync_once = poller = Rounds(face.cards.sync_once)  # type: ignore[method-assign]
        server = TestServer(face.web_app(), host="127.0.0.1", port=port)
        await server.start_server()
        await face.start(poll_interval=0.1)
        try:
            yield Harness(fake, face, f"http://127.0.0.1:{server.port}", sandbox, http, sandbox_app=sandbox_app,
                          poller=poller)
        finally:
            await asyncio.sleep(0.2)  # let listener tasks Bolt left running after their ack finish
            await face.stop()
            await server.close()
    await sandbox.aclose()
    await sandbox_app.state.sandbox.aclose()


@pytest.fixture
async def h(harness: Harness) -> Harness:
    """Short name for the harness."""
    return harness
