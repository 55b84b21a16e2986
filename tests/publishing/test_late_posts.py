"""Exactly once when SocialDock is slower than the grace period (issue 9 §1).

The sandbox holds `POST /posts` past the client's deadline and creates the post only when released, as a
slow network would. A draft whose request was sent and is not found is never "nothing was posted": it is
"not found on SocialDock yet", watched, and approving it again is refused until the request can no longer
land, then preceded by one more look. Target outcomes from webhooks only move forward.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from sdassist.client.models import Post, WebhookEvent
from sdassist.publishing.drafts import AttemptMayLand, Draft, DraftState, utcnow
from sdassist.publishing.publisher import NOT_FOUND_YET, _outcome
from tests.publishing.conftest import force_state
from tests.publishing.test_publisher import BOB, CAROL, Env, env  # noqa: F401  (fixture)

S = DraftState


@pytest.fixture
def sd(env: Env) -> Env:  # noqa: F811  (the shared sandbox + publisher, by a name of this module's own)
    return env

TEXT = "Held by a slow network"


class Clock:
    """The publisher's clock, moved by the test (the sandbox keeps real time)."""

    def __init__(self) -> None:
        self.now = utcnow()

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


async def _held_approval(sd: Env, *, publish_now: bool = True) -> tuple[Draft, Clock]:
    """Approve a draft whose POST the sandbox holds past the client's deadline; the grace then passes."""
    clock = Clock()
    sd.publisher.clock = clock
    sd.publisher.client = sd.make_client(max_retries=0, timeout=0.2, deadline=0.3)
    await sd.faults({"path": "/api/v1/posts", "method": "POST", "hold_rate": 1.0, "count": 1})
    kwargs: dict[str, Any] = {"publish_now": True} if publish_now else {"scheduled_at": utcnow() + timedelta(days=1)}
    draft = await sd.add(("linkedin",), text=TEXT, **kwargs)
    after = await sd.publisher.approve(draft.id, version=1, actor=BOB)
    assert after.state == S.UNKNOWN  # no answer in time: never resent, checked instead
    assert (await sd.sandbox.get("/_sandbox/faults")).json()["data"]["held"] == 1
    clock.advance(minutes=3)  # past the two-minute grace, the request still held
    return await sd.publisher.reconcile(draft.id), clock


async def _release_and_wait(sd: Env) -> str:
    """Let the held request through and wait until SocialDock shows its post; the post's id."""
    assert (await sd.sandbox.post("/_sandbox/faults/release")).json()["data"]["released"] == 1
    for _ in range(200):
        posts = (await sd.sandbox.get("/api/v1/posts")).json()["data"]["posts"]
        mine = [p for p in posts if p["text"] == TEXT]
        if mine:
            return str(mine[0]["id"])
        await asyncio.sleep(0.01)
    raise AssertionError("the held request never landed")


async def _posts_with_text(sd: Env) -> int:
    posts = (await sd.sandbox.get("/api/v1/posts", params={"limit": 100})).json()["data"]["posts"]
    return sum(p["text"] == TEXT for p in posts)


async def test_held_past_the_grace_the_draft_is_not_found_yet_never_nothing_was_posted(sd: Env) -> None:
    failed, _ = await _held_approval(sd)
    assert failed.state == S.FAILED and failed.error is not None
    assert failed.error.startswith(NOT_FOUND_YET)
    assert "nothing was posted" not in failed.error and "approve again to retry" not in failed.error
    attempt = failed.open_attempt
    assert attempt is not None and attempt.text == TEXT
    assert attempt.may_land_until - attempt.sent_at == timedelta(minutes=15)
    assert attempt.watch_until - attempt.sent_at == timedelta(hours=24)
    assert [d.id for d in await sd.store.watched()] == [failed.id]


