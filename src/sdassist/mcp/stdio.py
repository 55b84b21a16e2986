"""`sdassist mcp` over stdio: the SDK's transport, with every request answered (see `mcp.jsonrpc`).

Lines are checked before the SDK reads them; one it would drop in silence gets a JSON-RPC error on stdout
instead, with the request's id, so the host is never left waiting.
"""

from __future__ import annotations

import sys
from collections.abc import AsyncIterator
from io import TextIOWrapper
from typing import Any

import anyio
from mcp.server import MCPServer
from mcp.server.stdio import stdio_server
from mcp.shared.message import SessionMessage

from sdassist.mcp.jsonrpc import check_line


class AnsweredLines:
    """The lines of stdin the SDK can read; the others are answered here, through the SDK's write stream."""

    def __init__(self, source: Any) -> None:
        self.source = source
        self._write: Any = None
        self._ready = anyio.Event()

    def answer_through(self, write_stream: Any) -> None:
        self._write = write_stream
        self._ready.set()

    async def __aiter__(self) -> AsyncIterator[str]:
        async for line in self.source:
            refusal = check_line(line)
            if refusal is None:
                yield line
            elif refusal.reply:
                await self._ready.wait()
                await self._write.send(SessionMessage(refusal.as_message()))


async def serve_stdio(server: MCPServer) -> None:
    """Run `server` on stdin/stdout until stdin closes (what `MCPServer.run("stdio")` does, answered)."""
    stdin = anyio.wrap_file(TextIOWrapper(sys.stdin.buffer, encoding="utf-8", errors="replace"))
    lines = AnsweredLines(stdin)
    async with stdio_server(stdin=lines) as (read_stream, write_stream):  # type: ignore[arg-type]
        lines.answer_through(write_stream)
        lowlevel = server._lowlevel_server
        await lowlevel.run(read_stream, write_stream, lowlevel.create_initialization_options())


def run_stdio(server: MCPServer) -> None:
    anyio.run(serve_stdio, server)
