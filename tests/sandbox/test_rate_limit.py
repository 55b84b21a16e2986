"""Fixed-window limits per workspace: headers on every answer, 429 with retry_after at the limit."""

from __future__ import annotations

import asyncio
import time
from datetime import datetime

import httpx

from .conftest import fast_config


async def test_headers_count_down_and_429_at_the_limit(make_client) -> None:
    client = make_client(fast_config(rate_limits={"ACCELERATE": 5}, window_seconds=30))
    remaining = []
    for _ in range(5):
        response = await client.get("/api/v1/accounts")
        assert response.status_code == 200
        assert response.headers["X-RateLimit-Limit"] == "5"
        remaining.append(int(response.headers["X-RateLimit-Remaining"]))
    assert remaining == [4, 3, 2, 1, 0]
    limited = await client.get("/api/v1/accounts")
    assert limited.status_code == 429
    body = limited.json()
    assert body["data"] is None and body["error"]["message"] == "Too Many Requests"
    reset = int(limited.headers["X-RateLimit-Reset"])
    retry_after = datetime.fromisoformat(body["meta"]["retry_after"].replace("Z", "+00:00"))
    assert body["meta"]["retry_after"].endswith("Z") and int(retry_after.timestamp()) == reset
    assert time.time() < reset <= time.time() + 30
    assert "Date" in limited.headers
    stats = (await client.get("/_sandbox/stats")).json()["data"]
    assert stats["rate_limited"] == 1 and stats["requests"]["GET /api/v1/accounts"] == 6


async def test_window_resets(make_client) -> None:
    client = make_client(fast_config(rate_limits={"BUILD": 2}, window_seconds=0.5), key="sd_test_build")
    await asyncio.sleep(0.5 - time.time() % 0.5 + 0.01)  # start at the beginning of a window
    assert [(await client.get("/api/v1/posts")).status_code for _ in range(3)] == [200, 200, 429]
    await asyncio.sleep(0.5)
    response = await client.get("/api/v1/posts")
    assert response.status_code == 200 and response.headers["X-RateLimit-Remaining"] == "1"


async def test_workspaces_have_separate_budgets_and_control_endpoints_are_free(make_client) -> None:
    config = fast_config(rate_limits={"ACCELERATE": 1, "BUILD": 1})
    main = make_client(config)
    assert (await main.get("/api/v1/posts")).status_code == 200
    assert (await main.get("/api/v1/posts")).status_code == 429
    for _ in range(3):
        assert (await main.get("/_sandbox/stats")).status_code == 200
    transport = httpx.ASGITransport(app=main.app)
    async with httpx.AsyncClient(transport=transport, base_url="http://sandbox.test",
                                 headers={"Authorization": "Bearer sd_test_build"}) as build:
        assert (await build.get("/api/v1/posts")).status_code == 200