async def test_approve_again_is_refused_while_the_request_may_land_then_still_one_post(sd: Env) -> None:
    failed, clock = await _held_approval(sd)
    with pytest.raises(AttemptMayLand) as refused:
        await sd.publisher.approve(failed.id, version=failed.version, actor=BOB)
    assert failed.open_attempt is not None
    assert f"{failed.open_attempt.may_land_until:%Y-%m-%d %H:%M} UTC" in str(refused.value)
    assert (await sd.store.get(failed.id)).state == S.FAILED  # the refusal changed nothing
    post_id = await _release_and_wait(sd)  # the held request lands after the client gave up
    clock.advance(minutes=15)
    done = await sd.publisher.approve(failed.id, version=failed.version, actor=BOB)
    assert done.state == S.PUBLISHED and done.post_id == post_id
    assert done.late_note is not None and "landed late" in done.late_note and done.open_attempt is None
    # approving again bumped the version, but nothing was edited: never "create a new draft to post it",
    # which would post it a second time
    assert "edited since" not in done.late_note and "create a new draft" not in done.late_note
    assert await sd.posts_sent() == 1  # the held one only: no second POST
    assert await _posts_with_text(sd) == 1
    notes = [d.note or "" for d in await sd.store.decisions(failed.id)]
    assert any("landed late" in n for n in notes)
    assert await sd.store.watched() == []


async def test_after_the_window_a_request_that_never_landed_is_checked_then_sent_once(sd: Env) -> None:
    failed, clock = await _held_approval(sd, publish_now=False)
    clock.advance(minutes=15)  # the held request is never released: it never lands
    done = await sd.publisher.approve(failed.id, version=failed.version, actor=BOB)
    assert done.state == S.SCHEDULED and done.open_attempt is None and done.late_note is None
    assert await _posts_with_text(sd) == 1
    notes = [d.note or "" for d in await sd.store.decisions(failed.id)]
    assert any("did not land; sending this approval" in n for n in notes)


async def test_the_watch_finds_a_late_post_and_flips_the_draft_with_a_note(sd: Env) -> None:
    failed, clock = await _held_approval(sd, publish_now=False)
    clock.advance(minutes=1)
    assert await sd.publisher.watch_late_posts() == []  # not there yet: looked for, and looked for again later
    post_id = await _release_and_wait(sd)
    clock.advance(minutes=5)
    [flipped] = await sd.publisher.watch_late_posts()
    assert flipped.id == failed.id and flipped.state == S.SCHEDULED and flipped.post_id == post_id
    assert flipped.error is None and flipped.late_note and "landed late" in flipped.late_note
    assert await sd.store.watched() == []
    assert await sd.posts_sent() == 1


async def test_a_webhook_about_the_late_post_of_a_failed_by_reconcile_draft_is_applied(sd: Env) -> None:
    failed, _ = await _held_approval(sd)
    post_id = await _release_and_wait(sd)
    event = WebhookEvent.model_validate({
        "id": "evt_late", "event": "post_published", "created_at": datetime.now(UTC).isoformat(),
        "data": {"post_id": post_id, "platform": "linkedin", "account_id": sd.accounts["linkedin"],
                 "status": "published", "platform_post_id": "pp_late"},
    })
    applied = await sd.publisher.apply_webhook(event)
    assert applied is not None and applied.id == failed.id  # not dropped as "not in flight"
    assert applied.state == S.PUBLISHED and applied.post_id == post_id and applied.late_note
    assert applied.target_results[0]["platform_post_id"] == "pp_late"


async def test_an_edited_draft_whose_earlier_request_landed_shows_what_was_really_posted(sd: Env) -> None:
    failed, clock = await _held_approval(sd)
    clock.advance(minutes=15)
    edited = await sd.store.edit(failed.id, expected_version=failed.version, changes={"text": "Better words"},
                                  actor=CAROL)
    assert edited.open_attempt is not None  # an edit does not forget a request that may have landed
    await _release_and_wait(sd)
    done = await sd.publisher.approve(edited.id, version=edited.version, actor=BOB)
    assert done.state == S.PUBLISHED and done.text == TEXT  # what SocialDock shows, not the unsent edit
    assert done.late_note and f"version {edited.version}, edited since, was not sent" in done.late_note
    assert await sd.posts_sent() == 1


