"""The shared tool layer: every operation once, for MCP, Slack and the terminal."""

from sdassist.tools.base import DEFAULT_TOOLSETS, Tool, ToolContext, ToolInput, ToolKind, ToolOutput, Toolset
from sdassist.tools.errors import ToolError
from sdassist.tools.registry import ALL_TOOLS, TOOLS_BY_NAME, get_tool, parse_toolsets, select_tools

__all__ = [
    "ALL_TOOLS", "DEFAULT_TOOLSETS", "TOOLS_BY_NAME", "Tool", "ToolContext", "ToolError", "ToolInput", "ToolKind",
    "ToolOutput", "Toolset", "get_tool", "parse_toolsets", "select_tools",
]
