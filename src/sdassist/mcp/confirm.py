"""`SDASSIST_APPROVAL=confirm` over MCP: ask the person at the host before a draft goes out.

The question is asked through a resolver (`Resolve(...)` → `Elicit`), which works in both protocol eras.
In the modern era the call is stateless: the resolver runs again on every round and the question is
pinned by its digest, so it must be a pure function of the arguments. Hence the shape:

1. `preview` composes the post with the tool layer against a store that keeps nothing (`PreviewStore`),
   so every rule, account and time problem is refused *before* anyone is asked, and renders what will
   be posted, where and when (local and UTC). No draft id, no token, nothing random goes into it.
2. `ask` turns that text into a yes/no form, but only when the client declared elicitation; otherwise
   nothing is asked and the tool layer's preview + confirmation-token answer stands.
3. The tool body stores the draft for real, checks it still reads exactly as the question did, and on
   "yes" approves that version as the host user (`confirm_and_publish`); on "no" it cancels it and says so.

A signed-in person whose host can open URLs is not asked in a form: the host is asked to open the confirmation
page instead (`confirm_page`), where only that person's browser session can publish.
"""

from __future__ import annotations

import dataclasses
import inspect
import logging
from collections.abc import Callable, Mapping
from typing import Annotated, Any

from mcp.server.mcpserver import AcceptedElicitation, Context, Elicit, ElicitationResult, Resolve
from pydantic import BaseModel, Field

from sdassist.mcp.adapter import ContextFactory, explicit_arguments, mcp_failure, run_tool, shape
from sdassist.mcp.confirm_page import ask_for_page, asks_for_page, elicitation_modes
from sdassist.publishing.drafts import Draft, DraftState, InvalidTransition, Principal, StaleVersion
from sdassist.tools.approval import confirm_and_publish, host_user
from sdassist.tools.base import Tool
from sdassist.tools.views import DraftView, draft_view, settings_text

log = logging.getLogger("sdassist.mcp")


class Confirm(BaseModel):
    """The form: one checkbox, so every host can render it."""

    publish: bool = Field(default=True, title="Publish", description="Yes, publish exactly this.")


class PreviewStore:
    """A draft store that remembers nothing: adds and edits return what *would* be stored.

    Reads pass through to the real store, so an edit is checked against the draft as it is now.
    """

    def __init__(self, store: Any) -> None:
        self._store = store

    def __getattr__(self, name: str) -> Any:
        return getattr(self._store, name)

    async def add(self, draft: Draft, actor: Principal, *, note: str | None = None) -> Draft:
        if draft.state != DraftState.PENDING:
            raise InvalidTransition(draft.state, DraftState.PENDING, draft.id)
        return draft

    async def edit(
        self, draft_id: str, *, expected_version: int, changes: Mapping[str, Any], actor: Principal,
        note: str | None = None,
    ) -> Draft:
        current = await self._store.get(draft_id)
        if current.state not in (DraftState.PENDING, DraftState.FAILED):
            raise InvalidTransition(current.state, DraftState.PENDING, draft_id)
        if current.version != expected_version:
            raise StaleVersion(draft_id, expected_version, current.version)
        update = {**changes, "state": DraftState.PENDING, "version": current.version + 1, "error": None}
        return current.model_copy(update=update)




def describe(tool: Tool, view: DraftView, *, sandbox: bool) -> str:
    """Exactly what will be posted, where and when: the text of the question."""
    if tool.name == "update_post":
        head = "Change this scheduled post on SocialDock"
    elif tool.name == "edit_draft":
        head = f"Publish the edited draft {view.draft_id} (version {view.version})"
    else:
        head = "Publish this post"
    lines = [head + "?" + (" [sandbox: nothing is really posted]" if sandbox else "")]
    lines.append("Where: " + ", ".join(
        f"{t.platform} ({', '.join(filter(None, (t.account_id, settings_text(t.settings))))})" for t in view.targets))
    if view.scheduled_for is not None:
        lines.append(f"When: {view.scheduled_for.echo}")
    else:
        lines.append("When: right away, as soon as you accept")
    if view.title:
        lines.append(f"Title: {view.title}")
    lines.append("Text:")
    lines.append(view.text)
    if view.media_urls:
        lines.append("Media: " + ", ".join(view.media_urls))
    if view.tags:
        lines.append("Tags: " + ", ".join(view.tags))
    lines.extend(f"Warning: {w}" for w in view.warnings)
    return "\n".join(lines)


