"""The week at a glance: what goes out day by day in the viewer's zone, what waits for whom, what failed.

One read of the store for everything App Home and `/socialdock calendar` show, built for speed at 100,000
drafts: the days come from one indexed range on the time a draft goes out, the lists from the state and
requester indexes with a limit, and who approved from one query over the decision log. The days, the caps
they use, who approved and the short lists are kept between renders, read again only after a change
(`SlotWindow`): a render where nothing changed asks the database only whether anything did.
SocialDock is not asked here; broken account connections come from `list_accounts`, which the face keeps cached.
"""

from __future__ import annotations

import asyncio
import re
import weakref
from bisect import bisect_left
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from functools import cached_property
from typing import Any

from sdassist.publishing.caps import CAPS, Cap
from sdassist.publishing.drafts import COUNTED_STATES, Decision, Draft, DraftState, Principal, Slot, utcnow
from sdassist.publishing.policy import ApprovalPolicy, PolicyError
from sdassist.publishing.store import ChangeCursor, DraftStore
from sdassist.publishing.when import TimeError, resolve_time, zone_for_name
from sdassist.tools.accounts import AccountView
from sdassist.tools.base import ToolContext
from sdassist.tools.errors import ToolError

S = DraftState
SHOWN_STATES = (*COUNTED_STATES, S.PENDING)
LIST_LIMIT = 10  # drafts per list (waiting, mine, failed); the total is shown beside them
DAY_ENTRIES = 30  # posts listed per day: a 3,000-character section holds about this many lines
CALENDAR_EXAMPLE = "/socialdock calendar next week"


@dataclass(frozen=True)
class CapPeak:
    """The fullest a capped account's window gets on one day (the day's posts counted with their neighbours)."""

    cap: Cap
    account_id: str
    used: int


@dataclass
class Day:
    day: date
    entries: list[Slot] = field(default_factory=list)
    caps: list[CapPeak] = field(default_factory=list)
    more: int = 0
    """Posts that day beyond `entries` (a day shows at most DAY_ENTRIES: a section holds no more)."""


@dataclass
class Listed:
    """A short list and how many there are in all."""

    drafts: list[Draft]
    total: int

    @property
    def more(self) -> int:
        return max(self.total - len(self.drafts), 0)


@dataclass
class Plan:
    """Everything one person's calendar shows."""

    viewer: Principal
    zone: str
    start: date
    days: list[Day]
    waiting: Listed
    mine: Listed
    failed: Listed
    approved_by: dict[str, Decision]
    may_decide: set[str]
    """Ids of waiting or failed drafts the viewer may approve (the card's rules)."""
    now: datetime

    @cached_property
    def tz(self) -> tzinfo:
        """`zone` read once per plan, not once per post shown."""
        return zone_for_name(self.zone)

    def local(self, at: datetime) -> datetime:
        return at.astimezone(self.tz)


def week_start(day: date) -> date:
    """The Monday of `day`'s week."""
    return day - timedelta(days=day.weekday())


def read_week(phrase: str | None, zone: str, now: datetime | None = None) -> date:
    """The Monday a calendar phrase means: empty or "this week", "next week", "last week", a date
    (2026-12-14) or a day people say ("friday", "dec 14"): the week holding it."""
    now = now or utcnow()
    today = now.astimezone(zone_for_name(zone)).date()
    words = " ".join((phrase or "").lower().split())
    if words in ("", "this week", "week", "now", "today"):
        return week_start(today)
    if words == "next week":
        return week_start(today) + timedelta(days=7)
    if words == "last week":
        return week_start(today) - timedelta(days=7)
    if re.fullmatch(r"\d{4}-\d{2}-\d{2}", words):
        try:
            return week_start(date.fromisoformat(words))
        except ValueError:
            raise ToolError(f"{phrase!r} is not a date", hint=f"Try: {CALENDAR_EXAMPLE}, or a date like "
                                                              f"{today + timedelta(days=7):%Y-%m-%d}") from None
    try:
        try:
            moment = resolve_time(words, zone=zone, now=now, default_zone=zone)
        except TimeError as exc:
            if "no time of day" not in exc.message:
                raise
            moment = resolve_time(f"{words} noon", zone=zone, now=now, default_zone=zone)  # a day: any hour
    except TimeError as exc:
        raise ToolError(f"cannot read {phrase!r} as a week or a date ({exc.message})",
                        hint=f"Try: {CALENDAR_EXAMPLE}, or a date like {today + timedelta(days=7):%Y-%m-%d}") from None
    return week_start(moment.local.date())


