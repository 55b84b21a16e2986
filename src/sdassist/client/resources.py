"""One class per API area; each method is one endpoint, turning models into wire JSON and back."""

from __future__ import annotations

import functools
import inspect
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

from pydantic import ValidationError

from ._paths import segment
from ._transport import RequestLoop
from .errors import UnexpectedResponse
from .models import (
    Account,
    AccountAnalytics,
    AccountStatus,
    ConnectLink,
    Media,
    Overview,
    Post,
    PostAnalytics,
    PostCreate,
    PostPage,
    PostUpdate,
    Webhook,
)

API = "/api/v1"

_RESPONSE_MODELS = frozenset({
    "Account", "AccountAnalytics", "AccountStatus", "ConnectLink", "Media", "Overview", "Post", "PostAnalytics",
    "PostPage", "Webhook",
})


def utc_z(moment: datetime) -> str:
    """ISO 8601 in UTC with a `Z`, as SocialDock's examples write it. A naive value is refused: it would be
    read in this machine's zone."""
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(f"{moment.isoformat()} has no time zone: give an aware datetime (UTC is sent)")
    moment = moment.astimezone(UTC)
    text = moment.strftime("%Y-%m-%dT%H:%M:%S")
    if moment.microsecond:
        text += f".{moment.microsecond // 1000:03d}"
    return text + "Z"


def _items(data: Any, key: str) -> list[Any]:
    """A list the API wraps as `{"key": [...]}` (a bare list is accepted too)."""
    if isinstance(data, dict):
        data = data.get(key, [])
    return list(data or [])


def _shape_problem(exc: ValidationError) -> str:
    """The first few problems, by field and reason (never the values: they are SocialDock's data)."""
    problems = [f"{'.'.join(str(p) for p in e['loc']) or 'body'}: {e['msg']}" for e in exc.errors()[:3]]
    more = exc.error_count() - len(problems)
    return "; ".join(problems) + (f"; and {more} more" if more > 0 else "")


def _checked_shape(method: Callable[..., Awaitable[Any]], what: str) -> Callable[..., Awaitable[Any]]:
    @functools.wraps(method)
    async def call(*args: Any, **kwargs: Any) -> Any:
        try:
            return await method(*args, **kwargs)
        except ValidationError as exc:
            if exc.title not in _RESPONSE_MODELS:
                raise  # a request the caller built wrong, not SocialDock's answer
            raise UnexpectedResponse(
                f"SocialDock's answer to {what} is not in the documented shape", details=_shape_problem(exc)
            ) from exc

    return call


class _Resource:
    """Every public call turns an answer that does not fit its model into `UnexpectedResponse`."""

    def __init__(self, loop: RequestLoop) -> None:
        self._loop = loop

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        for name, member in list(vars(cls).items()):
            if not name.startswith("_") and inspect.iscoroutinefunction(member):
                setattr(cls, name, _checked_shape(member, f"{cls.__name__.lower()}.{name}"))


class Accounts(_Resource):
    """Connected social accounts: OAuth connect, list, status, disconnect, analytics."""

    async def connect(self, *, platform: str, redirect_url: str) -> ConnectLink:
        env = await self._loop.request(
            "POST", f"{API}/accounts/connect", json={"platform": platform, "redirect_url": redirect_url}
        )
        return ConnectLink.model_validate(env.data)

    async def list(self) -> list[Account]:
        env = await self._loop.request("GET", f"{API}/accounts")
        return [Account.model_validate(a) for a in _items(env.data, "accounts")]

    async def status(self, platform: str | None = None) -> AccountStatus:
        env = await self._loop.request("GET", f"{API}/accounts/status", params={"platform": platform})
        return AccountStatus.model_validate(env.data or {})

    async def disconnect(self, account_id: str) -> None:
        await self._loop.request("DELETE", f"{API}/accounts/{segment(account_id)}")

    async def analytics(self, account_id: str) -> AccountAnalytics:
        env = await self._loop.request("GET", f"{API}/accounts/{segment(account_id)}/analytics")
        return AccountAnalytics.model_validate(env.data)


