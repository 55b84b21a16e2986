"""upload_media with the file itself: stored, served at a signed URL, fetched by SocialDock (the sandbox
really fetches loopback URLs), and the URL SocialDock returns is what a post carries."""

from __future__ import annotations

import base64
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from sdassist.client.errors import BadRequestError
from sdassist.runtime import Runtime, open_runtime
from sdassist.sandbox.server import free_loopback_port
from sdassist.tools import ToolError, get_tool
from sdassist.web.media import add_media_route
from tests.conftest import make_settings
from tests.media_samples import jpeg, png
from tests.tools.conftest import ASSISTANT, call


@pytest.fixture
async def served(tmp_path: Path) -> AsyncIterator[Runtime]:
    """A runtime whose SDASSIST_PUBLIC_URL is a loopback server serving its signed media URLs."""
    port = free_loopback_port()
    settings = make_settings(tmp_path, SDASSIST_PUBLIC_URL=f"http://127.0.0.1:{port}")
    async with open_runtime(settings, announce=False) as rt:
        app = web.Application()
        add_media_route(app, lambda: rt.media)
        server = TestServer(app, host="127.0.0.1", port=port)
        await server.start_server()
        try:
            yield rt
        finally:
            await server.close()


def sandbox_media(rt: Runtime) -> dict[str, Any]:
    return {m.url: m for m in rt.sandbox_app.state.sandbox.media.values()}


async def test_a_file_sent_as_base64_reaches_socialdock_through_the_signed_url(served: Runtime) -> None:
    data = jpeg(300_000)
    out = await call(served, "upload_media", ASSISTANT, content_base64=base64.b64encode(data).decode(),
                     file_name="launch.jpg")
    assert out.url.startswith("https://cdn.socialdock.test/") and out.kind == "image"
    record = sandbox_media(served)[out.url]
    assert (record.size, record.mime_type) == (len(data), "image/jpeg")  # the sandbox fetched every byte
    assert record.source_url.startswith(served.settings.public_url + "/media/mf_")
    view = await call(served, "draft_post", ASSISTANT, text="Launch", targets=["linkedin"], publish_now=True,
                      media_urls=[out.url])
    assert view.state == "pending"


async def test_the_format_and_size_rules_know_stored_files(served: Runtime) -> None:
    out = await call(served, "upload_media", ASSISTANT, content_base64=base64.b64encode(png()).decode(),
                     file_name="chart.png")
    with pytest.raises(ToolError, match=r"instagram: med_\w+\.png is image/png, images must be JPEG"):
        await call(served, "draft_post", ASSISTANT, text="Chart", targets=["instagram"], publish_now=True,
                   media_urls=[out.url])


async def test_a_tampered_or_expired_link_is_refused_when_socialdock_fetches_it(served: Runtime) -> None:
    assert served.media is not None
    from sdassist.publishing.media import chunks_of

    stored = await served.media.put(chunks_of(png()), name="a.png", owner="x", max_bytes=10**6)
    good = await served.media.signed_url(stored, base_url=served.settings.public_url or "", ttl=60)
    tampered = good.replace("exp=", "exp=9")
    with pytest.raises(BadRequestError, match=r"HTTP 403 \(this media link's signature does not match\)"):
        await served.client.media.upload(url=tampered, file_name="a.png")
    expired = await served.media.signed_url(stored, base_url=served.settings.public_url or "", ttl=-1)
    with pytest.raises(BadRequestError, match=r"HTTP 403 \(this media link has expired\)"):
        await served.client.media.upload(url=expired, file_name="a.png")
    assert (await served.client.media.upload(url=good, file_name="a.png")).mime_type == "image/png"


async def test_without_a_public_url_the_refusal_says_what_to_set(tmp_path: Path) -> None:
    async with open_runtime(make_settings(tmp_path), announce=False) as rt:
        with pytest.raises(ToolError, match="SDASSIST_PUBLIC_URL is not set") as caught:
            await call(rt, "upload_media", ASSISTANT, content_base64=base64.b64encode(png()).decode())
        assert "Set SDASSIST_PUBLIC_URL" in (caught.value.hint or "")


async def test_when_socialdock_cannot_fetch_sdassists_link_the_refusal_names_the_setting(tmp_path: Path) -> None:
    """The URL SocialDock failed to fetch is one sdassist made (SDASSIST_PUBLIC_URL, here with nothing serving
    it, as with an MCP server on stdio alone): the refusal says which setting and what must run there, and never
    repeats the signed link; a retry once it is served works."""
    port = free_loopback_port()
    async with open_runtime(make_settings(tmp_path, SDASSIST_PUBLIC_URL=f"http://127.0.0.1:{port}"),
                            announce=False) as rt:
        content = base64.b64encode(png()).decode()
        with pytest.raises(ToolError, match=rf"could not fetch chart.png from sdassist at SDASSIST_PUBLIC_URL "
                                            rf"\(http://127.0.0.1:{port}\)") as caught:
            await call(rt, "upload_media", ASSISTANT, content_base64=content, file_name="chart.png")
        assert "sdassist mcp --http" in (caught.value.hint or "") and "sig=" not in str(caught.value)
        app = web.Application()
        add_media_route(app, lambda: rt.media)
        server = TestServer(app, host="127.0.0.1", port=port)
        await server.start_server()
        try:
            out = await call(rt, "upload_media", ASSISTANT, content_base64=content, file_name="chart.png")
        finally:
            await server.close()
        assert out.kind == "image"


async def test_a_local_path_only_on_stdio(served: Runtime, tmp_path: Path) -> None:
    photo = tmp_path / "photo.jpg"
    photo.write_bytes(jpeg(5000))
    with pytest.raises(ToolError, match=r"path works only when sdassist runs on your machine "
                                        r"\(the terminal, or MCP over stdio\)"):
        await call(served, "upload_media", ASSISTANT, path=str(photo))
    ctx = served.context(ASSISTANT, local_files=True)
    out = await get_tool("upload_media").run(ctx, {"path": str(photo)})
    assert sandbox_media(served)[out.url].size == 5000


@pytest.mark.parametrize(("arguments", "problem"), [
    ({}, "give exactly one of url, content_base64 or path"),
    ({"url": "https://x.test/a.jpg", "content_base64": "AAAA"}, r"\(got url, content_base64\)"),
    ({"content_base64": "not base64!"}, "content_base64 is not valid base64"),
    ({"content_base64": base64.b64encode(b"%PDF-1.4 hello").decode(), "file_name": "x.pdf"},
     "x.pdf is not an image or a video sdassist can post"),
])
async def test_bad_uploads_are_refused_with_the_reason(served: Runtime, arguments: dict[str, Any],
                                                       problem: str) -> None:
    with pytest.raises(ToolError, match=problem):
        await call(served, "upload_media", ASSISTANT, **arguments)
