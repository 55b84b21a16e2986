"""`POST /posts` refuses what SocialDock would, and says exactly what to change."""

from __future__ import annotations

import httpx
import pytest

from .conftest import first_account


async def _problems(client: httpx.AsyncClient, body: dict) -> str:
    response = await client.post("/api/v1/posts", json=body)
    assert response.status_code == 400, response.text
    assert response.json()["data"] is None
    return response.json()["error"]["details"]


async def test_text_and_targets_are_required(client: httpx.AsyncClient) -> None:
    details = await _problems(client, {})
    assert "text is required" in details and "targets is required" in details
    assert "must be one of" in await _problems(client, {"text": "hi", "targets": [{"platform": "myspace",
                                                                                    "account_id": "acc_x"}]})


async def test_unknown_or_mismatched_account(client: httpx.AsyncClient) -> None:
    response = await client.post("/api/v1/posts", json={
        "text": "hi", "targets": [{"platform": "instagram", "account_id": "acc_missing"}]})
    assert response.json()["error"] == {"message": "Account not found",
                                        "details": "No account with id acc_missing exists in this workspace."}
    linkedin = await first_account(client, "linkedin")
    details = await _problems(client, {"text": "hi", "targets": [{"platform": "instagram",
                                                                   "account_id": linkedin}]})
    assert "is a linkedin account, not instagram" in details


@pytest.mark.parametrize(("platform", "extra", "expected"), [
    ("youtube", {"media_urls": ["https://x.test/v.mp4"]}, "youtube: title is required"),
    ("youtube", {"title": "T"}, "youtube: a video is required"),
    ("youtube", {"title": "T", "media_urls": ["https://x.test/v.mp4"], "text": "a <b>"}, "must not contain <"),
    ("reddit", {"title": "T"}, "reddit: metadata.subreddit is required"),
    ("tiktok", {"media_urls": ["https://x.test/a.jpg", "https://x.test/v.mp4"]}, "tiktok: images are not"),
    ("tiktok", {}, "tiktok: exactly one video is required (0 given)"),
    ("threads", {"media_urls": ["https://x.test/v.mov"]}, "threads: video is not supported"),
    ("reddit", {"title": "T", "media_urls": ["https://x.test/v.webm"]}, "reddit: video is not supported"),
    ("linkedin", {"media_urls": ["https://x.test/a.jpg", "https://x.test/b.png"]}, "carousels are not supported"),
    ("telegram", {"media_urls": ["https://x.test/a.jpg"], "text": "x" * 1025}, "the limit is 1024 with media"),
    ("threads", {"text": "🚀" * 126}, "threads: text is 504 UTF-8 bytes, the limit is 500: shorten by 4"),
    ("linkedin", {"text": "x" * 3412}, "linkedin: text is 3412 characters, the limit is 3000: shorten by 412"),
])
async def test_platform_rules(client: httpx.AsyncClient, platform: str, extra: dict, expected: str) -> None:
    account = await first_account(client, platform)
    body = {"text": "hello", "targets": [{"platform": platform, "account_id": account}], **extra}
    assert expected in await _problems(client, body)


async def test_valid_platform_specific_posts_publish(client: httpx.AsyncClient) -> None:
    reddit, tiktok = await first_account(client, "reddit"), await first_account(client, "tiktok")
    media = (await client.post("/api/v1/media", json={"url": "https://x.test/clip.mov"})).json()["data"]
    response = await client.post("/api/v1/posts", json={
        "text": "hello", "title": "Hi",
        "targets": [{"platform": "reddit", "account_id": reddit, "metadata": {"subreddit": "r/test"}},
                    {"platform": "tiktok", "account_id": tiktok}],
        "media_urls": [], "publish_now": True})
    assert response.status_code == 400  # tiktok needs its video
    response = await client.post("/api/v1/posts", json={
        "text": "hello", "targets": [{"platform": "tiktok", "account_id": tiktok}],
        "media_urls": [media["url"]]})  # publish_now defaults to true; the cdn URL is known to be a video
    assert response.status_code == 200 and response.json()["data"]["status"] == "published"


async def test_scheduling_fields(client: httpx.AsyncClient) -> None:
    insta = await first_account(client, "instagram")
    base = {"text": "hi", "targets": [{"platform": "instagram", "account_id": insta}], "publish_now": False}
    assert "scheduled_at is required when publish_now is false" in await _problems(client, base)
    assert "ISO 8601" in await _problems(client, {**base, "scheduled_at": "tomorrow"})
    assert "not in the future" in await _problems(client, {**base, "scheduled_at": "2020-01-01T00:00:00Z"})
    assert "publish_now must be true or false" in await _problems(client, {**base, "publish_now": "no"})
    ignored = await client.post("/api/v1/posts", json={**base, "publish_now": True, "scheduled_at": "garbage"})
    assert ignored.json()["data"]["status"] == "published"


async def test_list_filters_and_paging(client: httpx.AsyncClient) -> None:
    insta = await first_account(client, "instagram")
    for i in range(3):
        await client.post("/api/v1/posts", json={"text": f"p{i}", "targets": [
            {"platform": "instagram", "account_id": insta}]})
    page = (await client.get("/api/v1/posts", params={"limit": 2, "offset": 1})).json()
    assert page["meta"] == {"total": 3, "limit": 2, "offset": 1}
    assert [p["text"] for p in page["data"]["posts"]] == ["p1", "p0"]
    assert (await client.get("/api/v1/posts", params={"limit": 101})).status_code == 400
    assert (await client.get("/api/v1/posts", params={"status": "draft"})).status_code == 400
    assert (await client.get("/api/v1/posts", params={"platform": "reddit"})).json()["meta"]["total"] == 0
