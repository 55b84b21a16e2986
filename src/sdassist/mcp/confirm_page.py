"""Asking the host to open the confirmation page (MCP URL-mode elicitation), in both protocol eras.

For a signed-in person (`principal.via`) in `confirm` mode, the confirmation that counts is the page in their
own browser session (`sdassist.web.confirm`), which an assistant cannot press. When the host declared URL-mode
elicitation, sdassist also asks the host to open that page, and answering that question publishes nothing:
accepting only means "the person was sent there"; the page publishes or cancels.

- Handshake era (up to 2025-11-25): the tool sends `elicitation/create` (mode url, an elicitation id bound to the
  draft and its version) while the call is open, then answers with the draft. When the page is answered, the
  sessions of this process that asked get `notifications/elicitation/complete`.
- 2026-07-28: a server cannot call the client mid-call. `ConfirmPageRounds` (server middleware, inside the SDK's
  request-state boundary, which seals the state under `SDASSIST_REQUEST_STATE_SECRET`) turns the tool's answer
  into an `InputRequiredResult` carrying the URL elicitation and a requestState {draft, version, subject}. The
  client's retry is answered from the draft as it stands, without running the tool again (that would draft twice).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import TYPE_CHECKING

from mcp.server.mcpserver import Context

from sdassist.mcp.page_rounds import SLOT, PageRequest, elicitation_id, uses_rounds
from sdassist.publishing.drafts import Draft, DraftState
from sdassist.tools.approval import outcome_step
from sdassist.tools.views import DraftView, draft_view

if TYPE_CHECKING:
    from mcp.server.session import ServerSession
    from mcp.types import ClientCapabilities

    from sdassist.tools.base import ToolContext

log = logging.getLogger("sdassist.mcp")


def elicitation_modes(caps: ClientCapabilities | None) -> frozenset[str]:
    """The elicitation modes a client declared: "form" (it can show a form) and "url" (it can send the person
    to a page). A bare `elicitation: {}`, as declared before modes existed, means form."""
    declared = caps.elicitation if caps is not None else None
    if declared is None:
        return frozenset()
    modes = set()
    if declared.form is not None or declared.url is None:
        modes.add("form")
    if declared.url is not None:
        modes.add("url")
    return frozenset(modes)


def asks_for_page(ctx: Context, tctx: ToolContext) -> bool:
    """A signed-in person on a server with confirmation pages, whose host can open URLs: the page is asked for
    (instead of a form, which the host could answer without the person's browser session)."""
    return (tctx.confirm_links is not None and tctx.principal.via is not None
            and "url" in elicitation_modes(ctx.client_capabilities))


def page_message(view: DraftView) -> str:
    """What the host shows before it opens the page: what the person will see there, and what it does not do."""
    where = ", ".join(t.platform for t in view.targets)
    when = f"scheduled for {view.scheduled_for.echo}" if view.scheduled_for is not None else "to go out right away"
    return (f"Confirm draft {view.draft_id} (version {view.version}, {where}, {when}) in your browser: the page "
            "shows exactly what goes out and you choose Publish or Cancel. Opening it publishes nothing.")


async def answer_from_page(tctx: ToolContext, draft_id: str, version: int, action: str | None) -> DraftView:
    """The draft as it stands after the host was asked to open its page, with what to do next.

    `action` is the host's answer (accept: the person was sent to the page; decline/cancel: not; None: no answer).
    Only the page publishes or cancels, so a pending draft stays pending whatever the answer was."""
    draft: Draft = await tctx.store.get(draft_id)
    check = f"Check the outcome with get_draft draft_id={draft.id}."
    if draft.state == DraftState.CANCELLED:
        return draft_view(draft, next_step="The draft was cancelled: nothing was published.")
    if draft.state != DraftState.PENDING:
        return draft_view(draft, next_step=outcome_step(draft))
    assert tctx.confirm_links is not None
    url = await tctx.confirm_links.link(draft, tctx.principal)
    if draft.version != version:
        return draft_view(draft, next_step=(
            f"The draft was changed while the user was asked (now version {draft.version}), so nothing was published "
            f"and the page they opened is stale. Give them the new link to confirm it: {url} . {check}"))
    if action == "accept":
        return draft_view(draft, next_step=(
            f"The user was sent to the confirmation page; nothing is published until they press Publish there "
            f"(if it did not open: {url} ). {check}"))
    return draft_view(draft, next_step=(
        "The user did not open the confirmation page, so nothing was published and the draft stays pending. "
        f"They can still confirm it at {url} (it works only for them, signed in); if they do not want it, "
        f"cancel_draft draft_id={draft.id}."))


async def ask_for_page(ctx: Context, tctx: ToolContext, view: DraftView,
                       remember: Callable[[str, ServerSession], None] | None = None) -> DraftView:
    """Ask the host to open the confirmation page of this pending draft; the answer to give the assistant.

    Handshake era: `elicitation/create` now, while the call is open. Modern era: leave the request for
    `ConfirmPageRounds`, which asks through the call's own rounds. Either way a host that cannot be asked keeps
    the link in next_step (the view as it is)."""
    assert tctx.confirm_links is not None
    draft = await tctx.store.get(view.draft_id)
    url = await tctx.confirm_links.link(draft, tctx.principal)
    message = page_message(view)
    if uses_rounds(ctx.protocol_version):
        slot = SLOT.get()
        if slot is not None:
            slot.request = PageRequest(draft.id, draft.version, tctx.principal.id, url, message)
        return view
    eid = elicitation_id(draft.id, draft.version)
    try:
        answer = await ctx.elicit_url(message, url, eid)
    except Exception:  # no back channel (stateless HTTP) or the host failed: the link stays in next_step
        log.debug("URL elicitation for %s not delivered", view.draft_id, exc_info=True)
        return view
    if remember is not None and answer.action == "accept":
        remember(eid, ctx.request_context.session)
    return await answer_from_page(tctx, draft.id, draft.version, answer.action)


