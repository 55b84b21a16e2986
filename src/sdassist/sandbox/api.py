"""The documented SocialDock endpoints under /api/v1; auth and rate limits happen in the gateway."""

from __future__ import annotations

from datetime import timedelta

from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from . import analytics, present
from .bodies import json_body
from .clock import iso
from .envelope import ApiError, bad_request, ok
from .fetch import fetch_media
from .records import WebhookRecord
from .rules import NO_ANALYTICS, PLATFORMS, is_http_url
from .state import EVENTS, SandboxState, Workspace
from .webhooks import check_webhook_url

PERIODS = {"7d": 7, "30d": 30, "90d": 90}
POST_FIELDS = ("text", "title", "targets", "media_urls", "tags", "publish_now", "scheduled_at")


def _ctx(request: Request) -> tuple[SandboxState, Workspace]:
    return request.app.state.sandbox, request.scope["sandbox.workspace"]


def _base_url(request: Request) -> str:
    url = request.url
    return f"{url.scheme}://{url.netloc}"


# --- accounts -----------------------------------------------------------------------------------------

async def connect(request: Request) -> JSONResponse:
    state, ws = _ctx(request)
    body = await json_body(request, fields=("platform", "redirect_url"))
    return ok(state.start_connect(ws, body.get("platform"), body.get("redirect_url"), _base_url(request)))


async def list_accounts(request: Request) -> JSONResponse:
    state, ws = _ctx(request)
    accounts = sorted(state.accounts_of(ws).values(), key=lambda a: a.id)
    return ok({"accounts": [
        {"id": a.id, "platform": a.platform, "username": a.username, "display_name": a.display_name,
         "connected_at": iso(a.connected_at), "status": a.status} for a in accounts]})


async def account_status(request: Request) -> JSONResponse:
    state, ws = _ctx(request)
    platform = request.query_params.get("platform")
    if platform is not None and platform not in PLATFORMS:
        raise bad_request(f"platform must be one of {', '.join(PLATFORMS)} (got {platform!r})")
    accounts = sorted(state.accounts_of(ws).values(), key=lambda a: a.id)
    connected = sorted({a.platform for a in accounts}, key=PLATFORMS.index)
    chosen = [a for a in accounts if platform is None or a.platform == platform]
    return ok({"accounts": [{"id": a.id, "status": a.status, "platform": a.platform} for a in chosen],
               "connected_platforms": connected})


async def disconnect(request: Request) -> JSONResponse:
    state, ws = _ctx(request)
    state.disconnect(ws, request.path_params["account_id"])
    return ok({"success": True})


async def account_analytics(request: Request) -> JSONResponse:
    state, ws = _ctx(request)
    account = state.account(ws, request.path_params["account_id"])
    if account.platform in NO_ANALYTICS:
        raise bad_request(f"Analytics are not available for {account.platform} accounts "
                          f"(no analytics on {', '.join(sorted(NO_ANALYTICS))}).")
    return ok(analytics.account_metrics(account, state.clock.now()))


# --- posts --------------------------------------------------------------------------------------------

async def create_post(request: Request) -> JSONResponse:
    state, ws = _ctx(request)
    post = state.create_post(ws, await json_body(request, fields=POST_FIELDS))
    return ok(present.created(post))


def _int_param(request: Request, name: str, default: int, low: int, high: int | None) -> int:
    raw = request.query_params.get(name)
    if raw is None:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise bad_request(f"{name} must be an integer, got {raw!r}") from None
    if value < low or (high is not None and value > high):
        bound = f"between {low} and {high}" if high is not None else f"at least {low}"
        raise bad_request(f"{name} must be {bound}, got {value}")
    return value


async def list_posts(request: Request) -> JSONResponse:
    state, ws = _ctx(request)
    status = request.query_params.get("status")
    platform = request.query_params.get("platform")
    if status is not None and status not in ("published", "scheduled", "failed"):
        raise bad_request(f"status must be one of published, scheduled, failed (got {status!r})")
    if platform is not None and platform not in PLATFORMS:
        raise bad_request(f"platform must be one of {', '.join(PLATFORMS)} (got {platform!r})")
    limit = _int_param(request, "limit", 20, 1, 100)
    offset = _int_param(request, "offset", 0, 0, None)
    posts = [p for p in state.posts_of(ws)
             if (status is None or p.status == status)
             and (platform is None or any(t.platform == platform for t in p.targets))]
    posts.sort(key=lambda p: (p.created_at, p.id), reverse=state.config.list_order != "oldest")
    page = posts[offset:offset + limit]
    item = present.list_item if state.config.list_targets else present.bare_list_item
    return ok({"posts": [item(p) for p in page]},
              meta={"total": len(posts), "limit": limit, "offset": offset})


async def get_post(request: Request) -> JSONResponse:
    state, ws = _ctx(request)
    return ok(present.detail(state.post(ws, request.path_params["post_id"])))


