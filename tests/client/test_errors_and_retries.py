"""Error statuses map onto the error tree; retries follow the policy, and a create is never replayed."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import httpx
import pytest

from sdassist.client import SocialDock
from sdassist.client.errors import (
    RENEW_KEY_HINT,
    AuthenticationError,
    BadRequestError,
    NotFoundError,
    PermissionDeniedError,
    RateLimitError,
    ServerError,
    TransportError,
)
from sdassist.client.models import PostCreate, Target

from .conftest import FREE_KEY, Sandbox

UNKNOWN_KEY = "sd_live_doesnotexist123"


def a_post(account: str) -> PostCreate:
    return PostCreate(text="x", targets=[Target(platform="instagram", account_id=account)],
                      publish_now=False, scheduled_at=datetime.now(UTC) + timedelta(days=1))


async def insta(client: SocialDock) -> str:
    return next(a.id for a in await client.accounts.list() if a.platform == "instagram")


async def test_unknown_key_is_401_with_renewal_hint(sandbox: Sandbox) -> None:
    client = sandbox.client(UNKNOWN_KEY)
    with pytest.raises(AuthenticationError) as caught:
        await client.accounts.list()
    text = str(caught.value)
    assert caught.value.status_code == 401 and caught.value.hint == RENEW_KEY_HINT
    assert "invalid" in text and "expired" in text and "Settings → API" in text
    assert UNKNOWN_KEY not in text and UNKNOWN_KEY not in repr(caught.value)


async def test_free_plan_is_403_with_upgrade_hint(sandbox: Sandbox) -> None:
    with pytest.raises(PermissionDeniedError) as caught:
        await sandbox.client(FREE_KEY).posts.list()
    assert "FREE" in str(caught.value) and "Upgrade" in str(caught.value)


async def test_validation_is_400_and_unknown_is_404(sandbox: Sandbox) -> None:
    client = sandbox.client()
    with pytest.raises(BadRequestError) as caught:
        await client.posts.create(a_post("acc_nope"))
    assert caught.value.details
    with pytest.raises(NotFoundError):
        await client.posts.get("post_missing")
    with pytest.raises(NotFoundError):
        await client.webhooks.delete("wh_missing")
    stats = await sandbox.stats()
    assert stats["requests"]["POST /api/v1/posts"] == 1  # no retry on 4xx


async def test_get_is_retried_through_server_errors(sandbox: Sandbox) -> None:
    client = sandbox.client()
    await sandbox.faults({"path": "/api/v1/accounts", "method": "GET", "error_rate": 1.0, "status": 500,
                          "count": 2})
    assert await client.accounts.list()
    assert (await sandbox.stats())["requests"]["GET /api/v1/accounts"] == 3


async def test_get_gives_up_after_max_retries(asgi_sandbox: Sandbox) -> None:
    client = asgi_sandbox.client(max_retries=2)
    await asgi_sandbox.faults({"path": "/api/v1/webhooks", "error_rate": 1.0, "status": 503})
    with pytest.raises(ServerError) as caught:
        await client.webhooks.list()
    assert caught.value.status_code == 503
    assert (await asgi_sandbox.stats())["requests"]["GET /api/v1/webhooks"] == 3


async def test_post_is_not_retried_on_server_error(sandbox: Sandbox) -> None:
    client = sandbox.client()
    account = await insta(client)
    await sandbox.faults({"path": "/api/v1/posts", "method": "POST", "error_rate": 1.0, "status": 500})
    with pytest.raises(ServerError):
        await client.posts.create(a_post(account))
    assert (await sandbox.stats())["requests"]["POST /api/v1/posts"] == 1


async def test_post_dropped_after_processing_is_ambiguous_and_not_replayed(sandbox: Sandbox) -> None:
    client = sandbox.client()
    account = await insta(client)
    await sandbox.faults({"path": "/api/v1/posts", "method": "POST", "drop_rate": 1.0,
                          "drop_after_processing": True})
    with pytest.raises(TransportError) as caught:
        await client.posts.create(a_post(account))
    assert caught.value.request_sent is True
    stats = await sandbox.stats()
    assert stats["requests"]["POST /api/v1/posts"] == 1
    assert stats["processed"]["POST /api/v1/posts"] == 1  # it was created: reconcile, never replay


async def test_dropped_get_is_retried(sandbox: Sandbox) -> None:
    client = sandbox.client()
    await sandbox.faults({"path": "/api/v1/webhooks", "method": "GET", "drop_rate": 1.0, "count": 1})
    assert await client.webhooks.list() == []
    assert (await sandbox.stats())["requests"]["GET /api/v1/webhooks"] == 2


class RefuseFirst(httpx.AsyncBaseTransport):
    """A connection that fails to open the first `n` times: nothing was sent."""

    def __init__(self, inner: httpx.AsyncBaseTransport, n: int = 1) -> None:
        self.inner, self.left = inner, n

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if self.left:
            self.left -= 1
            raise httpx.ConnectError("connection refused", request=request)
        return await self.inner.handle_async_request(request)


async def test_post_is_retried_when_nothing_was_sent(asgi_sandbox: Sandbox) -> None:
    client = asgi_sandbox.client()
    account = await insta(client)
    flaky = SocialDock("sd_test_sandbox", base_url=asgi_sandbox.base_url,
                       transport=RefuseFirst(asgi_sandbox.transport_factory(), 2))
    flaky._loop.backoff_base = 0.01
    asgi_sandbox.clients.append(flaky)
    post = await flaky.posts.create(a_post(account))
    assert post.status == "scheduled"
    assert (await asgi_sandbox.stats())["requests"]["POST /api/v1/posts"] == 1


async def test_connection_refused_is_not_sent() -> None:
    from .conftest import free_port

    client = SocialDock("sd_test_sandbox", base_url=f"http://127.0.0.1:{free_port()}", max_retries=1)
    client._loop.backoff_base = 0.01
    async with client:
        with pytest.raises(TransportError) as caught:
            await client.accounts.list()
    assert caught.value.request_sent is False


async def test_overall_deadline(asgi_sandbox: Sandbox) -> None:
    client = asgi_sandbox.client(deadline=0.3, max_retries=0)
    await asgi_sandbox.faults({"path": "/api/v1/accounts", "latency_rate": 1.0, "latency_ms": 2000})
    with pytest.raises(TransportError) as caught:
        await client.accounts.list()
    assert caught.value.request_sent is True and "deadline" in str(caught.value)


async def test_injected_429_is_waited_out_post_included(sandbox: Sandbox) -> None:
    client = sandbox.client()
    account = await insta(client)
    await sandbox.faults({"path": "/api/v1/posts", "method": "POST", "error_rate": 1.0, "status": 429,
                          "count": 1, "retry_after_seconds": 0.3})
    post = await client.posts.create(a_post(account))
    assert post.status == "scheduled"
    stats = await sandbox.stats()
    assert stats["requests"]["POST /api/v1/posts"] == 2 and stats["processed"]["POST /api/v1/posts"] == 1


async def test_rate_limit_error_after_persistent_429(asgi_sandbox: Sandbox) -> None:
    client = asgi_sandbox.client()
    client._loop.max_rate_limit_retries = 1
    await asgi_sandbox.faults({"path": "/api/v1/webhooks", "error_rate": 1.0, "status": 429,
                               "retry_after_seconds": 0.2})
    with pytest.raises(RateLimitError) as caught:
        await client.webhooks.list()
    assert caught.value.retry_after is not None and caught.value.retry_after.tzinfo is not None
