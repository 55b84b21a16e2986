"""A fast start and a fast first call: the listing comes from a cache, and the rest loads in the background
after the first request. (Timing lives in bench/mcp_server.py; these check the behaviour that makes it fast.)"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import anyio
from mcp import Client

from sdassist import heap
from sdassist.mcp import listing
from tests.mcp.conftest import data

HEAVY = ["sdassist.tools", "sdassist.runtime", "sqlalchemy", "dateparser", "httpx"]

SECOND_START = """
import asyncio, json, sys
from sdassist.config import Settings
from sdassist.mcp import build_server

server = build_server(Settings(_env_file=None, SDASSIST_DATA_DIR=sys.argv[1], SDASSIST_TIMEZONE="Europe/Berlin"))
tools = asyncio.run(server.list_tools())
print(json.dumps({"loaded": [m for m in json.loads(sys.argv[2]) if m in sys.modules],
                  "tools": [t.model_dump(mode="json", by_alias=True, exclude_none=True) for t in tools]}))
"""


async def _listed(server: Any) -> list[dict[str, Any]]:
    async with Client(server) as client:
        tools = (await client.list_tools()).tools
    return [t.model_dump(mode="json", by_alias=True, exclude_none=True) for t in tools]


async def test_a_second_start_lists_the_same_tools_from_the_cache_without_loading_them(
        server_factory: Any, tmp_path: Path) -> None:
    first = await _listed(server_factory())  # the first run builds the listing and caches it
    assert list((tmp_path / "cache").glob("mcp-tools-*.json"))
    out = subprocess.run([sys.executable, "-c", SECOND_START, str(tmp_path), json.dumps(HEAVY)],
                         capture_output=True, text=True, timeout=120, check=True)
    second = json.loads(out.stdout)
    assert second["loaded"] == []
    assert second["tools"] == first


async def test_after_the_first_request_the_tools_runtime_and_parser_load_in_the_background(
        server_factory: Any) -> None:
    await _listed(server_factory())
    server = server_factory()  # a cache hit: nothing loaded yet
    assert not server._installed and server.sdassist_state._runtime is None
    async with Client(server) as client:
        await client.list_tools()
        with anyio.fail_after(60):
            await server.warmup.done.wait()
        assert server._installed and server.sdassist_state._runtime is not None
        out = data(await client.call_tool("resolve_time", {"phrase": "tomorrow 9am"}))
    assert out["local"].endswith("09:00 Europe/Berlin")


async def test_the_warm_up_ends_by_settling_the_heap(server_factory: Any, monkeypatch: Any) -> None:
    """Once the tools, the parser and the runtime are in, what start-up built is frozen (`heap.settle`, once), so
    the full GC passes of a long-running server skip it; calls work after it."""
    await _listed(server_factory())
    server = server_factory()
    settled: list[bool] = []
    monkeypatch.setattr(heap, "settle", lambda: settled.append(
        server._installed and server.sdassist_state._runtime is not None) or 0)
    async with Client(server) as client:
        await client.list_tools()
        with anyio.fail_after(60):
            await server.warmup.done.wait()
        assert settled == [True]
        assert data(await client.call_tool("resolve_time", {"phrase": "tomorrow 9am"}))["local"]
    assert settled == [True]


async def test_a_call_before_the_warm_up_finishes_waits_for_it_and_works(server_factory: Any) -> None:
    await _listed(server_factory())
    async with Client(server_factory()) as client:
        out = data(await client.call_tool("list_accounts", {}))
    assert out["accounts"]


def test_the_cache_key_follows_the_source_and_the_settings(tmp_path: Path) -> None:
    module = tmp_path / "tool.py"
    module.write_text("A = 1\n")
    before = listing.source_fingerprint(tmp_path)
    module.write_text("A = 22\n")
    assert listing.source_fingerprint(tmp_path) != before
    confirm, slack = {"approval": "confirm"}, {"approval": "slack"}
    assert listing.cache_key(confirm) != listing.cache_key(slack)
    assert listing.cache_path(tmp_path, confirm) != listing.cache_path(tmp_path, slack)


def test_a_damaged_or_stale_cache_is_a_miss(tmp_path: Path) -> None:
    path = tmp_path / "cache" / "mcp-tools-x.json"
    listing.save(path, "key-1", [{"name": "t"}], read_only=True)
    assert listing.load(path, "key-1") == {"tools": [{"name": "t"}], "read_only": True}
    assert listing.load(path, "key-2") is None
    path.write_text("{not json")
    assert listing.load(path, "key-1") is None
    assert not list(path.parent.glob(".mcp-tools-*"))  # no temporary file left behind


START_PATH = """
import json, sys
import sdassist.cli
sdassist.cli.build_parser()
import sdassist.mcp_server, sdassist.mcp.stdio
print(json.dumps([m for m in json.loads(sys.argv[1]) if m in sys.modules]))
"""


def test_the_path_sdassist_mcp_starts_on_loads_nothing_heavy() -> None:
    """`sdassist mcp` imports the CLI (its parser included), the MCP face and the stdio transport before it
    answers: none of them may pull in the registry, the store, the OAuth provider or httpx."""
    heavy = [*HEAVY, "sdassist.identity.store", "sdassist.identity.provider", "sdassist.publishing.drafts", "rich"]
    out = subprocess.run([sys.executable, "-c", START_PATH, json.dumps(heavy)], capture_output=True, text=True,
                         timeout=120, check=True)
    assert json.loads(out.stdout) == []
