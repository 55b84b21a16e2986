"""App Home and `/socialdock calendar`: the week at a glance, rendered from `tools.calendar.Plan`.

The tab is published with `views.publish` when a person opens it and again, for everyone who opened it
lately, a moment after any draft changes (several changes in a row cost one refresh). Its Approve, Reject,
Try again and Edit buttons carry the card's action ids and values, so the card's handlers and the same
policy decide. Block Kit's limits (100 blocks in a view, 50 in a message, 3,000 characters a section, 150
a header) are kept by cutting lists short with "and N more", never by failing.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Sequence
from datetime import timedelta
from typing import Any

from slack_sdk.web.async_client import AsyncWebClient

from sdassist.publishing.drafts import Draft, DraftState, Slot
from sdassist.slack.blocks import (
    APPROVE,
    EDIT,
    REJECT,
    button_value,
    context,
    escape,
    live_note,
    platform_name,
    section,
    who,
)
from sdassist.tools.calendar import BrokenConnection, CapPeak, Day, Listed, Plan
from sdassist.tools.views import preview

log = logging.getLogger("sdassist.slack")
S = DraftState
RECONNECT = "sd_reconnect"
VIEW_BLOCKS, MESSAGE_BLOCKS = 100, 50  # Block Kit: blocks in a view, in a message
SECTION_CHARS = 2900  # of the 3,000 a section holds, leaving room for "and N more"
LINE_CHARS = 110  # first line of a post, as shown in a list
REFRESH_DELAY = 5.0  # seconds: changes within this are one round of refreshes (a round costs ~20 ms a viewer)
VIEWER_TTL = 4 * 3600.0  # refresh the tabs of people who opened theirs within this many seconds
MAX_VIEWERS = 50  # tabs refreshed per round, most recent viewers first; others refresh when opened


# --- pieces ------------------------------------------------------------------------------------------------

def header(text: str) -> dict[str, Any]:
    return {"type": "header", "text": {"type": "plain_text", "text": text[:150], "emoji": True}}


def divider() -> dict[str, Any]:
    return {"type": "divider"}


def _button(text: str, action_id: str, value: str, style: str | None = None) -> dict[str, Any]:
    button: dict[str, Any] = {"type": "button", "action_id": action_id, "value": value[:2000],
                              "text": {"type": "plain_text", "text": text[:75]}}
    if style:
        button["style"] = style
    return button


def lines_section(lines: Sequence[str], more: int = 0, *, empty: str = "_Nothing._") -> dict[str, Any]:
    """Lines in one section, as many as fit in its 3,000 characters; the rest, and `more`, as "and N more"."""
    shown: list[str] = []
    used = 0
    for line in lines:
        if used + len(line) + 1 > SECTION_CHARS:
            break
        shown.append(line)
        used += len(line) + 1
    left = len(lines) - len(shown) + more
    if left:
        shown.append(f"_…and {left} more_")
    return section("\n".join(shown) if shown else empty)


def first_line(draft: Draft | Slot) -> str:
    return escape(preview((draft.text or "").strip().splitlines()[0] if (draft.text or "").strip() else "",
                          LINE_CHARS))


def platforms_of(draft: Draft | Slot) -> str:
    return ", ".join(platform_name(p) for p in dict.fromkeys(draft.platforms))


def clock(plan: Plan, draft: Draft | Slot) -> str:
    at = draft.goes_out_at
    return f"{plan.local(at):%H:%M}" if at is not None else "once approved"


def when(plan: Plan, draft: Draft) -> str:
    at = draft.goes_out_at if draft.goes_out_at is not None else draft.scheduled_at
    return f"{plan.local(at):%a %-d %b %H:%M}" if at is not None else "once approved"


# --- the parts ----------------------------------------------------------------------------------------------

STATE_MARK = {S.SCHEDULED: ":calendar:", S.PUBLISHED: ":white_check_mark:", S.PUBLISHING: ":hourglass_flowing_sand:",
              S.UNKNOWN: ":grey_question:", S.FAILED: ":warning:", S.PENDING: ":inbox_tray:"}


def entry_line(plan: Plan, draft: Draft | Slot) -> str:
    """`09:00 · Instagram, LinkedIn · Launch day! · approved by @boss`."""
    parts = [f"{STATE_MARK.get(draft.state, '')} *{clock(plan, draft)}*", platforms_of(draft), first_line(draft)]
    if draft.state == S.PENDING:
        parts.append("_waiting for approval_")
    elif (decision := plan.approved_by.get(draft.id)) is not None:
        parts.append("approved by " + who(decision.actor_id, decision.face, decision.actor_name))
    if draft.state in (S.FAILED, S.UNKNOWN):
        parts.append(f"_{draft.state}_")
    return " · ".join(p for p in parts if p)


def cap_text(peak: CapPeak, handles: dict[str, str]) -> str:
    span = "UTC day" if peak.cap.window == "utc_day" else f"{int(peak.cap.span.total_seconds() // 3600)} h"
    name = handles.get(peak.account_id) or peak.account_id
    full = " :no_entry:" if peak.used >= peak.cap.limit else ""
    return f"{platform_name(peak.cap.platform)} {escape(name)} {peak.used}/{peak.cap.limit} per {span}{full}"


def day_blocks(plan: Plan, day: Day, handles: dict[str, str]) -> list[dict[str, Any]]:
    today = plan.local(plan.now).date()
    label = f"*{day.day:%a %-d %b}*" + (" · today" if day.day == today else "")
    if not day.entries:
        return [section(f"{label}  _nothing planned_")]
    blocks = [lines_section([label, *(entry_line(plan, d) for d in day.entries)], day.more)]
    if day.caps:
        blocks.append(context("Caps used: " + " · ".join(cap_text(p, handles) for p in day.caps[:8])))
    return blocks


def decision_blocks(plan: Plan, draft: Draft, *, failed: bool = False) -> list[dict[str, Any]]:
    """One waiting (or failed) draft: what, when, who asked; the card's buttons if this viewer may use them."""
    asked = who(draft.requester_id, draft.requester_face, draft.requester_name)
    text = f"*{when(plan, draft)}* · {platforms_of(draft)} · {first_line(draft)}\n_requested by {asked}_ · `{draft.id}`"
    if failed:
        text += f"\n:warning: {escape(preview(draft.error or 'SocialDock refused it', 400))}"
    blocks = [section(text)]
    value = button_value(draft.id, draft.version)
    may = draft.id in plan.may_decide
    elements: list[dict[str, Any]] = []
    if failed:
        if may and not live_note(draft):
            elements.append(_button("Try again", APPROVE, value, "primary"))
        if may or draft.requester_id == plan.viewer.id:
            elements.append(_button("Edit", EDIT, value))
    elif may:
        elements += [_button("Approve", APPROVE, value, "primary"), _button("Reject", REJECT, value, "danger")]
    if elements:
        blocks.append({"type": "actions", "block_id": f"home:{draft.id}:{draft.version}", "elements": elements})
    return blocks


