"""Registry tool → MCP tool, with no per-tool code.

The MCP SDK builds a tool's input schema from a function's signature. A registry tool has a pydantic
input model instead, so this module synthesises a flat keyword-only signature from the model's fields
(type, constraints, description, default): the assistant sees one flat, described object, exactly the
fields the tool layer validates. The output schema comes from the output model (structured output), and
the annotations from the tool's kind: every hint that differs from the spec's pessimistic defaults (any
non-read-only tool would otherwise be "destructive"), and `destructiveHint` always on a tool that writes.
"""

from __future__ import annotations

import base64
import inspect
import json
import logging
from collections.abc import Awaitable, Callable, Sequence
from typing import Annotated, Any

from mcp.server.mcpserver import Context
from mcp.server.mcpserver.exceptions import ToolError as McpToolError
from mcp.types import CallToolResult, ImageContent, TextContent, ToolAnnotations
from pydantic import BaseModel, Field, ValidationError
from pydantic.fields import FieldInfo

from sdassist.tools.base import Attachment, Tool, ToolContext, ToolKind, attachments_of
from sdassist.tools.errors import ToolError, input_refusal, tool_error_from

log = logging.getLogger("sdassist.mcp")

# Tools that never reach SocialDock: they read the local draft store or only parse text.
LOCAL_TOOLS = frozenset({"resolve_time", "list_drafts", "get_draft"})

ContextFactory = Callable[[Context], Awaitable[ToolContext]]


def annotations_for(tool: Tool) -> ToolAnnotations:
    """Every hint whose value differs from the spec's default, and `destructiveHint` always on a tool that
    writes: that one decides whether a host asks before running it, so it never rests on a default.

    The spec's defaults are readOnly false, destructive true, idempotent false, openWorld true; destructive
    and idempotent mean something only when a tool is not read-only. A create or schedule is not
    destructive; a delete or cancel is. Reads are idempotent (so no hint is needed beyond read-only); a
    write is not (each draft_post makes a new draft); a destructive call is not either (a second delete
    answers "not found"). Leaving defaults out keeps ~1 KB out of every tools/list.
    """
    read = tool.kind == ToolKind.READ
    return ToolAnnotations(  # no title here: the tool's own title is listed once, beside its name
        read_only_hint=True if read else None,
        destructive_hint=None if read else tool.kind == ToolKind.DESTRUCTIVE,
        open_world_hint=None if tool.name not in LOCAL_TOOLS else False,
    )


SPEC_DEFAULTS = {"read_only_hint": False, "destructive_hint": True, "idempotent_hint": False, "open_world_hint": True}


def hint(annotations: ToolAnnotations | None, name: str) -> bool:
    """A hint as a client must read it: the published value, or the spec's default when it is left out."""
    value = getattr(annotations, name, None) if annotations is not None else None
    return SPEC_DEFAULTS[name] if value is None else value


def _flat_field(info: FieldInfo) -> tuple[Any, Any]:
    """(annotation, default) for one input field, keeping its constraints and description."""
    extra: dict[str, Any] = {}
    if info.description:
        extra["description"] = info.description
    if info.examples:
        extra["examples"] = info.examples
    if info.json_schema_extra:
        extra["json_schema_extra"] = info.json_schema_extra
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


def argument_refusal(registered: Any, arguments: dict[str, Any]) -> ToolError | None:
    """Why the SDK would refuse these arguments before the tool runs, in our words; None when it would not.

    The SDK's own refusal is pydantic's text and URL ("Input should be a valid list [type=list_type…]"), and it
    drops unknown arguments without a word. This is the same check (its argument model, after its JSON
    pre-parsing of list arguments sent as strings) said like every refusal of ours: field, what it takes, hint."""
    meta = registered.fn_metadata
    fields = list(meta.arg_model.model_fields)
    try:
        meta.arg_model.model_validate(meta.pre_parse_json(arguments))
    except ValidationError as exc:
        return input_refusal(registered.name, fields, exc, name_tool=False)
    unknown = [str(k) for k in arguments if k not in meta.arg_model.model_fields]
    if unknown:
        return ToolError(f"{', '.join(unknown)}: not a known field",
                         hint=f"{registered.name} takes only: {', '.join(fields)}.")
    return None


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


def as_result(output: BaseModel, attachments: Sequence[Attachment] = ()) -> CallToolResult:
    """A tool's output on the wire: no null fields (absent means none), a compact JSON text copy for
    clients that read only the text, and the tool's images (a chart) as image content beside them."""
    data = output.model_dump(mode="json", exclude_none=True)
    text = json.dumps(data, ensure_ascii=False, separators=(",", ":"))
    content: list[TextContent | ImageContent] = [TextContent(type="text", text=text)]
    content += [ImageContent(type="image", data=base64.b64encode(a.data).decode("ascii"), mime_type=a.mime_type)
                for a in attachments if a.mime_type.startswith("image/")]
    return CallToolResult(content=content, structured_content=data)



def build_plain_function(tool: Tool, context_for: ContextFactory) -> Callable[..., Awaitable[Any]]:
    """An async function with the tool's flat signature, returning the tool's output model."""

    async def call(ctx: Context, **kwargs: Any) -> Any:
        tctx = await context_for(ctx)
        return await run_tool(tool, tctx, explicit_arguments(tool, kwargs))

    return shape(call, tool, extra=[])


def shape(
    fn: Callable[..., Any], tool: Tool, *, extra: list[inspect.Parameter]
) -> Callable[..., Awaitable[Any]]:
    """A function with the tool's name, docstring and flat signature (plus `ctx` and any `extra` parameters)
    that calls `fn` and answers with `as_result` of what it returns."""

    async def respond(**kwargs: Any) -> Any:
        output = await fn(**kwargs)
        return as_result(output, await attachments_of(tool, output))

    params = [
        inspect.Parameter("ctx", inspect.Parameter.KEYWORD_ONLY, annotation=Context),
        *extra,
        *flat_parameters(tool),
    ]
    # Required parameters first is only a positional rule; all of these are keyword-only, any order is valid.
    respond.__signature__ = inspect.Signature(params, return_annotation=tool.output_model)  # type: ignore[attr-defined]
    respond.__annotations__ = {p.name: p.annotation for p in params} | {"return": tool.output_model}
    respond.__name__ = tool.name
    respond.__qualname__ = f"sdassist_tool_{tool.name}"
    respond.__doc__ = tool.description
    return respond
