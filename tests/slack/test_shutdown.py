"""Shutdown: `SlackFace.stop` ends the work listeners left running after their ack, before clients close."""

from __future__ import annotations

import asyncio
import logging

import pytest

from tests.slack.conftest import Harness

pytestmark = pytest.mark.asyncio


async def test_stop_cancels_listeners_still_waiting_on_socialdock(h: Harness, caplog: pytest.LogCaptureFixture) -> None:
    background = set(h.face.tasks)  # the poller, App Home's upkeep…
    await h.faults({"path": "/api/v1/*", "latency_rate": 1.0, "latency_ms": 20_000})
    assert (await h.command('schedule "Slow day" tomorrow 9am on instagram')).status == 200
    for _ in range(100):  # the ack came back; the listener's task goes on, waiting on the slow SocialDock
        listeners = h.face.tasks - background
        if listeners:
            break
        await asyncio.sleep(0.05)
    assert listeners, "the listener's task after its ack is not among the face's tasks"
    with caplog.at_level(logging.WARNING, logger="sdassist"):
        await asyncio.wait_for(h.face.stop(), 10)  # well before SocialDock's 20 s answer
    assert all(task.cancelled() for task in listeners)
    assert not h.face.tasks and h.face.backlog == 0
    assert "unexpected error" not in caplog.text

