"""The MCP face: the tool registry served to AI assistants over stdio or streamable HTTP."""

from sdassist.mcp.server import ASSISTANT, build_server, chosen_tools, instructions

__all__ = ["ASSISTANT", "build_server", "chosen_tools", "instructions"]
