"""`POST /socialdock/webhook`: SocialDock's outcome events, verified, de-duplicated, relayed to the thread.

The signature covers the raw body and carries no timestamp, so checks run in this order: size, content
type, signature (constant time, on the raw bytes), then JSON. Duplicates are dropped by the publisher's
`apply_webhook` (one event id, one effect, in every process sharing the database). The answer goes back at
once; the Slack messages follow in a task, so SocialDock never waits on Slack.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web
from pydantic import ValidationError

from sdassist.client import SIGNATURE_HEADER, verify_signature
from sdassist.client.models import WebhookEvent
from sdassist.publishing.drafts import Draft
from sdassist.publishing.publisher import Publisher
from sdassist.slack.blocks import escape, platform_name

log = logging.getLogger("sdassist.slack")
WEBHOOK_PATH = "/socialdock/webhook"
MAX_BODY = 64 * 1024

Relay = Callable[[Draft, WebhookEvent], Awaitable[None]]


def event_text(event: WebhookEvent) -> str:
    """"published on Instagram" / "failed on LinkedIn: reason", for the thread."""
    data = event.data
    where = platform_name(data.platform)
    status = data.status or ("published" if event.event == "post_published" else "failed")
    if status == "published":
        link = f" ({escape(data.platform_post_id)})" if data.platform_post_id else ""
        return f":white_check_mark: Published on {where}{link}, post `{data.post_id}`."
    return f":warning: Failed on {where}: {escape(data.error or 'no reason given')} (post `{data.post_id}`)."


def _refuse(status: int, reason: str) -> web.Response:
    return web.json_response({"ok": False, "error": reason}, status=status)


def make_handler(publisher: Callable[[], Publisher], secret: Callable[[], str | None], relay: Relay,
                 tasks: set[asyncio.Task[Any]]) -> Callable[[web.Request], Awaitable[web.Response]]:
    """The aiohttp handler. `publisher` and `secret` are read per request (the runtime opens after routing)."""

    async def handle(request: web.Request) -> web.Response:
        key = secret()
        if not key:
            return _refuse(503, "SDASSIST_WEBHOOK_SECRET is not set on this server, so no event can be verified")
        if request.content_length is not None and request.content_length > MAX_BODY:
            return _refuse(413, f"body larger than {MAX_BODY} bytes")
        raw = await request.content.read(MAX_BODY + 1)
        if len(raw) > MAX_BODY:
            return _refuse(413, f"body larger than {MAX_BODY} bytes")
        if request.content_type != "application/json":
            return _refuse(415, "Content-Type must be application/json")
        if not verify_signature(raw, request.headers.get(SIGNATURE_HEADER), key):
            return _refuse(401, f"missing or wrong {SIGNATURE_HEADER}")
        try:
            event = WebhookEvent.model_validate(json.loads(raw))
        except (ValueError, ValidationError) as exc:
            reason = "body is not JSON" if isinstance(exc, json.JSONDecodeError) else "body is not a SocialDock event"
            return _refuse(400, reason)
        draft = await publisher().apply_webhook(event)
        if draft is None:
            return web.json_response({"ok": True, "applied": False})
        task = asyncio.create_task(relay(draft, event))
        tasks.add(task)
        task.add_done_callback(tasks.discard)
        return web.json_response({"ok": True, "applied": True})

    return handle
