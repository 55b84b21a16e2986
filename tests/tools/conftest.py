"""A runtime on the embedded sandbox and a temporary database, per test."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import httpx
import pytest

from sdassist.config import Settings
from sdassist.publishing.drafts import Principal
from sdassist.runtime import Runtime, open_runtime
from sdassist.tools import ToolContext, get_tool

OPERATOR = Principal(id="cli:tester", kind="operator", face="cli", name="tester")
ASSISTANT = Principal(id="mcp-assistant", kind="assistant", face="mcp", name="an assistant")


def make_settings(tmp_path: Path, **overrides: Any) -> Settings:
    values = {"SDASSIST_DATA_DIR": str(tmp_path), "SDASSIST_TIMEZONE": "Europe/Berlin"}
    values.update(overrides)
    return Settings(_env_file=None, **values)


@pytest.fixture
def settings_factory(tmp_path: Path) -> Callable[..., Settings]:
    return lambda **overrides: make_settings(tmp_path, **overrides)


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
