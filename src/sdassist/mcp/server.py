"""The MCP server: every assistant-visible tool of the registry, the platform rules, a planning prompt.

Hosts time a server's start, and a model's first call is often `resolve_time` or `list_accounts` the moment
the user asks. So this module is the light half of the MCP face: it imports neither the tool registry nor
the runtime. A start answers `initialize` and `tools/list` from the cached listing (`listing.py`); right
after the first request, `Warmup` loads the tools (`registration.py`), the time parser and the runtime in the
background, and a tool call waits for it only if it comes sooner. Without a cached listing (the first run,
an edited tree) the tools are registered at start-up as before and the listing is cached.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING, Any

import anyio
from mcp.server import MCPServer
from mcp.server.mcpserver import Context, RequestStateSecurity
from mcp.server.mcpserver.exceptions import ToolError as McpToolError
from mcp.server.mcpserver.prompts.base import Prompt, PromptArgument
from mcp.server.request_state import RequestStateBoundary
from mcp.shared.exceptions import MCPError
from mcp.types import INVALID_PARAMS, CallToolResult, InputRequiredResult
from mcp.types import Tool as MCPTool

from sdassist import heap, package_version
from sdassist.config import Settings
from sdassist.mcp import listing
from sdassist.mcp.page_rounds import ConfirmPageRounds, OpenPages, explain_refused_state
from sdassist.mcp.state_key import DatabaseKeyCodec, database_key_loader

if TYPE_CHECKING:
    from mcp.server.context import CallNext, HandlerResult, ServerRequestContext

    from sdassist.publishing.drafts import Principal
    from sdassist.tools.base import Tool, ToolContext

log = logging.getLogger("sdassist.mcp")

WAIT_FOR_LIST = 0.1
"""Seconds the warm-up lets pass after the first request for a `tools/list` to be answered uncontended."""
TIME_PHRASE = "tomorrow 9am"
"""Parsed once while warming up: the parser loads its language data on the first phrase."""

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


class ServerState:
    """The runtime, opened once (by the warm-up or the first call) and closed with the server."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._runtime: Any = None
        self._lock = anyio.Lock()
        self._stack = contextlib.AsyncExitStack()
        self.local_files = False  # set for stdio: the assistant runs on this machine and may name local paths
        self.confirm_links: Any = None  # set by the HTTP face in oauth mode: confirmation pages for people
        self.open_pages = OpenPages()  # hosts sent to a confirmation page (handshake era), told when it is answered

    async def runtime(self) -> Any:
        if self._runtime is None:
            async with self._lock:
                if self._runtime is None:
                    from sdassist.runtime import open_runtime

                    self._runtime = await self._stack.enter_async_context(
                        open_runtime(self.settings, announce=False))
        return self._runtime

    async def context(self, ctx: Context) -> ToolContext:
        from sdassist.mcp.adapter import progress_to

        return await self.context_as(caller(ctx), progress=progress_to(ctx))

    async def context_as(self, principal: Principal, progress: Any = None) -> ToolContext:
        runtime = await self.runtime()
        tctx = runtime.context(principal, progress=progress, local_files=self.local_files)
        tctx.confirm_links = self.confirm_links
        return tctx

    async def request_context(self, ctx: ServerRequestContext[Any, Any]) -> ToolContext:
        """The tool context of a request seen by server middleware (no tool `Context` there)."""
        return await self.context_as(caller_of(ctx.request))

    async def aclose(self) -> None:
        await self._stack.aclose()
        self._runtime = None


def caller(ctx: Context) -> Principal:
    """Who is asking: the person behind the OAuth or personal access token ("Alice via Claude"), else an
    anonymous assistant (stdio, the shared token, or no authentication)."""
    return caller_of(ctx.request_context.request)


def caller_of(request: Any) -> Principal:
    from sdassist.mcp.registration import ASSISTANT

    if request is None:
        return ASSISTANT
    from sdassist.mcp.auth import principal_of

    return principal_of(request, ASSISTANT)


def request_state_security(settings: Settings) -> RequestStateSecurity:
    """Shared keys for the requestState hosts carry between rounds, so any instance can take the next round:
    SDASSIST_REQUEST_STATE_SECRET's ring, else the random key kept in the database (`DatabaseKeyCodec`)."""
    keys = settings.request_state_keys
    return RequestStateSecurity(keys=keys) if keys else RequestStateSecurity(codec=DatabaseKeyCodec())


def _warm_imports(server: SdassistServer) -> None:
    """The slow, synchronous part of a first call, done in a worker thread: import the tools and register
    them, and import the runtime's modules (SQLAlchemy, the sandbox)."""
    server.install_tools()
    import sdassist.runtime

    if server.sdassist_state.settings.uses_sandbox:
        import sdassist.sandbox  # noqa: F401


def _warm_parser() -> None:
    """Read one phrase: the time parser compiles its locale and zone patterns on the first one (~0.2 s)."""
    from sdassist.publishing.when import resolve_time

    resolve_time(TIME_PHRASE, zone="UTC", default_zone="UTC")


