"""`POST /media` really fetching its URL, as SocialDock does, but only from this machine.

The sandbox never contacts another host: a loopback URL (an sdassist serving signed media links on
127.0.0.1) is fetched, with a time limit and a size limit, and the size and type of the bytes that came
back are recorded; any other URL is not fetched and its type is read from its extension, as before.
A fetch that fails is SocialDock's 400: the file could not be fetched, and why.
"""

from __future__ import annotations

from dataclasses import dataclass

import httpx

from .envelope import bad_request
from .rules import MIME_BY_EXTENSION
from .webhooks import is_loopback_url

ACCEPTED_MAJOR = ("image/", "video/")


@dataclass(frozen=True)
class Fetched:
    size: int
    mime_type: str


async def fetch_media(url: str, *, max_bytes: int, timeout: float) -> Fetched | None:
    """The bytes behind a loopback URL, counted and typed (None: not loopback, not fetched). Streams: the
    sandbox keeps only the count, never the file."""
    if not is_loopback_url(url):
        return None
    size = 0
    try:
        async with httpx.AsyncClient(timeout=timeout, follow_redirects=False) as client, \
                client.stream("GET", url) as response:
            if response.status_code != 200:
                reason = (await response.aread())[:200].decode("utf-8", "replace").strip()
                raise bad_request(f"could not fetch url: HTTP {response.status_code}" + (f" ({reason})" if reason
                                                                                         else ""))
            mime = response.headers.get("content-type", "").split(";", 1)[0].strip().lower()
            if not mime.startswith(ACCEPTED_MAJOR):
                raise bad_request(f"url did not return an image or a video (Content-Type {mime or 'missing'!r}); "
                                  f"supported types: {', '.join(sorted(set(MIME_BY_EXTENSION.values())))}")
            async for chunk in response.aiter_bytes():
                size += len(chunk)
                if size > max_bytes:
                    raise bad_request(f"the file at url is larger than {max_bytes:,} bytes, the most accepted")
    except httpx.TimeoutException:
        raise bad_request(f"could not fetch url: no complete answer within {timeout:g} s") from None
    except httpx.HTTPError as exc:
        raise bad_request(f"could not fetch url: {type(exc).__name__}") from None
    if size == 0:
        raise bad_request("the file at url is empty")
    return Fetched(size=size, mime_type=mime)
