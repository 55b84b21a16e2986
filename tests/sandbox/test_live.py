"""The sandbox under real uvicorn: headers on the wire, and a dropped connection is a real drop."""

from __future__ import annotations

import httpx
import pytest

from .conftest import AUTH, Running, first_account


async def test_over_real_http(live: Running) -> None:
    async with httpx.AsyncClient(base_url=live.url, headers=AUTH) as client:
        response = await client.get("/api/v1/accounts")
        assert response.status_code == 200
        assert response.headers["X-RateLimit-Limit"] == "500"
        assert len(response.headers.get_list("date")) == 1
        link = (await client.post("/api/v1/accounts/connect", json={
            "platform": "linkedin", "redirect_url": "https://a.test/cb"})).json()["data"]
        assert link["connect_url"].startswith(f"{live.url}/_sandbox/oauth/connect?token=")
        redirect = await client.get(link["connect_url"])
        assert redirect.status_code == 302 and "account_id=acc_" in redirect.headers["location"]


async def test_drop_after_processing_over_real_http(live: Running) -> None:
    async with httpx.AsyncClient(base_url=live.url, headers=AUTH) as client:
        insta = await first_account(client, "instagram")
        await client.post("/_sandbox/faults", json={"rules": [
            {"path": "/api/v1/posts", "method": "POST", "drop_rate": 1.0, "count": 1}]})
        with pytest.raises((httpx.RemoteProtocolError, httpx.ReadError)):
            await client.post("/api/v1/posts", json={"text": "sent", "targets": [
                {"platform": "instagram", "account_id": insta}]})
        listed = (await client.get("/api/v1/posts")).json()
        assert listed["meta"]["total"] == 1 and listed["data"]["posts"][0]["text"] == "sent"
        stats = (await client.get("/_sandbox/stats")).json()["data"]
        assert stats["requests"]["POST /api/v1/posts"] == 1
