"""Dry runs: check a post against every platform's rules, or see what a time phrase means. Nothing stored."""

from __future__ import annotations

from pydantic import Field

from sdassist.publishing.platforms import check_post as check_rules
from sdassist.tools.base import Tool, ToolContext, ToolInput, ToolKind, ToolOutput, Toolset
from sdassist.tools.compose import PostFields, messages, read_time, stored_media_facts
from sdassist.tools.targets import resolve_targets
from sdassist.tools.views import TimeView, time_view


class CheckPostInput(PostFields):
    pass


class CheckResult(ToolOutput):
    ok: bool = Field(description="True when nothing blocks the post.")
    errors: list[str]
    warnings: list[str]
    platforms: list[str]
    scheduled_for: TimeView | None = None


async def check_post(ctx: ToolContext, inp: CheckPostInput) -> CheckResult:
    targets = await resolve_targets(ctx.client, inp.targets, inp)
    types, sizes = await stored_media_facts(ctx, inp.media_urls)
    result = check_rules(text=inp.text, title=inp.title, targets=targets, media_urls=inp.media_urls, tags=inp.tags,
                         media_types=types, media_sizes=sizes)
    errors = messages(result.errors)
    when = None
    if inp.when:
        try:
            resolved = read_time(ctx, inp.when, inp.zone)
            when = time_view(resolved.utc, resolved.zone)
        except Exception as exc:  # a bad time is one more problem to report, not a reason to stop
            errors.append(str(exc))
    return CheckResult(ok=not errors, errors=errors, warnings=messages(result.warnings),
                       platforms=[t.platform for t in targets], scheduled_for=when)


class ResolveTimeInput(ToolInput):
    phrase: str = Field(description="A time as a person says it: 'tomorrow 9am', 'friday 5pm', 'in 2 hours'.")
    zone: str | None = Field(default=None, description="IANA zone to read it in (default: the user's zone).")


async def resolve_time(ctx: ToolContext, inp: ResolveTimeInput) -> TimeView:
    resolved = read_time(ctx, inp.phrase, inp.zone, field="phrase")
    return time_view(resolved.utc, resolved.zone)


TOOLS = [
    Tool(
        name="check_post", title="Check a post",
        description="Dry run: a post checked against each target's rules, and its time read. Nothing stored "
                    "or sent.",
        input_model=CheckPostInput, output_model=CheckResult, kind=ToolKind.READ, toolset=Toolset.DRAFTS,
        handler=check_post,
    ),
    Tool(
        name="resolve_time", title="Read a time",
        description="What a time phrase means: the exact instant in UTC and on the user's clock. Nothing stored.",
        input_model=ResolveTimeInput, output_model=TimeView, kind=ToolKind.READ, toolset=Toolset.DRAFTS,
        handler=resolve_time,
    ),
]
