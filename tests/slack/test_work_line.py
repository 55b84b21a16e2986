"""Work after an ack waits in a bounded line: queued work keeps only the fields it needs; past the limit the
app says it is busy, does nothing, and the person can try again."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from sdassist.slack.grammar import Command
from sdassist.slack.work import WorkLine
from tests.slack.conftest import APPROVER, CHANNEL, REQUESTER, Harness

pytestmark = pytest.mark.asyncio


async def one_running_none_waiting(h: Harness) -> None:
    for _ in range(200):
        if h.face.work.backlog == 1 and h.face.work.waiting == 0:
            return
        await asyncio.sleep(0.02)
    raise AssertionError(f"expected one job at work; backlog {h.face.work.backlog}, waiting {h.face.work.waiting}")


async def ack_text(response: Any) -> str:
    assert response.status == 200
    return (await response.json())["text"]


async def test_commands_wait_in_line_say_so_and_past_the_limit_are_refused(h: Harness) -> None:
    h.face.work.workers, h.face.work.limit = 1, 1
    await h.faults({"path": "/api/v1/*", "latency_rate": 1.0, "latency_ms": 20_000})
    assert "On it" in await ack_text(await h.command('schedule "First" tomorrow 9am on instagram'))
    await one_running_none_waiting(h)  # the first is at work, waiting on the slow SocialDock
    queued = await ack_text(await h.command('schedule "Second" tomorrow 9am on instagram'))
    assert "Queued behind 1 request" in queued and "SocialDock is slow" in queued
    refused = await ack_text(await h.command('schedule "Third" tomorrow 9am on instagram'))
    assert "sdassist is busy: 1 requests are waiting for SocialDock" in refused
    assert "Nothing was done" in refused and "Try again in a few minutes" in refused
    assert h.face.work.refused == 1 and h.face.work.backlog == 2
    [(_job, args)] = h.face.work.waiting_jobs()
    assert isinstance(args[0], Command) and args[0].arguments["text"] == "Second"


async def test_a_job_in_line_keeps_the_fields_it_needs_not_the_request(h: Harness) -> None:
    h.face.work.workers = 1
    await h.faults({"path": "/api/v1/*", "latency_rate": 1.0, "latency_ms": 20_000})
    await h.command('schedule "First" tomorrow 9am on instagram')
    await one_running_none_waiting(h)
    await h.command('schedule "Waits" tomorrow 9am on instagram')
    [(job, args)] = h.face.work.waiting_jobs()
    assert job == h.face.run_parsed
    parsed, user, channel, response_url = args
    assert parsed.action == "draft" and parsed.arguments["text"] == "Waits"
    assert user == {"id": REQUESTER, "name": REQUESTER.lower()}
    assert channel and response_url == h.fake.response_url(REQUESTER)
    # nothing of Bolt (request, context, clients, ack) and nothing else of the command body is kept
    assert not any(type(a).__module__.startswith(("slack_bolt", "slack_sdk")) for a in args)
    assert "trigger_id" not in repr(args) and "team_id" not in repr(args)


async def test_an_approve_click_past_the_limit_is_told_busy_and_can_be_repeated(h: Harness) -> None:
    await h.command('schedule "Launch" tomorrow 9am on instagram')
    draft = await h.latest_draft()
    await h.card_of(draft.id)
    h.face.work.limit = 0  # full
    assert (await h.click("sd_approve", draft.id, 1)).status == 200
    said = await h.fake.wait_for("chat.postEphemeral", where=lambda p: "sdassist is busy" in p["text"])
    assert said[0]["user"] == APPROVER and "Nothing was done" in said[0]["text"]
    assert (await h.rt.store.get(draft.id)).state == "pending" and await h.posts_on_sandbox() == 0
    h.face.work.limit = 2000
    await h.click("sd_approve", draft.id, 1)
    await h.wait_state(draft.id, "scheduled")


async def test_modals_past_the_limit_stay_open_with_the_reason(h: Harness) -> None:
    await h.command('schedule "Launch" tomorrow 9am on instagram')
    draft = await h.latest_draft()
    await h.card_of(draft.id)
    h.face.work.limit = 0
    rejected = await h.submit("sd_reject_view", {"reason": {"type": "plain_text_input", "value": "Off brand"}},
                              user=APPROVER, metadata={"draft_id": draft.id, "version": 1, "channel": CHANNEL})
    body = await rejected.json()
    assert body["response_action"] == "errors" and "sdassist is busy" in body["errors"]["reason"]
    assert (await h.rt.store.get(draft.id)).state == "pending"
    account = draft.targets[0]
    composed = await h.submit("sd_composer", {
        "text": {"type": "plain_text_input", "value": "Hello from the composer"},
        "accounts": {"type": "multi_static_select",
                     "selected_options": [{"value": f"{account.platform}|{account.account_id}"}]},
        "when": {"type": "datetimepicker", "selected_date_time": None},
        "now": {"type": "checkboxes", "selected_options": [{"value": "now"}]},
        "media": {"type": "plain_text_input", "value": None},
    }, user=REQUESTER, metadata={"channel": CHANNEL})
    body = await composed.json()
    assert body["response_action"] == "errors" and "Try again in a few minutes" in body["errors"]["text"]
    assert [d.id for d in await h.rt.store.list(limit=10)] == [draft.id]  # nothing drafted


async def test_the_line_runs_first_come_first_served_at_most_n_at_once_and_survives_a_failing_job() -> None:
    tasks: set[asyncio.Task[Any]] = set()

    def spawn(coro: Any) -> asyncio.Task[Any]:
        task = asyncio.create_task(coro)
        tasks.add(task)
        task.add_done_callback(tasks.discard)
        return task

    line = WorkLine(spawn, workers=2, limit=10)
    gates = {name: asyncio.Event() for name in "abcd"}
    started: list[str] = []
    at_once = []

    async def job(name: str) -> None:
        started.append(name)
        at_once.append(line.backlog - line.waiting)
        await gates[name].wait()
        if name == "b":
            raise RuntimeError("a bug in one job")

    assert [line.put(job, n) for n in "abcd"] == [0, 0, 1, 2]
    await asyncio.sleep(0)
    assert started == ["a", "b"] and line.waiting == 2
    gates["b"].set()  # fails: logged, and its worker goes on with the next in line
    for _ in range(10):
        await asyncio.sleep(0)
    assert started == ["a", "b", "c"]
    for name in "acd":
        gates[name].set()
    await asyncio.wait(set(tasks))
    assert started == ["a", "b", "c", "d"] and max(at_once) == 2
    assert line.backlog == 0 and not tasks  # idle: no worker left running
    assert line.waiting_jobs() == []
