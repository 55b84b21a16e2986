"""A team's service: two `sdassist slack` processes and one `sdassist mcp --http` on one database.

Every instance is a real OS process; the SocialDock sandbox is one too; the fake Slack Web API runs in the
test process. Any instance may take any request: drafts, decisions, cards and webhook events are claimed in
the shared database (PostgreSQL when SDASSIST_TEST_DATABASE_URL is set, else a SQLite file).
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

import pytest
from mcp import Client

from tests.mcp.conftest import data
from tests.multi.conftest import Cluster
from tests.slack.conftest import APPROVER, CHANNEL, OTHER_APPROVER

pytestmark = [pytest.mark.multi, pytest.mark.asyncio]


def cards(cluster: Cluster) -> list[dict[str, Any]]:
    """Top-level messages in the approval channel: the cards."""
    return cluster.fake.of("chat.postMessage", where=lambda p: p.get("channel") == CHANNEL and not p.get("thread_ts"))


def thread_says(cluster: Cluster, words: str) -> list[dict[str, Any]]:
    return cluster.fake.of("chat.postMessage", where=lambda p: bool(p.get("thread_ts")) and words in
                           (p.get("text") or ""))


async def approved_by_a_race(cluster: Cluster, a: Any, b: Any, draft_id: str, clicks: int = 10) -> None:
    """`clicks` signed Approve clicks from two approvers, alternating between the instances, all at once."""
    users = [APPROVER, OTHER_APPROVER]
    answers = await asyncio.gather(*[
        cluster.click((a, b)[i % 2], "sd_approve", draft_id, 1, user=users[(i // 2) % 2]) for i in range(clicks)])
    assert all(r.status == 200 for r in answers)


async def test_assistant_draft_one_card_and_raced_approvals_give_one_post(cluster: Cluster) -> None:
    a, b, mcp = cluster.start_slack("slack-a"), cluster.start_slack("slack-b"), cluster.start_mcp()
    await cluster.ready(a, b, mcp)
    async with Client(f"{mcp.url}/mcp") as assistant:
        view = data(await assistant.call_tool("draft_post", {
            "text": "Two instances, one post", "targets": ["instagram"], "when": "tomorrow 9am"}))
        assert view["state"] == "pending"
        draft_id = view["draft_id"]

        draft = await cluster.card_of(draft_id)
        await asyncio.sleep(1.5)  # both pollers (every second) have looked at it since
        assert len(cards(cluster)) == 1, cards(cluster)
        assert draft.face_refs["slack_channel"] == CHANNEL

        await approved_by_a_race(cluster, a, b, draft_id)
        settled = await cluster.wait_state(draft_id, "scheduled")
        arrived, processed, posts = await cluster.posts_created()
        assert (arrived, processed, posts) == (1, 1, 1)
        approvals = [d for d in await cluster.store.decisions(draft_id) if d.to_state == "publishing"]
        assert len(approvals) == 1 and approvals[0].actor_id in (APPROVER, OTHER_APPROVER)
        # the losing clicks were each told privately that nothing happened
        await cluster.fake.wait_for("chat.postEphemeral", 9, timeout=10)

        outcome = data(await assistant.call_tool("get_draft", {"draft_id": draft_id}))
        assert outcome["state"] == "scheduled" and outcome["post_id"] == settled.post_id
    await cluster.fake.wait_for("chat.postMessage", where=lambda p: "Scheduled for" in (p.get("text") or ""))
    await asyncio.sleep(1.2)
    assert len(thread_says(cluster, "Scheduled for")) == 1
    assert len(cards(cluster)) == 1


async def test_a_webhook_delivered_to_both_instances_updates_the_draft_and_thread_once(cluster: Cluster) -> None:
    a, b = cluster.start_slack("slack-a"), cluster.start_slack("slack-b")
    await cluster.ready(a, b)
    assert (await cluster.command(b, 'schedule "Webhook twice" tomorrow 9am on instagram')).status == 200
    draft = await cluster.card_of((await cluster.latest_draft()).id)
    assert (await cluster.click(a, "sd_approve", draft.id, 1)).status == 200
    draft = await cluster.wait_state(draft.id, "scheduled")

    event = {"id": "evt_multi_1", "event": "post_published", "created_at": "2026-03-26T10:00:00Z",
             "data": {"post_id": draft.post_id, "platform": "instagram", "account_id": None,
                      "status": "published", "platform_post_id": "17850001", "error": None}}
    answers = await asyncio.gather(*[cluster.webhook(instance, event) for instance in (a, b, a, b)])
    assert all(r.status == 200 for r in answers)

    published = await cluster.wait_state(draft.id, "published")
    assert [r["status"] for r in published.target_results] == ["published"]
    await cluster.fake.wait_for("chat.postMessage", where=lambda p: "Published on Instagram" in (p.get("text") or ""))
    await asyncio.sleep(1.2)  # both pollers have seen the new state
    said = thread_says(cluster, "Published on Instagram")
    assert len(said) == 1 and said[0]["thread_ts"] == draft.face_refs["slack_ts"]
    notes = [d for d in await cluster.store.decisions(draft.id) if "SocialDock: instagram" in (d.note or "")]
    assert len(notes) == 1


async def test_an_instance_killed_while_publishing_leaves_a_draft_the_other_reconciles(cluster: Cluster) -> None:
    a, b = cluster.start_slack("slack-a"), cluster.start_slack("slack-b", quick_reconcile=True)
    await cluster.ready(a, b)
    assert (await cluster.command(a, 'schedule "Killed mid-flight" tomorrow 9am on linkedin')).status == 200
    draft = await cluster.card_of((await cluster.latest_draft()).id)
    await cluster.faults({"path": "/api/v1/posts", "method": "POST", "latency_rate": 1.0, "latency_ms": 4000,
                          "count": 1})

    assert (await cluster.click(a, "sd_approve", draft.id, 1)).status == 200
    deadline = time.monotonic() + 10
    while (await cluster.posts_created())[0] < 1:  # A's POST reached SocialDock, which is slow to answer
        assert time.monotonic() < deadline, cluster.logs()
        await asyncio.sleep(0.05)
    assert (await cluster.store.get(draft.id)).state == "publishing"
    a.kill()
    assert not a.alive()

    settled = await cluster.wait_state(draft.id, "scheduled", timeout=15)
    assert settled.post_id and "reconciled" in (await cluster.store.decisions(draft.id))[-1].note
    arrived, processed, posts = await cluster.posts_created()
    assert (arrived, processed, posts) == (1, 1, 1)  # found, never sent again
    await cluster.fake.wait_for("chat.postMessage", where=lambda p: "Scheduled for" in (p.get("text") or ""))

    # A comes back: its start-up reconcile finds nothing left to do, and nothing is sent again
    again = cluster.start_slack("slack-a-again")
    await cluster.ready(again)
    await asyncio.sleep(1.2)
    assert (await cluster.posts_created()) == (1, 1, 1)
    assert (await cluster.store.get(draft.id)).state == "scheduled"
    assert len(thread_says(cluster, "Scheduled for")) == 1
