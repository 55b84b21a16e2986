"""The one table of operations every face reads."""

from __future__ import annotations

from collections.abc import Iterable

from sdassist.tools import accounts, analytics, drafts, media, planning, posts, webhooks
from sdassist.tools.base import DEFAULT_TOOLSETS, Tool, ToolKind, Toolset

ALL_TOOLS: tuple[Tool, ...] = (
    *accounts.TOOLS, *drafts.TOOLS, *planning.TOOLS, *posts.TOOLS, *analytics.TOOLS, *media.TOOLS, *webhooks.TOOLS,
)
TOOLS_BY_NAME: dict[str, Tool] = {t.name: t for t in ALL_TOOLS}


def get_tool(name: str) -> Tool:
    try:
        return TOOLS_BY_NAME[name]
    except KeyError:
        from sdassist.tools.errors import ToolError

        raise ToolError(f"no tool named {name!r}", hint="Tools: " + ", ".join(sorted(TOOLS_BY_NAME))) from None


def parse_toolsets(spec: str | Iterable[str] | None) -> frozenset[Toolset]:
    """'posts,analytics' → those toolsets; 'all' → every one; None → the default set."""
    if spec is None:
        return DEFAULT_TOOLSETS
    names = [s.strip().lower() for s in (spec.split(",") if isinstance(spec, str) else spec) if s.strip()]
    if not names or names == ["default"]:
        return DEFAULT_TOOLSETS
    if "all" in names:
        return frozenset(Toolset)
    known = {t.value for t in Toolset}
    unknown = [n for n in names if n not in known]
    if unknown:
        raise ValueError(f"unknown toolset(s) {', '.join(unknown)}; choose from {', '.join(sorted(known))} or all")
    return frozenset(Toolset(n) for n in names)


def select_tools(
    *, toolsets: frozenset[Toolset] | None = None, read_only: bool = False, for_assistant: bool = False
) -> list[Tool]:
    """The tools a face exposes: assistants never see human-only tools; read-only mode has no writes at all."""
    chosen = []
    for tool in ALL_TOOLS:
        if toolsets is not None and tool.toolset not in toolsets:
            continue
        if read_only and tool.kind != ToolKind.READ:
            continue
        if for_assistant and tool.human_only:
            continue
        chosen.append(tool)
    return chosen
