"""The MCP face: the tool registry served to AI assistants over stdio or streamable HTTP."""

from typing import Any

from sdassist.mcp.server import build_server, instructions

__all__ = ["ASSISTANT", "build_server", "chosen_tools", "instructions"]


def __getattr__(name: str) -> Any:
    """`ASSISTANT` and `chosen_tools` load the tool registry: only when asked for (`sdassist mcp` starts without)."""
    if name in ("ASSISTANT", "chosen_tools"):
        from sdassist.mcp import registration

        return getattr(registration, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
