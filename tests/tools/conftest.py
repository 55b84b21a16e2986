"""A runtime on the embedded sandbox and a temporary database, per test."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from sdassist.publishing.drafts import Principal
from sdassist.runtime import Runtime, open_runtime
from sdassist.tools import ToolContext, get_tool
from tests.conftest import make_settings

OPERATOR = Principal(id="cli:tester", kind="operator", face="cli", name="tester")
ASSISTANT = Principal(id="mcp-assistant", kind="assistant", face="mcp", name="an assistant")






@pytest.fixture
async def runtime(tmp_path: Path) -> AsyncIterator[Runtime]:
    async with open_runtime(make_settings(tmp_path), announce=False) as rt:
        yield rt


async def call(rt: Runtime, name: str, principal: Principal = OPERATOR, **arguments: Any) -> Any:
    ctx: ToolContext = rt.context(principal)
    return await get_tool(name).run(ctx, arguments)


async def sandbox_control(rt: Runtime, method: str, path: str, **kwargs: Any) -> Any:
    """Talk to the embedded sandbox's control API (`/_sandbox/…`) directly."""
    transport = httpx.ASGITransport(app=rt.sandbox_app)
    async with httpx.AsyncClient(transport=transport, base_url="http://sandbox.local") as http:
        response = await http.request(method, path, **kwargs)
        response.raise_for_status()
        return response.json()["data"]
