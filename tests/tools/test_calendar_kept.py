"""What the calendar's window keeps between renders (its order, the caps' counts) follows every change."""

from __future__ import annotations

from typing import Any

from sdassist.publishing.drafts import DraftState, Principal
from sdassist.tools.calendar import plan, read_week
from tests.publishing.conftest import force_state
from tests.tools.conftest import call

BOSS = Principal(id="U0BOSS", kind="human", face="slack", name="boss")


async def linkedin_used(runtime: Any) -> tuple[list[str], int]:
    """The fortnight's posts in order, and the most LinkedIn posts counted on any one day."""
    out = await plan(runtime.context(BOSS, zone="UTC"), start=read_week(None, "UTC"), days=14, zone="UTC")
    ids = [s.id for day in out.days for s in day.entries]
    return ids, max((p.used for day in out.days for p in day.caps if p.cap.platform == "linkedin"), default=0)


async def test_the_caps_and_the_order_follow_changes_after_the_first_render(runtime: Any) -> None:
    first = await call(runtime, "draft_post", text="one", targets=["linkedin"], when="in 2 days at 10:00 UTC")
    assert await linkedin_used(runtime) == ([first.draft_id], 0)  # waiting: not counted yet
    await call(runtime, "approve_draft", draft_id=first.draft_id, version=1)
    assert await linkedin_used(runtime) == ([first.draft_id], 1)
    second = await call(runtime, "draft_post", text="two", targets=["linkedin"], when="in 2 days at 09:00 UTC")
    await call(runtime, "approve_draft", draft_id=second.draft_id, version=1)
    assert await linkedin_used(runtime) == ([second.draft_id, first.draft_id], 2)  # earlier one first
    await call(runtime, "cancel_draft", draft_id=first.draft_id)
    assert await linkedin_used(runtime) == ([second.draft_id], 1)


async def test_who_approved_follows_each_approval_after_the_first_render(runtime: Any) -> None:
    async def approvers() -> dict[str, str]:
        out = await plan(runtime.context(BOSS, zone="UTC"), start=read_week(None, "UTC"), days=14, zone="UTC")
        return {draft_id: decision.actor_id for draft_id, decision in out.approved_by.items()}

    one = await call(runtime, "draft_post", text="one", targets=["facebook"], when="in 2 days at 10:00 UTC")
    two = await call(runtime, "draft_post", text="two", targets=["facebook"], when="in 3 days at 10:00 UTC")
    await call(runtime, "approve_draft", draft_id=one.draft_id, version=1)
    assert await approvers() == {one.draft_id: "cli:tester"}  # two is waiting: nobody approved it yet
    await call(runtime, "approve_draft", draft_id=two.draft_id, version=1, principal=BOSS)
    assert await approvers() == {one.draft_id: "cli:tester", two.draft_id: "U0BOSS"}
    # One fails, is edited (waiting again, version 2) and approved by someone else: the latest approval shows.
    await force_state(runtime.store, one.draft_id, DraftState.FAILED, error="SocialDock refused it", target_results=[],
                      post_id=None)  # as if the send had failed: nothing went out
    assert await approvers() == {one.draft_id: "cli:tester", two.draft_id: "U0BOSS"}
    await call(runtime, "edit_draft", draft_id=one.draft_id, version=1, text="one, fixed")
    assert await approvers() == {two.draft_id: "U0BOSS"}
    await call(runtime, "approve_draft", draft_id=one.draft_id, version=2, principal=BOSS)
    assert await approvers() == {one.draft_id: "U0BOSS", two.draft_id: "U0BOSS"}


async def test_the_lists_follow_drafts_written_outside_the_fortnight(runtime: Any) -> None:
    async def lists() -> tuple[list[str], int, list[str], int]:
        out = await plan(runtime.context(BOSS, zone="UTC"), start=read_week(None, "UTC"), days=14, zone="UTC")
        return [d.id for d in out.waiting.drafts], out.waiting.total, [d.id for d in out.mine.drafts], out.mine.total

    assert await lists() == ([], 0, [], 0)
    far = await call(runtime, "draft_post", text="far", targets=["facebook"], when="in 31 days at 10:00 UTC")
    assert await lists() == ([far.draft_id], 1, [], 0)  # waiting for approval, though not in these two weeks
    mine = await call(runtime, "draft_post", BOSS, text="mine", targets=["facebook"], when="in 30 days at 9:00 UTC")
    assert await lists() == ([mine.draft_id, far.draft_id], 2, [mine.draft_id], 1)
    await call(runtime, "reject_draft", BOSS, draft_id=far.draft_id, version=1)
    assert await lists() == ([mine.draft_id], 1, [mine.draft_id], 1)
