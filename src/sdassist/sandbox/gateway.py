"""What happens around every /api/v1 request: stats, auth, rate limit, injected faults, headers, saving.

It runs outside Starlette's own error middleware so that a dropped connection is really dropped.
"""

from __future__ import annotations

import asyncio
import math
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from email.utils import formatdate
from typing import Any

import httpx
from starlette.datastructures import Headers, MutableHeaders
from starlette.routing import BaseRoute, Match
from starlette.types import Message, Receive, Scope, Send

from .clock import iso
from .envelope import error
from .ratelimit import Verdict
from .state import SandboxState

ASGI = Callable[[Scope, Receive, Send], Awaitable[None]]
MUTATING = {"POST", "PUT", "PATCH", "DELETE"}


def route_template(routes: list[BaseRoute], scope: Scope) -> str:
    """`/api/v1/posts/{post_id}` rather than the concrete path, for per-endpoint counters."""
    partial = None
    for route in routes:
        match, _ = route.matches(scope)
        if match == Match.FULL:
            return getattr(route, "path", scope["path"])
        if match == Match.PARTIAL and partial is None:
            partial = getattr(route, "path", None)
    return partial or scope["path"]


def _date() -> str:
    return formatdate(usegmt=True)


def _bearer(scope: Scope) -> str | None:
    value = Headers(scope=scope).get("authorization", "")
    scheme, _, token = value.partition(" ")
    return token.strip() or None if scheme.lower() == "bearer" else None


async def _drop(send: Send) -> None:
    """Close the connection without an answer: under uvicorn close the socket; in process, raise."""
    transport = getattr(getattr(send, "__self__", None), "transport", None)
    if transport is not None and hasattr(transport, "close"):
        transport.close()
        for _ in range(3):  # let connection_lost run, so the server does not answer a 500 instead
            await asyncio.sleep(0)
        return
    raise httpx.RemoteProtocolError("Server disconnected without sending a response.")


async def _answer(scope: Scope, receive: Receive, send: Send, status: int, message: str, details: str,
                  verdict: Verdict, meta: dict[str, Any] | None = None) -> None:
    response = error(status, message, details, meta)
    response.headers.update({**verdict.headers(), "Date": _date()})
    await response(scope, receive, send)


def _too_many(state: SandboxState, verdict: Verdict, retry_at: float) -> tuple[str, dict[str, Any]]:
    when = iso(datetime.fromtimestamp(math.ceil(retry_at * 1000) / 1000, UTC))
    window = state.config.window_seconds
    per = "min" if window == 60 else f"{window:g} s window"
    return (f"Rate limit of {verdict.limit} requests/{per} exceeded. Retry after {when}.",
            {"retry_after": when})


async def handle_api(state: SandboxState, routes: list[BaseRoute], scope: Scope, receive: Receive, send: Send,
                     inner: ASGI) -> None:
    """Serve one /api/v1 request the way SocialDock would, faults included."""
    state.ensure_background()
    state.publish_due()
    method = scope["method"]
    label = f"{method} {route_template(routes, scope)}"
    state.requests[label] += 1
    config = state.config
    anonymous = config.limit_for("BUILD") or 100

    key = _bearer(scope)
    ws = state.workspace_for_key(key) if key else None
    if ws is None:
        details = ("The provided API key is invalid or has been revoked." if key else
                   "No API key was provided. Send Authorization: Bearer <key>.")
        await _answer(scope, receive, send, 401, "Unauthorized", details,
                      state.limiter.peek("anonymous", anonymous))
        return
    limit = config.limit_for(ws.plan)
    if limit <= 0:
        await _answer(scope, receive, send, 403, "Forbidden",
                      f"The {ws.plan} plan has no API access. Upgrade to BUILD or above "
                      "in Dashboard → Settings.",
                      state.limiter.peek(ws.id, anonymous))
        return
    verdict = state.limiter.hit(ws.id, limit)
    if not verdict.allowed:
        details, meta = _too_many(state, verdict, verdict.reset)
        await _answer(scope, receive, send, 429, "Too Many Requests", details, verdict, meta)
        return

    fault = state.faults.decide(method, scope["path"])
    # A held request has arrived whole: read it now, before any latency lets its client give up first.
    body = await _read_body(receive) if fault.hold else b""
    if fault.latency_ms:
        await asyncio.sleep(fault.latency_ms / 1000)
    if fault.error_status is not None:
        if fault.error_status == 429:
            state.injected_429 += 1
            retry_at = verdict.reset
            if fault.retry_after_seconds is not None:
                retry_at = datetime.now(UTC).timestamp() + fault.retry_after_seconds
            shown = Verdict(False, verdict.limit, 0, retry_at)
            details, meta = _too_many(state, shown, retry_at)
            await _answer(scope, receive, send, 429, "Too Many Requests", details, shown, meta)
        else:
            await _answer(scope, receive, send, fault.error_status, "Internal Server Error"
                          if fault.error_status == 500 else "Injected error",
                          "Injected fault: the request was not processed.", verdict)
        return
    if fault.drop and not fault.drop_after_processing:
        await _drop(send)
        return

    scope["sandbox.workspace"] = ws
    status: list[int] = []
    dropping = fault.drop
    gone = False  # a held request's client gave up: its answer goes nowhere

    async def send_with_headers(message: Message) -> None:
        if message["type"] == "http.response.start":
            status.append(message["status"])
            headers = MutableHeaders(scope=message)
            for name, value in verdict.headers().items():
                headers[name] = value
            headers["Date"] = _date()
        if not dropping and not gone:
            await send(message)

    async def serve(receive: Receive) -> None:
        await inner(scope, receive, send_with_headers)
        state.processed[label] += 1
        if method in MUTATING and status and status[0] < 400:
            state.save()

    if fault.hold:
        async def replay() -> Message:
            return {"type": "http.request", "body": body, "more_body": False}

        async def held_then_served() -> None:
            await state.faults.held(fault.hold_ms)
            await serve(replay)

        task = asyncio.create_task(held_then_served())
        state.faults.holding.add(task)
        task.add_done_callback(state.faults.holding.discard)
        try:
            await asyncio.shield(task)
        except asyncio.CancelledError:  # the client gave up; the request still lands when released
            gone = True
            raise
        return
    await serve(receive)
    if dropping:
        await _drop(send)


async def _read_body(receive: Receive) -> bytes:
    """The whole request body, so that a held request can be processed after its client has gone."""
    chunks = []
    while True:
        message = await receive()
        if message["type"] != "http.request":
            break
        chunks.append(message.get("body", b""))
        if not message.get("more_body"):
            break
    return b"".join(chunks)
