"""A real `sdassist mcp` process over stdio: what a desktop host does."""

from __future__ import annotations

import os
import sys
from pathlib import Path

from mcp import Client, StdioServerParameters

from tests.mcp.conftest import POST, data


def server_params(tmp_path: Path, *args: str) -> StdioServerParameters:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SOCIALDOCK_", "SDASSIST_"))}
    env.update(SDASSIST_DATA_DIR=str(tmp_path), SDASSIST_TIMEZONE="Europe/Berlin")
    return StdioServerParameters(command=sys.executable, args=["-m", "sdassist", "mcp", *args], env=env,
                                 cwd=str(tmp_path))


async def test_stdio_lists_reads_drafts_and_confirms_with_the_token(tmp_path: Path) -> None:
    async with Client(server_params(tmp_path)) as client:
        assert "SANDBOX" in (client.instructions or "")
        names = {t.name for t in (await client.list_tools()).tools}
        assert {"list_accounts", "draft_post", "get_draft"} <= names and "approve_draft" not in names
        accounts = data(await client.call_tool("list_accounts", {}))
        assert accounts["accounts"]
        preview = data(await client.call_tool("draft_post", POST))
        assert preview["state"] == "pending" and preview["confirmation_token"]
        done = data(await client.call_tool("draft_post", {**POST, "confirmation_token": preview["confirmation_token"]}))
        assert done["state"] == "scheduled" and done["post_id"].startswith("post_")


async def test_stdio_read_only(tmp_path: Path) -> None:
    async with Client(server_params(tmp_path, "--read-only", "--toolsets", "all")) as client:
        tools = (await client.list_tools()).tools
    assert tools and all(t.annotations.read_only_hint for t in tools)
