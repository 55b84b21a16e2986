"""Streamable HTTP at /mcp: the token is required, the Host allow-list applies, open binds are refused."""

from __future__ import annotations

import argparse
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import httpx2
import pytest
import uvicorn
from mcp import Client
from mcp.client.streamable_http import streamable_http_client

from sdassist.mcp import build_server
from sdassist.mcp.http import HttpConfigError, http_app, required_token
from sdassist.mcp_server import run
from sdassist.sandbox.server import free_loopback_port as free_port
from tests.conftest import make_settings
from tests.mcp.conftest import data

TOKEN = "test-token-0123456789"




@pytest.fixture
def http_server(tmp_path: Path) -> Iterator[str]:
    settings = make_settings(tmp_path, SDASSIST_MCP_TOKEN=TOKEN)
    port = free_port()
    app = http_app(build_server(settings), settings, "127.0.0.1", port)
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.02)
    yield f"http://127.0.0.1:{port}/mcp"
    server.should_exit = True
    thread.join(timeout=10)


def test_refused_without_the_token(http_server: str) -> None:
    body = {"jsonrpc": "2.0", "id": 1, "method": "tools/list"}
    for headers in ({}, {"Authorization": "Bearer wrong"}):
        response = httpx.post(http_server, json=body, headers=headers)
        assert response.status_code == 401
        assert response.headers["www-authenticate"].startswith("Bearer")
        assert TOKEN not in response.text


async def test_served_with_the_token(http_server: str) -> None:
    async with httpx2.AsyncClient(headers={"Authorization": f"Bearer {TOKEN}"}) as http:
        transport = streamable_http_client(http_server, http_client=http)
        async with Client(transport) as client:
            names = {t.name for t in (await client.list_tools()).tools}
            assert "list_accounts" in names
            assert data(await client.call_tool("list_accounts", {}))["accounts"]


def test_non_loopback_without_a_token_is_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    settings = make_settings(tmp_path)
    with pytest.raises(HttpConfigError, match="SDASSIST_MCP_TOKEN"):
        required_token(settings, "0.0.0.0")
    assert required_token(settings, "127.0.0.1") is None
    assert required_token(make_settings(tmp_path, SDASSIST_MCP_TOKEN=TOKEN), "0.0.0.0") == TOKEN
    args = argparse.Namespace(http=True, host="0.0.0.0", port=free_port(), read_only=None, toolsets=None)
    assert run(args) == 2
    captured = capsys.readouterr()
    assert "SDASSIST_MCP_TOKEN" in captured.err and captured.out == ""


def test_unknown_host_header_is_refused_unless_allowed(tmp_path: Path) -> None:
    from starlette.testclient import TestClient

    body = {"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
        "protocolVersion": "2025-06-18", "capabilities": {}, "clientInfo": {"name": "t", "version": "1"}}}
    headers: dict[str, Any] = {"Accept": "application/json, text/event-stream", "Host": "mcp.example.com"}
    for allowed, expected in (("", 421), ("mcp.example.com", 200)):
        settings = make_settings(tmp_path, SDASSIST_MCP_ALLOWED_HOSTS=allowed)
        app = http_app(build_server(settings), settings, "127.0.0.1", 8000)
        with TestClient(app, base_url="http://mcp.example.com") as client:
            assert client.post("/mcp", json=body, headers=headers).status_code == expected


async def test_a_file_sent_over_http_is_fetched_by_socialdock_from_this_server(tmp_path: Path) -> None:
    """upload_media with the file itself: the MCP HTTP server serves the signed link it hands SocialDock (the
    sandbox fetches it over loopback), and refuses a link that was not signed."""
    import base64

    from tests.media_samples import jpeg

    port = free_port()
    settings = make_settings(tmp_path, SDASSIST_MCP_TOKEN=TOKEN, SDASSIST_PUBLIC_URL=f"http://127.0.0.1:{port}")
    server = uvicorn.Server(uvicorn.Config(http_app(build_server(settings), settings, "127.0.0.1", port),
                                           host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        deadline = time.monotonic() + 10
        while not server.started and time.monotonic() < deadline:
            time.sleep(0.02)
        async with httpx2.AsyncClient(headers={"Authorization": f"Bearer {TOKEN}"}) as http:
            transport = streamable_http_client(f"http://127.0.0.1:{port}/mcp", http_client=http)
            async with Client(transport) as client:
                out = data(await client.call_tool("upload_media", {
                    "content_base64": base64.b64encode(jpeg(100_000)).decode(), "file_name": "team.jpg"}))
        assert out["url"].startswith("https://cdn.socialdock.test/med_") and out["kind"] == "image"
        async with httpx.AsyncClient() as plain:
            refused = await plain.get(f"http://127.0.0.1:{port}/media/mf_{'a' * 24}/x.jpg?exp=1&sig=forged")
        assert refused.status_code == 403 and "signature does not match" in refused.text
    finally:
        server.should_exit = True
        thread.join(timeout=10)