def broken_blocks(broken: Sequence[BrokenConnection]) -> list[dict[str, Any]]:
    blocks: list[dict[str, Any]] = []
    for account in broken[:5]:
        name = f"{platform_name(account.platform)} {escape(account.handle or account.account_id)}"
        blocks.append({"type": "section",
                       "text": {"type": "mrkdwn", "text": f":broken_heart: *{name}*: connection {account.status}; "
                                                          "posts to it will fail until it is reconnected."},
                       "accessory": _button("Reconnect", RECONNECT, account.platform)})
    if len(broken) > 5:
        blocks.append(context(f"…and {len(broken) - 5} more: `/socialdock accounts`"))
    return blocks


def _draft_list(plan: Plan, listed: Listed, *, failed: bool, room: int) -> list[dict[str, Any]]:
    """Drafts with their buttons while there is room (two blocks each), the rest as lines."""
    blocks: list[dict[str, Any]] = []
    rest: list[Draft] = []
    for draft in listed.drafts:
        piece = decision_blocks(plan, draft, failed=failed)
        if len(blocks) + len(piece) + 1 <= room and not rest:
            blocks += piece
        else:
            rest.append(draft)
    if rest or listed.more:
        blocks.append(context(f"…and {len(rest) + listed.more} more: `/socialdock drafts`"))
    return blocks


def mine_lines(plan: Plan) -> list[str]:
    return [f"`{d.id}` *{d.state}* · {when(plan, d)} · {platforms_of(d)} · {first_line(d)}" for d in plan.mine.drafts]


# --- the whole ------------------------------------------------------------------------------------------

