"""`GET /media/{id}/{name}?exp=…&sig=…`: a stored file, streamed to whoever holds a valid signed URL.

SocialDock fetches attached files here (`POST /media` with this URL), and Slack fetches the approval card's
images. The signature and expiry are checked (constant-time) before anything is read; a tampered or
expired link gets 403 with the reason, and the file goes out a chunk at a time. Both servers that may sit
at SDASSIST_PUBLIC_URL serve it: `sdassist slack` (aiohttp) and `sdassist mcp --http` (Starlette).
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

from aiohttp import web

from sdassist.publishing.media import MEDIA_PATH, MediaFile, MediaNotFound, MediaStore, SignatureRefused

__all__ = ["MEDIA_ROUTE", "add_media_route", "media_routes", "open_signed"]

log = logging.getLogger("sdassist.web")
MEDIA_ROUTE = MEDIA_PATH + "/{media_id}/{name}"


async def open_signed(media: MediaStore | None, media_id: str, exp: str | None,
                      sig: str | None) -> tuple[int, str | MediaFile]:
    """(200, the file) for a valid link, else (status, the reason to send back)."""
    if media is None:
        return 404, "no media store here\n"
    try:
        return 200, await media.verify(media_id, exp, sig)
    except SignatureRefused as exc:
        log.info("refused a media request: %s", exc.message)
        return 403, exc.message + "\n"
    except MediaNotFound as exc:
        return 404, exc.message + "\n"


def file_headers(file: MediaFile, exp: str | None) -> dict[str, str]:
    left = max(0, int(exp or 0) - int(datetime.now(UTC).timestamp()))
    return {"Content-Type": file.mime_type, "Content-Length": str(file.size),
            "Content-Disposition": f'inline; filename="{file.name}"', "X-Content-Type-Options": "nosniff",
            "Cache-Control": f"private, max-age={min(left, 3600)}", "ETag": f'"{file.sha256}"'}


def media_handler(store: Callable[[], MediaStore | None]) -> Callable[[web.Request], Awaitable[web.StreamResponse]]:
    """The aiohttp handler (the Slack app's server) for signed media URLs from the store `store()` returns."""

    async def serve(request: web.Request) -> web.StreamResponse:
        media, exp = store(), request.query.get("exp")
        status, found = await open_signed(media, request.match_info["media_id"], exp, request.query.get("sig"))
        if not isinstance(found, MediaFile) or media is None:
            return web.Response(status=status, text=str(found))
        response = web.StreamResponse(headers=file_headers(found, exp))
        await response.prepare(request)
        if request.method != "HEAD":
            async for chunk in media.read(found):
                await response.write(chunk)
        await response.write_eof()
        return response

    return serve


def add_media_route(app: web.Application, store: Callable[[], MediaStore | None]) -> None:
    """Serve signed media URLs on an aiohttp `app` (GET and HEAD)."""
    app.router.add_get(MEDIA_ROUTE, media_handler(store))


def media_routes(store: Callable[[], Awaitable[MediaStore | None]]) -> list[Any]:
    """The same route for a Starlette app (the MCP HTTP server); `store()` opens the runtime if needed."""
    from starlette.requests import Request
    from starlette.responses import PlainTextResponse, Response, StreamingResponse
    from starlette.routing import Route

    async def serve(request: Request) -> Response:
        media, exp = await store(), request.query_params.get("exp")
        status, found = await open_signed(media, request.path_params["media_id"], exp,
                                          request.query_params.get("sig"))
        if not isinstance(found, MediaFile) or media is None:
            return PlainTextResponse(str(found), status_code=status)
        if request.method == "HEAD":
            return Response(headers=file_headers(found, exp))
        return StreamingResponse(media.read(found), headers=file_headers(found, exp))

    return [Route(MEDIA_ROUTE, serve, methods=["GET", "HEAD"])]
