"""Auth answers and the documented response shapes, checked against the client's own models."""

from __future__ import annotations

import httpx

from sdassist.client import models

from .conftest import first_account


async def test_missing_key_is_401_in_the_error_envelope(make_client) -> None:
    client = make_client(key=None)
    response = await client.get("/api/v1/accounts")
    assert response.status_code == 401
    body = response.json()
    assert body["data"] is None and body["meta"] == {}
    assert body["error"]["message"] == "Unauthorized"
    assert "X-RateLimit-Limit" in response.headers and "Date" in response.headers


async def test_unknown_key_is_401_with_the_documented_details(make_client) -> None:
    response = await make_client(key="sd_test_nope").get("/api/v1/posts")
    assert response.status_code == 401
    assert response.json()["error"] == {"message": "Unauthorized",
                                        "details": "The provided API key is invalid or has been revoked."}


async def test_free_plan_is_403_on_every_call(make_client) -> None:
    client = make_client(key="sd_test_free")
    for method, path in [("GET", "/api/v1/accounts"), ("POST", "/api/v1/posts"), ("GET", "/api/v1/nowhere")]:
        response = await client.request(method, path, json={})
        assert response.status_code == 403, path
        assert "FREE" in response.json()["error"]["details"]


async def test_connect_and_account_endpoints_answer_as_documented(client: httpx.AsyncClient) -> None:
    link = (await client.post("/api/v1/accounts/connect",
                              json={"platform": "youtube", "redirect_url": "https://yourapp.com/cb"})).json()
    parsed = models.ConnectLink.model_validate(link["data"])
    assert parsed.platform == "youtube" and parsed.token.startswith("tok_")
    assert parsed.connect_url.startswith("http://sandbox.test/_sandbox/oauth/connect?token=tok_")

    accounts = (await client.get("/api/v1/accounts")).json()["data"]["accounts"]
    assert {a["username"] for a in accounts} >= {"@demo_instagram", "@demo_youtube"}
    [models.Account.model_validate(a) for a in accounts]

    status = (await client.get("/api/v1/accounts/status", params={"platform": "youtube"})).json()["data"]
    state = models.AccountStatus.model_validate(status)
    assert [a.status for a in state.accounts] == ["active"]
    assert "instagram" in state.connected_platforms

    insta = await first_account(client, "instagram")
    analytics = (await client.get(f"/api/v1/accounts/{insta}/analytics")).json()["data"]
    assert models.AccountAnalytics.model_validate(analytics).metrics.followers > 0

    threads = await first_account(client, "threads")
    refused = await client.get(f"/api/v1/accounts/{threads}/analytics")
    assert refused.status_code == 400 and "threads" in refused.json()["error"]["details"]

    assert (await client.delete(f"/api/v1/accounts/{insta}")).json() == {"data": {"success": True}}
    gone = await client.delete(f"/api/v1/accounts/{insta}")
    assert gone.status_code == 404
    assert gone.json()["error"]["details"] == f"No account with id {insta} exists in this workspace."


