"""The connect flow: the connect URL points at the sandbox, opening it creates the account and redirects."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import httpx


async def _link(client: httpx.AsyncClient, platform: str = "instagram") -> dict:
    response = await client.post("/api/v1/accounts/connect",
                                 json={"platform": platform, "redirect_url": "https://app.test/cb?x=1"})
    assert response.status_code == 200, response.text
    return response.json()["data"]


async def test_connect_creates_the_account_and_redirects(client: httpx.AsyncClient) -> None:
    link = await _link(client, "telegram")
    page = await client.get(link["connect_url"])
    assert page.status_code == 302
    target = urlsplit(page.headers["location"])
    query = parse_qs(target.query)
    assert target.netloc == "app.test" and query["x"] == ["1"] and query["platform"] == ["telegram"]
    account_id = query["account_id"][0]
    accounts = (await client.get("/api/v1/accounts")).json()["data"]["accounts"]
    assert any(a["id"] == account_id and a["platform"] == "telegram" for a in accounts)
    reused = await client.get(link["connect_url"])
    assert reused.status_code == 400 and "already used" in reused.text


async def test_expired_and_unknown_tokens_are_refused(client: httpx.AsyncClient) -> None:
    link = await _link(client)
    await client.post("/_sandbox/clock", json={"advance_seconds": 601})
    expired = await client.get(link["connect_url"])
    assert expired.status_code == 400 and "expired" in expired.text
    assert "text/html" in expired.headers["content-type"]
    assert (await client.get("/_sandbox/oauth/connect?token=tok_nope")).status_code == 400


async def test_connect_validates_its_body(client: httpx.AsyncClient) -> None:
    response = await client.post("/api/v1/accounts/connect", json={"platform": "myspace"})
    details = response.json()["error"]["details"]
    assert response.status_code == 400 and "platform must be one of" in details and "redirect_url" in details
