"""Injected faults: seeded 500s, bursts of 429s, latency, and connections dropped after processing."""

from __future__ import annotations

import asyncio
import time

import httpx
import pytest

from .conftest import first_account


async def _statuses(client: httpx.AsyncClient, n: int) -> list[int]:
    return [(await client.get("/api/v1/posts")).status_code for _ in range(n)]


async def test_seeded_errors_repeat(client: httpx.AsyncClient) -> None:
    rules = {"seed": 7, "rules": [{"path": "/api/v1/posts*", "method": "GET", "error_rate": 0.3}]}
    await client.post("/_sandbox/faults", json=rules)
    first = await _statuses(client, 30)
    await client.post("/_sandbox/faults", json=rules)
    assert await _statuses(client, 30) == first
    assert set(first) == {200, 500} and first.count(500) >= 3
    failed = await client.get("/api/v1/posts")
    while failed.status_code != 500:
        failed = await client.get("/api/v1/posts")
    assert failed.json()["data"] is None and "X-RateLimit-Remaining" in failed.headers
    await client.delete("/_sandbox/faults")
    assert set(await _statuses(client, 10)) == {200}
    assert (await client.get("/api/v1/accounts")).status_code == 200  # other paths untouched


async def test_burst_of_429s_is_not_processed(client: httpx.AsyncClient) -> None:
    insta = await first_account(client, "instagram")
    await client.post("/_sandbox/faults", json={"rules": [
        {"path": "/api/v1/posts", "method": "POST", "error_rate": 1.0, "status": 429, "count": 2,
         "retry_after_seconds": 1}]})
    body = {"text": "x", "targets": [{"platform": "instagram", "account_id": insta}]}
    for _ in range(2):
        limited = await client.post("/api/v1/posts", json=body)
        assert limited.status_code == 429
        assert limited.headers["X-RateLimit-Remaining"] == "0"
        assert limited.json()["meta"]["retry_after"].endswith("Z")
    assert (await client.post("/api/v1/posts", json=body)).status_code == 200
    stats = (await client.get("/_sandbox/stats")).json()["data"]
    assert stats["requests"]["POST /api/v1/posts"] == 3 and stats["processed"]["POST /api/v1/posts"] == 1
    assert stats["rate_limited"] == 2 and stats["posts"]["sd_test_sandbox"] == 1


async def test_drop_after_processing_creates_the_post(client: httpx.AsyncClient) -> None:
    insta = await first_account(client, "instagram")
    await client.post("/_sandbox/faults", json={"rules": [
        {"path": "/api/v1/posts", "method": "POST", "drop_rate": 1.0, "count": 1}]})
    with pytest.raises(httpx.RemoteProtocolError):
        await client.post("/api/v1/posts", json={"text": "lost answer", "targets": [
            {"platform": "instagram", "account_id": insta}]})
    posts = (await client.get("/api/v1/posts")).json()["data"]["posts"]
    assert [p["text"] for p in posts] == ["lost answer"] and posts[0]["status"] == "published"


async def test_drop_before_processing_creates_nothing(client: httpx.AsyncClient) -> None:
    insta = await first_account(client, "instagram")
    await client.post("/_sandbox/faults", json={"rules": [
        {"path": "/api/v1/posts", "method": "POST", "drop_rate": 1.0, "drop_after_processing": False}]})
    with pytest.raises(httpx.RemoteProtocolError):
        await client.post("/api/v1/posts", json={"text": "never", "targets": [
            {"platform": "instagram", "account_id": insta}]})
    assert (await client.get("/api/v1/posts")).json()["meta"]["total"] == 0


async def test_latency_and_rule_validation(client: httpx.AsyncClient) -> None:
    await client.post("/_sandbox/faults", json={"rules": [
        {"path": "/api/v1/accounts", "latency_rate": 1.0, "latency_ms": 150}]})
    started = time.monotonic()
    assert (await client.get("/api/v1/accounts")).status_code == 200
    assert time.monotonic() - started >= 0.15
    bad = await client.post("/_sandbox/faults", json={"rules": [{"path": "/x", "error_rate": 2}]})
    assert bad.status_code == 400 and "error_rate" in bad.json()["error"]["details"]
    assert (await client.post("/_sandbox/faults", json={"rules": [{"paths": "/x"}]})).status_code == 400


