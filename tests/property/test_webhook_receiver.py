"""The SocialDock webhook receiver over arbitrary bodies, headers and signatures: never a 5xx, and a body whose
signature is wrong never reaches the publisher (so it changes nothing). Its handler runs on a real aiohttp
server on loopback, over a real runtime on the in-process sandbox; one server for the module keeps it fast."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import aiohttp
import httpx
import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer
from hypothesis import given, settings
from hypothesis import strategies as st

from sdassist.client import SocialDock
from sdassist.runtime import open_runtime
from sdassist.sandbox import DEFAULT_KEY, create_app
from sdassist.slack.webhook import MAX_BODY, WEBHOOK_PATH, make_handler
from tests.conftest import make_settings

SECRET = "whsec_property_secret"


class Receiver:
    """The handler on loopback; `applied` counts events that reached the publisher, `relayed` those relayed."""

    def __init__(self, tmp: Path) -> None:
        self.loop = asyncio.new_event_loop()
        self.tmp = tmp
        self.applied = 0
        self.relayed = 0
        self.statuses: list[int] = []

    async def _start(self) -> None:
        self.sandbox = create_app()
        client = SocialDock(DEFAULT_KEY, base_url="http://sandbox.test",
                            transport=httpx.ASGITransport(app=self.sandbox))
        self._rt_cm = open_runtime(make_settings(self.tmp), client=client, announce=False)
        self.rt = await self._rt_cm.__aenter__()
        receiver = self

        class Counting:
            async def apply_webhook(self, event: Any) -> Any:
                receiver.applied += 1
                return await receiver.rt.publisher.apply_webhook(event)

        async def relay(draft: Any, event: Any) -> None:
            self.relayed += 1

        app = web.Application()
        app.router.add_post(WEBHOOK_PATH, make_handler(lambda: Counting(), lambda: SECRET,  # type: ignore[arg-type]
                                                       relay, set()))
        self.server = TestServer(app, host="127.0.0.1", port=0)
        await self.server.start_server()
        self.http = aiohttp.ClientSession()
        self.url = f"http://127.0.0.1:{self.server.port}{WEBHOOK_PATH}"

    async def _stop(self) -> None:
        await self.http.close()
        await self.server.close()
        await self._rt_cm.__aexit__(None, None, None)
        await self.sandbox.state.sandbox.aclose()

    def run(self, coro: Any) -> Any:
        return self.loop.run_until_complete(coro)

    def post(self, body: bytes, headers: dict[str, str]) -> tuple[int, Any]:
        async def go() -> tuple[int, Any]:
            async with self.http.post(self.url, data=body, headers=headers) as answer:
                text = await answer.text()
                return answer.status, text
        status, text = self.run(go())
        self.statuses.append(status)
        return status, text


@pytest.fixture(scope="module")
def receiver(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Receiver]:
    r = Receiver(tmp_path_factory.mktemp("webhook"))
    r.run(r._start())
    yield r
    r.run(r._stop())
    r.loop.close()


def sign(body: bytes, secret: str = SECRET) -> str:
    return hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner, max_size=4),
    max_leaves=12)
events = st.fixed_dictionaries(
    {"event": st.sampled_from(["post_published", "post_failed", "post_deleted", ""]) | st.text(max_size=10)},
    optional={"id": st.text(max_size=12) | st.none() | st.integers(),
              "created_at": st.sampled_from(["2026-03-26T10:00:00Z", "yesterday", ""]) | st.none(),
              "data": st.fixed_dictionaries({}, optional={
                  "post_id": st.text(max_size=12) | st.integers() | st.none(),
                  "platform": st.sampled_from(["linkedin", "instagram", "nowhere"]) | st.none(),
                  "status": st.sampled_from(["published", "failed", "weird"]) | st.none(),
                  "error": st.text(max_size=20) | st.none()}) | json_values,
              "extra": json_values})
bodies = st.one_of(events.map(lambda e: json.dumps(e).encode()), json_values.map(lambda v: json.dumps(v).encode()),
                   st.binary(max_size=300))
content_types = st.sampled_from(["application/json", "application/json; charset=utf-8", "text/plain",
                                 "application/x-www-form-urlencoded", ""])


@settings(max_examples=250)
@given(body=bodies, ctype=content_types,
       signature=st.one_of(st.none(), st.text(st.characters(min_codepoint=0x20, max_codepoint=0x7e), max_size=70),
                           st.just("0" * 64), st.just("sha256=")),
       wrong_secret=st.booleans())
def test_a_bad_signature_is_refused_and_changes_nothing(receiver: Receiver, body: bytes, ctype: str,
                                                        signature: str | None, wrong_secret: bool) -> None:
    headers = {"Content-Type": ctype} if ctype else {}
    if wrong_secret:
        signature = sign(body, "not-the-secret")
    if signature is not None:
        headers["X-SocialDock-Signature"] = signature  # printable ASCII: a header carries nothing else
    applied = receiver.applied
    status, text = receiver.post(body, headers)
    assert status in (401, 415), text
    assert receiver.applied == applied


@settings(max_examples=250)
@given(body=bodies, ctype=content_types)
def test_any_signed_body_is_answered_without_a_5xx(receiver: Receiver, body: bytes, ctype: str) -> None:
    headers = {"X-SocialDock-Signature": sign(body)}
    if ctype:
        headers["Content-Type"] = ctype
    status, text = receiver.post(body, headers)
    assert status < 500, text
    if status >= 400:
        assert json.loads(text)["ok"] is False and json.loads(text)["error"]
    assert status != 200 or json.loads(text) == {"ok": True, "applied": False}  # no draft has these post ids


@settings(max_examples=20)
@given(size=st.integers(MAX_BODY + 1, MAX_BODY * 3))
def test_oversized_bodies_are_413_before_the_signature_is_checked(receiver: Receiver, size: int) -> None:
    body = b"x" * size
    status, _ = receiver.post(body, {"Content-Type": "application/json", "X-SocialDock-Signature": sign(body)})
    assert status == 413


def test_no_relay_and_no_5xx_across_every_run(receiver: Receiver) -> None:
    assert receiver.relayed == 0 and all(s < 500 for s in receiver.statuses)
