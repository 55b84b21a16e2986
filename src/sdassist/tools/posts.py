"""Post tools: what SocialDock has, and changes to it (a change to a scheduled post is approved first)."""

from __future__ import annotations

from datetime import timedelta
from typing import Literal

from pydantic import Field

from sdassist.client.models import Platform, Target
from sdassist.publishing.drafts import DraftState, new_draft
from sdassist.tools.approval import confirm_token, route_for_approval
from sdassist.tools.base import Tool, ToolContext, ToolInput, ToolKind, ToolOutput, Toolset
from sdassist.tools.changes import check_draft_change
from sdassist.tools.compose import change_of
from sdassist.tools.drafts import TOKEN_DESCRIPTION
from sdassist.tools.errors import ToolError
from sdassist.tools.fields import ConfirmationToken, PostId
from sdassist.tools.views import DraftStatus, DraftView, PostView, post_view


class ListPostsInput(ToolInput):
    status: Literal["published", "scheduled", "failed"] | None = Field(default=None, description="Only these.")
    platform: Platform | None = Field(default=None, description="Only this one.")
    limit: int = Field(default=20, ge=1, le=100, description="Page size.")
    offset: int = Field(default=0, ge=0, description="next_offset of the previous page.")


class PostList(ToolOutput):
    posts: list[PostView]
    total: int
    next_offset: int | None = Field(
        default=None, description="Pass as offset for the next page; absent on the last page.")


async def list_posts(ctx: ToolContext, inp: ListPostsInput) -> PostList:
    page = await ctx.client.posts.list(status=inp.status, platform=inp.platform, limit=inp.limit, offset=inp.offset)
    after = page.offset + len(page.posts)
    return PostList(
        posts=[post_view(p, ctx.zone) for p in page.posts],
        total=page.total,
        next_offset=after if after < page.total else None,
    )


class PostRef(ToolInput):
    post_id: PostId = Field(description="post_…")


async def get_post(ctx: ToolContext, inp: PostRef) -> PostView:
    return post_view(await ctx.client.posts.get(inp.post_id), ctx.zone, full_text=True)


class UpdatePostInput(ToolInput):
    post_id: PostId = Field(description="A scheduled post, post_…")
    text: str | None = change_of("text")
    title: str | None = change_of("title")
    when: str | None = change_of("when")
    media_urls: list[str] | None = change_of("media_urls")
    tags: list[str] | None = change_of("tags")
    zone: str | None = change_of("zone")
    confirmation_token: ConfirmationToken | None = Field(default=None, description=TOKEN_DESCRIPTION)


async def update_post(ctx: ToolContext, inp: UpdatePostInput) -> DraftView:
    if inp.confirmation_token:
        return await confirm_token(ctx, inp.confirmation_token)
    post = await ctx.client.posts.get(inp.post_id)
    if post.status != "scheduled":
        raise ToolError(f"{post.id} is {post.status}; SocialDock only changes scheduled posts",
                        hint="Publish a new post with draft_post instead.")
    changeable = [f for f in UpdatePostInput.model_fields if f not in ("post_id", "zone", "confirmation_token")]
    if all(getattr(inp, f) is None for f in changeable):
        raise ToolError("nothing to change", hint=f"Give at least one of {', '.join(changeable)}.")
    # The accounts cannot change on SocialDock; their metadata comes from the draft that made the post, if
    # sdassist made it. Otherwise SocialDock keeps metadata sdassist never saw: its rules are not checked here.
    owner = await ctx.store.find_by_post_id(post.id)
    known = {t.account_id: t for t in owner.targets} if owner is not None else {}
    targets = [known.get(t.account_id or "")
               or Target(platform=t.platform, account_id=t.account_id or "", metadata=None)  # type: ignore[arg-type]
               for t in post.targets]
    base = new_draft(
        kind="update", post_id=post.id, text=post.text or "", title=post.title, targets=targets,
        media_urls=list(post.media_urls) or [m.url for m in post.media], tags=list(post.tags),
        publish_now=False, scheduled_at=post.scheduled_at, timezone=inp.zone or ctx.zone, requester=ctx.principal,
    )
    change = await check_draft_change(
        ctx, base, text=inp.text, title=inp.title, when=inp.when, media_urls=inp.media_urls, tags=inp.tags,
        zone=inp.zone, metadata_rules=owner is not None)
    change.raise_if_problems()
    merged = base.model_copy(update=change.changes)
    given = {"text": inp.text, "title": inp.title, "scheduled_at": inp.when, "media_urls": inp.media_urls,
             "tags": inp.tags}
    draft = new_draft(
        kind="update", post_id=post.id, update_fields=[name for name, value in given.items() if value is not None],
        text=merged.text, title=merged.title, targets=merged.targets, media_urls=merged.media_urls, tags=merged.tags,
        publish_now=False, scheduled_at=merged.scheduled_at, timezone=merged.timezone, time_phrase=inp.when,
        requester=ctx.principal, warnings=change.warnings, ttl=timedelta(hours=ctx.settings.draft_ttl_hours),
    )
    stored = await ctx.store.add(draft, ctx.principal)
    return await route_for_approval(ctx, stored)