async def _posts(client: httpx.AsyncClient) -> list[str]:
    return [p["text"] for p in (await client.get("/api/v1/posts")).json()["data"]["posts"]]


async def test_a_held_request_lands_after_its_client_gave_up(client: httpx.AsyncClient) -> None:
    insta = await first_account(client, "instagram")
    await client.post("/_sandbox/faults", json={"rules": [
        {"path": "/api/v1/posts", "method": "POST", "hold_rate": 1.0, "count": 1}]})
    body = {"text": "stuck in traffic", "targets": [{"platform": "instagram", "account_id": insta}]}
    with pytest.raises(TimeoutError):
        async with asyncio.timeout(0.2):
            await client.post("/api/v1/posts", json=body)
    assert await _posts(client) == []  # not processed yet: held
    assert (await client.get("/_sandbox/faults")).json()["data"]["held"] == 1
    assert (await client.post("/_sandbox/faults/release")).json()["data"] == {"released": 1}
    for _ in range(100):
        if await _posts(client):
            break
        await asyncio.sleep(0.01)
    assert await _posts(client) == ["stuck in traffic"]  # processed although nobody waits for the answer
    stats = (await client.get("/_sandbox/stats")).json()["data"]
    assert stats["processed"]["POST /api/v1/posts"] == 1
    assert (await client.post("/api/v1/posts", json=body)).status_code == 200  # count 1: the rule is spent


async def test_a_held_request_whose_client_waits_is_answered_after_hold_ms(client: httpx.AsyncClient) -> None:
    insta = await first_account(client, "instagram")
    await client.post("/_sandbox/faults", json={"rules": [
        {"path": "/api/v1/posts", "method": "POST", "hold_rate": 1.0, "hold_ms": 150}]})
    sending = asyncio.create_task(client.post("/api/v1/posts", json={"text": "late but answered", "targets": [
        {"platform": "instagram", "account_id": insta}]}))
    for _ in range(100):
        if (await client.get("/_sandbox/faults")).json()["data"]["held"] == 1:
            break
        await asyncio.sleep(0.005)
    assert (await client.get("/_sandbox/faults")).json()["data"]["held"] == 1 or sending.done()
    answer = await sending  # released by hold_ms, not by anyone
    assert answer.status_code == 200, answer.text
    assert await _posts(client) == ["late but answered"]


@pytest.mark.parametrize("rule", [
    {"hold_rate": 2}, {"hold_rate": "all"}, {"hold_rate": 1, "hold_ms": -5}, {"hold_rate": 1, "hold_ms": True},
    {"hold_rate": 1, "hold_ms": "soon"}, {"hold_rate": 1, "hold_ms": 1e12},
])
async def test_hold_rules_are_validated(client: httpx.AsyncClient, rule: dict) -> None:
    answer = await client.post("/_sandbox/faults", json={"rules": [{"path": "/api/v1/posts", **rule}]})
    assert answer.status_code == 400
    assert "hold_" in answer.json()["error"]["details"]
    assert (await client.get("/api/v1/posts")).status_code == 200  # the sandbox still works


def test_latency_jitter_spreads_each_requests_delay_over_a_range() -> None:
    """`latency_jitter_ms` adds a seeded random 0..jitter ms to `latency_ms`: 50 + 0..100 is 50-150 ms."""
    from sdassist.sandbox.faults import FaultInjector, parse_rule

    injector = FaultInjector(seed=3)
    injector.configure([parse_rule({"path": "/api/v1/*", "latency_rate": 1.0, "latency_ms": 50,
                                    "latency_jitter_ms": 100})], seed=3)
    delays = [injector.decide("POST", "/api/v1/posts").latency_ms for _ in range(200)]
    assert all(50 <= d <= 150 for d in delays)
    assert min(delays) < 60 and max(delays) > 140  # spread over the range, not one fixed delay
