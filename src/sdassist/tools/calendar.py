"""The week at a glance: what goes out day by day in the viewer's zone, what waits for whom, what failed.

One read of the store for everything App Home and `/socialdock calendar` show, built for speed at 100,000
drafts: the days come from one indexed range on the time a draft goes out, the lists from the state and
requester indexes with a limit, and who approved from one query over the decision log. SocialDock is not
asked here; broken account connections come from `list_accounts`, which the face keeps cached.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta

from sdassist.publishing.caps import CAPS, COUNTED_STATES, Cap
from sdassist.publishing.drafts import Decision, Draft, DraftState, Principal, utcnow
from sdassist.publishing.policy import ApprovalPolicy, PolicyError
from sdassist.publishing.when import TimeError, resolve_time, zone_for_name
from sdassist.tools.accounts import AccountView
from sdassist.tools.base import ToolContext
from sdassist.tools.errors import ToolError

S = DraftState
SHOWN_STATES = (*COUNTED_STATES, S.PENDING)
LIST_LIMIT = 10  # drafts per list (waiting, mine, failed); the total is shown beside them
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
    entries: list[Draft] = field(default_factory=list)
    caps: list[CapPeak] = field(default_factory=list)


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

    def local(self, at: datetime) -> datetime:
        return at.astimezone(zone_for_name(self.zone))


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
        moment = resolve_time(words, zone=zone, now=now, default_zone=zone)
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


def _cap_peaks(drafts: list[Draft], day_drafts: list[Draft]) -> list[CapPeak]:
    peaks: dict[tuple[str, str], CapPeak] = {}
    for draft in day_drafts:
        if draft.state not in COUNTED_STATES or draft.kind != "create":
            continue
        for target in draft.targets:
            cap = CAPS.get(target.platform)
            if cap is None:
                continue
            times = [d.goes_out_at for d in drafts if d.state in COUNTED_STATES and d.kind == "create"
                     and d.goes_out_at is not None and any(t.account_id == target.account_id for t in d.targets)]
            used = cap.busiest(times, draft.goes_out_at)  # type: ignore[arg-type]
            key = (target.platform, target.account_id)
            if key not in peaks or peaks[key].used < used:
                peaks[key] = CapPeak(cap, target.account_id, used)
    return sorted(peaks.values(), key=lambda p: (p.cap.platform, p.account_id))


async def plan(ctx: ToolContext, *, start: date, days: int = 14, zone: str | None = None) -> Plan:
    """The viewer's (ctx.principal's) calendar for `days` days from `start` (a local date), in `zone`."""
    zone = zone or ctx.zone
    tz = zone_for_name(zone)
    first = datetime.combine(start, time(0), tz)
    last = datetime.combine(start + timedelta(days=days), time(0), tz)
    store, viewer = ctx.store, ctx.principal
    async with store.reading():  # one connection for all of it: one wait for the pool, not eight
        # The days, with a day either side so that the caps count their rolling windows whole.
        around = await store.going_out(first - timedelta(days=1), last + timedelta(days=1), states=SHOWN_STATES)
        waiting = Listed(await store.list(states=[S.PENDING], limit=LIST_LIMIT),
                         await store.count(states=[S.PENDING]))
        mine = Listed(await store.list(requester_id=viewer.id, limit=LIST_LIMIT),
                      await store.count(requester_id=viewer.id))
        failed = Listed(await store.list(states=[S.FAILED], limit=LIST_LIMIT), await store.count(states=[S.FAILED]))
        in_range = [d for d in around if (at := d.goes_out_at) is not None and first <= at < last]
        approved_by = await store.approvals([d.id for d in in_range if d.state != S.PENDING])
    by_day: dict[date, list[Draft]] = {}
    for draft in in_range:
        by_day.setdefault(draft.goes_out_at.astimezone(tz).date(), []).append(draft)  # type: ignore[union-attr]
    the_days = [Day(d, by_day.get(d, []), _cap_peaks(around, by_day.get(d, [])))
                for d in (start + timedelta(days=i) for i in range(days))]
    may_decide = {d.id for d in [*waiting.drafts, *failed.drafts, *(e for day in the_days for e in day.entries
                                                                     if e.state == S.PENDING)]
                  if may_approve(ctx.policy, viewer, d)}
    return Plan(viewer=viewer, zone=zone, start=start, days=the_days, waiting=waiting, mine=mine, failed=failed,
                approved_by=approved_by, may_decide=may_decide, now=utcnow())


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
