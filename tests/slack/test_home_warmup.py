"""App Home's warm-up: the Slack app reads the fortnight before anyone opens the tab, and the first render uses it.

The window's reads are counted (and, to catch a render in the middle of one, held) where the store reads them:
`DraftStore.slots`, the one query that reads a fortnight whole (the drafts here go to Facebook, which has no posting
cap, so drafting them reads no slots).
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from sdassist.publishing.drafts import Principal
from sdassist.runtime import open_runtime
from sdassist.slack.app import HOME_WARM_EVERY, SlackFace, ZoneCache, web_client
from sdassist.tools import get_tool
from sdassist.tools.calendar import weeks_in_progress
from tests.conftest import TEST_DATABASE_URL, make_settings
from tests.slack.conftest import APPROVER, CHANNEL, REQUESTER
from tests.slack.fake_slack import FakeSlack
from tests.waiting import eventually

ASKER = Principal(id=REQUESTER, kind="human", face="slack", name="asker")


@dataclass
class WindowReads:
    """Counts the store's whole-window reads; `hold()` makes the next one wait, once it has read, for `release`."""

    real: Callable[..., Awaitable[Any]]
    count: int = 0
    held: asyncio.Event | None = None
    reached: asyncio.Event = field(default_factory=asyncio.Event)
    release: asyncio.Event = field(default_factory=asyncio.Event)

    def hold(self) -> None:
        self.held = self.release

    async def __call__(self, *args: Any, **kwargs: Any) -> Any:
        self.count += 1
        found = await self.real(*args, **kwargs)
        if self.held is not None:
            held, self.held = self.held, None
            self.reached.set()
            await held.wait()
        return found


@pytest.fixture
async def face(tmp_path: Path, fake: FakeSlack) -> AsyncIterator[SlackFace]:
    """A Slack face on the embedded sandbox, not started: each test starts it after setting up its store."""
    settings = make_settings(tmp_path, SLACK_BOT_TOKEN="xoxb-test-token", SDASSIST_SLACK_API_URL=fake.api_url,
                             SDASSIST_APPROVAL_CHANNEL=CHANNEL, SDASSIST_APPROVERS=APPROVER)
    async with open_runtime(settings, announce=False, reconcile=False) as rt:
        face = SlackFace(settings, rt, web_client(settings))
        try:
            yield face
        finally:
            await face.stop()


@pytest.fixture
def reads(face: SlackFace, monkeypatch: pytest.MonkeyPatch) -> WindowReads:
    spy = WindowReads(face.rt.store.slots)
    monkeypatch.setattr(face.rt.store, "slots", spy)
    return spy


async def draft(face: SlackFace, text: str, when: str) -> str:
    ctx = face.rt.context(ASKER, zone="Europe/Berlin")
    return (await get_tool("draft_post").run(ctx, {"text": text, "targets": ["facebook"], "when": when})).draft_id


def day_by_day(view: dict[str, Any]) -> str:
    """The tab's days, read from the window (a waiting draft is also listed apart, from its own query)."""
    headers = [i for i, b in enumerate(view["blocks"]) if b["type"] == "header"]
    days = next(i for i in headers if "Day by day" in view["blocks"][i]["text"]["text"])
    end = min([i for i in headers if i > days], default=len(view["blocks"]))
    return json.dumps(view["blocks"][days:end], ensure_ascii=False)


def weeks_warmed() -> int:
    """How many windows the warm-up reads now: every week in progress somewhere, one or two around a Monday."""
    return len(weeks_in_progress(datetime.now(UTC), timedelta(seconds=2 * HOME_WARM_EVERY)))


async def test_the_first_render_uses_the_fortnight_read_at_start(face: SlackFace, reads: WindowReads) -> None:
    await draft(face, "Written before the start", "tomorrow 9am")
    await face.start(poll_interval=0.1)
    await face.warmed()
    warmed = reads.count
    assert warmed == weeks_warmed()

    view = await face.render_home(APPROVER)
    assert "Written before the start" in day_by_day(view)
    assert reads.count == warmed  # the first render read no window of its own


async def test_a_render_during_the_warm_up_waits_for_it_instead_of_reading_again(face: SlackFace,
                                                                                 reads: WindowReads) -> None:
    await draft(face, "Already planned", "in 2 days at 10am")
    reads.hold()
    await face.start(poll_interval=0.1)
    await asyncio.wait_for(reads.reached.wait(), 60)  # the warm-up has read the first window and is not finished

    render = asyncio.create_task(face.render_home(APPROVER))
    for _ in range(20):
        await asyncio.sleep(0)
    assert not render.done()  # it waits: the window is not read twice side by side
    reads.release.set()
    view = await render
    assert face.home_warmup is not None and face.home_warmup.done()
    assert "Already planned" in day_by_day(view)
    assert reads.count == weeks_warmed()


async def test_a_draft_written_during_the_warm_up_shows_on_the_first_render(face: SlackFace,
                                                                           reads: WindowReads) -> None:
    reads.hold()
    await face.start(poll_interval=0.1)
    await asyncio.wait_for(reads.reached.wait(), 60)  # the warm-up read the window (its change cursor first)

    written = asyncio.create_task(draft(face, "Written while warming up", "tomorrow 11am"))
    if TEST_DATABASE_URL:  # PostgreSQL: it commits now, after the window was read, before the warm-up ends
        await written
    # SQLite: it waits for the one connection, which the warm-up holds until it ends, and commits then
    reads.release.set()
    await written
    view = await face.render_home(APPROVER)
    assert "Written while warming up" in day_by_day(view)
    assert reads.count == weeks_warmed()  # seen through the change cursor, not by reading the window again


async def test_a_zone_past_its_hour_is_answered_at_once_and_asked_again_behind(face: SlackFace,
                                                                               fake: FakeSlack) -> None:
    zones = ZoneCache(face.client, "UTC", ttl=0.0)  # every zone known is past its time
    assert (await zones.get(REQUESTER))[0] == "Europe/Berlin"
    fake.users[REQUESTER] = {"tz": "America/New_York"}  # they travelled
    assert (await zones.get(REQUESTER))[0] == "Europe/Berlin"  # no wait for Slack: the zone known
    await eventually(lambda: zones.get(REQUESTER), lambda found: found[0] == "America/New_York", timeout=30,
                     failure=lambda found: f"still {found[0]} after the travel")


async def test_the_workspace_s_zones_are_learned_at_start_so_first_requests_ask_slack_nothing(
        face: SlackFace, fake: FakeSlack) -> None:
    fake.users.update({f"U{n:04d}": {"tz": "America/New_York"} for n in range(450)})  # three pages of users.list
    fake.users["U0BAD"] = {"tz": "Mars/Olympus_Mons"}
    await face.start(poll_interval=0.1)
    await fake.wait_for("users.list")  # started with the app, in the background

    zones = ZoneCache(face.client, "UTC")
    assert await zones.learn_all() == 451
    asked = len(fake.of("users.info"))
    assert (await zones.get("U0007"))[0] == "America/New_York"
    assert (await zones.get("U0BAD"))[0] == "UTC"  # a zone we cannot read: the default, as users.info does
    assert len(fake.of("users.info")) == asked
    assert zones.common(2) == ["America/New_York", "UTC"]  # App Home's days are laid out ahead in these
