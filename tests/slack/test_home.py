"""App Home and `/socialdock calendar`: rendered from real drafts, within Block Kit's limits, refreshed on change.

`SDASSIST_UPDATE_SNAPSHOTS=1 pytest tests/slack/test_home.py` rewrites the blocks snapshot; review its diff.
"""

from __future__ import annotations

import json
import os
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from sdassist.publishing.drafts import Decision, Draft, DraftState, Principal, Slot, new_draft
from sdassist.slack import blocks as ui
from sdassist.slack.home import RECONNECT, calendar_message, home_view
from sdassist.tools import get_tool
from sdassist.tools.calendar import BrokenConnection, Day, Listed, Plan, read_week
from tests.publishing.conftest import force_state
from tests.slack import blockkit
from tests.slack.conftest import APPROVER, REQUESTER, Harness

SNAPSHOT = Path(__file__).resolve().parents[1] / "snapshots" / "app_home_blocks.json"
ASKER = Principal(id=REQUESTER, kind="human", face="slack", name="asker")
BOSS = Principal(id=APPROVER, kind="human", face="slack", name="boss")


def event_body(user: str, tab: str = "home") -> str:
    return json.dumps({"token": "legacy", "team_id": "T0FAKE", "api_app_id": "A0APP", "type": "event_callback",
                       "event_id": f"Ev{time.monotonic_ns()}", "event_time": int(time.time()),
                       "event": {"type": "app_home_opened", "user": user, "channel": f"D{user}", "tab": tab,
                                 "event_ts": f"{time.time():.6f}"}})


async def open_home(h: Harness, user: str) -> dict[str, Any]:
    before = len(h.fake.of("views.publish", lambda p: p["user_id"] == user))
    response = await h.signed(event_body(user))
    assert response.status == 200
    found = await h.fake.wait_for("views.publish", before + 1, where=lambda p: p["user_id"] == user)
    return found[-1]["view"]


def texts(view: dict[str, Any]) -> str:
    return json.dumps(view["blocks"], ensure_ascii=False)


def buttons(view: dict[str, Any]) -> list[tuple[str, str, str]]:
    out = []
    for block in view["blocks"]:
        elements = block.get("elements", []) if block["type"] == "actions" else \
            [block["accessory"]] if "accessory" in block else []
        out += [(e["text"]["text"], e["action_id"], e.get("value", "")) for e in elements]
    return out


async def draft(h: Harness, who: Principal, text: str, when: str, targets: list[str] | None = None) -> Any:
    ctx = h.rt.context(who, zone="Europe/Berlin")
    return await get_tool("draft_post").run(ctx, {"text": text, "targets": targets or ["instagram"], "when": when})


async def approve(h: Harness, draft_id: str, version: int = 1) -> Any:
    return await get_tool("approve_draft").run(h.rt.context(BOSS), {"draft_id": draft_id, "version": version})


# --- from real drafts, over the Events API ----------------------------------------------------------------

async def test_home_shows_the_fortnight_from_real_drafts_with_buttons_only_for_approvers(h: Harness) -> None:
    going = await draft(h, ASKER, "Launch day!\nSecond line never shows", "tomorrow 9am", ["instagram", "linkedin"])
    await approve(h, going.draft_id)
    waiting = await draft(h, ASKER, "Needs a yes", "in 3 days at 10am")
    failed = await draft(h, ASKER, "Will fail", "in 4 days at 11am")
    await force_state(h.rt.store, failed.draft_id, DraftState.FAILED, error="SocialDock refused it: bad token")

    view = await open_home(h, APPROVER)
    assert view["type"] == "home"
    assert blockkit.problems(view["blocks"]) == []
    flat = texts(view)
    assert "Launch day!" in flat and "Second line never shows" not in flat
    assert f"approved by <@{APPROVER}>" in flat
    assert "Instagram, LinkedIn" in flat
    assert "Europe/Berlin" in flat  # the viewer's Slack zone (the fake's default)
    assert "bad token" in flat and "Needs a yes" in flat
    labels = {(text, action, value) for text, action, value in buttons(view)}
    assert ("Approve", ui.APPROVE, f"{waiting.draft_id}:1") in labels
    assert ("Reject", ui.REJECT, f"{waiting.draft_id}:1") in labels
    assert ("Try again", ui.APPROVE, f"{failed.draft_id}:1") in labels
    assert "Caps used: Instagram" in flat and "/50 per 24 h" in flat

    mine = await open_home(h, REQUESTER)  # the requester may not approve their own drafts (self-approval off)
    assert blockkit.problems(mine["blocks"]) == []
    assert not [b for b in buttons(mine) if b[0] in ("Approve", "Reject", "Try again")]
    assert ("Edit", ui.EDIT, f"{failed.draft_id}:1") in buttons(mine)
    assert "My drafts" in texts(mine) and waiting.draft_id in texts(mine)