async def update_post(request: Request) -> JSONResponse:
    state, ws = _ctx(request)
    post_id = request.path_params["post_id"]
    state.post(ws, post_id)  # 404 before looking at the body
    post = state.update_post(ws, post_id, await json_body(request))
    return ok(present.updated(post))


async def delete_post(request: Request) -> JSONResponse:
    state, ws = _ctx(request)
    state.delete_post(ws, request.path_params["post_id"])
    return ok({"success": True})


async def post_analytics(request: Request) -> JSONResponse:
    state, ws = _ctx(request)
    post = state.post(ws, request.path_params["post_id"])
    now = state.clock.now()
    return ok({"post_id": post.id, "targets": [
        {"platform": t.platform, "account_id": t.account_id,
         "metrics": analytics.target_metrics(post, t, now)}
        for t in post.targets]})


async def overview(request: Request) -> JSONResponse:
    state, ws = _ctx(request)
    period = request.query_params.get("period", "30d")
    if period not in PERIODS:
        raise bad_request(f"period must be one of {', '.join(PERIODS)} (got {period!r})")
    now = state.clock.now()
    since = now - timedelta(days=PERIODS[period])
    posts = [p for p in state.posts_of(ws) if p.created_at >= since]
    return ok(analytics.overview(posts, now))


# --- media and webhooks -------------------------------------------------------------------------------

async def upload_media(request: Request) -> JSONResponse:
    state, ws = _ctx(request)
    body = await json_body(request, fields=("url", "file_name"))
    url, file_name = body.get("url"), body.get("file_name")
    if not is_http_url(url):
        raise bad_request(f"url is required and must be a public http(s) URL (got {url!r})")
    if file_name is not None and not isinstance(file_name, str):
        raise bad_request("file_name must be a string")
    fetched = await fetch_media(url, max_bytes=state.config.media_max_bytes,
                                timeout=state.config.media_fetch_timeout_seconds)
    media = state.add_media(ws, url, file_name, mime_type=fetched.mime_type if fetched else None,
                            size=fetched.size if fetched else None)
    return ok({"id": media.id, "url": media.url, "mime_type": media.mime_type})


def _hook(hook: WebhookRecord) -> dict[str, object]:
    return {"id": hook.id, "url": hook.url, "events": hook.events, "active": hook.active}


async def create_webhook(request: Request) -> JSONResponse:
    state, ws = _ctx(request)
    body = await json_body(request, fields=("url", "events", "secret"))
    problems = []
    url_problem = check_webhook_url(body.get("url"))
    if url_problem:
        problems.append(url_problem)
    events = body.get("events")
    if not isinstance(events, list) or not events or not all(isinstance(e, str) for e in events):
        problems.append(f"events is required: a non-empty array of event names ({', '.join(EVENTS)})")
    else:
        unknown = [e for e in events if e not in EVENTS]
        if unknown:
            problems.append(f"unknown events {', '.join(unknown)}; supported: {', '.join(EVENTS)}")
    secret = body.get("secret")
    if secret is not None and not isinstance(secret, str):
        problems.append("secret must be a string")
    if problems:
        raise ApiError(400, "Invalid request body", "; ".join(problems))
    hook = state.add_webhook(ws, body["url"], list(dict.fromkeys(events)), secret or None)
    return ok(_hook(hook))


async def list_webhooks(request: Request) -> JSONResponse:
    state, ws = _ctx(request)
    return ok({"webhooks": [_hook(h) for h in sorted(state.webhooks_of(ws), key=lambda h: h.id)]})


async def delete_webhook(request: Request) -> JSONResponse:
    state, ws = _ctx(request)
    state.delete_webhook(ws, request.path_params["webhook_id"])
    return ok({"success": True})


P = "/api/v1"
routes = [
    Route(f"{P}/accounts/connect", connect, methods=["POST"]),
    Route(f"{P}/accounts", list_accounts, methods=["GET"]),
    Route(f"{P}/accounts/status", account_status, methods=["GET"]),
    Route(f"{P}/accounts/{{account_id}}", disconnect, methods=["DELETE"]),
    Route(f"{P}/accounts/{{account_id}}/analytics", account_analytics, methods=["GET"]),
    Route(f"{P}/posts", create_post, methods=["POST"]),
    Route(f"{P}/posts", list_posts, methods=["GET"]),
    Route(f"{P}/posts/{{post_id}}", get_post, methods=["GET"]),
    Route(f"{P}/posts/{{post_id}}", update_post, methods=["PUT"]),
    Route(f"{P}/posts/{{post_id}}", delete_post, methods=["DELETE"]),
    Route(f"{P}/posts/{{post_id}}/analytics", post_analytics, methods=["GET"]),
    Route(f"{P}/analytics/overview", overview, methods=["GET"]),
    Route(f"{P}/media", upload_media, methods=["POST"]),
    Route(f"{P}/webhooks", create_webhook, methods=["POST"]),
    Route(f"{P}/webhooks", list_webhooks, methods=["GET"]),
    Route(f"{P}/webhooks/{{webhook_id}}", delete_webhook, methods=["DELETE"]),
]
