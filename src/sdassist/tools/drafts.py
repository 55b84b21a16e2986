"""Draft tools: compose a post, look at drafts, change them, and decide on them."""

from __future__ import annotations

from datetime import timedelta

from pydantic import Field

from sdassist.publishing.drafts import DraftState, new_draft
from sdassist.publishing.publisher import ASKED_LOOK_EVERY
from sdassist.tools.approval import confirm_token, outcome_step, route_for_approval
from sdassist.tools.base import Tool, ToolContext, ToolInput, ToolKind, ToolOutput, Toolset
from sdassist.tools.changes import check_draft_change
from sdassist.tools.compose import NowMeansOnceApproved, PostFields, change_of, compose
from sdassist.tools.errors import ToolError
from sdassist.tools.fields import ConfirmationToken, DraftId
from sdassist.tools.targets import TargetOptions
from sdassist.tools.views import DraftStatus, DraftSummary, DraftView, draft_status, draft_summary, draft_view

TOKEN_DESCRIPTION = "Only from a preview the user said yes to."


class DraftPostInput(PostFields):
    confirmation_token: ConfirmationToken | None = Field(default=None, description=TOKEN_DESCRIPTION)


async def draft_post(ctx: ToolContext, inp: DraftPostInput) -> DraftView:
    if inp.confirmation_token:
        return await confirm_token(ctx, inp.confirmation_token, text=inp.text)
    composed = await compose(ctx, inp)
    draft = new_draft(
        text=inp.text,
        title=inp.title,
        targets=composed.targets,
        media_urls=inp.media_urls,
        tags=inp.tags,
        publish_now=inp.publish_now,
        scheduled_at=composed.scheduled_at,
        timezone=composed.when.zone if composed.when else (inp.zone or ctx.zone),
        time_phrase=inp.when,
        requester=ctx.principal,
        warnings=composed.warnings,
        face_refs=ctx.face_refs,
        ttl=timedelta(hours=ctx.settings.draft_ttl_hours),
    )
    stored = await ctx.store.add(draft, ctx.principal)
    return await route_for_approval(ctx, stored)


class ListDraftsInput(ToolInput):
    states: list[DraftState] = Field(default_factory=list, description="Only these states (default all).")
    mine_only: bool = Field(default=False, description="Only drafts you asked for.")
    limit: int = Field(default=20, ge=1, le=100, description="At most this many.")


class DraftList(ToolOutput):
    drafts: list[DraftSummary]


async def list_drafts(ctx: ToolContext, inp: ListDraftsInput) -> DraftList:
    await ctx.store.expire_due()  # a pending draft whose slot has passed must not look approvable
    drafts = await ctx.store.briefs(
        states=inp.states or None,
        requester_id=ctx.principal.id if inp.mine_only else None,
        limit=inp.limit,
    )
    return DraftList(drafts=[draft_summary(d) for d in drafts])


class DraftRef(ToolInput):
    draft_id: DraftId = Field(description="drf_…")


async def get_draft(ctx: ToolContext, inp: DraftRef) -> DraftView:
    """A draft "not found on SocialDock yet" is looked for at once (at most every ASKED_LOOK_EVERY), so a
    late post shows the moment someone checks, not at the watch's next look."""
    await ctx.store.expire_due()
    draft, looked = await ctx.publisher.look_now(await ctx.store.get(inp.draft_id))
    step = None
    if looked and draft.open_attempt is not None and draft.state == DraftState.FAILED:
        step = (f"Looked on SocialDock just now: the post is not there yet. sdassist keeps looking until "
                f"{draft.open_attempt.watch_until:%Y-%m-%d %H:%M} UTC; get_draft looks again at once, at most "
                f"every {ASKED_LOOK_EVERY.seconds} s.")
    return draft_view(draft, next_step=step)


class _EditFields(NowMeansOnceApproved):
    draft_id: DraftId = Field(description="drf_…")
    version: int = Field(ge=1, description="The version you saw (get_draft).")
    text: str | None = change_of("text")
    targets: list[str] | None = change_of("targets", "Replaces the targets.")
    when: str | None = change_of("when")
    publish_now: bool | None = change_of("publish_now")
    title: str | None = change_of("title")
    media_urls: list[str] | None = change_of("media_urls")
    tags: list[str] | None = change_of("tags")
    zone: str | None = change_of("zone")


class EditDraftInput(TargetOptions, _EditFields):
    """The draft and its changes first, then per-platform settings (applied to the current targets when
    targets is not given)."""

    confirmation_token: ConfirmationToken | None = Field(default=None, description=TOKEN_DESCRIPTION)


#: Every field an edit can change (the per-platform settings included), as its refusal lists them.
EDITABLE = tuple(f for f in EditDraftInput.model_fields
                 if f not in ("draft_id", "version", "zone", "confirmation_token"))