async def test_approve_on_home_uses_the_cards_handler_and_refreshes_the_tab(h: Harness) -> None:
    h.face.home.delay = 0.05  # changes are gathered for seconds in production; the test need not wait
    waiting = await draft(h, ASKER, "Approve me from home", "tomorrow 10am")
    await h.card_of(waiting.draft_id)
    await open_home(h, APPROVER)
    before = len(h.fake.of("views.publish"))
    payload = {"type": "block_actions", "team": {"id": "T0FAKE"}, "api_app_id": "A0APP",
               "user": {"id": APPROVER, "username": "boss", "name": "boss", "team_id": "T0FAKE"},
               "container": {"type": "view", "view_id": "V0HOME"}, "trigger_id": f"t-{time.monotonic_ns()}",
               "view": {"id": "V0HOME", "type": "home"},
               "actions": [{"action_id": ui.APPROVE, "block_id": f"home:{waiting.draft_id}:1", "type": "button",
                            "value": f"{waiting.draft_id}:1", "action_ts": str(time.time())}]}
    assert (await h.interact(payload)).status == 200
    done = await h.wait_state(waiting.draft_id, DraftState.SCHEDULED)
    assert done.state == DraftState.SCHEDULED
    refreshed = await h.fake.wait_for("views.publish", before + 1, where=lambda p: p["user_id"] == APPROVER)
    assert f"approved by <@{APPROVER}>" in texts(refreshed[-1]["view"])


async def test_the_messages_tab_publishes_nothing(h: Harness) -> None:
    assert (await h.signed(event_body(APPROVER, tab="messages"))).status == 200
    assert h.fake.of("views.publish") == []


async def test_a_broken_connection_shows_with_a_reconnect_link(h: Harness) -> None:
    accounts = (await h.sandbox.get("/api/v1/accounts", headers={"Authorization": "Bearer " + _key()})).json()
    account = next(a for a in accounts["data"]["accounts"] if a["platform"] == "linkedin")
    answer = await h.sandbox.post(f"/_sandbox/accounts/{account['id']}/status", json={"status": "expired"})
    assert answer.status_code == 200, answer.text
    await h.face.accounts.refresh()
    view = await open_home(h, REQUESTER)
    assert "connection expired" in texts(view)
    assert ("Reconnect", RECONNECT, "linkedin") in buttons(view)
    payload = {"type": "block_actions", "team": {"id": "T0FAKE"}, "api_app_id": "A0APP",
               "user": {"id": REQUESTER, "username": "asker", "name": "asker", "team_id": "T0FAKE"},
               "container": {"type": "view", "view_id": "V0HOME"}, "trigger_id": f"t-{time.monotonic_ns()}",
               "actions": [{"action_id": RECONNECT, "block_id": "b", "type": "button", "value": "linkedin",
                            "action_ts": str(time.time())}]}
    assert (await h.interact(payload)).status == 200
    modal = (await h.fake.wait_for("views.open"))[-1]["view"]
    assert modal["blocks"][0]["accessory"]["url"].startswith("http")
    assert blockkit.problems(modal["blocks"]) == []


def _key() -> str:
    from sdassist.sandbox import DEFAULT_KEY

    return DEFAULT_KEY


async def test_calendar_command_answers_privately_with_the_week(h: Harness) -> None:
    going = await draft(h, ASKER, "Next week's post", "next monday 9am")
    await approve(h, going.draft_id)
    before = len(h.fake.of("response_url"))
    assert (await h.command("calendar next week")).status == 200
    answer = (await h.fake.wait_for("response_url", before + 1))[-1]
    assert answer["response_type"] == "ephemeral"
    assert "Next week's post" in json.dumps(answer["blocks"])
    assert blockkit.problems(answer["blocks"], surface="message") == []
    bad = len(h.fake.of("response_url"))
    await h.command("calendar the day after never")
    refusal = (await h.fake.wait_for("response_url", bad + 1))[-1]["text"]
    assert "cannot read" in refusal and "calendar next week" in refusal


def test_read_week_understands_this_next_and_a_date() -> None:
    now = datetime(2026, 12, 10, 12, tzinfo=UTC)  # a Thursday
    assert read_week("", "UTC", now) == date(2026, 12, 7)
    assert read_week("next week", "UTC", now) == date(2026, 12, 14)
    assert read_week("2026-12-24", "UTC", now) == date(2026, 12, 21)
    assert read_week("last week", "Pacific/Auckland", now) == date(2026, 11, 30)


def test_read_week_takes_a_day_people_say_without_a_time_of_day() -> None:
    now = datetime(2026, 12, 10, 12, tzinfo=UTC)  # a Thursday
    assert read_week("friday", "UTC", now) == date(2026, 12, 7)
    assert read_week("dec 24", "UTC", now) == date(2026, 12, 21)
    assert read_week("jan 5", "UTC", now) == date(2027, 1, 4)
    assert read_week("dec 24 9am", "UTC", now) == date(2026, 12, 21)


# --- rendering, pure: limits under load, and a snapshot ---------------------------------------------------