async def test_post_endpoints_answer_as_documented(client: httpx.AsyncClient) -> None:
    insta, linkedin = await first_account(client, "instagram"), await first_account(client, "linkedin")
    created = (await client.post("/api/v1/posts", json={
        "text": "Check out our latest update!", "title": "Q1 Product Update",
        "targets": [{"platform": "instagram", "account_id": insta, "metadata": {"location": "New York"}},
                    {"platform": "linkedin", "account_id": linkedin}],
        "media_urls": ["https://example.com/image.jpg"], "tags": ["update", "product"], "publish_now": True,
    })).json()
    assert set(created) == {"data"}
    data = created["data"]
    assert set(data) == {"post_id", "status", "targets"} and data["status"] == "published"
    assert [set(t) for t in data["targets"]] == [{"platform", "status", "platform_post_id"}] * 2
    assert data["targets"][0]["platform_post_id"].startswith("178")
    assert data["targets"][1]["platform_post_id"].startswith("urn:li:share:")
    post_id = data["post_id"]
    assert post_id.startswith("post_") and len(post_id) == 5 + 26

    scheduled = (await client.post("/api/v1/posts", json={
        "text": "Dropping something big tomorrow!", "targets": [{"platform": "instagram", "account_id": insta}],
        "publish_now": False, "scheduled_at": "2099-04-01T09:00:00Z",
    })).json()["data"]
    assert scheduled["status"] == "scheduled"
    assert scheduled["targets"] == [{"platform": "instagram", "status": "scheduled"}]

    listed = (await client.get("/api/v1/posts", params={"status": "published", "platform": "instagram",
                                                         "limit": 20, "offset": 0})).json()
    assert listed["meta"] == {"total": 1, "limit": 20, "offset": 0}
    item = listed["data"]["posts"][0]
    assert {"id", "status", "text", "created_at"} <= set(item) and item["id"] == post_id

    got = (await client.get(f"/api/v1/posts/{post_id}")).json()["data"]
    assert got["body"] == "Check out our latest update!" and "text" not in got
    assert got["media"][0]["id"].startswith("med_") and got["media"][0]["url"].endswith(".jpg")
    assert models.Post.model_validate(got).text == "Check out our latest update!"

    put = (await client.put(f"/api/v1/posts/{scheduled['post_id']}", json={
        "text": "Updated caption for the drop!", "scheduled_at": "2099-04-01T12:00:00Z"})).json()["data"]
    assert put["post"]["text"] == "Updated caption for the drop!"
    assert put["post"]["scheduled_at"] == "2099-04-01T12:00:00Z" and put["post"]["status"] == "scheduled"
    not_scheduled = await client.put(f"/api/v1/posts/{post_id}", json={"text": "x"})
    assert not_scheduled.status_code == 400 and "Only scheduled posts" in not_scheduled.json()["error"]["details"]

    analytics = (await client.get(f"/api/v1/posts/{post_id}/analytics")).json()["data"]
    parsed = models.PostAnalytics.model_validate(analytics)
    assert [t.platform for t in parsed.targets] == ["instagram", "linkedin"]

    overview = (await client.get("/api/v1/analytics/overview")).json()["data"]
    ov = models.Overview.model_validate(overview)
    assert ov.summary.total_posts == 2 and ov.summary.success_rate == 100.0
    assert ov.platforms["instagram"].posts == 2
    assert (await client.get("/api/v1/analytics/overview", params={"period": "1y"})).status_code == 400

    assert (await client.delete(f"/api/v1/posts/{post_id}")).json() == {"data": {"success": True}}
    assert (await client.get(f"/api/v1/posts/{post_id}")).status_code == 404


async def test_media_and_webhooks_answer_as_documented(client: httpx.AsyncClient) -> None:
    media = (await client.post("/api/v1/media", json={"url": "https://example.com/product-photo.jpg",
                                                      "file_name": "product-photo.jpg"})).json()["data"]
    assert media["mime_type"] == "image/jpeg" and media["id"].startswith("med_")
    assert media["url"] == f"https://cdn.socialdock.test/{media['id']}.jpg"
    bad = await client.post("/api/v1/media", json={"url": "https://example.com/file.exe"})
    assert bad.status_code == 400 and "mp4" in bad.json()["error"]["details"]
    assert (await client.post("/api/v1/media", json={"url": "ftp://x/y.jpg"})).status_code == 400

    hook = (await client.post("/api/v1/webhooks", json={
        "url": "https://yourapp.com/webhooks/socialdock", "events": ["post_published", "post_failed"],
        "secret": "your_signing_secret"})).json()["data"]
    assert set(hook) == {"id", "url", "events", "active"} and hook["active"] is True
    listed = (await client.get("/api/v1/webhooks")).json()["data"]["webhooks"]
    assert [models.Webhook.model_validate(h).id for h in listed] == [hook["id"]]
    assert (await client.delete(f"/api/v1/webhooks/{hook['id']}")).json() == {"data": {"success": True}}
    http_remote = await client.post("/api/v1/webhooks", json={"url": "http://example.com/h",
                                                              "events": ["post_published"]})
    assert http_remote.status_code == 400 and "https" in http_remote.json()["error"]["details"]
    loop_ok = await client.post("/api/v1/webhooks", json={"url": "http://localhost:9/h",
                                                          "events": ["post_failed"]})
    assert loop_ok.status_code == 200


async def test_unknown_route_and_bad_bodies(client: httpx.AsyncClient) -> None:
    missing = await client.get("/api/v1/nope")
    assert missing.status_code == 404 and missing.json()["data"] is None
    malformed = await client.post("/api/v1/posts", content=b"{not json",
                                  headers={"Content-Type": "application/json"})
    assert malformed.status_code == 400 and "Malformed JSON" in malformed.json()["error"]["details"]
    wrong_type = await client.post("/api/v1/posts", content=b"text=hi",
                                   headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert wrong_type.status_code == 400 and "application/json" in wrong_type.json()["error"]["details"]
    array = await client.post("/api/v1/posts", json=[1])
    assert array.status_code == 400 and "object" in array.json()["error"]["details"]