async def edit_draft(ctx: ToolContext, inp: EditDraftInput) -> DraftView:
    if inp.confirmation_token:
        return await confirm_token(ctx, inp.confirmation_token)
    draft = await ctx.store.get(inp.draft_id)
    ctx.policy.check_can_edit(ctx.principal, draft)
    if draft.version != inp.version:
        raise ToolError(f"{draft.id} is at version {draft.version}, not {inp.version}",
                        hint="Someone changed it since you looked: get_draft shows the current version.")
    change = await check_draft_change(
        ctx, draft, text=inp.text, title=inp.title, targets=inp.targets, when=inp.when, publish_now=inp.publish_now,
        media_urls=inp.media_urls, tags=inp.tags, zone=inp.zone, options=inp)
    if not change.changes and change.ok:
        raise ToolError("nothing to change", hint=f"Give at least one of {', '.join(EDITABLE)}.")
    change.raise_if_problems()
    changes = {**change.changes, "warnings": change.warnings}
    edited = await ctx.store.edit(draft.id, expected_version=inp.version, changes=changes, actor=ctx.principal)
    return await route_for_approval(ctx, edited)


async def cancel_draft(ctx: ToolContext, inp: DraftRef) -> DraftStatus:
    draft = await ctx.publisher.cancel(inp.draft_id, actor=ctx.principal)
    return draft_status(draft, "Cancelled: it will not be published." + (
        f" The scheduled post {draft.post_id} was deleted from SocialDock." if draft.post_id else ""))


class DecisionInput(ToolInput):
    draft_id: DraftId = Field(description="drf_…")
    version: int = Field(ge=1, description="The version you reviewed.")


async def approve_draft(ctx: ToolContext, inp: DecisionInput) -> DraftView:
    draft = await ctx.publisher.approve(inp.draft_id, version=inp.version, actor=ctx.principal)
    return draft_view(draft, next_step=outcome_step(draft))


class RejectInput(DecisionInput):
    reason: str | None = Field(default=None, description="Why, for the person who asked.")


async def reject_draft(ctx: ToolContext, inp: RejectInput) -> DraftStatus:
    draft = await ctx.publisher.reject(inp.draft_id, version=inp.version, actor=ctx.principal, reason=inp.reason)
    return draft_status(draft, "Rejected: it will not be published.")


TOOLS = [
    Tool(
        name="draft_post", title="Draft a post",
        description=(
            "Compose a post for connected accounts, now or at a time, and send it for approval: nothing is "
            "published until a person approves. Rules and time are checked first, all problems at once. "
            "Follow the returned next_step."
        ),
        input_model=DraftPostInput, output_model=DraftView, kind=ToolKind.WRITE, toolset=Toolset.DRAFTS,
        handler=draft_post,
    ),
    Tool(
        name="list_drafts", title="List drafts",
        description="Drafts, newest first, optionally by state.",
        input_model=ListDraftsInput, output_model=DraftList, kind=ToolKind.READ, toolset=Toolset.DRAFTS,
        handler=list_drafts,
    ),
    Tool(
        name="get_draft", title="Get a draft",
        description="One draft in full, with per-platform results, error and post id: check an outcome here.",
        input_model=DraftRef, output_model=DraftView, kind=ToolKind.READ, toolset=Toolset.DRAFTS,
        handler=get_draft,
    ),
    Tool(
        name="edit_draft", title="Edit a draft",
        description="Change a pending or failed draft. It gets a new version and goes for approval again; "
                    "approvals of the old version stop working.",
        input_model=EditDraftInput, output_model=DraftView, kind=ToolKind.WRITE, toolset=Toolset.DRAFTS,
        handler=edit_draft,
    ),
    Tool(
        name="cancel_draft", title="Cancel a draft",
        description="Cancel a draft so it is never published. A draft already scheduled on SocialDock is "
                    "deleted there too.",
        input_model=DraftRef, output_model=DraftStatus, kind=ToolKind.DESTRUCTIVE, toolset=Toolset.DRAFTS,
        handler=cancel_draft,
    ),
    Tool(
        name="approve_draft", title="Approve a draft",
        description="Approve one version of a pending draft: it is published or scheduled at once, exactly once. "
                    "For people only.",
        input_model=DecisionInput, output_model=DraftView, kind=ToolKind.WRITE, toolset=Toolset.DRAFTS,
        handler=approve_draft, human_only=True, admin=True,
    ),
    Tool(
        name="reject_draft", title="Reject a draft",
        description="Reject a pending draft, with an optional reason. For people only.",
        input_model=RejectInput, output_model=DraftStatus, kind=ToolKind.DESTRUCTIVE, toolset=Toolset.DRAFTS,
        handler=reject_draft, human_only=True, admin=True,
    ),
]