def may_approve(policy: ApprovalPolicy, viewer: Principal, draft: Draft) -> bool:
    """Whether the card's Approve would work for this viewer (so the button is offered at all)."""
    try:
        policy.check_can_approve(viewer, draft)
    except PolicyError:
        return False
    return True


def _cap_times(slots: list[Slot]) -> dict[tuple[str, str], list[datetime]]:
    """Sorted going-out times of the counted posts of each capped (platform, account)."""
    times: dict[tuple[str, str], list[datetime]] = {}
    for slot in slots:
        for key in slot.targets:
            if key[0] in CAPS and slot.counts_on(*key):
                times.setdefault(key, []).append(slot.goes_out_at)  # type: ignore[arg-type]
    for values in times.values():
        values.sort()
    return times


def _cap_peaks(times: dict[tuple[str, str], list[datetime]], day_slots: list[Slot], start: datetime,
               end: datetime) -> list[CapPeak]:
    """For each capped account posting that day, the fullest window of its cap that overlaps the day."""
    keys = {key for slot in day_slots for key in slot.targets} & set(times)
    return [CapPeak(CAPS[platform], account, CAPS[platform].peak(times[(platform, account)], start, end))
            for platform, account in sorted(keys)]


class SlotWindow:
    """The slots of one stretch of time, read once and then kept current from the store's change cursor, so a
    calendar costs what changed since the last one, not what the fortnight holds (thousands of posts in a
    busy workspace). Every instance keeps its own; the cursor is the database's, so changes made by other
    instances are seen too."""

    REBUILD_AFTER = 2000  # changes at once: past this, reading the window again is cheaper

    def __init__(self, lo: datetime, hi: datetime) -> None:
        self.lo, self.hi = lo, hi
        self.slots: dict[str, Slot] = {}
        self.cursor: ChangeCursor | None = None
        self.lock = asyncio.Lock()
        # Derived from `slots` and dropped whenever they change: most renders see no change, and sorting,
        # counting and placing thousands of slots every time was most of a render's own work.
        self._ordered: list[Slot] | None = None
        self._cap_times: dict[tuple[str, str], list[datetime]] | None = None
        self._days: dict[tuple[tzinfo, date, int], list[Day]] = {}
        self._approvals: dict[str, Decision | None] = {}
        self._version = 0  # counts changes, so that an answer read across one is not kept
        self._lists: dict[tuple[str, ...], Listed] = {}
        self._writes = 0  # counts the reads of the change cursor that found a write anywhere in the store

    async def current(self, store: DraftStore) -> None:
        """Bring the window up to date: the changes since the last call, or a whole read the first time."""
        async with self.lock:
            if self.cursor is not None:
                changed, cursor = await store.changed_since(self.cursor, limit=self.REBUILD_AFTER)
                if changed:
                    self._written()
                if len(changed) < self.REBUILD_AFTER:
                    for draft in changed:
                        self._apply(Slot.of(draft))
                    self.cursor = cursor
                else:
                    self.cursor = None
            if self.cursor is None:
                cursor = await store.change_cursor()  # first: a write during the read is seen next time
                self.slots = {s.id: s for s in await store.slots(self.lo, self.hi, states=SHOWN_STATES)}
                self._changed()
                self._written()
                self.cursor = cursor
            if self._ordered is None:
                self._ordered = sorted(self.slots.values(), key=lambda s: (s.goes_out_at, s.id))

    def cap_times(self) -> dict[tuple[str, str], list[datetime]]:
        """`_cap_times` of the window's slots, counted again only after a change (callers only read it)."""
        if self._cap_times is None:
            self._cap_times = _cap_times(list(self.slots.values()))
        return self._cap_times

    def days(self, tz: tzinfo, start: date, count: int) -> list[Day]:
        """`count` days from local date `start` in `tz`, as of the last `current()`: each day's posts in going-out
        order and the caps they use; laid out again only after a change (callers only read the days)."""
        key = (tz, start, count)
        found = self._days.get(key)
        if found is None:
            first = datetime.combine(start, time(0), tz)
            last = datetime.combine(start + timedelta(days=count), time(0), tz)
            ordered = self._ordered if self._ordered is not None else []
            by_day: dict[date, list[Slot]] = {}
            # In going-out order: only the slice inside the calendar's days is placed.
            lo, hi = (bisect_left(ordered, edge, key=lambda s: s.goes_out_at) for edge in (first, last))
            for slot in ordered[lo:hi]:
                by_day.setdefault(slot.goes_out_at.astimezone(tz).date(), []).append(slot)  # type: ignore[union-attr]
            times = self.cap_times()
            found = []
            for d in (start + timedelta(days=i) for i in range(count)):
                opens, slots = datetime.combine(d, time(0), tz), by_day.get(d, [])
                found.append(Day(d, slots[:DAY_ENTRIES], _cap_peaks(times, slots, opens, opens + timedelta(days=1)),
                                 more=max(len(slots) - DAY_ENTRIES, 0)))
            if len(self._days) >= KEPT_LAYOUTS:
                self._days.clear()
            self._days[key] = found
        return list(found)

    async def approvals(self, store: DraftStore, ids: list[str]) -> dict[str, Decision]:
        """`store.approvals` of these drafts, asked only for those not asked since the window last changed (an
        approval is written with the draft's move out of pending, which is a change the window sees)."""
        version = self._version
        known = {i: self._approvals[i] for i in ids if i in self._approvals}
        missing = [i for i in ids if i not in known]
        if missing:
            found = await store.approvals(missing)
            asked = {i: found.get(i) for i in missing}
            if version == self._version:  # else the answer may predate that change: asked again next time
                self._approvals.update(asked)
            known.update(asked)
        return {i: d for i, d in known.items() if d is not None}

    async def listed(self, key: tuple[str, ...], read: Callable[[], Awaitable[Listed]]) -> Listed:
        """The short list `read` gives, kept until a draft is written anywhere: the change cursor sees every
        write in the store, not only those in the window's stretch of time (a list read across one is not kept)."""
        found = self._lists.get(key)
        if found is None:
            writes = self._writes
            found = await read()
            if writes == self._writes:
                if len(self._lists) >= KEPT_LISTS:
                    self._lists.clear()
                self._lists[key] = found
        return found

    def _written(self) -> None:
        self._lists = {}
        self._writes += 1

    def _changed(self) -> None:
        self._ordered = self._cap_times = None
        self._days, self._approvals = {}, {}
        self._version += 1

    def _apply(self, slot: Slot) -> None:
        at = slot.goes_out_at
        if slot.state in SHOWN_STATES and at is not None and self.lo <= at < self.hi:
            if self.slots.get(slot.id) != slot:
                self.slots[slot.id] = slot
                self._changed()
        elif self.slots.pop(slot.id, None) is not None:
            self._changed()


