"""Publishing exactly once, against the in-process sandbox: approval races, stale versions, ambiguous
outcomes reconciled without a second POST, webhook outcomes and cancellation."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse
from starlette.routing import Route

from sdassist.client import SocialDock
from sdassist.client.models import WebhookEvent
from sdassist.publishing.drafts import (
    Draft,
    DraftError,
    DraftExpired,
    DraftState,
    StaleApproval,
    utcnow,
)
from sdassist.publishing.policy import ApprovalPolicy, PolicyError
from sdassist.publishing.publisher import NOT_FOUND_YET, Publisher
from sdassist.publishing.store import DraftStore
from sdassist.sandbox import DEFAULT_KEY, SandboxConfig, create_app
from tests.publishing.conftest import ALICE, ASSISTANT, BOB, CAROL, force_state, make_draft

S = DraftState
BASE = "http://sandbox.test"
POST_KEY = "POST /api/v1/posts"


@dataclass
class Env:
    """A sandbox, a client and a publisher wired together."""

    sandbox: httpx.AsyncClient
    client: SocialDock
    store: DraftStore
    publisher: Publisher
    accounts: dict[str, str]
    make_client: Callable[..., SocialDock]

    async def stats(self) -> dict[str, Any]:
        return (await self.sandbox.get("/_sandbox/stats")).json()["data"]

    async def posts_sent(self) -> int:
        return (await self.stats())["requests"].get(POST_KEY, 0)

    async def faults(self, *rules: dict[str, Any]) -> None:
        r = await self.sandbox.post("/_sandbox/faults", json={"seed": 1, "rules": list(rules)})
        assert r.status_code == 200, r.text

    async def add(self, platforms: tuple[str, ...] = ("linkedin",), **kwargs: Any) -> Draft:
        targets = [{"platform": p, "account_id": self.accounts[p]} for p in platforms]
        kwargs.setdefault("requester", ALICE)
        draft = make_draft(targets=targets, **kwargs)
        return await self.store.add(draft, kwargs["requester"])


@pytest.fixture
async def env(store: DraftStore) -> AsyncIterator[Env]:
    app = create_app(SandboxConfig(webhook_backoff_seconds=0.02, tick_seconds=0.02))
    transport = httpx.ASGITransport(app=app)
    sandbox = httpx.AsyncClient(transport=transport, base_url=BASE,
                                headers={"Authorization": f"Bearer {DEFAULT_KEY}"})
    clients: list[SocialDock] = []

    def make_client(**kwargs: Any) -> SocialDock:
        kwargs.setdefault("transport", transport)
        kwargs.setdefault("base_url", BASE)
        client = SocialDock(DEFAULT_KEY, **kwargs)
        clients.append(client)
        return client

    client = make_client(max_retries=0, timeout=5.0)
    accounts = {a["platform"]: a["id"] for a in (await sandbox.get("/api/v1/accounts")).json()["data"]["accounts"]}
    publisher = Publisher(client, store, ApprovalPolicy())
    yield Env(sandbox, client, store, publisher, accounts, make_client)
    for c in clients:
        await c.aclose()
    await sandbox.aclose()
    await app.state.sandbox.aclose()


# --- the happy paths ------------------------------------------------------------------------------

async def test_approve_schedules_the_post(env: Env) -> None:
    slot = (utcnow() + timedelta(days=1)).replace(microsecond=0)
    draft = await env.add(("linkedin", "facebook"), scheduled_at=slot)
    done = await env.publisher.approve(draft.id, version=1, actor=BOB)
    assert done.state == S.SCHEDULED and done.post_id and done.post_id.startswith("post_")
    assert done.post_status == "scheduled" and done.error is None
    assert {r["platform"] for r in done.target_results} == {"linkedin", "facebook"}
    assert done.publish_started_at is not None
    post = await env.client.posts.get(done.post_id)
    assert post.scheduled_at == slot and post.text == draft.text
    assert await env.posts_sent() == 1
    log = await env.store.decisions(draft.id)
    assert [(d.from_state, d.to_state) for d in log] == [
        (None, S.PENDING), (S.PENDING, S.PUBLISHING), (S.PUBLISHING, S.SCHEDULED)]
    assert (log[1].actor_id, log[1].face, log[1].version) == (BOB.id, "slack", 1)


async def test_approve_publish_now_publishes(env: Env) -> None:
    draft = await env.add(publish_now=True)
    done = await env.publisher.approve(draft.id, version=1, actor=BOB)
    assert done.state == S.PUBLISHED and done.post_status == "published"
    assert done.target_results[0]["status"] == "published"


# --- exactly once ---------------------------------------------------------------------------------

async def test_fifty_concurrent_approvals_post_once(env: Env) -> None:
    draft = await env.add()
    results = await asyncio.gather(
        *[env.publisher.approve(draft.id, version=1, actor=BOB) for _ in range(50)], return_exceptions=True
    )
    winners = [r for r in results if isinstance(r, Draft)]
    losers = [r for r in results if not isinstance(r, Draft)]
    assert len(winners) == 1 and winners[0].state == S.SCHEDULED
    assert len(losers) == 49 and all(isinstance(e, StaleApproval) for e in losers)
    assert "current state" in str(losers[0])
    assert await env.posts_sent() == 1
    assert (await env.stats())["posts"][DEFAULT_KEY] == 1
    transitions = [(d.from_state, d.to_state) for d in await env.store.decisions(draft.id)]
    assert transitions.count((S.PENDING, S.PUBLISHING)) == 1


async def test_approval_of_an_old_version_is_refused(env: Env) -> None:
    draft = await env.add(text="first wording")
    await env.store.edit(draft.id, expected_version=1, changes={"text": "second wording"}, actor=ALICE)
    with pytest.raises(StaleApproval, match="current state pending version 2"):
        await env.publisher.approve(draft.id, version=1, actor=BOB)
    assert await env.posts_sent() == 0
    done = await env.publisher.approve(draft.id, version=2, actor=BOB)
    assert (await env.client.posts.get(done.post_id)).text == "second wording"


async def test_dropped_answer_goes_unknown_and_reconciles_without_a_second_post(env: Env) -> None:
    draft = await env.add(("linkedin", "threads"))
    await env.faults(
        {"path": "/api/v1/posts", "method": "POST", "drop_rate": 1.0, "drop_after_processing": True},
        # The immediate check cannot reach SocialDock either, so the draft stays unknown for now.
        {"path": "/api/v1/posts", "method": "GET", "error_rate": 1.0, "status": 503, "count": 1},
    )
    after = await env.publisher.approve(draft.id, version=1, actor=BOB)
    assert after.state == S.UNKNOWN
    assert "nothing will be resent" in after.error
    assert await env.posts_sent() == 1

    await env.sandbox.delete("/_sandbox/faults")
    settled = await env.publisher.reconcile(draft.id)
    assert settled.state == S.SCHEDULED and settled.post_id
    posts = (await env.client.posts.list()).posts
    assert [p.id for p in posts] == [settled.post_id]
    assert await env.posts_sent() == 1
    transitions = [(d.from_state, d.to_state) for d in await env.store.decisions(draft.id)]
    assert transitions[-2:] == [(S.PUBLISHING, S.UNKNOWN), (S.UNKNOWN, S.SCHEDULED)]
    # Reconciling again, or approving again, sends nothing.
    assert (await env.publisher.reconcile(draft.id)).state == S.SCHEDULED
    with pytest.raises(StaleApproval):
        await env.publisher.approve(draft.id, version=1, actor=BOB)
    assert await env.posts_sent() == 1


async def test_dropped_answer_reconciled_at_once(env: Env) -> None:
    draft = await env.add(publish_now=True)
    await env.faults({"path": "/api/v1/posts", "method": "POST", "drop_rate": 1.0,
                      "drop_after_processing": True})
    done = await env.publisher.approve(draft.id, version=1, actor=BOB)
    assert done.state == S.PUBLISHED and done.post_id
    assert await env.posts_sent() == 1
    assert S.UNKNOWN in [d.to_state for d in await env.store.decisions(draft.id)]


async def test_server_error_on_post_is_ambiguous_not_retried(env: Env) -> None:
    env.publisher.client = env.make_client(max_retries=3)  # even a retrying client must not replay POST
    draft = await env.add()
    await env.faults({"path": "/api/v1/posts", "method": "POST", "error_rate": 1.0, "status": 500,
                      "count": 1})
    done = await env.publisher.approve(draft.id, version=1, actor=BOB)
    # The sandbox refused before creating: reconcile finds nothing, and it is too early to call it lost.
    assert done.state == S.UNKNOWN
    assert await env.posts_sent() == 1


async def test_reconcile_of_a_post_that_never_arrived_fails_it(env: Env) -> None:
    draft = await env.add()
    started = utcnow() - timedelta(minutes=10)
    await force_state(env.store, draft.id, S.UNKNOWN, publish_started_at=started)
    settled = await env.publisher.reconcile(draft.id)
    assert settled.state == S.FAILED and settled.error.startswith(NOT_FOUND_YET) and settled.open_attempt
    assert await env.posts_sent() == 0
    # Within the grace period a missing post is not yet proof: it stays unknown.
    young = await env.add()
    await force_state(env.store, young.id, S.PUBLISHING, publish_started_at=utcnow())
    assert (await env.publisher.reconcile(young.id)).state == S.PUBLISHING


async def test_reconcile_does_not_steal_another_drafts_post(env: Env) -> None:
    first = await env.add(text="same words")
    published = await env.publisher.approve(first.id, version=1, actor=BOB)
    twin = await env.add(text="same words")
    await force_state(env.store, twin.id, S.UNKNOWN, publish_started_at=utcnow() - timedelta(minutes=5))
    settled = await env.publisher.reconcile(twin.id)
    assert settled.state == S.FAILED and settled.post_id is None
    assert published.post_id


async def test_reconcile_all_settles_in_flight_drafts(env: Env) -> None:
    lost = await env.add()
    await force_state(env.store, lost.id, S.PUBLISHING, publish_started_at=utcnow() - timedelta(hours=1))
    fine = await env.add()
    settled = await env.publisher.reconcile_all()
    assert [(d.id, d.state) for d in settled] == [(lost.id, S.FAILED)]
    assert (await env.store.get(fine.id)).state == S.PENDING


async def test_unreachable_socialdock_fails_and_approving_again_resubmits(env: Env, store: DraftStore) -> None:
    down = env.make_client(base_url="http://127.0.0.1:9", transport=None, max_retries=0, timeout=2.0)
    publisher = Publisher(down, store, ApprovalPolicy())
    draft = await env.add()
    failed = await publisher.approve(draft.id, version=1, actor=BOB)
    assert failed.state == S.FAILED
    assert "could not be reached; nothing was sent; approve again" in failed.error
    # Approving the failed draft again resubmits it as version 2 and publishes it once.
    done = await env.publisher.approve(draft.id, version=1, actor=BOB)
    assert done.state == S.SCHEDULED and done.version == 2
    assert await env.posts_sent() == 1
    notes = [d.note or "" for d in await store.decisions(draft.id)]
    assert any(n.startswith("resubmitted by bob") for n in notes)


async def test_socialdock_refusal_fails_with_its_message_and_edit_resubmits(env: Env) -> None:
    draft = await env.add(("reddit",))  # Reddit needs a title and a subreddit
    failed = await env.publisher.approve(draft.id, version=1, actor=BOB)
    assert failed.state == S.FAILED
    assert failed.error.startswith("SocialDock refused it: ") and "edit the draft" in failed.error
    assert "title" in failed.error.lower() or "subreddit" in failed.error.lower()
    targets = [{"platform": "reddit", "account_id": env.accounts["reddit"],
                "metadata": {"subreddit": "r/programming"}}]
    edited = await env.store.edit(draft.id, expected_version=1, actor=ALICE,
                                  changes={"title": "A title", "targets": targets})
    done = await env.publisher.approve(draft.id, version=edited.version, actor=BOB)
    assert done.state == S.SCHEDULED


async def test_update_draft_changes_a_scheduled_post_with_put(env: Env) -> None:
    original = await env.publisher.approve((await env.add(text="v1")).id, version=1, actor=BOB)
    later = (utcnow() + timedelta(days=2)).replace(microsecond=0)
    change = await env.add(text="v1, corrected", kind="update", post_id=original.post_id, scheduled_at=later)
    done = await env.publisher.approve(change.id, version=1, actor=BOB)
    assert done.state == S.SCHEDULED and done.post_id == original.post_id
    post = await env.client.posts.get(original.post_id)
    assert post.text == "v1, corrected" and post.scheduled_at == later
    stats = (await env.stats())["requests"]
    assert stats[POST_KEY] == 1 and stats.get("PUT /api/v1/posts/{post_id}") == 1


# --- policy, expiry, reject, cancel ---------------------------------------------------------------

async def test_policy_is_enforced_before_anything_is_sent(env: Env) -> None:
    draft = await env.add(requester=ALICE)
    with pytest.raises(PolicyError, match="assistant"):
        await env.publisher.approve(draft.id, version=1, actor=ASSISTANT)
    with pytest.raises(PolicyError, match="someone else"):
        await env.publisher.approve(draft.id, version=1, actor=ALICE)
    listed = Publisher(env.client, env.store, ApprovalPolicy(approvers=frozenset({BOB.id})))
    with pytest.raises(PolicyError, match="not an approver"):
        await listed.approve(draft.id, version=1, actor=CAROL)
    self_ok = Publisher(env.client, env.store, ApprovalPolicy(allow_self_approval=True))
    assert await env.posts_sent() == 0
    assert (await self_ok.approve(draft.id, version=1, actor=ALICE)).state == S.SCHEDULED


async def test_a_past_slot_cannot_be_approved(env: Env) -> None:
    slot = utcnow() + timedelta(hours=1)
    draft = await env.add(scheduled_at=slot)
    late = Publisher(env.client, env.store, ApprovalPolicy(), clock=lambda: slot + timedelta(minutes=1))
    with pytest.raises(DraftExpired, match="passed before it was approved"):
        await late.approve(draft.id, version=1, actor=BOB)
    assert (await env.store.get(draft.id)).state == S.EXPIRED
    assert await env.posts_sent() == 0


async def test_reject(env: Env) -> None:
    draft = await env.add()
    await env.store.edit(draft.id, expected_version=1, changes={"text": "v2"}, actor=ALICE)
    with pytest.raises(StaleApproval):
        await env.publisher.reject(draft.id, version=1, actor=BOB, reason="no")
    with pytest.raises(PolicyError):
        await env.publisher.reject(draft.id, version=2, actor=ASSISTANT, reason="no")
    rejected = await env.publisher.reject(draft.id, version=2, actor=BOB, reason="off brand")
    assert rejected.state == S.REJECTED
    assert (await env.store.decisions(draft.id))[-1].note == "rejected by bob: off brand"
    with pytest.raises(StaleApproval, match="current state rejected"):
        await env.publisher.approve(draft.id, version=2, actor=BOB)


async def test_cancel_pending_and_scheduled(env: Env) -> None:
    pending = await env.add()
    assert (await env.publisher.cancel(pending.id, actor=ALICE)).state == S.CANCELLED
    scheduled = await env.publisher.approve((await env.add()).id, version=1, actor=BOB)
    cancelled = await env.publisher.cancel(scheduled.id, actor=ALICE)
    assert cancelled.state == S.CANCELLED
    assert (await env.client.posts.list()).posts == []
    assert (await env.stats())["requests"].get("DELETE /api/v1/posts/{post_id}") == 1


# --- webhooks -------------------------------------------------------------------------------------

def _event(post_id: str, platform: str, account_id: str, *, ok: bool, evt: str | None) -> WebhookEvent:
    return WebhookEvent.model_validate({
        "id": evt,
        "event": "post_published" if ok else "post_failed",
        "created_at": datetime.now(UTC).isoformat(),
        "data": {"post_id": post_id, "platform": platform, "account_id": account_id,
                 "status": "published" if ok else "failed",
                 "platform_post_id": "pp_1" if ok else None, "error": None if ok else "Token revoked"},
    })


async def test_webhooks_settle_the_draft_and_duplicates_are_ignored(env: Env) -> None:
    draft = await env.publisher.approve((await env.add(("linkedin", "facebook"))).id, version=1, actor=BOB)
    first = _event(draft.post_id, "linkedin", env.accounts["linkedin"], ok=True, evt="evt_1")
    after_one = await env.publisher.apply_webhook(first)
    assert after_one is not None and after_one.state == S.SCHEDULED
    assert {r["platform"]: r["status"] for r in after_one.target_results}["linkedin"] == "published"
    assert await env.publisher.apply_webhook(first) is None  # replayed delivery
    second = _event(draft.post_id, "facebook", env.accounts["facebook"], ok=True, evt=None)
    done = await env.publisher.apply_webhook(second)
    assert done is not None and done.state == S.PUBLISHED and done.post_status == "published"
    assert await env.publisher.apply_webhook(second) is None  # dedup on (event, post, platform)
    assert await env.publisher.apply_webhook(_event("post_unknown", "linkedin", "a", ok=True, evt="e9")) is None


async def test_failed_webhook_names_the_platform_and_reason(env: Env) -> None:
    draft = await env.publisher.approve((await env.add(("linkedin", "facebook"))).id, version=1, actor=BOB)
    failed = await env.publisher.apply_webhook(
        _event(draft.post_id, "facebook", env.accounts["facebook"], ok=False, evt="evt_f"))
    assert failed is not None and failed.state == S.FAILED
    assert failed.error == "facebook failed: Token revoked"


async def test_concurrent_webhooks_for_one_post_lose_nothing(env: Env) -> None:
    platforms = ("linkedin", "facebook", "threads", "telegram")
    draft = await env.publisher.approve((await env.add(platforms)).id, version=1, actor=BOB)
    events = [_event(draft.post_id, p, env.accounts[p], ok=True, evt=f"evt_{p}") for p in platforms]
    await asyncio.gather(*[env.publisher.apply_webhook(e) for e in events])
    final = await env.store.get(draft.id)
    assert final.state == S.PUBLISHED
    assert all(r["status"] == "published" for r in final.target_results)


async def test_sandbox_webhook_delivery_settles_the_draft(env: Env) -> None:
    """End to end: the sandbox publishes at the slot and POSTs its own webhook body to a receiver."""
    results: list[Draft | None] = []
    bodies: list[bytes] = []
    arrived = asyncio.Event()

    async def hook(request: Request) -> PlainTextResponse:
        body = await request.body()
        bodies.append(body)
        results.append(await env.publisher.apply_webhook(WebhookEvent.model_validate_json(body)))
        arrived.set()
        return PlainTextResponse("ok")

    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(Starlette(routes=[Route("/hook", hook, methods=["POST"])]),
                                           log_level="warning", lifespan="off"))
    server.config.install_signal_handlers = False  # type: ignore[attr-defined]
    task = asyncio.create_task(server.serve(sockets=[sock]))
    try:
        while not server.started:
            await asyncio.sleep(0.01)
        await env.client.webhooks.create(url=f"http://127.0.0.1:{port}/hook", events=["post_published"])
        slot = utcnow() + timedelta(hours=1)
        draft = await env.publisher.approve((await env.add(scheduled_at=slot)).id, version=1, actor=BOB)
        await env.sandbox.post("/_sandbox/clock", json={"advance_seconds": 7200})
        await asyncio.wait_for(arrived.wait(), 5)
    finally:
        server.should_exit = True
        await asyncio.wait_for(task, 5)
    assert results[0] is not None and results[0].state == S.PUBLISHED
    assert results[0].target_results[0]["platform_post_id"]
    # The same delivery again (a replay) changes nothing.
    assert await env.publisher.apply_webhook(WebhookEvent.model_validate_json(bodies[0])) is None
    assert (await env.store.get(draft.id)).state == S.PUBLISHED


async def test_partial_failure_is_failed_and_retry_needs_an_edit(env: Env) -> None:
    r = await env.sandbox.post("/_sandbox/failures", json={"platform": "facebook", "reason": "Token revoked"})
    assert r.status_code == 200, r.text
    draft = await env.add(("linkedin", "facebook"), publish_now=True)
    failed = await env.publisher.approve(draft.id, version=1, actor=BOB)
    assert failed.state == S.FAILED and failed.post_id
    assert failed.error == "facebook failed: Token revoked"
    with pytest.raises(DraftError, match="would post there twice"):
        await env.publisher.approve(draft.id, version=1, actor=BOB)
    with pytest.raises(DraftError, match="already live on linkedin"):  # an edit that keeps the live target
        await env.store.edit(draft.id, expected_version=1, changes={"text": "same again"}, actor=ALICE)
    assert await env.posts_sent() == 1
    retry = [{"platform": "facebook", "account_id": env.accounts["facebook"]}]
    edited = await env.store.edit(draft.id, expected_version=1, changes={"targets": retry}, actor=ALICE)
    done = await env.publisher.approve(draft.id, version=edited.version, actor=BOB)
    assert done.state == S.PUBLISHED and done.post_id != failed.post_id
    assert await env.posts_sent() == 2
