"""Where a stored draft goes next, by `SDASSIST_APPROVAL`: a Slack card, a confirmation, or straight out."""

from __future__ import annotations

from sdassist.publishing.drafts import Draft, DraftState, Principal
from sdassist.publishing.policy import MCP_HOST_USER
from sdassist.tools.base import ToolContext
from sdassist.tools.errors import ToolError
from sdassist.tools.views import DraftView, draft_view

# Approval switched off by the operator: the decision is recorded under this name.
AUTO_APPROVER = Principal(id="auto-approval", kind="operator", face="system", name="approval switched off")
# The person at an MCP host who confirmed a preview (through elicitation or a confirmation token).
HOST_USER = Principal(id=MCP_HOST_USER, kind="human", face="mcp", name="the person at the MCP host")


def host_user(principal: Principal) -> Principal:
    """Who confirms at the host for this caller: the signed-in person behind the assistant, else anyone there."""
    if principal.kind != "assistant" or principal.via is None:
        return HOST_USER
    person = (principal.name or principal.id).removesuffix(f" via {principal.via}")
    return Principal(id=principal.id, kind="human", face="mcp", name=f"{person} at {principal.via}",
                     via=principal.via)


def outcome_step(draft: Draft) -> str:
    """What a finished publish means, in one sentence (two when an earlier request landed late)."""
    late = f" Note: {draft.late_note}." if draft.late_note else ""
    if draft.state == DraftState.SCHEDULED and draft.scheduled_at is not None:
        return f"Scheduled on SocialDock as {draft.post_id}.{late}"
    if draft.state == DraftState.PUBLISHED:
        return f"Published on SocialDock as {draft.post_id}.{late}"
    if draft.state == DraftState.FAILED and draft.open_attempt is not None:
        return ("The post is not on SocialDock yet, but the request that was sent may still land, so nothing is "
                "sent again: sdassist keeps looking and updates the draft (get_draft shows it); the error says "
                "when approving again becomes possible.")
    if draft.state == DraftState.FAILED:
        return "Publishing failed: fix what the error says with edit_draft, then it goes for approval again."
    if draft.state == DraftState.UNKNOWN:
        return ("SocialDock did not answer in time; sdassist is checking whether the post exists and will not "
                "post it twice. Check again with get_draft.")
    return f"The draft is {draft.state}."


async def confirm_and_publish(ctx: ToolContext, draft_id: str, version: int) -> DraftView:
    """The person at the host said yes: approve exactly this version and publish it."""
    draft = await ctx.publisher.approve(draft_id, version=version, actor=host_user(ctx.principal))
    return draft_view(draft, next_step=outcome_step(draft))


async def confirm_token(ctx: ToolContext, token: str, *, text: str | None = None) -> DraftView:
    """The second call of the token path: the user said yes to the preview the token was issued with."""
    if ctx.settings.approval != "confirm" or ctx.principal.face != "mcp":
        raise ToolError("confirmation tokens are not used here",
                        hint="Drafts on this server are approved "
                             + ("on their Slack card." if ctx.settings.approval == "slack" else "with approve_draft."))
    if ctx.confirm_links is not None and ctx.principal.via is not None:
        raise ToolError("confirmation tokens are not used for signed-in people on this server",
                        hint="The user confirms on the confirmation page linked in the draft's next_step; check the "
                             "outcome with get_draft.")
    draft_id, version = ctx.confirmations.verify(token)
    draft = await ctx.store.get(draft_id)
    if draft.version != version and draft.state == DraftState.PENDING:
        # Said in the assistant's terms: it cannot approve, it can show the current preview and ask again.
        raise ToolError(f"confirmation_token confirms version {version} of {draft_id}, but it was edited since "
                        f"(now version {draft.version}): nothing was published",
                        hint=f"Show the user the current version (get_draft draft_id={draft_id}) and ask them again; "
                             "the confirmation_token to use is the one edit_draft returned with it.")
    if text is not None and draft.text != text:
        raise ToolError("the text differs from the preview the token confirms",
                        hint="Confirm only what the user saw; for changes use edit_draft and show the new preview.")
    return await confirm_and_publish(ctx, draft_id, version)


async def route_for_approval(ctx: ToolContext, draft: Draft) -> DraftView:
    """Send a freshly stored (or edited) draft down the configured approval route."""
    mode = ctx.settings.approval
    if mode == "none":
        done = await ctx.publisher.approve(draft.id, version=draft.version, actor=AUTO_APPROVER)
        return draft_view(done, next_step=outcome_step(done) + " (approval is switched off on this server)")
    if ctx.notifier is not None:
        await ctx.notifier.draft_pending(draft)  # the Slack card, wherever the Slack face runs alongside
    face = ctx.principal.face
    who = ctx.policy.who_may_approve()
    if mode == "slack":
        if face == "slack":
            return draft_view(draft, next_step=(
                f"Nothing is published until an approver ({who}) approves it on its card in the approval channel."))
        channel = ctx.settings.approval_channel or "the approval channel"
        return draft_view(draft, next_step=(
            f"Sent for approval in Slack ({channel}). Nothing is published until a person approves it there. "
            f"Check the outcome with get_draft draft_id={draft.id}."))
    if face == "mcp" and ctx.confirm_links is not None and ctx.principal.via is not None:
        url = await ctx.confirm_links.link(draft, ctx.principal)
        return draft_view(draft, next_step=(
            f"Nothing is published yet. Give the user this link to confirm it in their browser, where they see "
            f"exactly what goes out and choose Publish or Cancel: {url} . It works only for them, signed in. "
            f"Then check the outcome with get_draft draft_id={draft.id}."))
    if face == "mcp":
        token = ctx.confirmations.issue(draft.id, draft.version)
        return draft_view(draft, token=token, next_step=(
            "Nothing is published yet. Show this preview to the user (text, platforms, time) and ask them to "
            "confirm. Only if they say yes, call the same tool again with the same arguments plus "
            "confirmation_token (valid 10 "
            "minutes). If they want changes, use edit_draft; if not, cancel_draft."))
    if face == "slack":
        return draft_view(draft, next_step=(
            f"Nothing is published until an approver ({who}) approves it: on its card in the approval channel if "
            "there is one, else ask one of them to approve it."))
    return draft_view(draft, next_step=(
        f"Waiting for approval: sdassist call approve_draft draft_id={draft.id} version={draft.version}"))
