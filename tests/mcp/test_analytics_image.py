"""MCP get_analytics: the structured data, and the same chart as image content beside it."""

from __future__ import annotations

import base64
from typing import Any

from mcp import Client
from mcp.types import ImageContent, TextContent

from tests.mcp.conftest import data


async def test_get_analytics_returns_the_chart_as_image_content(server_factory: Any) -> None:
    async with Client(server_factory(SDASSIST_APPROVAL="none")) as client:
        data(await client.call_tool("draft_post", {"text": "Seen by many", "targets": ["instagram", "linkedin"],
                                                   "publish_now": True}))
        result = await client.call_tool("get_analytics", {"period": "7d"})
        out = data(result)
        assert out["scope"] == "workspace" and out["platforms"]["instagram"]["posts"] == 1
        assert isinstance(result.content[0], TextContent)
        images = [c for c in result.content if isinstance(c, ImageContent)]
        assert len(images) == 1 and images[0].mime_type == "image/png"
        assert base64.b64decode(images[0].data).startswith(b"\x89PNG\r\n\x1a\n")


async def test_other_tools_answer_without_images(server_factory: Any) -> None:
    async with Client(server_factory()) as client:
        result = await client.call_tool("list_accounts", {})
        assert all(isinstance(c, TextContent) for c in result.content)
