"""SDASSIST_LOG=debug works in every face, even where the face configured logging first; keys stay redacted."""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from sdassist.client import SocialDock

KEY = "SD_LIVE_Secret0123456789abcdef"


def test_debug_lines_reach_a_root_logger_a_face_configured_at_info(monkeypatch: pytest.MonkeyPatch) -> None:
    """`sdassist slack` sets the root logger to INFO before any client exists (and `sdassist mcp` to WARNING)."""
    monkeypatch.setenv("SDASSIST_LOG", "debug")
    seen: list[str] = []

    class Keep(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            seen.append(self.format(record))

    root = logging.getLogger()
    handler, level = Keep(), root.level
    root.addHandler(handler)
    root.setLevel(logging.INFO)
    try:
        def answer(request: httpx.Request) -> httpx.Response:
            return httpx.Response(200, json={"data": {"accounts": []}, "meta": {}})

        client = SocialDock(KEY, base_url="https://api.example.test", transport=httpx.MockTransport(answer))
        import asyncio

        asyncio.run(client.accounts.list())
        asyncio.run(client.aclose())
    finally:
        root.removeHandler(handler)
        root.setLevel(level)
        logging.getLogger("sdassist.client").setLevel(logging.NOTSET)
    text = "\n".join(seen)
    assert "client for https://api.example.test" in text and "GET /api/v1/accounts" in text
    assert "Secret0123456789" not in text


def test_debug_log_under_sdassist_mcp_over_stdio(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SOCIALDOCK_", "SDASSIST_", "SLACK_"))}
    env.update(SDASSIST_DATA_DIR=str(tmp_path), SDASSIST_LOG="debug")
    lines = [
        {"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
            "protocolVersion": "2025-06-18", "capabilities": {}, "clientInfo": {"name": "t", "version": "1"}}},
        {"jsonrpc": "2.0", "method": "notifications/initialized"},
        {"jsonrpc": "2.0", "id": 2, "method": "tools/call", "params": {"name": "list_accounts", "arguments": {}}},
    ]
    proc = subprocess.Popen([sys.executable, "-m", "sdassist", "mcp"], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, env=env, text=True, cwd=tmp_path)
    try:
        assert proc.stdin is not None and proc.stdout is not None
        proc.stdin.write("\n".join(map(json.dumps, lines)) + "\n")
        proc.stdin.flush()
        answer: dict = {}
        while answer.get("id") != 2:  # keep stdin open until the call is answered
            line = proc.stdout.readline()
            assert line, "the server closed stdout"
            answer = json.loads(line)
        assert "result" in answer, answer
        proc.stdin.close()
        stderr = proc.stderr.read() if proc.stderr else ""
    finally:
        proc.kill()
        proc.wait(timeout=30)
    assert "GET /api/v1/accounts" in stderr, stderr
    assert "sd_test_sandbox" not in stderr


def test_debug_log_under_sdassist_mcp_over_http_covers_every_sdassist_logger(tmp_path: Path) -> None:
    """Not only the SocialDock client: the MCP endpoint's own lines (here, a refused token) show, redacted."""
    from tests.client.conftest import free_port

    port, token, wrong = free_port(), "s3cret-shared-token-0123456789", "sda_at_" + "W" * 43
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SOCIALDOCK_", "SDASSIST_", "SLACK_"))}
    env.update(SDASSIST_DATA_DIR=str(tmp_path), SDASSIST_LOG="debug", SDASSIST_MCP_AUTH="token",
               SDASSIST_MCP_TOKEN=token)
    proc = subprocess.Popen([sys.executable, "-m", "sdassist", "mcp", "--http", "--port", str(port)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env, text=True, cwd=tmp_path)
    try:
        url, refused = f"http://127.0.0.1:{port}/mcp", None
        for _ in range(300):
            try:
                refused = httpx.post(url, json={"jsonrpc": "2.0", "id": 1, "method": "ping"},
                                     headers={"Authorization": f"Bearer {wrong}"}, timeout=5)
                break
            except httpx.TransportError:
                assert proc.poll() is None, proc.stderr.read() if proc.stderr else ""
                time.sleep(0.1)
        assert refused is not None and refused.status_code == 401
    finally:
        proc.terminate()
        out, err = proc.communicate(timeout=30)
    assert "sdassist.mcp: DEBUG: refused the access token sent to /mcp" in err, err
    assert out == ""
    assert wrong[7:] not in err and token not in err
