"""Per-target events POSTed, signed, to a real loopback receiver; retries; other hosts never contacted."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json

import httpx

from sdassist.client.models import WebhookEvent
from sdassist.sandbox.records import WebhookRecord

from .conftest import Receiver, first_account


async def _deliveries(client: httpx.AsyncClient) -> list[dict]:
    return (await client.get("/_sandbox/deliveries")).json()["data"]["deliveries"]


async def _settled(client: httpx.AsyncClient, delivered: int) -> list[dict]:
    """The delivery log once `delivered` deliveries have succeeded (the receiver sees them first)."""
    for _ in range(200):
        log = await _deliveries(client)
        if sum(d["delivered"] for d in log) >= delivered:
            return log
        await asyncio.sleep(0.01)
    raise AssertionError(f"deliveries did not settle: {log}")


async def test_events_are_signed_and_shaped_as_api_notes(client: httpx.AsyncClient, receiver: Receiver) -> None:
    await client.post("/api/v1/webhooks", json={"url": receiver.url, "events": ["post_published", "post_failed"],
                                                "secret": "s3cret"})
    insta, linkedin = await first_account(client, "instagram"), await first_account(client, "linkedin")
    await client.post("/_sandbox/failures", json={"account_id": linkedin, "reason": "Rejected"})
    post_id = (await client.post("/api/v1/posts", json={"text": "x", "targets": [
        {"platform": "instagram", "account_id": insta}, {"platform": "linkedin", "account_id": linkedin}]})
    ).json()["data"]["post_id"]
    await receiver.wait_for(2)
    events = {}
    for raw, headers in receiver.received:
        expected = hmac.new(b"s3cret", raw, hashlib.sha256).hexdigest()
        assert hmac.compare_digest(headers["x-socialdock-signature"], expected)
        body = json.loads(raw)
        assert set(body) == {"id", "event", "created_at", "data"} and body["id"].startswith("evt_")
        assert set(body["data"]) == {"post_id", "platform", "account_id", "status", "platform_post_id", "error"}
        events[body["event"]] = WebhookEvent.model_validate(body)
    assert events["post_published"].data.post_id == post_id
    assert events["post_published"].data.platform_post_id
    assert events["post_failed"].data.error == "Rejected" and events["post_failed"].data.account_id == linkedin
    assert all(d["delivered"] and d["attempt"] == 1 for d in await _settled(client, 2))


async def test_no_signature_without_secret_and_only_subscribed_events(
        client: httpx.AsyncClient, receiver: Receiver) -> None:
    await client.post("/api/v1/webhooks", json={"url": receiver.url, "events": ["post_failed"]})
    insta = await first_account(client, "instagram")
    await client.post("/api/v1/posts", json={"text": "ok", "targets": [{"platform": "instagram",
                                                                         "account_id": insta}]})
    await client.post("/_sandbox/failures", json={"platform": "instagram", "reason": "nope"})
    await client.post("/api/v1/posts", json={"text": "ko", "targets": [{"platform": "instagram",
                                                                         "account_id": insta}]})
    await receiver.wait_for(1)
    await asyncio.sleep(0.05)
    assert len(receiver.received) == 1
    raw, headers = receiver.received[0]
    assert json.loads(raw)["event"] == "post_failed" and "x-socialdock-signature" not in headers


async def test_scheduled_publication_fires_webhook_without_traffic(
        client: httpx.AsyncClient, receiver: Receiver) -> None:
    await client.post("/api/v1/webhooks", json={"url": receiver.url, "events": ["post_published"]})
    insta = await first_account(client, "instagram")
    await client.post("/api/v1/posts", json={"text": "later", "publish_now": False,
                                             "scheduled_at": "2099-01-01T00:00:00Z",
                                             "targets": [{"platform": "instagram", "account_id": insta}]})
    client.app.state.sandbox.clock.advance(10 ** 10)  # type: ignore[attr-defined]
    await receiver.wait_for(1)


async def test_failed_deliveries_are_retried_with_backoff(client: httpx.AsyncClient, receiver: Receiver) -> None:
    receiver.fail_first = 2
    await client.post("/api/v1/webhooks", json={"url": receiver.url, "events": ["post_published"],
                                                "secret": "k"})
    insta = await first_account(client, "instagram")
    await client.post("/api/v1/posts", json={"text": "x", "targets": [{"platform": "instagram",
                                                                        "account_id": insta}]})
    await receiver.wait_for(1)
    attempts = await _settled(client, 1)
    assert [(d["attempt"], d["status_code"], d["delivered"]) for d in attempts] == [
        (1, 500, False), (2, 500, False), (3, 200, True)]
    assert len({d["event_id"] for d in attempts}) == 1


async def test_gives_up_after_five_attempts_on_a_dead_receiver(client: httpx.AsyncClient) -> None:
    await client.post("/api/v1/webhooks", json={"url": "http://127.0.0.1:9/none", "events": ["post_published"]})
    insta = await first_account(client, "instagram")
    await client.post("/api/v1/posts", json={"text": "x", "targets": [{"platform": "instagram",
                                                                        "account_id": insta}]})
    for _ in range(200):
        attempts = await _deliveries(client)
        if len(attempts) == 5:
            break
        await asyncio.sleep(0.02)
    await asyncio.sleep(0.1)
    attempts = await _deliveries(client)
    assert [d["attempt"] for d in attempts] == [1, 2, 3, 4, 5]
    assert not any(d["delivered"] for d in attempts) and all(d["error"] for d in attempts)


async def test_non_loopback_urls_are_recorded_and_never_contacted(client: httpx.AsyncClient) -> None:
    state = client.app.state.sandbox  # type: ignore[attr-defined]
    ws = state.workspace_for_key("sd_test_sandbox")
    state.webhooks["wh_remote"] = WebhookRecord("wh_remote", ws.id, "https://example.com/hook",
                                                ["post_published"], "x")
    contacted = []

    async def forbidden(*args, **kwargs):  # pragma: no cover - failing is the point
        contacted.append(args)
        raise AssertionError("contacted a remote host")

    original = httpx.AsyncHTTPTransport.handle_async_request
    httpx.AsyncHTTPTransport.handle_async_request = forbidden  # type: ignore[method-assign]
    try:
        insta = await first_account(client, "instagram")
        await client.post("/api/v1/posts", json={"text": "x", "targets": [{"platform": "instagram",
                                                                            "account_id": insta}]})
        for _ in range(50):
            if await _deliveries(client):
                break
            await asyncio.sleep(0.01)
    finally:
        httpx.AsyncHTTPTransport.handle_async_request = original  # type: ignore[method-assign]
    [delivery] = await _deliveries(client)
    assert delivery["delivered"] is False and delivery["url"] == "https://example.com/hook"
    assert delivery["error"] == "not loopback: the sandbox never contacts other hosts"
    assert contacted == []
