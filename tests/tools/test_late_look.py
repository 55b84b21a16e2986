"""`get_draft` on a draft "not found on SocialDock yet" looks for its late post at once, as every face calls it
(`sdassist call get_draft`, MCP, Slack): the late post shows the moment someone checks, not at the watch's
next look up to minutes later. A look only reads, at most every ASKED_LOOK_EVERY per draft, one caller at a
time, and never lets a second `POST /posts` out."""

from __future__ import annotations

import asyncio

import httpx

from sdassist.client import SocialDock
from sdassist.config import SANDBOX_KEY
from sdassist.publishing.drafts import Draft, DraftState, StaleApproval
from sdassist.publishing.publisher import ASKED_LOOK_EVERY
from sdassist.runtime import EMBEDDED_SANDBOX_URL, Runtime
from tests.publishing.test_late_posts import Clock
from tests.tools.conftest import OPERATOR, call, sandbox_control

S = DraftState
TEXT = "Held by a slow network, then live"
POSTS_LIST, POST_SENT = "GET /api/v1/posts", "POST /api/v1/posts"


async def requests(rt: Runtime, label: str) -> int:
    return int((await sandbox_control(rt, "GET", "/_sandbox/stats"))["requests"].get(label, 0))


async def not_found_yet(rt: Runtime) -> tuple[Draft, Clock]:
    """A draft whose POST the sandbox holds past the client's deadline and the grace: failed, "not found on
    SocialDock yet", watched; the watch has had its first look (the next one is minutes away)."""
    clock = Clock()
    rt.publisher.clock = clock
    rt.publisher.client = SocialDock(SANDBOX_KEY, base_url=EMBEDDED_SANDBOX_URL, max_retries=0, timeout=0.2,
                                     deadline=0.3, rate_limiter=rt.client.rate_limiter,
                                     transport=httpx.ASGITransport(app=rt.sandbox_app))
    await sandbox_control(rt, "POST", "/_sandbox/faults", json={"seed": 1, "rules": [
        {"path": "/api/v1/posts", "method": "POST", "hold_rate": 1.0, "count": 1}]})
    view = await call(rt, "draft_post", text=TEXT, targets=["linkedin"], publish_now=True)
    assert (await rt.publisher.approve(view.draft_id, version=1, actor=OPERATOR)).state == S.UNKNOWN
    clock.advance(minutes=3)
    failed = await rt.publisher.reconcile(view.draft_id)
    assert failed.state == S.FAILED and failed.open_attempt is not None
    clock.advance(minutes=1)
    assert await rt.publisher.watch_late_posts() == []  # looked for: not there; next look in about 2 minutes
    return failed, clock


async def land(rt: Runtime) -> str:
    """Let the held request through; the id of the post it makes."""
    assert (await sandbox_control(rt, "POST", "/_sandbox/faults/release"))["released"] == 1
    for _ in range(200):
        mine = [p async for p in rt.client.posts.iter_all() if p.text == TEXT]
        if mine:
            return mine[0].id
        await asyncio.sleep(0.01)
    raise AssertionError("the held request never landed")


async def test_get_draft_finds_a_late_post_at_once_not_at_the_next_look(runtime: Runtime) -> None:
    failed, clock = await not_found_yet(runtime)
    post_id = await land(runtime)
    clock.advance(seconds=ASKED_LOOK_EVERY.total_seconds() + 1)  # the watch's next look is still minutes away
    assert await runtime.store.watched(due_by=clock()) == []
    view = await call(runtime, "get_draft", draft_id=failed.id)
    assert view.state == S.PUBLISHED and view.post_id == post_id and view.error is None
    assert any("landed late" in w for w in view.warnings)
    assert await runtime.store.watched() == []
    assert await requests(runtime, POST_SENT) == 1


async def test_a_look_is_made_at_most_every_few_seconds_however_often_someone_asks(runtime: Runtime) -> None:
    failed, clock = await not_found_yet(runtime)
    clock.advance(seconds=ASKED_LOOK_EVERY.total_seconds() + 1)
    before = await requests(runtime, POSTS_LIST)
    first = await call(runtime, "get_draft", draft_id=failed.id)
    assert first.state == S.FAILED and first.next_step and "not there yet" in first.next_step
    looked = await requests(runtime, POSTS_LIST)
    assert looked > before
    for _ in range(5):  # asked again at once: the draft as it stands, no new look
        again = await call(runtime, "get_draft", draft_id=failed.id)
        assert again.state == S.FAILED and again.next_step is None
    assert await requests(runtime, POSTS_LIST) == looked
    clock.advance(seconds=ASKED_LOOK_EVERY.total_seconds())
    assert (await call(runtime, "get_draft", draft_id=failed.id)).next_step
    assert await requests(runtime, POSTS_LIST) > looked


async def test_many_looks_at_once_take_the_late_post_once(runtime: Runtime) -> None:
    failed, clock = await not_found_yet(runtime)
    await land(runtime)
    clock.advance(minutes=5)  # due for the watch, and for anyone asking
    views = await asyncio.gather(*[call(runtime, "get_draft", draft_id=failed.id) for _ in range(8)],
                                 runtime.publisher.watch_late_posts())
    assert {v.state for v in views[:-1]} <= {S.FAILED, S.PUBLISHED}
    assert (await runtime.store.get(failed.id)).state == S.PUBLISHED
    landed = [d for d in await runtime.store.decisions(failed.id) if d.note and "landed late" in d.note]
    assert len(landed) == 1
    assert await requests(runtime, POST_SENT) == 1


async def test_a_look_racing_a_new_approval_never_lets_a_second_post_out(runtime: Runtime) -> None:
    failed, clock = await not_found_yet(runtime)
    await land(runtime)
    clock.advance(minutes=15)  # the earlier request can no longer land: approving again is allowed
    outcome = await asyncio.gather(
        runtime.publisher.approve(failed.id, version=failed.version, actor=OPERATOR),
        call(runtime, "get_draft", draft_id=failed.id), return_exceptions=True)
    assert not [o for o in outcome if isinstance(o, Exception) and not isinstance(o, StaleApproval)], outcome
    final = await runtime.store.get(failed.id)
    assert final.state == S.PUBLISHED and final.late_note and "landed late" in final.late_note
    assert await requests(runtime, POST_SENT) == 1


async def test_a_cancelled_drafts_late_post_is_left_to_the_watch(runtime: Runtime) -> None:
    """Looking is a read: deleting the late post of a cancelled draft (as the cancel asked) stays with the
    watch, never with get_draft."""
    failed, clock = await not_found_yet(runtime)
    await runtime.publisher.cancel(failed.id, actor=OPERATOR)
    await land(runtime)
    clock.advance(minutes=5)
    before = await requests(runtime, POSTS_LIST)
    view = await call(runtime, "get_draft", draft_id=failed.id)
    assert view.state == S.CANCELLED and view.post_id is None
    assert await requests(runtime, POSTS_LIST) == before
    assert await requests(runtime, "DELETE /api/v1/posts/{id}") == 0
