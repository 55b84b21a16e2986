"""Files people attach in Slack, downloaded with the bot token (`files:read`) into the media store.

Slack serves a file's bytes at its `url_private_download` to requests carrying the bot token. The token
goes only to Slack's own file host (or to the Web API host sdassist is configured with: a proxy, the tests'
fake), never to wherever a URL in a payload points. The bytes stream straight into the store, which reads
their real type from the first bytes and stops at the size limit.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine, Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import httpx
from slack_sdk.web.async_client import AsyncWebClient

from sdassist.config import Settings
from sdassist.publishing.media import MediaError, MediaFile, MediaStore
from sdassist.publishing.platforms import megabytes

__all__ = ["CARD_IMAGE_TTL", "SlackFile", "SlackFiles", "attachable", "card_media"]

log = logging.getLogger("sdassist.slack")
SLACK_FILE_HOSTS = ("files.slack.com",)
DOWNLOAD_TIMEOUT = httpx.Timeout(30.0, connect=10.0)
CARD_IMAGE_TTL = 7 * 24 * 3600
"""Seconds a card's image links stay good (every change to the card renders fresh ones)."""


@dataclass(frozen=True)
class SlackFile:
    """What Slack says about a file: enough for the file rules before downloading it."""

    id: str
    name: str
    mimetype: str
    size: int

    @classmethod
    def of(cls, data: Mapping[str, Any]) -> SlackFile:
        return cls(id=str(data.get("id") or ""), name=str(data.get("name") or data.get("title") or "file"),
                   mimetype=str(data.get("mimetype") or ""), size=int(data.get("size") or 0))

    @property
    def facts(self) -> tuple[str, str, int]:
        return self.name, self.mimetype, self.size


def attachable(files: Sequence[Mapping[str, Any]] | None) -> tuple[list[SlackFile], list[SlackFile]]:
    """(images and videos, everything else) among a message's files."""
    found = [SlackFile.of(f) for f in files or [] if f.get("id") and f.get("mode") != "tombstone"]
    media = [f for f in found if f.mimetype.startswith(("image/", "video/"))]
    return media, [f for f in found if f not in media]


class SlackFiles:
    """Downloads Slack files into the media store, once per file (several clicks on one message share it).

    Downloads run in tasks started by `spawn`: the face's, so that its stop() cancels and awaits them with the
    rest of its background work instead of leaving them to write into a store that is closing."""

    def __init__(self, client: AsyncWebClient, settings: Settings, store: MediaStore | None,
                 spawn: Callable[[Coroutine[Any, Any, Any]], asyncio.Task[Any]] = asyncio.ensure_future) -> None:
        self.client, self.settings, self.store = client, settings, store
        self.spawn = spawn
        self._running: dict[str, asyncio.Task[MediaFile]] = {}
        self._http: httpx.AsyncClient | None = None

    def open(self) -> None:
        """One HTTP client for every download, made at start: making one loads the CA certificates (tens of ms
        of CPU on the event loop), which a client per download paid in the middle of other people's acks."""
        if self._http is None:
            self._http = httpx.AsyncClient(timeout=DOWNLOAD_TIMEOUT, follow_redirects=True)

    async def close(self) -> None:
        if self._http is not None:
            http, self._http = self._http, None
            await http.aclose()

    def allowed_host(self, url: str) -> bool:
        """Slack's file host, or the host of SDASSIST_SLACK_API_URL when sdassist talks to Slack through it."""
        host = (urlsplit(url).hostname or "").lower()
        if urlsplit(url).scheme == "https" and (host in SLACK_FILE_HOSTS or host.endswith(".slack.com")):
            return True
        configured = self.settings.slack_api_url
        return bool(configured) and host == (urlsplit(configured).hostname or "").lower()  # type: ignore[arg-type]

    async def fetch(self, file_id: str, owner: str) -> MediaFile:
        """The stored copy of a Slack file, downloading it unless it is stored already."""
        if self.store is None:
            raise MediaError("this sdassist has no media store open")
        known = await self.store.by_source(f"slack:{file_id}")
        if known is not None:
            return known
        task = self._running.get(file_id)
        if task is None:
            task = self.spawn(self._download(file_id, owner))
            self._running[file_id] = task
            task.add_done_callback(lambda _t: self._running.pop(file_id, None))
        return await asyncio.shield(task)

    def prefetch(self, files: Sequence[SlackFile], owner: str) -> None:
        """Start downloading in the background (the composer is open meanwhile); failures surface on submit."""
        for f in files:
            task = self.spawn(self.fetch(f.id, owner))
            task.add_done_callback(lambda t: t.cancelled() or t.exception())

    async def info(self, file_id: str) -> dict[str, Any]:
        try:
            return dict((await self.client.files_info(file=file_id))["file"])
        except Exception as exc:
            raise MediaError(f"Slack would not give sdassist the file {file_id} ({_reason(exc)})",
                             hint="Check that the app has the files:read scope and is in that conversation.") from None

    async def _download(self, file_id: str, owner: str) -> MediaFile:
        assert self.store is not None
        data = await self.info(file_id)
        described = SlackFile.of(data)
        url = data.get("url_private_download") or data.get("url_private") or ""
        if not self.allowed_host(url):
            raise MediaError(f"{described.name} is not on Slack's file host", hint="Attach the file in Slack itself.")
        token = self.settings.slack_bot_token.get_secret_value() if self.settings.slack_bot_token else ""
        limit = int(self.settings.media_max_mb * 1_000_000)
        if described.size > limit:
            raise MediaError(f"{described.name} is {megabytes(described.size)}, more than the "
                             f"{limit / 1_000_000:,.0f} MB sdassist stores", hint="Attach a smaller file.")
        async with contextlib.AsyncExitStack() as opened:
            http = self._http or await opened.enter_async_context(  # not opened (a face never started)
                httpx.AsyncClient(timeout=DOWNLOAD_TIMEOUT, follow_redirects=True))
            response = await opened.enter_async_context(
                http.stream("GET", url, headers={"Authorization": f"Bearer {token}"}))
            if response.status_code != 200:
                raise MediaError(f"Slack answered HTTP {response.status_code} for {described.name}",
                                 hint="Check that the app has the files:read scope; then try again.")
            return await self.store.put(_body(response), name=described.name, owner=owner, max_bytes=limit,
                                        source=f"slack:{file_id}")


async def _body(response: httpx.Response) -> AsyncIterator[bytes]:
    async for chunk in response.aiter_bytes():
        yield chunk


def _reason(exc: Exception) -> str:
    answer = getattr(exc, "response", None)
    error = answer.get("error") if answer is not None and hasattr(answer, "get") else None
    return str(error or type(exc).__name__)


def card_media(store: MediaStore | None, public_url: str | None) -> Callable[[Any], Awaitable[list[dict[str, Any]]]]:
    """For the approval card: the draft's media that are files sdassist stored, each with its name and size,
    and for images a signed URL Slack fetches to show them (only with SDASSIST_PUBLIC_URL)."""

    async def describe(draft: Any) -> list[dict[str, Any]]:
        if store is None:
            return []
        known = await store.by_socialdock_urls(draft.media_urls)
        out: list[dict[str, Any]] = []
        for url in draft.media_urls:
            file = known.get(url)
            if file is None:
                continue
            item: dict[str, Any] = {"url": url, "name": file.name, "size_text": file.size_text}
            if file.kind == "image" and public_url:
                item["image_url"] = await store.signed_url(file, base_url=public_url, ttl=CARD_IMAGE_TTL)
            out.append(item)
        return out

    return describe
