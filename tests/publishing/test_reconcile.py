"""Reconciling an ambiguous publish against post lists shaped as documented (no targets in the items)
and in either order: found when it is there, failed only after a scan that proves absence, else unknown."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import httpx
import pytest

from sdassist.client import SocialDock
from sdassist.client.models import PostCreate, Target
from sdassist.publishing.drafts import DraftState, utcnow
from sdassist.publishing.policy import ApprovalPolicy
from sdassist.publishing.publisher import NOT_FOUND_YET, Publisher, _same_text
from sdassist.publishing.store import DraftStore
from sdassist.sandbox import DEFAULT_KEY, SandboxConfig, create_app
from tests.publishing.conftest import BOB, force_state
from tests.publishing.test_publisher import BASE, Env

S = DraftState


def _shapes() -> list[Any]:
    return [pytest.param((targets, order), id=f"{'targets' if targets else 'bare'}-{order}")
            for targets in (True, False) for order in ("newest", "oldest")]


@pytest.fixture(params=_shapes())
async def shaped(request: pytest.FixtureRequest, store: DraftStore) -> AsyncIterator[Env]:
    targets, order = request.param
    app = create_app(SandboxConfig(list_targets=targets, list_order=order, tick_seconds=0.02))
    transport = httpx.ASGITransport(app=app)
    sandbox = httpx.AsyncClient(transport=transport, base_url=BASE,
                                headers={"Authorization": f"Bearer {DEFAULT_KEY}"})
    client = SocialDock(DEFAULT_KEY, transport=transport, base_url=BASE, max_retries=0, timeout=5.0)
    accounts = {a["platform"]: a["id"] for a in (await sandbox.get("/api/v1/accounts")).json()["data"]["accounts"]}
    publisher = Publisher(client, store, ApprovalPolicy())
    yield Env(sandbox, client, store, publisher, accounts, lambda **_: client)
    await client.aclose()
    await sandbox.aclose()
    await app.state.sandbox.aclose()


async def _filler(env: Env, text: str = "an older post") -> None:
    await env.client.posts.create(PostCreate(
        text=text, targets=[Target(platform="linkedin", account_id=env.accounts["linkedin"])], publish_now=True))


async def test_sandbox_serves_the_documented_bare_list_items_in_the_asked_order(shaped: Env) -> None:
    await _filler(shaped, "one")
    await shaped.sandbox.post("/_sandbox/clock", json={"advance_seconds": 60})
    await _filler(shaped, "two")
    items = (await shaped.sandbox.get("/api/v1/posts")).json()["data"]["posts"]
    config = shaped.sandbox._transport.app.state.sandbox.config  # type: ignore[attr-defined]
    assert [i["text"] for i in items] == (["two", "one"] if config.list_order == "newest" else ["one", "two"])
    if not config.list_targets:
        assert set(items[0]) == {"id", "status", "text", "created_at"}


async def test_reconcile_finds_the_post_whatever_the_list_shape_and_order(shaped: Env) -> None:
    await _filler(shaped)  # older than the attempt: first in an oldest-first list
    hour = timedelta(hours=1)
    await shaped.sandbox.post("/_sandbox/clock", json={"advance_seconds": 3600})
    shaped.publisher.clock = lambda: utcnow() + hour
    draft = await shaped.add(("linkedin", "threads"), scheduled_at=utcnow() + timedelta(days=1))
    await shaped.faults(
        {"path": "/api/v1/posts", "method": "POST", "drop_rate": 1.0, "drop_after_processing": True},
        {"path": "/api/v1/posts", "method": "GET", "error_rate": 1.0, "status": 503, "count": 1},
    )
    assert (await shaped.publisher.approve(draft.id, version=1, actor=BOB)).state == S.UNKNOWN
    await shaped.sandbox.delete("/_sandbox/faults")
    # Long past the grace period: a scan that missed the post would call it lost.
    await force_state(shaped.store, draft.id, S.UNKNOWN, publish_started_at=utcnow() + hour - timedelta(minutes=10))
    settled = await shaped.publisher.reconcile(draft.id)
    assert settled.state == S.SCHEDULED and settled.post_id
    assert {r["platform"] for r in settled.target_results} == {"linkedin", "threads"}
    assert await shaped.posts_sent() == 2  # the filler and the one approval: never a second POST


async def test_a_post_on_other_accounts_is_not_taken_for_the_drafts(shaped: Env) -> None:
    draft = await shaped.add(("linkedin", "threads"), text="same words")
    await shaped.client.posts.create(PostCreate(
        text="same words", targets=[Target(platform="linkedin", account_id=shaped.accounts["linkedin"])],
        publish_now=True))
    await force_state(shaped.store, draft.id, S.UNKNOWN, publish_started_at=utcnow() - timedelta(minutes=10))
    settled = await shaped.publisher.reconcile(draft.id)
    assert settled.state == S.FAILED and settled.error.startswith(NOT_FOUND_YET) and settled.post_id is None


async def test_absence_is_proven_by_a_complete_scan(shaped: Env) -> None:
    for i in range(3):
        await _filler(shaped, f"filler {i}")
    draft = await shaped.add()
    await force_state(shaped.store, draft.id, S.UNKNOWN, publish_started_at=utcnow() - timedelta(minutes=10))
    settled = await shaped.publisher.reconcile(draft.id)
    assert settled.state == S.FAILED and settled.error.startswith(NOT_FOUND_YET)


async def test_hitting_the_scan_bound_is_not_proof_of_absence(shaped: Env) -> None:
    for i in range(3):
        await _filler(shaped, f"filler {i}")
    shaped.publisher.max_scan = 2
    draft = await shaped.add()
    await force_state(shaped.store, draft.id, S.UNKNOWN, publish_started_at=utcnow() - timedelta(minutes=10))
    settled = await shaped.publisher.reconcile(draft.id)
    assert settled.state == S.UNKNOWN
    assert "check list_posts" in settled.error and "more than 2 posts" in settled.error
    assert await shaped.posts_sent() == 3


async def test_text_compare_ignores_whitespace_differences(store: DraftStore) -> None:
    assert _same_text("Launch  day!\n\nSee you", " Launch day! See you ")
    assert not _same_text("Launch day", "Launch night")


async def test_one_bad_draft_does_not_block_the_reconcile_round(shaped: Env, monkeypatch: pytest.MonkeyPatch) -> None:
    bad, good = await shaped.add(), await shaped.add()
    for draft in (bad, good):
        await force_state(shaped.store, draft.id, S.UNKNOWN, publish_started_at=utcnow() - timedelta(minutes=10))
    real = shaped.publisher.reconcile

    async def reconcile(draft_id: str) -> Any:
        if draft_id == bad.id:
            raise RuntimeError("a draft nobody can read")
        return await real(draft_id)

    monkeypatch.setattr(shaped.publisher, "reconcile", reconcile)
    settled = await shaped.publisher.reconcile_all()
    assert [(d.id, d.state) for d in settled] == [(good.id, S.FAILED)]