class Posts(_Resource):
    """Create, list, read, update and delete posts, and their analytics."""

    async def create(self, body: PostCreate) -> Post:
        payload = body.model_dump(mode="json", exclude_none=True)
        payload["publish_now"] = body.publish_now  # never left to SocialDock's default (true)
        if body.scheduled_at is not None:
            payload["scheduled_at"] = utc_z(body.scheduled_at)
        env = await self._loop.request("POST", f"{API}/posts", json=payload)
        return Post.model_validate(env.data)

    async def list(
        self, *, status: str | None = None, platform: str | None = None, limit: int = 20, offset: int = 0
    ) -> PostPage:
        params = {"status": status, "platform": platform, "limit": limit, "offset": offset}
        env = await self._loop.request("GET", f"{API}/posts", params=params)
        posts = [Post.model_validate(p) for p in _items(env.data, "posts")]
        meta = env.meta
        return PostPage(
            posts=posts,
            total=int(meta.get("total", offset + len(posts))),
            limit=int(meta.get("limit", limit)),
            offset=int(meta.get("offset", offset)),
        )

    async def iter_all(
        self, *, status: str | None = None, platform: str | None = None, page_size: int = 100
    ) -> AsyncIterator[Post]:
        """Every post matching the filters, page by page."""
        offset = 0
        while True:
            page = await self.list(status=status, platform=platform, limit=page_size, offset=offset)
            for post in page.posts:
                yield post
            offset += len(page.posts)
            if not page.posts or offset >= page.total:
                return

    async def get(self, post_id: str) -> Post:
        env = await self._loop.request("GET", f"{API}/posts/{segment(post_id)}")
        return Post.model_validate(env.data)

    async def update(self, post_id: str, body: PostUpdate) -> Post:
        payload = body.model_dump(mode="json", exclude_unset=True, exclude_none=True)
        if body.scheduled_at is not None:
            payload["scheduled_at"] = utc_z(body.scheduled_at)
        env = await self._loop.request("PUT", f"{API}/posts/{segment(post_id)}", json=payload)
        data = env.data
        if isinstance(data, dict) and isinstance(data.get("post"), dict):
            data = data["post"]
        return Post.model_validate(data)

    async def delete(self, post_id: str) -> None:
        await self._loop.request("DELETE", f"{API}/posts/{segment(post_id)}")

    async def analytics(self, post_id: str) -> PostAnalytics:
        env = await self._loop.request("GET", f"{API}/posts/{segment(post_id)}/analytics")
        return PostAnalytics.model_validate(env.data)


class Analytics(_Resource):
    """The workspace-wide summary."""

    async def overview(self, period: str = "30d") -> Overview:
        env = await self._loop.request("GET", f"{API}/analytics/overview", params={"period": period})
        return Overview.model_validate(env.data)


class MediaResource(_Resource):
    """Media uploaded by URL; SocialDock fetches it."""

    async def upload(self, *, url: str, file_name: str | None = None) -> Media:
        payload: dict[str, Any] = {"url": url}
        if file_name is not None:
            payload["file_name"] = file_name
        env = await self._loop.request("POST", f"{API}/media", json=payload)
        return Media.model_validate(env.data)


class Webhooks(_Resource):
    """Webhook endpoints SocialDock signs and posts events to."""

    async def create(self, *, url: str, events: list[str], secret: str | None = None) -> Webhook:
        payload: dict[str, Any] = {"url": url, "events": list(events)}
        if secret is not None:
            payload["secret"] = secret
        env = await self._loop.request("POST", f"{API}/webhooks", json=payload)
        return Webhook.model_validate(env.data)

    async def list(self) -> list[Webhook]:
        env = await self._loop.request("GET", f"{API}/webhooks")
        return [Webhook.model_validate(w) for w in _items(env.data, "webhooks")]

    async def delete(self, webhook_id: str) -> None:
        await self._loop.request("DELETE", f"{API}/webhooks/{segment(webhook_id)}")
