"""Posting caps, counted: how many posts an account already has in the window a new one would fall into.

The platforms cap posts per account (`reference/platform-rules.md`; the numbers are `CAPS` in cap_limits.py,
the one place they are written). A post over the cap fails late, at publish time, after someone approved it;
counting first lets sdassist refuse it before approval and say how full the window is.

Counted: every post sdassist sent or is sending to that account (drafts scheduled, publishing, published or
in doubt, and the accounts a partly failed draft did reach), by the time it goes out. A rolling window
counts the busiest 24 hours that contain the new post's time, since the post also counts against the posts
after it. Posts made outside sdassist are not in its store and so not counted.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime

from sdassist.client import SocialDock
from sdassist.client.models import Target
from sdassist.publishing.cap_limits import CAPS, Cap
from sdassist.publishing.drafts import COUNTED_STATES, DraftError, DraftState, Slot
from sdassist.publishing.store import DraftStore

__all__ = ["CAPS", "Cap", "CapReached", "CapUse", "account_handles", "cap_uses", "check_caps", "count_uses",
           "window_label"]

S = DraftState





@dataclass(frozen=True)
class CapUse:
    """How full one account's window around `at` is, and whether one more post fits."""

    cap: Cap
    account_id: str
    at: datetime
    used: int
    waiting: int = 0
    """Drafts for the same window still waiting for approval (not counted in `used`)."""
    handle: str | None = None

    @property
    def full(self) -> bool:
        return self.used + 1 > self.cap.limit

    @property
    def crowded(self) -> bool:
        """It fits now, but not if the drafts waiting for approval are approved first."""
        return not self.full and self.used + self.waiting + 1 > self.cap.limit

    @property
    def who(self) -> str:
        return f"{self.cap.platform} {self.handle or self.account_id}"

    def message(self, zone: str = "UTC") -> str:
        """"instagram @brand: 50 posts already in the 24 h around Tue 9:00; the cap is 50"."""
        posts = f"{self.used} post{'' if self.used == 1 else 's'}"
        text = f"{self.who}: {posts} already {window_label(self.cap, self.at, zone)}; the cap is {self.cap.limit}"
        if self.waiting:
            text += f" ({self.waiting} more waiting for approval)"
        return text


def _clock(at: datetime, zone: str) -> str:
    from sdassist.publishing.when import zone_for_name

    local = at.astimezone(zone_for_name(zone))
    suffix = "" if zone == "UTC" else f" {zone}"
    return f"{local:%a} {local.hour}:{local:%M}{suffix}"


def window_label(cap: Cap, at: datetime, zone: str = "UTC") -> str:
    """"in the 24 h around Tue 9:00" or "on Tue 5 Dec (UTC day)"."""
    if cap.window == "utc_day":
        return f"on {at.astimezone(UTC):%a %-d %b} (the UTC day)"
    hours = int(cap.span.total_seconds() // 3600)
    return f"in the {hours} h around {_clock(at, zone)}"


def count_uses(targets: Iterable[Target], at: datetime, slots: Iterable[Slot], *,
               exclude: str | None = None, handles: dict[str, str] | None = None) -> list[CapUse]:
    """The cap use of each capped target for a post at `at`, from the drafts (as slots) around that time."""
    slots = [s for s in slots if s.id != exclude]
    uses: list[CapUse] = []
    for target in targets:
        cap = CAPS.get(target.platform)
        if cap is None:
            continue
        key = (target.platform, target.account_id)
        sent = [s.goes_out_at for s in slots if s.counts_on(*key)]
        lo, hi = cap.bounds(at)
        waiting = sum(1 for s in slots if s.state == S.PENDING and s.kind == "create" and s.goes_to(*key)
                      and s.goes_out_at is not None and lo <= s.goes_out_at < hi)
        uses.append(CapUse(cap=cap, account_id=target.account_id, at=at,
                           used=cap.busiest([t for t in sent if t is not None], at), waiting=waiting,
                           handle=(handles or {}).get(target.account_id)))
    return uses


async def cap_uses(store: DraftStore, targets: Sequence[Target], at: datetime, *, exclude: str | None = None,
                   handles: dict[str, str] | None = None) -> list[CapUse]:
    """Cap use of each capped target for a post going out at `at` (the store's slots, as the calendar reads)."""
    capped = [t for t in targets if t.platform in CAPS]
    if not capped:
        return []
    lo = min(CAPS[t.platform].bounds(at)[0] for t in capped)
    hi = max(CAPS[t.platform].bounds(at)[1] for t in capped)
    slots = await store.slots(lo, hi, states=[*COUNTED_STATES, S.PENDING])
    return count_uses(capped, at, slots, exclude=exclude, handles=handles)


HANDLES_WAIT = 1.0  # seconds to wait for account handles before naming accounts by id
MOVE_HINT = "Choose another time, or leave that account out."


class CapReached(DraftError):
    """One more post would break a platform's posting cap; the draft is kept as it was."""

    def __init__(self, messages: Sequence[str], draft_id: str | None = None) -> None:
        self.messages = list(messages)
        self.hint = (f"Edit draft {draft_id} to another time, or leave that account out." if draft_id
                     else MOVE_HINT)
        super().__init__("; ".join(self.messages))


async def account_handles(client: SocialDock) -> dict[str, str]:
    """Account id → @handle, for messages that name accounts the way people know them."""
    return {a.id: a.username for a in await client.accounts.list() if a.username}


async def check_caps(store: DraftStore, targets: Sequence[Target], at: datetime, *, exclude: str | None = None,
                     zone: str = "UTC",
                     handles: Callable[[], Awaitable[dict[str, str]]] | None = None) -> tuple[list[str], list[str]]:
    """(errors, warnings) for a post at `at`: an error where the cap is already reached, a warning where the
    drafts waiting for approval would fill it first. `handles` (account id → @handle) is asked for only when
    there is something to say."""
    uses = [u for u in await cap_uses(store, targets, at, exclude=exclude) if u.full or u.crowded]
    if uses and handles is not None:
        try:  # bounded: a form's dry run waits on this before Slack's 3 s ack
            async with asyncio.timeout(HANDLES_WAIT):
                known = await handles()
        except Exception:  # the handle only decorates the message; the account id says the same
            known = {}
        uses = [replace(u, handle=known.get(u.account_id)) for u in uses]
    errors = [u.message(zone) for u in uses if u.full]
    warnings = [u.message(zone) + ": not all of them can go out" for u in uses if u.crowded]
    return errors, warnings