async def test_the_watch_ends_and_says_the_request_did_not_land(sd: Env) -> None:
    failed, clock = await _held_approval(sd)
    clock.advance(hours=24)
    assert [d.id for d in await sd.publisher.watch_late_posts()] == [failed.id]
    ended = await sd.store.get(failed.id)
    assert ended.state == S.FAILED and ended.error and "it did not land" in ended.error
    assert await sd.store.watched() == []


async def test_when_socialdock_cannot_be_checked_before_approving_again_nothing_is_sent(sd: Env) -> None:
    failed, clock = await _held_approval(sd)
    clock.advance(minutes=15)
    await sd.faults({"path": "/api/v1/posts", "method": "GET", "error_rate": 1.0, "status": 503})
    again = await sd.publisher.approve(failed.id, version=failed.version, actor=BOB)
    assert again.state == S.FAILED and again.open_attempt is not None  # still watched, still checked next time
    assert again.error and again.error.startswith("nothing was sent: whether the request sent at")
    assert await sd.posts_sent() == 1


async def test_a_late_post_of_a_cancelled_draft_is_recorded_as_live(sd: Env) -> None:
    failed, clock = await _held_approval(sd)
    cancelled = await sd.publisher.cancel(failed.id, actor=BOB)
    assert cancelled.state == S.CANCELLED and cancelled.open_attempt is not None
    post_id = await _release_and_wait(sd)
    clock.advance(minutes=5)
    [seen] = await sd.publisher.watch_late_posts()
    assert seen.state == S.CANCELLED and seen.post_id == post_id
    assert seen.late_note and "it is live although this draft ended" in seen.late_note
    assert await sd.store.watched() == []


async def test_every_face_is_told_of_the_late_landing(sd: Env) -> None:
    from sdassist.tools.approval import outcome_step
    from sdassist.tools.views import draft_view

    failed, clock = await _held_approval(sd)
    assert "may still land" in outcome_step(failed) and "not on SocialDock yet" in outcome_step(failed)
    await _release_and_wait(sd)
    clock.advance(minutes=5)
    [flipped] = await sd.publisher.watch_late_posts()
    assert flipped.late_note in draft_view(flipped).warnings
    assert f"Note: {flipped.late_note}" in outcome_step(flipped)


async def test_an_update_not_seen_yet_is_never_called_unchanged(sd: Env) -> None:
    original = await sd.publisher.approve((await sd.add(("linkedin",))).id, version=1, actor=BOB)
    change = await sd.add(text="corrected words", kind="update", post_id=original.post_id,
                          scheduled_at=utcnow() + timedelta(days=2))
    await force_state(sd.store, change.id, S.UNKNOWN, publish_started_at=utcnow() - timedelta(minutes=10))
    settled = await sd.publisher.reconcile(change.id)
    assert settled.state == S.FAILED and settled.error
    assert "does not show the change yet" in settled.error and "nothing was changed" not in settled.error


async def test_a_late_scheduled_post_of_a_cancelled_draft_is_deleted_as_the_cancel_asked(sd: Env) -> None:
    failed, clock = await _held_approval(sd, publish_now=False)
    await sd.publisher.cancel(failed.id, actor=BOB)
    post_id = await _release_and_wait(sd)
    clock.advance(minutes=5)
    [seen] = await sd.publisher.watch_late_posts()
    assert seen.state == S.CANCELLED and seen.late_note and "has been deleted" in seen.late_note
    assert (await sd.sandbox.get(f"/api/v1/posts/{post_id}")).status_code == 404


# --- webhooks never move a target backwards --------------------------------------------------------

def _evt(post_id: str, account: str, *, ok: bool, evt: str, at: datetime) -> WebhookEvent:
    return WebhookEvent.model_validate({
        "id": evt, "event": "post_published" if ok else "post_failed", "created_at": at.isoformat(),
        "data": {"post_id": post_id, "platform": "linkedin", "account_id": account,
                 "status": "published" if ok else "failed", "error": None if ok else "Token revoked"},
    })