_WINDOWS: weakref.WeakKeyDictionary[DraftStore, dict[date, SlotWindow]] = weakref.WeakKeyDictionary()
KEPT_WINDOWS = 4  # weeks kept current per store (this one and next, and a couple looked up)
KEPT_LAYOUTS = 32  # days placed per window: one per zone and calendar length in use, until a change
KEPT_LISTS = 256  # short lists kept per window until a write: the waiting and failed ones, and one per viewer


def weeks_in_progress(now: datetime, ahead: timedelta = timedelta(0)) -> list[date]:
    """The Mondays of the weeks in progress somewhere on Earth (local time runs from UTC-12 to UTC+14) at `now` or
    up to `ahead` later: the weeks anyone opening their calendar then sees first, whatever their zone."""
    return sorted({week_start(at.date()) for at in (now - timedelta(hours=12), now + ahead + timedelta(hours=14))})


def _window(store: DraftStore, start: date, days: int) -> SlotWindow:
    """The kept window holding a calendar of `days` days from local date `start` in any zone (two days of
    margin either side cover every UTC offset and the caps' day either side)."""
    windows = _WINDOWS.setdefault(store, {})
    key = start
    found = windows.get(key)
    lo = datetime.combine(start, time(0), UTC) - timedelta(days=2)
    hi = datetime.combine(start + timedelta(days=days), time(0), UTC) + timedelta(days=2)
    if found is None or found.hi < hi:
        found = windows[key] = SlotWindow(lo, hi)
        for old in sorted(windows)[:-KEPT_WINDOWS]:
            windows.pop(old, None)
    return found