class Deleted(ToolOutput):
    id: str
    deleted: bool


async def delete_post(ctx: ToolContext, inp: PostRef) -> Deleted:
    ctx.policy.check_can_administer(ctx.principal, f"delete post {inp.post_id}")
    await ctx.client.posts.delete(inp.post_id)
    return Deleted(id=inp.post_id, deleted=True)


async def withdraw_scheduled_post(ctx: ToolContext, post_id: str) -> DraftStatus | Deleted:
    """Stop a scheduled post (Slack's `cancel post_…`): through cancel_draft when a draft of sdassist owns it
    (the cancel policy and the draft's record apply), else a delete that only an approver may do. A post that
    is already out is not "cancelled": deleting it is delete_post's job."""
    ref = PostRef(post_id=post_id)  # a malformed id is a refusal naming post_id, before any lookup
    owner = await ctx.store.find_by_post_id(ref.post_id)
    if owner is not None and owner.state == DraftState.SCHEDULED:
        from sdassist.tools.drafts import DraftRef, cancel_draft

        return await cancel_draft(ctx, DraftRef(draft_id=owner.id))
    post = await ctx.client.posts.get(post_id)
    if post.status != "scheduled":
        raise ToolError(f"{post_id} is {post.status}, not scheduled: cancel only withdraws scheduled posts",
                        hint="To remove a post that is out, an approver uses delete_post.")
    return await delete_post(ctx, ref)


TOOLS = [
    Tool(
        name="list_posts", title="List posts",
        description="Posts on SocialDock (published, scheduled or failed), newest first, a page at a time.",
        input_model=ListPostsInput, output_model=PostList, kind=ToolKind.READ, toolset=Toolset.POSTS,
        handler=list_posts,
    ),
    Tool(
        name="get_post", title="Get a post",
        description="One SocialDock post in full: text, status, per-platform results and media.",
        input_model=PostRef, output_model=PostView, kind=ToolKind.READ, toolset=Toolset.POSTS, handler=get_post,
    ),
    Tool(
        name="update_post", title="Change a scheduled post",
        description="Change a post still scheduled (not its accounts) through a draft that goes for approval; "
                    "SocialDock is updated only once approved.",
        input_model=UpdatePostInput, output_model=DraftView, kind=ToolKind.WRITE, toolset=Toolset.POSTS,
        handler=update_post,
    ),
    Tool(
        name="delete_post", title="Delete a post",
        description="Delete a post from SocialDock (a scheduled one then never goes out). Cannot be undone.",
        input_model=PostRef, output_model=Deleted, kind=ToolKind.DESTRUCTIVE, toolset=Toolset.POSTS,
        handler=delete_post, admin=True,
    ),
]