async def test_a_failure_after_publication_is_recorded_but_does_not_undo_it(sd: Env) -> None:
    draft = await sd.publisher.approve((await sd.add(("linkedin",))).id, version=1, actor=BOB)
    account, now = sd.accounts["linkedin"], datetime.now(UTC)
    published = await sd.publisher.apply_webhook(_evt(draft.post_id, account, ok=True, evt="e1", at=now))
    assert published is not None and published.state == S.PUBLISHED
    later = await sd.publisher.apply_webhook(
        _evt(draft.post_id, account, ok=False, evt="e2", at=now + timedelta(seconds=5)))
    assert later is not None and later.state == S.PUBLISHED
    assert later.target_results[0]["status"] == "published" and later.error is None
    notes = [d.note or "" for d in await sd.store.decisions(draft.id)]
    assert any("linkedin failed" in n and "not applied" in n for n in notes)


async def test_an_older_event_delivered_late_does_not_undo_the_later_outcome(sd: Env) -> None:
    draft = await sd.publisher.approve((await sd.add(("linkedin", "facebook"))).id, version=1, actor=BOB)
    account, now = sd.accounts["linkedin"], datetime.now(UTC)
    failed = await sd.publisher.apply_webhook(_evt(draft.post_id, account, ok=False, evt="n", at=now))
    assert failed is not None and failed.state == S.FAILED
    older = _evt(draft.post_id, account, ok=False, evt="o", at=now - timedelta(minutes=1))
    older.data.error = "an earlier reason"
    after = await sd.publisher.apply_webhook(older)
    assert after is not None and after.state == S.FAILED
    assert [r["error"] for r in after.target_results if r["platform"] == "linkedin"] == ["Token revoked"]


async def test_a_publication_delivered_after_a_later_failure_still_counts(sd: Env) -> None:
    """Published then failed (by created_at) ends published whichever arrives first: a failed draft whose
    post is live would invite 'approve again', a second post."""
    draft = await sd.publisher.approve((await sd.add(("linkedin",))).id, version=1, actor=BOB)
    account, now = sd.accounts["linkedin"], datetime.now(UTC)
    failed = await sd.publisher.apply_webhook(_evt(draft.post_id, account, ok=False, evt="f2", at=now))
    assert failed is not None and failed.state == S.FAILED
    published = await sd.publisher.apply_webhook(
        _evt(draft.post_id, account, ok=True, evt="p1", at=now - timedelta(minutes=1)))
    assert published is not None and published.state == S.PUBLISHED and published.error is None
    assert [r["status"] for r in published.target_results] == ["published"]


async def test_a_newer_publication_moves_a_failed_draft_to_published(sd: Env) -> None:
    draft = await sd.publisher.approve((await sd.add(("linkedin",))).id, version=1, actor=BOB)
    account, now = sd.accounts["linkedin"], datetime.now(UTC)
    await sd.publisher.apply_webhook(_evt(draft.post_id, account, ok=False, evt="f", at=now))
    newer = await sd.publisher.apply_webhook(
        _evt(draft.post_id, account, ok=True, evt="p", at=now + timedelta(minutes=1)))
    assert newer is not None and newer.state == S.PUBLISHED and newer.error is None


def test_a_read_of_the_post_that_lags_behind_the_events_does_not_undo_them() -> None:
    recorded = [{"platform": "linkedin", "account_id": "acc_1", "status": "published",
                 "at": datetime.now(UTC).isoformat()}]
    stale = Post.model_validate({"id": "post_1", "status": "failed", "text": "x", "targets": [
        {"platform": "linkedin", "account_id": "acc_1", "status": "failed", "error": "late read"}]})
    state, changes = _outcome(stale, recorded)
    assert state == S.PUBLISHED and changes["target_results"][0]["status"] == "published"
