"""`GET /media/{id}/{name}?exp=…&sig=…`: a stored file, streamed to whoever holds a valid signed URL.

SocialDock fetches attached files here (`POST /media` with this URL), and Slack fetches the approval card's
images. The signature and expiry are checked (constant-time) before anything is read; a tampered or
expired link gets 403 with the reason, and the file goes out a chunk at a time.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import UTC, datetime

from aiohttp import web

from sdassist.publishing.media import MEDIA_PATH, MediaNotFound, MediaStore, SignatureRefused

__all__ = ["MEDIA_ROUTE", "add_media_route", "media_handler"]

log = logging.getLogger("sdassist.web")
MEDIA_ROUTE = MEDIA_PATH + "/{media_id}/{name}"


def media_handler(store: Callable[[], MediaStore | None]) -> Callable[[web.Request], object]:
    """The aiohttp handler serving signed media URLs from the store `store()` returns."""

    async def serve(request: web.Request) -> web.StreamResponse:
        media = store()
        if media is None:
            return web.Response(status=404, text="no media store here\n")
        exp, sig = request.query.get("exp"), request.query.get("sig")
        try:
            file = await media.verify(request.match_info["media_id"], exp, sig)
        except SignatureRefused as exc:
            log.info("refused a media request: %s", exc.message)
            return web.Response(status=403, text=exc.message + "\n")
        except MediaNotFound as exc:
            return web.Response(status=404, text=exc.message + "\n")
        left = max(0, int(exp or 0) - int(datetime.now(UTC).timestamp()))
        response = web.StreamResponse(headers={
            "Content-Type": file.mime_type, "Content-Length": str(file.size),
            "Content-Disposition": f'inline; filename="{file.name}"', "X-Content-Type-Options": "nosniff",
            "Cache-Control": f"private, max-age={min(left, 3600)}", "ETag": f'"{file.sha256}"',
        })
        await response.prepare(request)
        if request.method != "HEAD":
            async for chunk in media.read(file):
                await response.write(chunk)
        await response.write_eof()
        return response

    return serve


def add_media_route(app: web.Application, store: Callable[[], MediaStore | None]) -> None:
    """Serve signed media URLs on `app` (GET and HEAD)."""
    app.router.add_get(MEDIA_ROUTE, media_handler(store))
