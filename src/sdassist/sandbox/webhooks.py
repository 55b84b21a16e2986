"""Signed webhook delivery with retries; only loopback receivers are ever contacted."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import ipaddress
import json
from collections.abc import Callable
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

import httpx

from .clock import iso

NOT_LOOPBACK = "not loopback: the sandbox never contacts other hosts"


def is_loopback_url(url: str) -> bool:
    host = (urlsplit(url).hostname or "").lower()
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def check_webhook_url(url: Any) -> str | None:
    """Why a URL cannot receive webhooks, or None when it can."""
    if not isinstance(url, str) or not url:
        return "url is required"
    parts = urlsplit(url)
    if parts.scheme == "https" and parts.hostname:
        return None
    if parts.scheme == "http" and parts.hostname:
        if is_loopback_url(url):
            return None
        return "url must use https (http is accepted only for loopback: 127.0.0.0/8, ::1, localhost)"
    return "url must be an absolute https URL"


def sign(body: bytes, secret: str) -> str:
    """Lowercase hex HMAC-SHA256 of the raw body, as in `X-SocialDock-Signature`."""
    return hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


class Dispatcher:
    """Queues events and delivers them in tasks on whichever loop is running."""

    def __init__(self, *, now: Callable[[], datetime], backoff: float, max_attempts: int,
                 timeout: float) -> None:
        self.now = now
        self.backoff = backoff
        self.max_attempts = max_attempts
        self.timeout = timeout
        self.deliveries: list[dict[str, Any]] = []
        self._pending: list[tuple[dict[str, Any], dict[str, Any]]] = []
        self._tasks: set[asyncio.Task[None]] = set()

    def submit(self, webhook: dict[str, Any], event: dict[str, Any]) -> None:
        """Deliver `event` to `webhook` ({id, url, secret}) soon."""
        self._pending.append((webhook, event))
        self.kick()

    def kick(self) -> None:
        """Start tasks for queued deliveries when a loop is running; otherwise they wait."""
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            return
        self._tasks = {t for t in self._tasks if not t.done() and t.get_loop() is loop}
        while self._pending:
            webhook, event = self._pending.pop(0)
            task = loop.create_task(self._deliver(webhook, event))
            self._tasks.add(task)

    def _record(self, event: dict[str, Any], webhook: dict[str, Any], attempt: int, *,
                status_code: int | None = None, error: str | None = None, delivered: bool = False) -> None:
        self.deliveries.append({
            "event_id": event["id"], "event": event["event"], "webhook_id": webhook["id"],
            "url": webhook["url"], "attempt": attempt, "status_code": status_code, "error": error,
            "delivered": delivered, "at": iso(self.now()),
        })

    async def _deliver(self, webhook: dict[str, Any], event: dict[str, Any]) -> None:
        if not is_loopback_url(webhook["url"]):
            self._record(event, webhook, 1, error=NOT_LOOPBACK)
            return
        body = json.dumps(event, separators=(",", ":")).encode()
        headers = {"Content-Type": "application/json", "User-Agent": "SocialDock-Sandbox-Webhooks/1"}
        if webhook.get("secret"):
            headers["X-SocialDock-Signature"] = sign(body, webhook["secret"])
        async with httpx.AsyncClient(timeout=self.timeout, trust_env=False, verify=False) as client:
            for attempt in range(1, self.max_attempts + 1):
                try:
                    response = await client.post(webhook["url"], content=body, headers=headers)
                except httpx.HTTPError as exc:
                    self._record(event, webhook, attempt, error=f"{type(exc).__name__}: {exc}")
                else:
                    ok = 200 <= response.status_code < 300
                    self._record(event, webhook, attempt, status_code=response.status_code, delivered=ok,
                                 error=None if ok else f"HTTP {response.status_code}")
                    if ok:
                        return
                if attempt < self.max_attempts:
                    await asyncio.sleep(self.backoff * 2 ** (attempt - 1))

    async def aclose(self) -> None:
        """Cancel the deliveries running on this loop (others belong to loops that are gone)."""
        loop = asyncio.get_running_loop()
        mine = [t for t in self._tasks if t.get_loop() is loop and not t.done()]
        for task in mine:
            task.cancel()
        await asyncio.gather(*mine, return_exceptions=True)
        self._tasks.clear()

    def reset(self) -> None:
        self.deliveries.clear()
        self._pending.clear()
        for task in self._tasks:
            if not task.done() and not task.get_loop().is_closed():
                task.get_loop().call_soon_threadsafe(task.cancel)
        self._tasks.clear()
