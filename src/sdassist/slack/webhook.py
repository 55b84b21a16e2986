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
from slack_bolt.request.async_request import AsyncBoltRequest
from slack_bolt.request.internals import parse_body
from slack_sdk.signature import SignatureVerifier

from sdassist import jsonbody
from sdassist.client import SIGNATURE_HEADER, verify_signature
from sdassist.client.models import WebhookEvent
from sdassist.publishing.drafts import Draft
from sdassist.publishing.publisher import Publisher, webhook_outcome_recorded
from sdassist.slack.blocks import escape, platform_name

log = logging.getLogger("sdassist.slack")
WEBHOOK_PATH = "/socialdock/webhook"
EVENTS_PATH = "/slack/events"
MAX_BODY = 64 * 1024
SLACK_CONTENT_TYPES = ("application/x-www-form-urlencoded", "application/json")

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
            event = WebhookEvent.model_validate(jsonbody.loads(raw))
        except (ValueError, ValidationError) as exc:
            reason = str(exc) if isinstance(exc, jsonbody.JSONBodyError) else "body is not a SocialDock event"
            return _refuse(400, reason)
        draft = await publisher().apply_webhook(event)
        if draft is None or not webhook_outcome_recorded(draft, event):  # a duplicate, or left out as stale
            return web.json_response({"ok": True, "applied": False})
        task = asyncio.create_task(relay(draft, event))
        tasks.add(task)
        task.add_done_callback(tasks.discard)
        return web.json_response({"ok": True, "applied": True})

    return handle


INTERACTIVE = ("block_actions", "view_submission", "view_closed", "shortcut", "message_action", "block_suggestion")


def shape_problem(body: dict[str, Any]) -> str | None:
    """What makes a parsed Slack body unusable by Bolt or our listeners (Slack never sends such), or None."""
    kind = body.get("type")
    if "command" in body and not isinstance(body.get("user_id"), str):
        return "a slash command without user_id"
    if kind in INTERACTIVE:
        user = body.get("user")
        if not isinstance(user, dict) or not isinstance(user.get("id"), str):
            return f"a {kind} payload without user.id"
    if kind in ("view_submission", "view_closed"):
        view = body.get("view")
        if not isinstance(view, dict) or not all(isinstance(view.get(k), str) for k in ("type", "callback_id")):
            return f"a {kind} payload without view.type and view.callback_id"
        values = (view.get("state") or {}).get("values", {}) if isinstance(view.get("state"), dict) else None
        if not isinstance(values, dict) or not all(isinstance(v, dict) for v in values.values()):
            return f"a {kind} payload whose view.state.values is not an object of blocks"
    if kind == "block_actions":
        actions = body.get("actions")
        if not isinstance(actions, list) or not actions or not all(
                isinstance(a, dict) and isinstance(a.get("action_id"), str) for a in actions):
            return "a block_actions payload without actions[].action_id"
    return None


def _slack_signed(raw: bytes, headers: Any, secret: str) -> bool:
    """slack_sdk's v0 verifier (constant time, five-minute timestamp window) on the raw bytes.

    The verifier raises where a forged header cannot be read: a timestamp that is not an integer (`int`
    refuses "¹²³") or too large for a float, a signature with non-ASCII characters (`compare_digest`).
    Those are unsigned requests, so False. A body that is not UTF-8 raises `UnicodeDecodeError`
    before any signature is computed: the caller answers it (Slack never sends one).
    """
    try:
        return SignatureVerifier(secret).is_valid_request(raw, dict(headers))
    except UnicodeDecodeError:
        raise
    except (ValueError, TypeError, OverflowError):
        return False


def events_guard(signing_secret: str | None, path: str = EVENTS_PATH) -> Any:
    """aiohttp middleware in front of Bolt at `path`: a correctly signed body Bolt cannot read is a 4xx.

    Bolt parses the body before it checks the signature and raises on malformed JSON or a payload that is not
    an object (a 500). So the signature is checked here, once, with slack_sdk's verifier (the Bolt app is built
    with `request_verification_enabled=False`; no secret is a 503). aiohttp's `client_max_size` (1 MiB)
    answers 413; a body that is not UTF-8 is a 400 (the verifier cannot read it); a bad signature or a stale
    timestamp is Bolt's 401; a content type Slack never sends is a 415; a body Bolt could not parse into an
    object, or one without the fields every such request carries (`shape_problem`), is a 400 with the reason.
    """
    @web.middleware
    async def guard(request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
                    ) -> web.StreamResponse:
        if request.method != "POST" or request.path != path:
            return await handler(request)
        if not signing_secret:  # Bolt's own check is off: without a secret nothing reaches it unverified
            return _refuse(503, "SLACK_SIGNING_SECRET is not set on this server, so no request can be verified")
        raw = await request.read()  # cached: Bolt reads the same bytes afterwards
        try:
            signed = _slack_signed(raw, request.headers, signing_secret)
        except UnicodeDecodeError:  # slack_sdk verifies text only; Slack always sends UTF-8
            return _refuse(400, "body is not UTF-8 text")
        if not signed:
            return web.json_response({"error": "invalid request"}, status=401)  # as Bolt answers
        text = raw.decode("utf-8")
        if request.content_type not in SLACK_CONTENT_TYPES:
            return _refuse(415, f"Content-Type must be one of {', '.join(SLACK_CONTENT_TYPES)}")
        try:
            parsed = parse_body(text, request.content_type)
            if jsonbody.depth_over(parsed):
                raise jsonbody.too_deep()
            if not isinstance(parsed, dict):
                raise TypeError(f"the payload is a JSON {type(parsed).__name__}, not an object")
            problem = shape_problem(parsed)
            if problem:
                raise ValueError(problem)
            AsyncBoltRequest(body=text, query=request.query_string, headers=dict(request.headers))
        except RecursionError:
            log.info("refused a signed Slack request nested too deeply")
            return _refuse(400, f"not a Slack request body: {jsonbody.too_deep()}")
        except Exception as exc:  # whatever Bolt would have raised, refused with its reason
            reason = "body is not JSON" if isinstance(exc, json.JSONDecodeError) else str(exc)
            log.info("refused a signed Slack request Bolt cannot read: %s", type(exc).__name__)
            return _refuse(400, f"not a Slack request body: {reason}")
        return await handler(request)

    return guard