async def _cancel(tctx: Any, draft_id: str) -> Draft:
    """Cancel as the person who declined; the requester may always cancel its own draft as a fallback."""
    try:
        return await tctx.publisher.cancel(draft_id, actor=host_user(tctx.principal))
    except Exception:
        return await tctx.publisher.cancel(draft_id, actor=tctx.principal)


def build_confirmed_function(tool: Tool, context_for: ContextFactory, *, sandbox: bool,
                             remember: Callable[[str, Any], None] | None = None) -> Any:
    """The tool with a confirmation question in front of it (for `SDASSIST_APPROVAL=confirm`)."""
    arg_names = list(tool.input_model.model_fields)

    async def preview(ctx: Context, **kwargs: Any) -> str | None:
        if kwargs.get("confirmation_token") or "form" not in elicitation_modes(ctx.client_capabilities):
            return None
        tctx = await context_for(ctx)
        if asks_for_page(ctx, tctx):  # a signed-in person confirms on the page, not in a form the host answers
            return None
        dry = dataclasses.replace(tctx, store=PreviewStore(tctx.store), progress=None)
        view = await run_tool(tool, dry, explicit_arguments(tool, kwargs))
        return describe(tool, view, sandbox=sandbox)

    preview.__signature__ = inspect.Signature([  # type: ignore[attr-defined]
        inspect.Parameter("ctx", inspect.Parameter.KEYWORD_ONLY, annotation=Context),
        *(inspect.Parameter(n, inspect.Parameter.KEYWORD_ONLY) for n in arg_names),
    ], return_annotation=str | None)
    preview.__annotations__ = {"ctx": Context, "return": str | None}
    preview.__qualname__ = f"sdassist_preview_{tool.name}"

    def ask(question: Annotated[str | None, Resolve(preview)]) -> Elicit[Confirm] | None:
        return None if question is None else Elicit(question, Confirm)

    # Real objects, not the postponed strings: `preview` is local, so the SDK could not resolve its name.
    ask.__annotations__ = {"question": Annotated[str | None, Resolve(preview)], "return": Elicit[Confirm] | None}
    ask.__qualname__ = f"sdassist_ask_{tool.name}"

    async def call(
        ctx: Context,
        question: str | None = None,
        answer: ElicitationResult[Confirm] | None = None,
        **kwargs: Any,
    ) -> Any:
        tctx = await context_for(ctx)
        stored: DraftView = await run_tool(tool, tctx, explicit_arguments(tool, kwargs))
        if question is None and stored.state == DraftState.PENDING and asks_for_page(ctx, tctx):
            try:
                return await ask_for_page(ctx, tctx, stored, remember)
            except Exception as exc:
                raise mcp_failure(tool, exc) from None
        if question is None or stored.state != DraftState.PENDING:
            return stored
        said_yes = isinstance(answer, AcceptedElicitation) and answer.data is not None and answer.data.publish
        try:
            if not said_yes:
                cancelled = await _cancel(tctx, stored.draft_id)
                return draft_view(cancelled, next_step=(
                    "The user declined at the host, so the draft was cancelled: nothing was published. "
                    "Ask what they want changed before drafting again."))
            if describe(tool, stored, sandbox=sandbox) != question:
                return stored.model_copy(update={"next_step": (
                    "The post changed between the question and storing it (a relative time moved?), so nothing "
                    "was published. " + (stored.next_step or ""))})
            done = await confirm_and_publish(tctx, stored.draft_id, stored.version)
        except Exception as exc:
            raise mcp_failure(tool, exc) from None
        return done.model_copy(update={"next_step": "The user confirmed at the host. " + (done.next_step or "")})

    extra = [
        inspect.Parameter("question", inspect.Parameter.KEYWORD_ONLY,
                          annotation=Annotated[str | None, Resolve(preview)]),
        inspect.Parameter("answer", inspect.Parameter.KEYWORD_ONLY,
                          annotation=Annotated[ElicitationResult[Confirm], Resolve(ask)]),
    ]
    return shape(call, tool, extra=extra)
