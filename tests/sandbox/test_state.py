"""Persistence across a re-created app, reset to the initial state, and the request statistics."""

from __future__ import annotations

from pathlib import Path

import httpx

from sdassist.sandbox import SandboxConfig, create_app

from .conftest import fast_config, first_account


async def test_state_survives_a_restart(make_client, tmp_path: Path) -> None:
    config = fast_config(state_file=tmp_path / "sandbox.json")
    first = make_client(config)
    insta = await first_account(first, "instagram")
    link = (await first.post("/api/v1/accounts/connect", json={"platform": "reddit",
                                                               "redirect_url": "https://a.test/"})).json()
    await first.get(link["data"]["connect_url"])
    post = (await first.post("/api/v1/posts", json={"text": "keep me", "publish_now": False,
                                                    "scheduled_at": "2099-01-01T00:00:00Z",
                                                    "targets": [{"platform": "instagram", "account_id": insta}]}))
    hook = await first.post("/api/v1/webhooks", json={"url": "http://127.0.0.1:9/h", "events": ["post_failed"]})
    accounts_before = (await first.get("/api/v1/accounts")).json()["data"]["accounts"]

    second = make_client(config)
    assert (await second.get("/api/v1/accounts")).json()["data"]["accounts"] == accounts_before
    got = (await second.get(f"/api/v1/posts/{post.json()['data']['post_id']}")).json()["data"]
    assert got["body"] == "keep me" and got["scheduled_at"] == "2099-01-01T00:00:00Z"
    hooks = (await second.get("/api/v1/webhooks")).json()["data"]["webhooks"]
    assert [h["id"] for h in hooks] == [hook.json()["data"]["id"]]


async def test_demo_accounts_are_stable_and_optional(make_client) -> None:
    ids_a = {a["id"] for a in (await make_client().get("/api/v1/accounts")).json()["data"]["accounts"]}
    ids_b = {a["id"] for a in (await make_client().get("/api/v1/accounts")).json()["data"]["accounts"]}
    assert ids_a == ids_b and len(ids_a) == 8
    empty = make_client(fast_config(demo_accounts=False))
    assert (await empty.get("/api/v1/accounts")).json()["data"]["accounts"] == []


async def test_reset_restores_the_initial_state(client: httpx.AsyncClient) -> None:
    insta = await first_account(client, "instagram")
    await client.post("/api/v1/posts", json={"text": "x", "targets": [{"platform": "instagram",
                                                                        "account_id": insta}]})
    await client.delete(f"/api/v1/accounts/{insta}")
    await client.post("/_sandbox/clock", json={"advance_seconds": 3600})
    await client.post("/_sandbox/faults", json={"rules": [{"path": "/api/v1/*", "error_rate": 1.0}]})
    assert (await client.post("/_sandbox/reset")).json() == {"data": {"reset": True}}
    assert (await client.get("/api/v1/posts")).json()["meta"]["total"] == 0
    assert await first_account(client, "instagram") == insta
    assert (await client.get("/_sandbox/clock")).json()["data"]["offset_seconds"] == 0
    assert (await client.get("/_sandbox/faults")).json()["data"]["rules"] == []
    stats = (await client.get("/_sandbox/stats")).json()["data"]
    assert stats["requests"] == {"GET /api/v1/posts": 1, "GET /api/v1/accounts": 1}


async def test_stats_count_requests_by_route_template(client: httpx.AsyncClient) -> None:
    insta = await first_account(client, "instagram")
    post_id = (await client.post("/api/v1/posts", json={"text": "x", "targets": [
        {"platform": "instagram", "account_id": insta}]})).json()["data"]["post_id"]
    await client.get(f"/api/v1/posts/{post_id}")
    await client.get("/api/v1/posts/post_other")
    stats = (await client.get("/_sandbox/stats")).json()["data"]
    assert stats["requests"] == {"GET /api/v1/accounts": 1, "POST /api/v1/posts": 1,
                                 "GET /api/v1/posts/{post_id}": 2}
    assert stats["posts"] == {"sd_test_sandbox": 1, "sd_test_free": 0, "sd_test_build": 0}


async def test_the_app_exposes_its_state() -> None:
    app = create_app(SandboxConfig(demo_accounts=False))
    assert app.state.sandbox.accounts == {}
    await app.state.sandbox.aclose()
