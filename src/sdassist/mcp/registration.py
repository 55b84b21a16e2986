"""Registry tools onto an MCPServer: the heavy half of the MCP face.

It imports every tool (and through them the draft model, the store and the platform rules) and has the SDK
build a pydantic model and schemas per tool. A start that finds a cached listing (`listing.py`) does none
of this before answering `tools/list`: it runs in the background after the first request
(`server.Warmup`), and a tool call waits for it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from sdassist.mcp.adapter import annotations_for, build_plain_function
from sdassist.mcp.compact import compact_schema, inline_defs, shallow_output
from sdassist.mcp.confirm import build_confirmed_function
from sdassist.mcp.page_rounds import CONFIRMED_TOOLS
from sdassist.publishing.drafts import Principal
from sdassist.tools.base import Tool, ToolKind, Toolset
from sdassist.tools.registry import parse_toolsets, select_tools

if TYPE_CHECKING:
    from mcp.server import MCPServer

    from sdassist.config import Settings
    from sdassist.mcp.server import ServerState

ASSISTANT = Principal(id="mcp-assistant", kind="assistant", face="mcp", name="an assistant")


def chosen_tools(settings: Settings, *, toolsets: str | None = None, read_only: bool | None = None) -> list[Tool]:
    """The registry's tools for an assistant, by toolset and read-only switch (flags override settings)."""
    spec = toolsets if toolsets is not None else settings.mcp_toolsets
    sets: frozenset[Toolset] = parse_toolsets(spec)
    only_reads = settings.mcp_read_only if read_only is None else read_only
    return select_tools(toolsets=sets, read_only=only_reads, for_assistant=True)


def schema_holders(tools: list[Tool]) -> dict[str, str]:
    """tool name → the listed tool that publishes its output schema, for outputs several tools share.

    MCP has no way to share a schema between tools, and the same draft schema four times is ~1.5 KB of every
    tools/list. So one tool carries it (a read tool when there is one: get_draft for a draft) and the others
    say in their description that they answer with the same shape."""
    by_model: dict[type, list[Tool]] = {}
    for tool in tools:
        by_model.setdefault(tool.output_model, []).append(tool)
    holders = {}
    for group in by_model.values():
        holder = next((t for t in group if t.kind == ToolKind.READ), group[0])
        holders.update({t.name: holder.name for t in group})
    return holders


def register_tool(server: MCPServer, tool: Tool, state: ServerState, *, schema_from: str | None = None) -> None:
    """One registry tool on the server: with a confirmation question when approval is `confirm`.

    `schema_from` names another listed tool that publishes this tool's output schema: this one then lists
    none, says so, and still answers with structured content of that shape."""
    description = tool.description
    if state.settings.approval == "confirm" and tool.name in CONFIRMED_TOOLS:
        fn = build_confirmed_function(tool, state.context, sandbox=state.settings.uses_sandbox,
                                      remember=state.open_pages.remember)
    else:
        fn = build_plain_function(tool, state.context)
    shared = schema_from is not None and schema_from != tool.name
    if shared:
        description += f" Answers like {schema_from}."
    server.add_tool(fn, name=tool.name, title=tool.title, description=description,
                    annotations=annotations_for(tool), structured_output=True)
    registered = server._tool_manager.get_tool(tool.name)
    assert registered is not None
    registered.parameters = inline_defs(compact_schema(registered.parameters, output=False))
    meta = registered.fn_metadata
    meta.output_schema = None if shared else shallow_output(compact_schema(meta.output_schema, output=True))


def register_tools(server: MCPServer, state: ServerState, tools: list[Tool]) -> None:
    holders = schema_holders(tools)
    for tool in tools:
        register_tool(server, tool, state, schema_from=holders[tool.name])


def is_read_only(tools: list[Tool]) -> bool:
    return all(t.kind == ToolKind.READ for t in tools)
