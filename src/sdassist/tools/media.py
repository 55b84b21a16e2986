"""Media: files become SocialDock URLs, and drafts are made with files attached.

SocialDock takes media as a URL it fetches (`POST /media`). A public URL goes to it as given; a file (an
assistant's base64 content or local path, a Slack attachment) is stored first (`publishing/media.py`)
and offered to SocialDock at a signed, expiring URL under SDASSIST_PUBLIC_URL.
"""

from __future__ import annotations

import base64
import binascii
import dataclasses
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from pydantic import Field

from sdassist.client.errors import BadRequestError
from sdassist.netsafety import UnsafeURL, check_public_url
from sdassist.publishing.media import MediaFile, MediaStore, chunks_of, file_chunks
from sdassist.publishing.platforms import media_kind
from sdassist.tools.base import Tool, ToolContext, ToolInput, ToolKind, ToolOutput, Toolset
from sdassist.tools.compose import compose
from sdassist.tools.errors import ToolError

FETCH_TTL = 15 * 60
"""Seconds SocialDock has to fetch a signed URL after sdassist hands it over (it fetches at once)."""
NO_PUBLIC_URL = ("SDASSIST_PUBLIC_URL is not set: SocialDock fetches media from a URL, so sdassist must serve "
                 "the file at an address SocialDock can reach")
NO_PUBLIC_URL_HINT = ("Set SDASSIST_PUBLIC_URL to the https base URL where `sdassist slack` is reachable "
                      "(the same one as for webhooks), or pass a public URL instead of the file.")
UNREACHED_HINT = ("Check that SocialDock can reach SDASSIST_PUBLIC_URL and that `sdassist slack` or `sdassist mcp "
                  "--http` is running there (an MCP server on stdio serves no files), then try again; or pass a "
                  "public URL instead of the file.")


class UploadInput(ToolInput):
    url: str | None = Field(default=None, description="Public http(s) URL.")
    content_base64: str | None = Field(default=None, description="Or the file, base64.")
    path: str | None = Field(default=None, description="Local file (stdio).")
    file_name: str | None = Field(default=None, description="Optional name.")


class MediaView(ToolOutput):
    media_id: str
    url: str = Field(description="Use this URL in media_urls of draft_post.")
    mime_type: str | None = None
    kind: str


def max_bytes(ctx: ToolContext) -> int:
    return int(ctx.settings.media_max_mb * 1_000_000)


def media_store(ctx: ToolContext) -> MediaStore:
    if ctx.media is None:
        raise ToolError("this sdassist has no media store open", hint="Start it through `sdassist` (open_runtime).")
    return ctx.media


async def offer_to_socialdock(ctx: ToolContext, file: MediaFile) -> MediaFile:
    """Have SocialDock fetch a stored file from its signed URL (`POST /media`); the file, with the URL
    SocialDock gave it. A file SocialDock already holds is not sent again."""
    if file.socialdock_url:
        return file
    if not ctx.settings.public_url:
        raise ToolError(NO_PUBLIC_URL, hint=NO_PUBLIC_URL_HINT)
    try:  # SocialDock must be able to reach it (loopback only when SocialDock is the local sandbox)
        base = check_public_url(ctx.settings.public_url, field="SDASSIST_PUBLIC_URL", loopback_ok=ctx.client.is_local)
    except UnsafeURL as exc:
        raise ToolError(str(exc), hint=NO_PUBLIC_URL_HINT) from None
    store = media_store(ctx)
    signed = await store.signed_url(file, base_url=base, ttl=FETCH_TTL)
    try:
        media = await ctx.client.media.upload(url=signed, file_name=file.name)
    except BadRequestError as exc:  # about a URL sdassist made, not one the user gave: say which setting to check
        said = (exc.details or exc.message).replace(signed, f"{base.rstrip('/')}/media/…")  # never the signed link
        raise ToolError(f"SocialDock could not fetch {file.name} from sdassist at SDASSIST_PUBLIC_URL ({base}): "
                        f"{said}", hint=UNREACHED_HINT) from None
    return await store.set_socialdock(file.id, media.url, media.id)