class Warmup:
    """Everything a first tool call needs, loaded in the background once the first request is answered; then the
    heap is settled (`heap.settle`, as `sdassist slack` does after its warm-up)."""

    def __init__(self, server: SdassistServer) -> None:
        self.server = server
        self.listed = anyio.Event()
        self.done = anyio.Event()
        self._task: asyncio.Task[None] | None = None
        self._opening: asyncio.Future[Any] | None = None

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(self._run())

    async def _run(self) -> None:
        try:
            with anyio.move_on_after(WAIT_FOR_LIST):  # a host lists tools right after initialize: let it
                await self.listed.wait()
            await anyio.to_thread.run_sync(_warm_imports, self.server)  # a cancel waits for the thread
            # The runtime opens (database, sandbox: partly I/O) while the parser warms in the thread.
            # Shielded: a runtime cancelled half-open would leave its database connection thread behind.
            self._opening = asyncio.ensure_future(self.server.sdassist_state.runtime())
            await anyio.to_thread.run_sync(_warm_parser)
            await asyncio.shield(self._opening)
        except Exception:  # the first call opens whatever failed here again, and reports it properly
            log.debug("warm-up did not finish; the first call will open what is missing", exc_info=True)
        else:
            # Start-up is over: freeze what it built, so the full GC passes of a server that runs for days (one
            # walked ~60 ms of start-up's objects in the middle of a list_drafts call) skip it from now on.
            frozen = heap.settle()
            log.debug("start-up heap settled: %d objects out of the garbage collector's full passes", frozen)
        finally:
            self.done.set()

    async def ready(self) -> None:
        """Wait for the warm-up (starting it at once if nothing started it yet); then make sure the tools are in."""
        self.listed.set()  # a call came first: no tools/list to wait for
        self.start()
        await self.done.wait()
        self.server.install_tools()

    async def stop(self) -> None:
        """At shutdown: stop warming up, but let a runtime that is opening finish, so it can be closed."""
        if self._task is not None and not self._task.done():
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        if self._opening is not None:
            with contextlib.suppress(Exception):
                await self._opening


class SdassistServer(MCPServer):
    """An MCPServer that can list its tools before it has built them.

    `listed` is the published tool list as wire dicts, from the cache or from the registered tools; the SDK
    tools themselves are registered by `install_tools`, at start-up on a cache miss, otherwise by the warm-up
    (or, at the latest, by the first call, which waits for them)."""

    def __init__(self, *args: Any, state: ServerState, toolsets: str | None, read_only: bool | None,
                 listed: list[dict[str, Any]] | None, cache: tuple[Any, str, bool] | None, **kwargs: Any) -> None:
        security = request_state_security(state.settings)
        super().__init__(*args, middleware=[self._after_first_request, ConfirmPageRounds(state.request_context)],
                         request_state_security=security, **kwargs)
        boundary = next(i for i, m in enumerate(self.middleware) if isinstance(m, RequestStateBoundary))
        self.middleware.insert(boundary, explain_refused_state)
        if isinstance(security.codec, DatabaseKeyCodec):
            self.middleware.insert(boundary, database_key_loader(state, security.codec))
        self.sdassist_state = state
        self.warmup = Warmup(self)
        self._toolsets, self._read_only = toolsets, read_only
        self._listed = [MCPTool.model_validate(t) for t in listed] if listed is not None else None
        self._cache = cache
        self._installed = False
        self._install_lock = threading.Lock()

    def install_tools(self, tools: list[Tool] | None = None) -> None:
        """Register the SDK tools (once; thread-safe: the warm-up runs this in a worker thread)."""
        with self._install_lock:
            if self._installed:
                return
            from sdassist.mcp.registration import chosen_tools, register_tools

            chosen = tools if tools is not None else chosen_tools(
                self.sdassist_state.settings, toolsets=self._toolsets, read_only=self._read_only)
            register_tools(self, self.sdassist_state, chosen)
            self._installed = True

    async def _after_first_request(self, ctx: ServerRequestContext[Any, Any], call_next: CallNext) -> HandlerResult:
        """Middleware: once the first request is answered, start the warm-up (later requests find it started),
        and tell it when tools/list has been answered."""
        result = await call_next(ctx)
        if ctx.request_id is not None:
            self.warmup.start()
            if ctx.method == "tools/list":
                self.warmup.listed.set()
        return result

    async def get_prompt(self, name: str, arguments: dict[str, Any] | None = None, context: Any = None) -> Any:
        """An unknown prompt is invalid params naming the prompts there are (the SDK raises ValueError for it,
        answered "Internal server error" or with code 0, and logs a traceback)."""
        names = [p.name for p in await self.list_prompts()]
        if name not in names:
            from sdassist.publishing.quoting import shown

            raise MCPError(code=INVALID_PARAMS, message=f"Unknown prompt: {shown(name)}; prompts: {', '.join(names)}")
        return await super().get_prompt(name, arguments, context)

    async def list_tools(self) -> list[MCPTool]:
        if self._listed is None:
            self._listed = await super().list_tools()
            if self._cache is not None:  # a first run: keep the listing for the next start
                path, key, read_only = self._cache
                listing.save(path, key, [t.model_dump(mode="json", by_alias=True, exclude_none=True)
                                         for t in self._listed], read_only=read_only)
        return list(self._listed)

    def _tool_input_schema(self, name: str) -> dict[str, Any] | None:
        if self._installed or self._listed is None:
            return super()._tool_input_schema(name)
        return next((t.input_schema for t in self._listed if t.name == name), None)

    async def call_tool(self, name: str, arguments: dict[str, Any], context: Any = None,
                        ) -> CallToolResult | InputRequiredResult:
        """Once the tools are in: arguments the SDK would refuse are refused in our words
        (`adapter.argument_refusal`), then the SDK runs the tool."""
        if not self._installed:
            await self.warmup.ready()
        from sdassist.mcp.adapter import argument_refusal

        registered = self._tool_manager.get_tool(name)
        if registered is not None and (refusal := argument_refusal(registered, arguments)) is not None:
            raise McpToolError(f"Error executing tool {name}: {refusal}")
        return await super().call_tool(name, arguments, context)


