"""Every endpoint through the client, against the sandbox in process and over HTTP."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta, timezone

import httpx
import pytest

from sdassist.client import SocialDock
from sdassist.client.errors import NotFoundError
from sdassist.client.models import PostCreate, PostUpdate, Target
from sdassist.sandbox import create_app

from .conftest import Sandbox, sandbox_config


async def account_id(client: SocialDock, platform: str) -> str:
    return next(a.id for a in await client.accounts.list() if a.platform == platform)


def scheduled(account: str, text: str = "hello", days: int = 1) -> PostCreate:
    return PostCreate(
        text=text,
        targets=[Target(platform="instagram", account_id=account)],
        publish_now=False,
        scheduled_at=datetime.now(UTC) + timedelta(days=days),
    )


async def test_accounts(sandbox: Sandbox) -> None:
    client = sandbox.client()
    accounts = await client.accounts.list()
    assert {a.platform for a in accounts} >= {"instagram", "youtube"}
    status = await client.accounts.status("youtube")
    assert "youtube" in status.connected_platforms and status.accounts
    link = await client.accounts.connect(platform="linkedin", redirect_url="https://example.com/cb")
    assert link.platform == "linkedin" and link.connect_url.startswith("http") and link.expires_at.tzinfo
    insta = await account_id(client, "instagram")
    analytics = await client.accounts.analytics(insta)
    assert analytics.platform == "instagram" and analytics.metrics.followers is not None
    await client.accounts.disconnect(insta)
    assert insta not in {a.id for a in await client.accounts.list()}


async def test_post_lifecycle(sandbox: Sandbox) -> None:
    client = sandbox.client()
    insta = await account_id(client, "instagram")
    post = await client.posts.create(scheduled(insta, "first"))
    assert post.id.startswith("post_") and post.status == "scheduled"
    fetched = await client.posts.get(post.id)
    assert fetched.text == "first" and fetched.scheduled_at is not None

    later = datetime.now(UTC) + timedelta(days=2)
    updated = await client.posts.update(post.id, PostUpdate(text="second", scheduled_at=later))
    assert updated.id == post.id and updated.text == "second"
    assert abs((updated.scheduled_at - later).total_seconds()) < 1

    page = await client.posts.list(status="scheduled", limit=5)
    assert page.total == 1 and page.posts[0].id == post.id and page.limit == 5

    now = await client.posts.create(
        PostCreate(text="now", targets=[Target(platform="instagram", account_id=insta)], publish_now=True)
    )
    assert now.status == "published"
    analytics = await client.posts.analytics(now.id)
    assert analytics.post_id == now.id and analytics.targets[0].platform == "instagram"

    overview = await client.analytics.overview(period="7d")
    assert overview.summary.total_posts >= 2

    await client.posts.delete(post.id)
    with pytest.raises(NotFoundError):
        await client.posts.get(post.id)


async def test_media_and_webhooks(sandbox: Sandbox) -> None:
    client = sandbox.client()
    media = await client.media.upload(url="https://example.com/photo.jpg", file_name="photo.jpg")
    assert media.id.startswith("med_") and media.url
    hook = await client.webhooks.create(
        url="https://example.com/hooks", events=["post_published", "post_failed"], secret="s3cret"
    )
    assert hook.id.startswith("wh_") and hook.active
    assert [w.id for w in await client.webhooks.list()] == [hook.id]
    await client.webhooks.delete(hook.id)
    assert await client.webhooks.list() == []


async def test_iter_all_follows_pagination(asgi_sandbox: Sandbox) -> None:
    client = asgi_sandbox.client()
    insta = await account_id(client, "instagram")
    created = [(await client.posts.create(scheduled(insta, f"p{i}"))).id for i in range(7)]
    seen = [p.id async for p in client.posts.iter_all(status="scheduled", page_size=3)]
    assert sorted(seen) == sorted(created)
    stats = await asgi_sandbox.stats()
    assert stats["requests"]["GET /api/v1/posts"] == 3  # 3 + 3 + 1


class Recorder(httpx.AsyncBaseTransport):
    """Passes requests to the sandbox and keeps them, to check what went over the wire."""

    def __init__(self, inner: httpx.AsyncBaseTransport) -> None:
        self.inner = inner
        self.requests: list[httpx.Request] = []

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        await request.aread()
        self.requests.append(request)
        return await self.inner.handle_async_request(request)


async def test_wire_format() -> None:
    app = create_app(sandbox_config())
    recorder = Recorder(httpx.ASGITransport(app=app))
    async with SocialDock("sd_test_sandbox", base_url="http://sandbox.test", transport=recorder) as client:
        insta = await account_id(client, "instagram")
        berlin = timezone(timedelta(hours=1))
        when = datetime(2031, 3, 1, 10, 0, tzinfo=berlin)
        body = PostCreate(text="t", targets=[Target(platform="instagram", account_id=insta)],
                          publish_now=False, scheduled_at=when)
        post = await client.posts.create(body)
        await client.posts.update(post.id, PostUpdate(text="only text"))
        with pytest.raises(NotFoundError):
            await client.posts.get("post_ü ?#x")
        for bad in ("..", ".", "", "a/b"):
            with pytest.raises(ValueError):
                await client.posts.get(bad)
    await app.state.sandbox.aclose()

    create, update, get = recorder.requests[1:]
    sent = json.loads(create.content)
    assert sent["publish_now"] is False and sent["scheduled_at"] == "2031-03-01T09:00:00Z"
    assert "title" not in sent  # unset optionals are left out
    assert json.loads(update.content) == {"text": "only text"}
    assert get.url.raw_path == b"/api/v1/posts/post_%C3%BC%20%3F%23x"
    assert create.headers["Authorization"] == "Bearer sd_test_sandbox"
    keys = [r.headers["Idempotency-Key"] for r in recorder.requests]
    assert len(set(keys)) == len(keys)
    assert len(recorder.requests) == 4  # refused ids never went out


async def test_publish_now_true_is_sent_explicitly() -> None:
    app = create_app(sandbox_config())
    recorder = Recorder(httpx.ASGITransport(app=app))
    async with SocialDock("sd_test_sandbox", base_url="http://sandbox.test", transport=recorder) as client:
        insta = await account_id(client, "instagram")
        await client.posts.create(
            PostCreate(text="t", targets=[Target(platform="instagram", account_id=insta)], publish_now=True)
        )
    await app.state.sandbox.aclose()
    assert json.loads(recorder.requests[-1].content)["publish_now"] is True