async def _listed(store: DraftStore, **which: Any) -> Listed:
    return Listed(await store.list(limit=LIST_LIMIT, **which), await store.count(**which))


async def plan(ctx: ToolContext, *, start: date, days: int = 14, zone: str | None = None) -> Plan:
    """The viewer's (ctx.principal's) calendar for `days` days from `start` (a local date), in `zone`."""
    zone = zone or ctx.zone
    tz = zone_for_name(zone)
    store, viewer = ctx.store, ctx.principal
    async with store.reading():  # one connection for all of it: one wait for the pool, not eight
        # The days, and a margin either side so that the caps count their rolling windows whole.
        window = _window(store, start, days)
        await window.current(store)
        laid_out = window.days(tz, start, days)  # no await between: from exactly the slots just made current
        waiting = await window.listed(("waiting",), lambda: _listed(store, states=[S.PENDING]))
        mine = await window.listed(("mine", viewer.id), lambda: _listed(store, requester_id=viewer.id))
        failed = await window.listed(("failed",), lambda: _listed(store, states=[S.FAILED]))
        shown = [s for day in laid_out for s in day.entries if s.state != S.PENDING]
        approved_by = await window.approvals(store, [s.id for s in shown])

    may_decide = {d.id for d in [*waiting.drafts, *failed.drafts] if may_approve(ctx.policy, viewer, d)}
    return Plan(viewer=viewer, zone=zone, start=start, days=laid_out,
                waiting=waiting, mine=mine, failed=failed, approved_by=approved_by, may_decide=may_decide,
                now=utcnow())


async def warm(ctx: ToolContext, *, days: int = 14, ahead: timedelta = timedelta(0)) -> list[Plan]:
    """Plan ctx's calendar for every week in progress somewhere now or within `ahead` (`weeks_in_progress`), so
    the window a person's first calendar reads has been read already (~100 ms at 100,000 drafts) and each query
    a render makes has been prepared once; called again, it keeps those windows current. The first week is planned
    twice: the second time asks only what changed, as every later render does, so that query is prepared too."""
    starts = weeks_in_progress(utcnow(), ahead)
    return [await plan(ctx, start=start, days=days) for start in [*starts, starts[0]]]


@dataclass(frozen=True)
class BrokenConnection:
    """A connected account SocialDock can no longer post to: its token expired or was revoked."""

    account_id: str
    platform: str
    handle: str | None
    status: str | None


def broken_connections(accounts: Iterable[AccountView]) -> list[BrokenConnection]:
    """The accounts `list_accounts` reports with a status other than active (expired, revoked, …)."""
    return [BrokenConnection(a.id, a.platform, a.handle, a.status) for a in accounts
            if a.status not in (None, "active")]