def plan_blocks(plan: Plan, *, broken: Sequence[BrokenConnection] = (), handles: dict[str, str] | None = None,
                limit: int = VIEW_BLOCKS, title: str = "Your fortnight") -> list[dict[str, Any]]:
    """The calendar as blocks, never more than `limit` of them."""
    handles = handles or {}
    end = plan.start + timedelta(days=len(plan.days) - 1)
    going = sum(1 for day in plan.days for d in day.entries if d.state != S.PENDING)
    top = [header(f"{title}: {plan.start:%a %-d %b} – {end:%a %-d %b}"),
           context(f"In your time zone, {escape(plan.zone)} · {going} going out · {plan.waiting.total} waiting for "
                   f"approval · {plan.failed.total} failed · updated {plan.local(plan.now):%H:%M}")]
    days: list[dict[str, Any]] = [divider(), header(":spiral_calendar_pad: Day by day")]
    for day in plan.days:
        days += day_blocks(plan, day, handles)
    mine = [divider(), header(":memo: My drafts"), lines_section(mine_lines(plan), plan.mine.more,
                                                                  empty="_None yet: `/socialdock new`._")]
    fixed = len(top) + len(days) + len(mine)
    problems: list[dict[str, Any]] = []
    if broken:
        problems += [divider(), header(":electric_plug: Connections to fix"), *broken_blocks(broken)]
    room = max(limit - fixed - len(problems) - 4, 4)  # 4: the two lists' dividers and headers
    failed = _draft_list(plan, plan.failed, failed=True, room=room // 3 if plan.waiting.drafts else room)
    waiting = _draft_list(plan, plan.waiting, failed=False, room=room - len(failed))
    lists: list[dict[str, Any]] = []
    if plan.waiting.total:
        lists += [divider(), header(f":inbox_tray: Waiting for approval ({plan.waiting.total})"), *waiting]
    if plan.failed.total:
        lists += [divider(), header(f":warning: Failed ({plan.failed.total})"), *failed]
    blocks = [*top, *problems, *lists, *days, *mine]
    if len(blocks) > limit:  # a last guard: the lists above are sized to fit, this only trims days
        blocks = [*blocks[: limit - 1], context("…more in `/socialdock calendar`")]
    return blocks


def home_view(plan: Plan, *, broken: Sequence[BrokenConnection] = (),
              handles: dict[str, str] | None = None) -> dict[str, Any]:
    return {"type": "home", "blocks": plan_blocks(plan, broken=broken, handles=handles)}


def calendar_message(plan: Plan, *, broken: Sequence[BrokenConnection] = (),
                     handles: dict[str, str] | None = None) -> tuple[str, list[dict[str, Any]]]:
    """`/socialdock calendar`: (fallback text, blocks) for an ephemeral message (50 blocks at most)."""
    end = plan.start + timedelta(days=len(plan.days) - 1)
    text = f"Calendar {plan.start:%a %-d %b} – {end:%a %-d %b} ({plan.zone})"
    return text, plan_blocks(plan, broken=broken, handles=handles, limit=MESSAGE_BLOCKS, title="Calendar")


def reconnect_view(platform: str, url: str, expires: str) -> dict[str, Any]:
    """The modal a Reconnect click opens: a fresh, short-lived connect link."""
    return {"type": "modal", "title": {"type": "plain_text", "text": "Reconnect"},
            "close": {"type": "plain_text", "text": "Close"},
            "blocks": [{"type": "section",
                        "text": {"type": "mrkdwn", "text": f"Authorise {platform_name(platform)} again for "
                                                           f"SocialDock. The link works until {escape(expires)}."},
                        "accessory": {"type": "button", "action_id": "sd_reconnect_open", "url": url,
                                      "text": {"type": "plain_text", "text": "Open the connect page"}}}]}


# --- keeping tabs fresh -------------------------------------------------------------------------------

class HomeKeeper:
    """Publishes App Home tabs: on open, and for recent viewers a moment after drafts change."""

    def __init__(self, client: AsyncWebClient, render: Callable[[str], Awaitable[dict[str, Any]]],
                 spawn: Callable[[Any], Any]) -> None:
        self.client, self.render, self.spawn = client, render, spawn
        self.viewers: dict[str, float] = {}
        self.delay = REFRESH_DELAY
        self._pending: asyncio.Task[Any] | None = None
        self._dirty = False

    async def publish(self, user_id: str) -> None:
        view = await self.render(user_id)
        await self.client.views_publish(user_id=user_id, view=view)

    async def opened(self, user_id: str) -> None:
        self.viewers[user_id] = time.monotonic()
        await self.publish(user_id)

    def changed(self, *_: Any) -> None:
        """A draft changed: refresh recent viewers' tabs once, shortly (a burst of changes is one refresh)."""
        self._dirty = True
        if self.viewers and (self._pending is None or self._pending.done()):
            self._pending = self.spawn(self._refresh_soon())

    async def _refresh_soon(self) -> None:
        while self._dirty:  # a change during a round of refreshes earns one more round
            await asyncio.sleep(self.delay)
            self._dirty = False
            await self._refresh_all()

    async def _refresh_all(self) -> None:
        cutoff = time.monotonic() - VIEWER_TTL
        for user_id, seen in list(self.viewers.items()):
            if seen < cutoff:
                self.viewers.pop(user_id, None)
        recent = sorted(self.viewers, key=self.viewers.__getitem__, reverse=True)[:MAX_VIEWERS]
        for user_id in recent:
            try:
                await self.publish(user_id)
            except Exception as exc:  # one tab failing must not keep the others stale
                log.info("could not refresh App Home of %s: %s", user_id, type(exc).__name__)
