"""Shutdown: `SlackFace.stop` ends the work listeners left running after their ack, before clients close."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging

import pytest

from sdassist.slack.app import SlackFace, web_client
from tests.media_samples import jpeg
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



def file_work() -> list[asyncio.Task]:
    """The tasks downloading Slack files (SlackFiles.fetch and its _download)."""
    return [t for t in asyncio.all_tasks() if getattr(t.get_coro(), "__qualname__", "").startswith("SlackFiles.")]


async def test_stop_cancels_file_downloads_still_in_flight(h: Harness, caplog: pytest.LogCaptureFixture) -> None:
    """The message shortcut starts downloading a message's files while the composer is open; a stop meanwhile
    ends those downloads too, rather than leaving them to write into a closed store."""
    h.fake.file_delay = 30
    shared = h.fake.share_file("launch.jpg", "image/jpeg", jpeg(5000))
    await h.shortcut({"type": "message", "user": "U0WRITER", "ts": "1764900600.000100", "text": "Hi",
                      "files": [shared]})
    await h.fake.wait_for("file_download")  # Slack's file host has the request; its bytes are 30 s away
    downloads = file_work()
    assert downloads, "no download task in flight"
    with caplog.at_level(logging.WARNING):
        await asyncio.wait_for(h.face.stop(), 10)
        gc.collect()
    assert all(t.cancelled() for t in downloads) and file_work() == []
    assert not h.face.tasks and not h.face.files._running
    assert "pending" not in caplog.text and "has been closed" not in caplog.text, caplog.text


async def test_stop_right_after_start_returns_every_time(h: Harness) -> None:
    """A face stopped at once, while its poller, warm-ups and account refresh are inside their first store and
    SocialDock calls, over and over (once, a stop hung: a cancellation lost inside asyncio.wait_for; and the
    store calls it cut short could leave a SQLite connection open: tests/test_sqlite_cancel.py)."""
    for i in range(3):
        assert (await h.command(f'schedule "Post {i}" tomorrow 9am on instagram')).status == 200
    for i in range(10):
        face = SlackFace(h.face.settings, h.rt, web_client(h.face.settings))
        await face.start(poll_interval=0.01)
        await asyncio.sleep((i % 5) * 0.005)  # stop at different points of the first rounds
        await asyncio.wait_for(face.stop(), 10)
        assert not face.tasks
    assert (await h.command('schedule "After" tomorrow 9am on instagram')).status == 200  # the store still works


async def test_stop_cancels_again_a_task_that_swallowed_its_cancellation(h: Harness) -> None:
    """As asyncio.wait_for can on Python 3.11 when its call finishes at the moment it is cancelled."""
    async def stubborn() -> None:
        with contextlib.suppress(asyncio.CancelledError):
            await asyncio.sleep(30)
        await asyncio.sleep(30)

    task = h.face.spawn(stubborn())
    await asyncio.sleep(0)
    await asyncio.wait_for(h.face.stop(), 10)
    assert task.cancelled() and not h.face.tasks


async def test_web_api_calls_and_downloads_share_clients_that_stop_closes(h: Harness) -> None:
    session, downloads = h.face.client.session, h.face.files._http
    assert session is not None and not session.closed  # opened by start: connections kept alive between calls
    assert downloads is not None and not downloads.is_closed  # its CA certificates loaded at start, once
    assert (await h.command('schedule "Kept alive" tomorrow 9am on instagram')).status == 200
    await h.fake.wait_for("chat.postMessage")
    assert h.face.client.session is session
    await asyncio.wait_for(h.face.stop(), 10)
    assert session.closed and h.face.client.session is None and downloads.is_closed
