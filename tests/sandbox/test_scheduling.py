"""Scheduled posts publish when the movable sandbox clock reaches them; failures can be injected."""

from __future__ import annotations

import asyncio

import httpx

from .conftest import first_account


async def _schedule(client: httpx.AsyncClient, targets: list[dict], at: str = "2099-01-01T09:00:00Z") -> str:
    response = await client.post("/api/v1/posts", json={"text": "later", "targets": targets,
                                                        "publish_now": False, "scheduled_at": at})
    assert response.status_code == 200, response.text
    return response.json()["data"]["post_id"]


async def test_clock_moves_and_due_posts_publish(client: httpx.AsyncClient) -> None:
    insta = await first_account(client, "instagram")
    clock = (await client.get("/_sandbox/clock")).json()["data"]
    assert clock["offset_seconds"] == 0 and clock["now"].endswith("Z")
    soon = (await client.post("/_sandbox/clock", json={"advance_seconds": 0})).json()["data"]["now"]
    post_id = await _schedule(client, [{"platform": "instagram", "account_id": insta}])
    assert (await client.get(f"/api/v1/posts/{post_id}")).json()["data"]["status"] == "scheduled"
    moved = (await client.post("/_sandbox/clock", json={"now": "2099-01-01T09:00:01Z"})).json()["data"]
    assert moved["published"] == 1 and moved["now"].startswith("2099-01-01T09:00:01")
    post = (await client.get(f"/api/v1/posts/{post_id}")).json()["data"]
    assert post["status"] == "published" and post["targets"][0]["platform_post_id"].startswith("178")
    assert soon < moved["now"]
    assert (await client.put(f"/api/v1/posts/{post_id}", json={"text": "too late"})).status_code == 400


async def test_background_ticker_publishes_without_traffic(client: httpx.AsyncClient) -> None:
    insta = await first_account(client, "instagram")
    state = client.app.state.sandbox  # type: ignore[attr-defined]
    post_id = await _schedule(client, [{"platform": "instagram", "account_id": insta}])
    state.clock.advance(10 ** 10)  # far past the scheduled time, without a request
    for _ in range(100):
        if state.posts[post_id].status != "scheduled":
            break
        await asyncio.sleep(0.01)
    assert state.posts[post_id].status == "published"


async def test_injected_failures_per_target(client: httpx.AsyncClient) -> None:
    insta, linkedin = await first_account(client, "instagram"), await first_account(client, "linkedin")
    rule = await client.post("/_sandbox/failures", json={"platform": "linkedin", "reason": "Token expired"})
    assert rule.json()["data"]["count"] == 1
    both = [{"platform": "instagram", "account_id": insta}, {"platform": "linkedin", "account_id": linkedin}]
    partial = (await client.post("/api/v1/posts", json={"text": "x", "targets": both})).json()["data"]
    assert partial["status"] == "published"
    assert [t["status"] for t in partial["targets"]] == ["published", "failed"]
    assert partial["targets"][1]["error"] == "Token expired"

    await client.post("/_sandbox/failures", json={"account_id": insta, "reason": "Media rejected", "count": 2})
    failed = (await client.post("/api/v1/posts", json={"text": "y", "targets": both[:1]})).json()["data"]
    assert failed["status"] == "failed"
    scheduled = await _schedule(client, both[:1])
    await client.post("/_sandbox/clock", json={"advance_seconds": 10 ** 10})
    post = (await client.get(f"/api/v1/posts/{scheduled}")).json()["data"]
    assert post["status"] == "failed" and post["targets"][0]["error"] == "Media rejected"
    again = (await client.post("/api/v1/posts", json={"text": "z", "targets": both[:1]})).json()["data"]
    assert again["status"] == "published"  # the count is used up
    listed = (await client.get("/api/v1/posts", params={"status": "failed"})).json()["meta"]["total"]
    assert listed == 2
    analytics = (await client.get("/api/v1/analytics/overview", params={"period": "7d"})).json()["data"]
    assert analytics["summary"]["total_posts"] == 1  # the others were created "now", the clock moved on


async def test_analytics_are_deterministic_and_grow(client: httpx.AsyncClient) -> None:
    insta, threads = await first_account(client, "instagram"), await first_account(client, "threads")
    post_id = (await client.post("/api/v1/posts", json={"text": "x", "targets": [
        {"platform": "instagram", "account_id": insta}, {"platform": "threads", "account_id": threads}]})
    ).json()["data"]["post_id"]
    await client.post("/_sandbox/clock", json={"advance_seconds": 3600})
    first = (await client.get(f"/api/v1/posts/{post_id}/analytics")).json()["data"]["targets"]
    assert first == (await client.get(f"/api/v1/posts/{post_id}/analytics")).json()["data"]["targets"]
    assert first[1]["metrics"] is None
    await client.post("/_sandbox/clock", json={"advance_seconds": 86400})
    later = (await client.get(f"/api/v1/posts/{post_id}/analytics")).json()["data"]["targets"]
    assert later[0]["metrics"]["views"] > first[0]["metrics"]["views"] > 0
