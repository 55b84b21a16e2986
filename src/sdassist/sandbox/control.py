"""`/_sandbox/*`: the knobs tests turn (clock, failures, faults, reset) and what they read (stats,
deliveries), plus the page a connect URL opens. No key, no rate limit."""

from __future__ import annotations

import html
from datetime import datetime, timedelta
from typing import Any

from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from starlette.routing import Route

from .bodies import json_body
from .clock import iso, parse_iso
from .envelope import bad_request, ok
from .faults import parse_rule
from .state import SandboxState

YEARS = (1970, 9000)  # where the sandbox clock may be set: far from the calendar's ends, so no date overflows


def _state(request: Request) -> SandboxState:
    return request.app.state.sandbox


def _clock_view(state: SandboxState) -> dict[str, Any]:
    return {"now": iso(state.clock.now()), "offset_seconds": state.clock.offset.total_seconds()}


async def get_clock(request: Request) -> JSONResponse:
    return ok(_clock_view(_state(request)))


async def set_clock(request: Request) -> JSONResponse:
    """`{"advance_seconds": N}` or `{"now": ISO}`; due posts publish at once."""
    state = _state(request)
    body = await json_body(request, fields=("advance_seconds", "now"))
    if ("advance_seconds" in body) == ("now" in body):
        raise bad_request('give exactly one of "advance_seconds" (number) or "now" (ISO 8601)')
    if "advance_seconds" in body:
        seconds = body["advance_seconds"]
        if isinstance(seconds, bool) or not isinstance(seconds, int | float):
            raise bad_request("advance_seconds must be a number of seconds")
        try:
            target: datetime | None = state.clock.now() + timedelta(seconds=seconds)
        except (OverflowError, ValueError):  # NaN, infinity, beyond the calendar
            target = None
        if target is None or not YEARS[0] <= target.year <= YEARS[1]:
            raise bad_request(f"advance_seconds must be a finite number that keeps the clock between the years "
                              f"{YEARS[0]} and {YEARS[1]}")
        state.clock.advance(float(seconds))
    else:
        raw = body["now"]
        try:
            moment = parse_iso(raw) if isinstance(raw, str) else None
        except (ValueError, TypeError, OverflowError):
            moment = None
        if moment is None or not YEARS[0] <= moment.year <= YEARS[1]:
            shown = raw[:40] if isinstance(raw, str) else type(raw).__name__
            raise bad_request(f"now must be an ISO 8601 datetime between the years {YEARS[0]} and {YEARS[1]}, "
                              f"got {shown!r}")
        state.clock.set(moment)
    published = state.publish_due()
    return ok({**_clock_view(state), "published": published})


async def tick(request: Request) -> JSONResponse:
    await json_body(request, required=False, fields=())
    return ok({"published": _state(request).publish_due()})


async def add_failure(request: Request) -> JSONResponse:
    body = await json_body(request, fields=("account_id", "platform", "count", "reason"))
    return ok(_state(request).add_failure(body))


async def list_failures(request: Request) -> JSONResponse:
    return ok({"failures": _state(request).failures})


async def clear_failures(request: Request) -> JSONResponse:
    _state(request).failures.clear()
    return ok({"success": True})


def _faults_view(state: SandboxState) -> dict[str, Any]:
    return {"seed": state.faults.seed, "rules": [r.as_dict() for r in state.faults.rules],
            "fired": state.faults.fired, "held": sum(not t.done() for t in state.faults.holding)}


async def set_faults(request: Request) -> JSONResponse:
    state = _state(request)
    body = await json_body(request, fields=("rules", "seed"))
    rules_raw = body.get("rules")
    if not isinstance(rules_raw, list):
        raise bad_request('"rules" must be an array of fault rules')
    seed = body.get("seed")
    if seed is not None and not isinstance(seed, int):
        raise bad_request('"seed" must be an integer')
    try:
        rules = [parse_rule(r) for r in rules_raw]
    except ValueError as exc:  # our own words, naming the field
        raise bad_request(f"invalid fault rule: {exc}") from None
    state.faults.configure(rules, seed)
    return ok(_faults_view(state))


async def get_faults(request: Request) -> JSONResponse:
    return ok(_faults_view(_state(request)))


async def clear_faults(request: Request) -> JSONResponse:
    _state(request).faults.clear()
    return ok({"success": True})


async def set_account_status(request: Request) -> JSONResponse:
    """`{"status": "expired"}`: break (or mend, with "active") a connection, as a revoked token would."""
    state = _state(request)
    body = await json_body(request, fields=("status",))
    status = body.get("status")
    if not isinstance(status, str) or not status.strip():
        raise bad_request('"status" must be a non-empty string, e.g. "active" or "expired"')
    account = state.accounts.get(request.path_params["account_id"])
    if account is None:
        raise bad_request(f"no account {request.path_params['account_id']!r}")
    account.status = status.strip()
    return ok({"id": account.id, "status": account.status})


async def release_held(request: Request) -> JSONResponse:
    """Let every request a `hold_rate` rule is holding go on now (processed even if its client is gone)."""
    await json_body(request, required=False, fields=())
    return ok({"released": _state(request).faults.release()})


async def deliveries(request: Request) -> JSONResponse:
    return ok({"deliveries": _state(request).dispatcher.deliveries})


async def stats(request: Request) -> JSONResponse:
    return ok(_state(request).stats())


async def reset(request: Request) -> JSONResponse:
    await json_body(request, required=False, fields=())
    await _state(request).aclose()
    _state(request).reset()
    return ok({"reset": True})


def _page(title: str, message: str, status: int) -> HTMLResponse:
    body = (f"<!doctype html><html><head><title>{html.escape(title)}</title></head>"
            f"<body><h1>{html.escape(title)}</h1><p>{html.escape(message)}</p></body></html>")
    return HTMLResponse(body, status_code=status)


async def oauth_connect(request: Request) -> Response:
    """Opening a connect URL authorises at once and sends the browser back to redirect_url."""
    token = request.query_params.get("token")
    if not token:
        return _page("Connection refused", "The connect link has no token.", 400)
    try:
        target = _state(request).complete_connect(token)
    except ValueError as exc:
        return _page("Connection refused", str(exc), 400)
    return RedirectResponse(target, status_code=302)


S = "/_sandbox"
routes = [
    Route(f"{S}/clock", get_clock, methods=["GET"]),
    Route(f"{S}/clock", set_clock, methods=["POST"]),
    Route(f"{S}/tick", tick, methods=["POST"]),
    Route(f"{S}/failures", add_failure, methods=["POST"]),
    Route(f"{S}/failures", list_failures, methods=["GET"]),
    Route(f"{S}/failures", clear_failures, methods=["DELETE"]),
    Route(f"{S}/faults", set_faults, methods=["POST"]),
    Route(f"{S}/faults", get_faults, methods=["GET"]),
    Route(f"{S}/faults", clear_faults, methods=["DELETE"]),
    Route(f"{S}/accounts/{{account_id}}/status", set_account_status, methods=["POST"]),
    Route(f"{S}/faults/release", release_held, methods=["POST"]),
    Route(f"{S}/deliveries", deliveries, methods=["GET"]),
    Route(f"{S}/stats", stats, methods=["GET"]),
    Route(f"{S}/reset", reset, methods=["POST"]),
    Route(f"{S}/oauth/connect", oauth_connect, methods=["GET"]),
]
