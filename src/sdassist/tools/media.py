"""Media upload: SocialDock fetches a public URL and hands back a URL to attach."""

from __future__ import annotations

from pydantic import Field

from sdassist.netsafety import UnsafeURL, check_public_url
from sdassist.publishing.platforms import media_kind
from sdassist.tools.base import Tool, ToolContext, ToolInput, ToolKind, ToolOutput, Toolset
from sdassist.tools.errors import ToolError


class UploadInput(ToolInput):
    url: str = Field(description="Public http(s) URL of an image or video.")
    file_name: str | None = Field(default=None, description="Optional name.")


class MediaView(ToolOutput):
    media_id: str
    url: str = Field(description="Use this URL in media_urls of draft_post.")
    mime_type: str | None = None
    kind: str


async def upload_media(ctx: ToolContext, inp: UploadInput) -> MediaView:
    try:
        url = check_public_url(inp.url, field="url", loopback_ok=ctx.client.is_local)
    except UnsafeURL as exc:
        raise ToolError(str(exc), hint=f"{exc.hint} Upload the file somewhere public first and pass its URL.") from None
    await ctx.report_progress(0, 1, "SocialDock is fetching the file")
    media = await ctx.client.media.upload(url=url, file_name=inp.file_name)
    await ctx.report_progress(1, 1, "stored")
    return MediaView(media_id=media.id, url=media.url, mime_type=media.mime_type,
                     kind=media_kind(media.url, media.mime_type))


TOOLS = [
    Tool(
        name="upload_media", title="Upload media",
        description="Have SocialDock fetch an image or video from a public URL; returns the URL to use in "
                    "media_urls.",
        input_model=UploadInput, output_model=MediaView, kind=ToolKind.WRITE, toolset=Toolset.MEDIA,
        handler=upload_media,
    ),
]
