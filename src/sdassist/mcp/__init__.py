"""The MCP face: the tool registry served to AI assistants over stdio or streamable HTTP."""

from sdassist.lazy import lazy_exports
from sdassist.mcp.server import build_server, instructions

__all__ = ["ASSISTANT", "build_server", "chosen_tools", "instructions"]

# `ASSISTANT` and `chosen_tools` load the tool registry: only when asked for (`sdassist mcp` starts without).
__getattr__ = lazy_exports(__name__, {"ASSISTANT": ".registration", "chosen_tools": ".registration"}, globals())
