"""The MCP server: every assistant-visible tool of the registry, the platform rules, a planning prompt.

The runtime (SocialDock client or embedded sandbox, draft store) opens on the first tool call rather than
at start-up: hosts time out slow starters, and listing tools needs none of it.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncIterator
from typing import Annotated, Any

import anyio
from mcp.server import MCPServer
from mcp.server.mcpserver import Context
from mcp.server.mcpserver.exceptions import ToolError as McpToolError
from pydantic import Field

from sdassist import package_version
from sdassist.config import Settings
from sdassist.mcp.adapter import annotations_for, argument_refusal, build_plain_function, progress_to
from sdassist.mcp.compact import compact_schema, inline_defs, shallow_output
from sdassist.mcp.confirm import CONFIRMED_TOOLS, build_confirmed_function
from sdassist.publishing.drafts import Principal
from sdassist.tools.base import Tool, ToolContext, ToolKind, Toolset
from sdassist.tools.registry import parse_toolsets, select_tools

log = logging.getLogger("sdassist.mcp")

ASSISTANT = Principal(id="mcp-assistant", kind="assistant", face="mcp", name="an assistant")
RULES_URI = "sdassist://platform-rules"
# No separate title: on the newest protocol the server's identity is stamped on every result, so it stays its
# name and version; what sdassist does is said once, in the instructions.

SANDBOX_LINE = ("SANDBOX: no SOCIALDOCK_API_KEY is set, so this server runs on the built-in SocialDock sandbox and "
                "nothing is really posted. Say so when you report a post.")

APPROVAL_LINES = {
    "confirm": ("Approval: nothing is published until the user confirms. The host asks them when it can; otherwise "
                "draft_post/edit_draft/update_post return a preview and a confirmation_token: show the preview, ask, "
                "and only after a yes call the same tool again with the token."),
    "slack": ("Approval: drafts go to the team's Slack approval channel and a person approves them there; you cannot. "
              "Tell the user, and check the outcome later with get_draft."),
    "none": ("Approval is switched off on this server: draft_post publishes or schedules at once. Confirm the text, "
             "accounts and time with the user before calling it."),
}


def instructions(settings: Settings, *, read_only: bool) -> str:
    """Short and specific: where to start, how times are read, how approval works here."""
    lines = [SANDBOX_LINE] if settings.uses_sandbox else []
    lines.append("sdassist publishes to social media through SocialDock. Call list_accounts first to see what is "
                 "connected.")
    lines.append(f"Times like 'tomorrow 9am' are read in {settings.timezone} unless the user names another zone "
                 "(pass zone=...); results show local time and UTC.")
    if read_only:
        lines.append("This server is read-only: it can look but not post.")
    else:
        lines.append("Use check_post for a dry run. " + APPROVAL_LINES[settings.approval])
    lines.append(f"Platform rules: resource {RULES_URI}.")
    return "\n".join(lines)


class SdassistServer(MCPServer):
    """The SDK's server, with arguments it would refuse refused in our words (`adapter.argument_refusal`)."""

    async def call_tool(self, name: str, arguments: dict[str, Any], context: Any = None) -> Any:
        registered = self._tool_manager.get_tool(name)
        if registered is not None and (refusal := argument_refusal(registered, arguments)) is not None:
            raise McpToolError(f"Error executing tool {name}: {refusal}")
        return await super().call_tool(name, arguments, context)


class ServerState:
    """The runtime, opened once on first use and closed with the server."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._runtime: Any = None
        self._lock = anyio.Lock()
        self._stack = contextlib.AsyncExitStack()
        self.local_files = False  # set for stdio: the assistant runs on this machine and may name local paths

    async def runtime(self) -> Any:
        if self._runtime is None:
            async with self._lock:
                if self._runtime is None:
                    from sdassist.runtime import open_runtime

                    self._runtime = await self._stack.enter_async_context(
                        open_runtime(self.settings, announce=False))
        return self._runtime

    async def context(self, ctx: Context) -> ToolContext:
        runtime = await self.runtime()
        return runtime.context(caller(ctx), progress=progress_to(ctx), local_files=self.local_files)

    async def aclose(self) -> None:
        await self._stack.aclose()
        self._runtime = None


def caller(ctx: Context) -> Principal:
    """Who is asking: the person behind the OAuth or personal access token ("Alice via Claude"), else an
    anonymous assistant (stdio, the shared token, or no authentication)."""
    request = ctx.request_context.request
    if request is None:
        return ASSISTANT
    from sdassist.mcp.auth import principal_of

    return principal_of(request, ASSISTANT)


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
        fn = build_confirmed_function(tool, state.context, sandbox=state.settings.uses_sandbox)
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


def build_server(
    settings: Settings | None = None, *, toolsets: str | None = None, read_only: bool | None = None
) -> MCPServer:
    """The sdassist MCP server for these settings (no I/O until the first tool call)."""
    settings = settings or Settings()
    tools = chosen_tools(settings, toolsets=toolsets, read_only=read_only)
    is_read_only = all(t.kind == ToolKind.READ for t in tools)
    state = ServerState(settings)

    @contextlib.asynccontextmanager
    async def lifespan(_server: MCPServer) -> AsyncIterator[ServerState]:
        try:
            yield state
        finally:
            await state.aclose()

    server = SdassistServer(
        "sdassist",
        version=package_version(),
        instructions=instructions(settings, read_only=is_read_only),
        lifespan=lifespan,
    )
    holders = schema_holders(tools)
    for tool in tools:
        register_tool(server, tool, state, schema_from=holders[tool.name])
    add_rules_resource(server)
    add_planning_prompt(server, settings)
    server.sdassist_state = state  # type: ignore[attr-defined]  # for tests and the benchmark
    return server


def add_rules_resource(server: MCPServer) -> None:
    @server.resource(RULES_URI, name="platform_rules", title="Platform rules",
                     description="What each platform accepts: text limits, titles, media, required settings.",
                     mime_type="text/markdown")
    def platform_rules() -> str:
        from sdassist.publishing.platforms import rules_as_markdown

        return rules_as_markdown()


def add_planning_prompt(server: MCPServer, settings: Settings) -> None:
    @server.prompt(name="plan_week", title="Plan a week of posts",
                   description="Plan a week of posts on a topic, check them, and draft them for approval.")
    def plan_week(
        topic: Annotated[str, Field(description="What the week's posts are about.")],
        platforms: Annotated[str, Field(description="Where to post, e.g. 'linkedin, instagram'.")]
        = "every connected platform",
        start: Annotated[str, Field(description="The first day, e.g. 'next monday' or '2026-03-02'.")] = "next monday",
    ) -> str:
        return (
            f"Plan a week of social media posts about: {topic}.\n"
            f"Platforms: {platforms}. The week starts {start}; times are in {settings.timezone} unless I say "
            "otherwise.\n"
            "1. Call list_accounts and use only connected accounts.\n"
            f"2. Propose one post per day (text, platforms, time) as a table, following {RULES_URI}.\n"
            "3. Run check_post on each and fix every error.\n"
            "4. After I approve the plan, draft them one by one with draft_post and follow each next_step; "
            "nothing is published until it is confirmed."
        )