def build_server(
    settings: Settings | None = None, *, toolsets: str | None = None, read_only: bool | None = None
) -> SdassistServer:
    """The sdassist MCP server for these settings (no I/O beyond reading the cached listing until the first
    request is answered)."""
    settings = settings or Settings()
    variant = {"approval": settings.approval, "toolsets": toolsets if toolsets is not None else settings.mcp_toolsets,
               "read_only": settings.mcp_read_only if read_only is None else read_only}
    path = listing.cache_path(settings.data_dir, variant)
    key = listing.cache_key(variant)
    cached = listing.load(path, key)
    tools: list[Tool] | None = None
    if cached is not None:
        is_read_only = cached["read_only"]
    else:
        from sdassist.mcp.registration import chosen_tools
        from sdassist.mcp.registration import is_read_only as all_reads

        tools = chosen_tools(settings, toolsets=toolsets, read_only=read_only)  # refuses an unknown toolset
        is_read_only = all_reads(tools)
    state = ServerState(settings)

    @contextlib.asynccontextmanager
    async def lifespan(server: MCPServer) -> AsyncIterator[ServerState]:
        try:
            yield state
        finally:
            await server.warmup.stop()  # type: ignore[attr-defined]
            await state.aclose()

    server = SdassistServer(
        "sdassist",
        version=package_version(),
        instructions=instructions(settings, read_only=is_read_only),
        lifespan=lifespan,
        state=state, toolsets=toolsets, read_only=read_only,
        listed=cached["tools"] if cached is not None else None,
        cache=None if cached is not None else (path, key, is_read_only),
    )
    if tools is not None:
        server.install_tools(tools)
    add_rules_resource(server)
    add_planning_prompt(server, settings)
    return server


def add_rules_resource(server: MCPServer) -> None:
    @server.resource(RULES_URI, name="platform_rules", title="Platform rules",
                     description="What each platform accepts: text limits, titles, media, required settings.",
                     mime_type="text/markdown")
    def platform_rules() -> str:
        from sdassist.publishing.platforms import rules_as_markdown

        return rules_as_markdown()


PLAN_WEEK_ARGUMENTS = [
    PromptArgument(name="topic", description="What the week's posts are about.", required=True),
    PromptArgument(name="platforms", description="Where to post, e.g. 'linkedin, instagram' (default: every "
                   "connected platform)."),
    PromptArgument(name="start", description="The first day, e.g. 'next monday' (the default) or '2026-03-02'."),
]


class CheckedPrompt(Prompt):
    """A prompt whose arguments are checked first: a missing or unknown one is an invalid-params error that
    says which and what it takes (the SDK's own check raises ValueError, answered "Internal server error")."""

    async def render(self, arguments: dict[str, Any] | None, context: Any) -> Any:
        given, known = dict(arguments or {}), {a.name: a for a in self.arguments or []}
        problems = [f"{name} is required: {known[name].description}" for name, arg in known.items()
                    if arg.required and not str(given.get(name) or "").strip()]
        if unknown := sorted(set(given) - set(known)):
            problems.append(f"{', '.join(unknown)}: not an argument; {self.name} takes {', '.join(known)}")
        if problems:
            raise MCPError(code=INVALID_PARAMS, message=f"{self.name}: " + "; ".join(problems))
        return await super().render(given, context)


def add_planning_prompt(server: MCPServer, settings: Settings) -> None:
    """The prompt with its arguments written out, not derived from a signature: every argument described, and
    no pydantic model built at start-up for three strings."""

    def plan_week(topic: str, platforms: str = "every connected platform", start: str = "next monday") -> str:
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

    server.add_prompt(CheckedPrompt(
        name="plan_week", title="Plan a week of posts", arguments=PLAN_WEEK_ARGUMENTS, fn=plan_week,
        description="Plan a week of posts on a topic, check them, and draft them for approval."))