async def _stored_from_input(ctx: ToolContext, inp: UploadInput) -> MediaFile:
    store, limit = media_store(ctx), max_bytes(ctx)
    owner = ctx.principal.id
    if inp.content_base64 is not None:
        if len(inp.content_base64) > limit * 4 // 3 + 4:
            raise ToolError(f"content_base64 is larger than {ctx.settings.media_max_mb:g} MB",
                            hint="Send a smaller file, or a public URL.")
        try:
            data = base64.b64decode(inp.content_base64, validate=True)
        except (binascii.Error, ValueError):
            raise ToolError("content_base64 is not valid base64",
                            hint="Send the file's bytes base64-encoded (RFC 4648), without a data: prefix.") from None
        return await store.put(chunks_of(data), name=inp.file_name, owner=owner, max_bytes=limit)
    assert inp.path is not None
    if not ctx.local_files:
        raise ToolError("path works only when sdassist runs on your machine (the terminal, or MCP over stdio)",
                        hint="Send the file as content_base64, or a public URL.")
    path = Path(inp.path).expanduser()
    if not path.is_file():
        raise ToolError(f"path: no file at {inp.path}", hint="Give the full path of an image or video file.")
    return await store.put(file_chunks(path), name=inp.file_name or path.name, owner=owner, max_bytes=limit)


async def upload_media(ctx: ToolContext, inp: UploadInput) -> MediaView:
    given = [n for n in ("url", "content_base64", "path") if getattr(inp, n) is not None]
    if len(given) != 1:
        raise ToolError("give exactly one of url, content_base64 or path" + (f" (got {', '.join(given)})"
                                                                               if given else ""),
                        hint="A public URL SocialDock can fetch, or the file itself.")
    if inp.url is not None:
        try:
            url = check_public_url(inp.url, field="url", loopback_ok=ctx.client.is_local)
        except UnsafeURL as exc:
            raise ToolError(str(exc), hint=f"{exc.hint} Or pass the file itself as content_base64.") from None
        await ctx.report_progress(0, 1, "SocialDock is fetching the file")
        media = await ctx.client.media.upload(url=url, file_name=inp.file_name)
        await ctx.report_progress(1, 1, "stored")
        return MediaView(media_id=media.id, url=media.url, mime_type=media.mime_type,
                         kind=media_kind(media.url, media.mime_type))
    if not ctx.settings.public_url:  # refuse before storing anything
        raise ToolError(NO_PUBLIC_URL, hint=NO_PUBLIC_URL_HINT)
    await ctx.report_progress(0, 2, "storing the file")
    file = await _stored_from_input(ctx, inp)
    await ctx.report_progress(1, 2, "SocialDock is fetching the file")
    file = await offer_to_socialdock(ctx, file)
    await ctx.report_progress(2, 2, "stored")
    return MediaView(media_id=file.socialdock_id or file.id, url=file.socialdock_url or "", mime_type=file.mime_type,
                     kind=file.kind)


async def draft_with_files(ctx: ToolContext, arguments: Mapping[str, Any], files: Sequence[MediaFile],
                           *, source: Mapping[str, str] | None = None) -> Any:
    """`draft_post` with stored files attached: every target's file rules are checked first (nothing is
    uploaded or stored when one fails), then SocialDock fetches each file and the draft carries its URLs.
    `source` (where the post came from, e.g. a Slack message) is kept on the draft."""
    from sdassist.tools import get_tool

    if files:  # draft_post's whole dry run first (rules, time, caps): nothing goes to SocialDock for a draft
        # that cannot be made
        await compose(ctx, get_tool("draft_post").parse_input(dict(arguments)), files=files)
        if not ctx.settings.public_url:
            raise ToolError(NO_PUBLIC_URL, hint=NO_PUBLIC_URL_HINT)
    urls = [(await offer_to_socialdock(ctx, f)).socialdock_url for f in files]
    arguments = {**arguments, "media_urls": [*(arguments.get("media_urls") or []), *urls]}
    if source:
        ctx = dataclasses.replace(ctx, face_refs={**ctx.face_refs, **source})
    return await get_tool("draft_post").run(ctx, arguments)


TOOLS = [
    Tool(
        name="upload_media", title="Upload media",
        description="Give SocialDock an image or video (public URL, or the file); returns the URL for media_urls.",
        input_model=UploadInput, output_model=MediaView, kind=ToolKind.WRITE, toolset=Toolset.MEDIA,
        handler=upload_media,
    ),
]
