"""A webhook whose processing fails is not lost, and one about a draft still in flight settles it."""

from __future__ import annotations

from typing import Any

import pytest

from sdassist.publishing.drafts import DraftState
from tests.publishing.test_publisher import BOB, Env, _event, env  # noqa: F401  (fixture)

S = DraftState


async def test_a_webhook_whose_processing_failed_is_applied_on_redelivery(
    env: Env, monkeypatch: pytest.MonkeyPatch  # noqa: F811
) -> None:
    draft = await env.publisher.approve((await env.add(("linkedin",))).id, version=1, actor=BOB)
    event = _event(draft.post_id, "linkedin", env.accounts["linkedin"], ok=True, evt="evt_flaky")
    real = env.store.transition

    async def broken(*_a: Any, **_k: Any) -> Any:
        raise ConnectionError("database went away")

    monkeypatch.setattr(env.store, "transition", broken)
    with pytest.raises(ConnectionError):
        await env.publisher.apply_webhook(event)
    monkeypatch.setattr(env.store, "transition", real)
    assert (await env.store.get(draft.id)).state == S.SCHEDULED
    done = await env.publisher.apply_webhook(event)  # SocialDock's retry of the same delivery
    assert done is not None and done.state == S.PUBLISHED
    assert await env.publisher.apply_webhook(event) is None  # and now it is a duplicate


async def test_a_webhook_that_cannot_be_recorded_is_released_for_retry(
    env: Env, monkeypatch: pytest.MonkeyPatch  # noqa: F811
) -> None:
    draft = await env.publisher.approve((await env.add(("linkedin", "facebook"))).id, version=1, actor=BOB)
    event = _event(draft.post_id, "linkedin", env.accounts["linkedin"], ok=True, evt="evt_busy")
    real = env.store.annotate

    async def always_lost(*_a: Any, **_k: Any) -> Any:
        return None  # someone else always changed the draft first

    monkeypatch.setattr(env.store, "annotate", always_lost)
    with pytest.raises(RuntimeError, match="kept changing"):
        await env.publisher.apply_webhook(event)
    monkeypatch.setattr(env.store, "annotate", real)
    done = await env.publisher.apply_webhook(event)
    assert done is not None and done.target_results[0]["status"] == "published"


async def test_a_webhook_settles_a_draft_whose_publish_outcome_was_unknown(env: Env) -> None:  # noqa: F811
    draft = await env.add(("linkedin",), publish_now=True)
    await env.faults(
        {"path": "/api/v1/posts", "method": "POST", "drop_rate": 1.0, "drop_after_processing": True},
        {"path": "/api/v1/posts", "method": "GET", "error_rate": 1.0, "status": 503, "count": 1},
    )
    after = await env.publisher.approve(draft.id, version=1, actor=BOB)
    assert after.state == S.UNKNOWN and after.post_id is None
    await env.sandbox.delete("/_sandbox/faults")
    post_id = (await env.client.posts.list()).posts[0].id
    settled = await env.publisher.apply_webhook(
        _event(post_id, "linkedin", env.accounts["linkedin"], ok=True, evt="evt_evidence"))
    assert settled is not None and settled.id == draft.id
    assert settled.state == S.PUBLISHED and settled.post_id == post_id
    assert await env.posts_sent() == 1


async def test_a_webhook_about_a_post_whose_update_is_in_flight_is_still_recorded(env: Env) -> None:  # noqa: F811
    from sdassist.publishing.drafts import utcnow
    from tests.publishing.conftest import force_state

    created = await env.publisher.approve((await env.add(("linkedin",))).id, version=1, actor=BOB)
    update = await env.add(("linkedin",), text="changed words", kind="update", post_id=created.post_id)
    # find_by_post_id prefers the creating draft; take it out of the way so the update draft is the match
    await force_state(env.store, created.id, S.SCHEDULED, post_id=None)
    await force_state(env.store, update.id, S.UNKNOWN, publish_started_at=utcnow())
    event = _event(created.post_id, "linkedin", env.accounts["linkedin"], ok=True, evt="evt_upd")
    recorded = await env.publisher.apply_webhook(event)
    assert recorded is not None and recorded.id == update.id and recorded.state == S.UNKNOWN
    assert recorded.target_results[-1]["status"] == "published"
