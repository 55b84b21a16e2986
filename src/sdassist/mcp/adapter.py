"""Registry tool → MCP tool, with no per-tool code.

The MCP SDK builds a tool's input schema from a function's signature. A registry tool has a pydantic
input model instead, so this module synthesises a flat keyword-only signature from the model's fields
(type, constraints, description, default): the assistant sees one flat, described object, exactly the
fields the tool layer validates. The output schema comes from the output model (structured output), and
the four annotations are set explicitly from the tool's kind, because the spec's defaults are
pessimistic (any non-read-only tool would otherwise be "destructive").
"""

from __future__ import annotations

import inspect
import logging
from collections.abc import Awaitable, Callable
from typing import Annotated, Any

from mcp.server.mcpserver import Context
from mcp.server.mcpserver.exceptions import ToolError as McpToolError
from mcp.types import ToolAnnotations
from pydantic import Field
from pydantic.fields import FieldInfo

from sdassist.tools.base import Tool, ToolContext, ToolKind
from sdassist.tools.errors import ToolError, tool_error_from

log = logging.getLogger("sdassist.mcp")

# Tools that never reach SocialDock: they read the local draft store or only parse text.
LOCAL_TOOLS = frozenset({"resolve_time", "list_drafts", "get_draft"})

ContextFactory = Callable[[Context], Awaitable[ToolContext]]


def annotations_for(tool: Tool) -> ToolAnnotations:
    """All four hints, explicit. A create or schedule is not destructive; a delete or cancel is.

    Reads are idempotent; a write is not (each draft_post makes a new draft); a destructive call is not
    either (a second delete answers "not found"), so `idempotent_hint` is False for it too.
    """
    read = tool.kind == ToolKind.READ
    return ToolAnnotations(  # no title here: the tool's own title is listed once, beside its name
        read_only_hint=read,
        destructive_hint=tool.kind == ToolKind.DESTRUCTIVE,
        idempotent_hint=read,
        open_world_hint=tool.name not in LOCAL_TOOLS,
    )


def _flat_field(info: FieldInfo) -> tuple[Any, Any]:
    """(annotation, default) for one input field, keeping its constraints and description."""
    extra: dict[str, Any] = {}
    if info.description:
        extra["description"] = info.description
    if info.examples:
        extra["examples"] = info.examples
    annotation = Annotated[(info.annotation, *info.metadata, Field(**extra))]
    if info.is_required():
        return annotation, inspect.Parameter.empty
    return annotation, info.get_default(call_default_factory=True)


def flat_parameters(tool: Tool) -> list[inspect.Parameter]:
    """One keyword-only parameter per input field, in the model's order."""
    params = []
    for name, info in tool.input_model.model_fields.items():
        annotation, default = _flat_field(info)
        params.append(inspect.Parameter(name, inspect.Parameter.KEYWORD_ONLY, default=default, annotation=annotation))
    return params


def explicit_arguments(tool: Tool, kwargs: dict[str, Any]) -> dict[str, Any]:
    """Only what the caller set: the SDK fills defaults in, and the input model should see what was asked."""
    out = {}
    for name, info in tool.input_model.model_fields.items():
        if name not in kwargs:
            continue
        value = kwargs[name]
        if not info.is_required() and value == info.get_default(call_default_factory=True):
            continue
        out[name] = value
    return out


def as_mcp_error(exc: ToolError) -> McpToolError:
    """A tool-layer refusal, as text the model reads: what went wrong — what to do."""
    return McpToolError(str(exc))


async def run_tool(tool: Tool, tctx: ToolContext, arguments: dict[str, Any]) -> Any:
    """Run a registry tool; anticipated failures become MCP tool errors, anything else a generic one.

    The generic message carries no exception text: a bug's message may hold data the model should not
    see. The traceback goes to the log (stderr), never to stdout, which is the stdio transport.
    """
    try:
        return await tool.run(tctx, arguments)
    except Exception as exc:
        raise mcp_failure(tool, exc) from None


def mcp_failure(tool: Tool, exc: Exception) -> McpToolError:
    """The MCP error for any failure: the tool layer's own words, or a generic one for a bug."""
    if isinstance(exc, McpToolError):
        return exc
    known = exc if isinstance(exc, ToolError) else tool_error_from(exc)
    if known is not None:
        return as_mcp_error(known)
    log.error("tool %s failed unexpectedly", tool.name, exc_info=exc)
    return McpToolError(
        f"{tool.name} failed because of an internal error in sdassist; the server log has the details. "
        "Check list_drafts or list_posts before retrying a write."
    )


def progress_to(ctx: Context) -> Callable[[float, float | None, str | None], Awaitable[None]]:
    """The tool layer's progress callback, forwarded to the MCP caller (a no-op unless it asked)."""

    async def report(done: float, total: float | None, message: str | None) -> None:
        try:
            await ctx.report_progress(done, total, message)
        except Exception:  # progress is a courtesy; a closed stream must not fail the call
            log.debug("progress notification not delivered", exc_info=True)

    return report


def build_plain_function(tool: Tool, context_for: ContextFactory) -> Callable[..., Awaitable[Any]]:
    """An async function with the tool's flat signature, returning the tool's output model."""

    async def call(ctx: Context, **kwargs: Any) -> Any:
        tctx = await context_for(ctx)
        return await run_tool(tool, tctx, explicit_arguments(tool, kwargs))

    return shape(call, tool, extra=[])


def shape(
    fn: Callable[..., Any], tool: Tool, *, extra: list[inspect.Parameter]
) -> Callable[..., Awaitable[Any]]:
    """Give `fn` the tool's name, docstring and flat signature (plus `ctx` and any `extra` parameters)."""
    params = [
        inspect.Parameter("ctx", inspect.Parameter.KEYWORD_ONLY, annotation=Context),
        *extra,
        *flat_parameters(tool),
    ]
    # Required parameters first is only a positional rule; all of these are keyword-only, any order is valid.
    fn.__signature__ = inspect.Signature(params, return_annotation=tool.output_model)  # type: ignore[attr-defined]
    fn.__annotations__ = {p.name: p.annotation for p in params} | {"return": tool.output_model}
    fn.__name__ = tool.name
    fn.__qualname__ = f"sdassist_tool_{tool.name}"
    fn.__doc__ = tool.description
    return fn