NOW = datetime(2026, 12, 7, 8, 0, tzinfo=UTC)


def fixed_draft(n: int, state: DraftState, at: datetime, text: str, requester: Principal = ASKER,
                platforms: tuple[str, ...] = ("instagram",)) -> Draft:
    made = new_draft(text=text, targets=[{"platform": p, "account_id": f"acc_{p}"} for p in platforms],
                     requester=requester, publish_now=False, scheduled_at=at, timezone="Europe/Berlin", now=NOW)
    return made.model_copy(update={"id": f"drf_{n:026d}", "state": state,
                                   "error": "SocialDock refused it: token expired" if state == "failed" else None})


def fixed_plan(entries_per_day: int = 2, waiting: int = 3, failed: int = 1, text: str = "Post") -> Plan:
    start = date(2026, 12, 7)
    days, n = [], 0
    for i in range(14):
        entries = []
        for j in range(entries_per_day):
            n += 1
            at = datetime(2026, 12, 7 + i, 8 + j % 12, 0, tzinfo=UTC)
            entries.append(fixed_draft(n, DraftState.SCHEDULED, at, f"{text} {n}", platforms=("instagram", "linkedin")))
        days.append(Day(start + timedelta(days=i), [Slot.of(d) for d in entries]))
    pend = [fixed_draft(1000 + i, DraftState.PENDING, NOW + timedelta(days=1, hours=i), f"{text} waiting {i}")
            for i in range(waiting)]
    fail = [fixed_draft(2000 + i, DraftState.FAILED, NOW + timedelta(days=2), f"{text} failed {i}")
            for i in range(failed)]
    decision = Decision(at=NOW, actor_id=APPROVER, actor_kind="human", face="slack", from_state=DraftState.PENDING,
                        to_state=DraftState.PUBLISHING, version=1, actor_name="boss")
    approved = {d.id: decision for day in days for d in day.entries}
    return Plan(viewer=BOSS, zone="Europe/Berlin", start=start, days=days, waiting=Listed(pend, waiting + 40),
                mine=Listed(pend[:2], 2), failed=Listed(fail, failed), approved_by=approved,
                may_decide={d.id for d in [*pend, *fail]}, now=NOW)


def test_a_crowded_fortnight_stays_within_block_kits_limits_and_says_how_many_more() -> None:
    plan = fixed_plan(entries_per_day=30, waiting=10, failed=10, text="Long " * 80)
    plan.days[0].more = 500
    broken = [BrokenConnection(f"acc_{i}", "linkedin", f"@team{i}", "expired") for i in range(8)]
    view = home_view(plan, broken=broken)
    assert blockkit.problems(view["blocks"]) == []
    flat = texts(view)
    assert "more_" in flat and "…and 40 more" in flat and "…and 3 more" in flat
    _, message = calendar_message(plan, broken=broken)
    assert blockkit.problems(message, surface="message") == []


def test_home_blocks_snapshot() -> None:
    plan = fixed_plan()
    view = home_view(plan, broken=[BrokenConnection("acc_li", "linkedin", "@team", "expired")],
                     handles={"acc_instagram": "@brand"})
    assert blockkit.problems(view["blocks"]) == []
    if os.environ.get("SDASSIST_UPDATE_SNAPSHOTS") == "1" or not SNAPSHOT.exists():
        SNAPSHOT.write_text(json.dumps(view, indent=1, ensure_ascii=False) + "\n")
    assert json.loads(SNAPSHOT.read_text()) == view, \
        "App Home changed; if intended, rerun with SDASSIST_UPDATE_SNAPSHOTS=1 and review the diff"


@pytest.mark.parametrize("zone", ["Europe/Berlin", "America/Los_Angeles"])
def test_days_are_the_viewers_days(zone: str) -> None:
    plan = fixed_plan(entries_per_day=1)
    plan.zone = zone
    flat = texts(home_view(plan))
    hour = datetime(2026, 12, 7, 8, tzinfo=UTC).astimezone(__import__("zoneinfo").ZoneInfo(zone)).hour
    assert f"*{hour:02d}:00*" in flat


async def test_a_change_settled_by_another_instance_still_refreshes_open_tabs(h: Harness) -> None:
    h.face.home.delay = 0.05
    waiting = await draft(h, ASKER, "Decided elsewhere", "tomorrow 11am")
    await h.card_of(waiting.draft_id)
    await open_home(h, APPROVER)
    before = len(h.fake.of("views.publish"))
    # Another instance rejects it and wins the claim to settle the card: this one only sees the change.
    await h.rt.store.mark_event_seen(f"slack:{waiting.draft_id}:v1:rejected")
    await h.rt.store.transition(waiting.draft_id, to=DraftState.REJECTED, actor=BOSS,
                                expected_state=DraftState.PENDING)
    refreshed = await h.fake.wait_for("views.publish", before + 1, where=lambda p: p["user_id"] == APPROVER)
    assert "Decided elsewhere" not in texts(refreshed[-1]["view"])
