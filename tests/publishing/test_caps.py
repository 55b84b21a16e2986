"""Posting caps are counted: the window's posts, the busiest rolling 24 hours, and the one post too many."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from sdassist.client.models import Target
from sdassist.publishing import cap_limits
from sdassist.publishing.cap_limits import Cap
from sdassist.publishing.caps import CAPS, cap_uses, check_caps
from sdassist.publishing.drafts import DraftState
from sdassist.publishing.platforms import RULES, PlatformRule, describe_rules
from sdassist.publishing.store import DraftStore
from tests.publishing.conftest import ALICE, force_state, make_draft

IG = {"platform": "instagram", "account_id": "acc_ig"}
LI = {"platform": "linkedin", "account_id": "acc_li"}
TUE_9 = datetime(2026, 12, 8, 9, 0, tzinfo=UTC)


def hours(n: float) -> timedelta:
    return timedelta(hours=n)


def test_the_caps_people_read_are_made_from_the_numbers_that_are_counted(monkeypatch: pytest.MonkeyPatch) -> None:
    """The numbers are written once, in CAPS: a changed cap changes the rules a person reads with it (they
    said "150 posts per day" beside a counted 150 per UTC day, and would have kept a stale number)."""
    for platform, cap in CAPS.items():
        assert RULES[platform].posting_cap == cap.describe()
        assert f"posting cap: {cap.describe()}" in describe_rules(platform)
    assert CAPS["instagram"].describe() == "50 API posts per rolling 24 h"
    assert CAPS["linkedin"].describe() == "150 posts per UTC day"
    monkeypatch.setitem(cap_limits.CAPS, "instagram", Cap("instagram", 40, "rolling", counts="API posts"))
    assert PlatformRule("instagram", text_limit=2_200).posting_cap == "40 API posts per rolling 24 h"
    with pytest.raises(ValueError, match="comes from CAPS"):
        PlatformRule("instagram", text_limit=2_200, posting_cap="50 posts a day")


@pytest.mark.parametrize(("doc", "pattern"), [
    ("slack.md", r"Instagram allows (?P<instagram>\d+) API posts per account in any 24 hours, Threads "
                 r"(?P<threads>\d+), LinkedIn (?P<linkedin>\d+) per UTC day"),
    ("tools.md", r"Instagram (?P<instagram>\d+) and Threads (?P<threads>\d+) per account in any 24 h, "
                 r"LinkedIn (?P<linkedin>\d+) per UTC day"),
])
def test_the_docs_state_the_caps_that_are_counted(doc: str, pattern: str) -> None:
    text = " ".join((Path(__file__).resolve().parents[2] / "docs" / doc).read_text(encoding="utf-8").split())
    found = re.search(pattern, text)
    assert found, f"docs/{doc} no longer states the caps in the words this test reads"
    assert {p: int(n) for p, n in found.groupdict().items()} == {p: c.limit for p, c in CAPS.items()}


def test_rolling_cap_counts_the_busiest_window_that_holds_the_new_post() -> None:
    cap = CAPS["instagram"]
    # 30 posts the evening before, 30 the morning after: no 24 h holds all 60, but one holds 30 + the new post,
    # and another (the evening before up to the new post) holds 30 as well.
    before = [TUE_9 - hours(14) + timedelta(minutes=i) for i in range(30)]
    after = [TUE_9 + hours(2) + timedelta(minutes=i) for i in range(30)]
    assert cap.busiest(before + after, TUE_9) == 60  # 14 h before to 2.5 h after: all inside one 24 h
    later = [TUE_9 + hours(12) + timedelta(minutes=i) for i in range(30)]
    assert cap.busiest(before + later, TUE_9) == 30  # the two groups are 26 h apart: never in one window
    assert cap.busiest([TUE_9 - hours(24)], TUE_9) == 0  # exactly 24 h before is outside every window
    assert cap.busiest([TUE_9 + hours(24)], TUE_9) == 0


def test_linkedin_counts_the_utc_day() -> None:
    cap = CAPS["linkedin"]
    same_day = [TUE_9 - hours(9), TUE_9 + hours(14)]
    other_days = [TUE_9 - hours(9) - timedelta(seconds=1), TUE_9 + hours(15)]
    assert cap.busiest(same_day + other_days, TUE_9) == 2


async def _fill(store: DraftStore, target: dict[str, str], count: int, at: datetime,
                state: DraftState = DraftState.SCHEDULED) -> None:
    for i in range(count):
        draft = await store.add(make_draft(scheduled_at=at + timedelta(minutes=i), targets=[target]), ALICE)
        if state != DraftState.PENDING:
            await force_state(store, draft.id, state)


async def test_the_store_counts_sent_posts_and_tells_pending_ones_apart(store: DraftStore) -> None:
    at = datetime.now(UTC).replace(microsecond=0) + timedelta(days=2)
    await _fill(store, IG, 3, at - hours(5))
    await _fill(store, IG, 2, at + hours(1), DraftState.PUBLISHED)
    await _fill(store, IG, 2, at + hours(2), DraftState.PENDING)
    await _fill(store, IG, 4, at + hours(30))  # another day
    await _fill(store, LI, 5, at)  # another account
    await _fill(store, IG, 2, at, DraftState.REJECTED)  # never going out
    [use] = await cap_uses(store, [Target(**IG)], at)
    assert (use.used, use.waiting, use.cap.limit) == (5, 2, 50)


async def test_cap_reached_is_an_error_with_the_count_and_a_full_window_pending_is_a_warning(
        store: DraftStore) -> None:
    at = datetime.now(UTC).replace(microsecond=0) + timedelta(days=2)
    await _fill(store, IG, 49, at - hours(3))
    errors, warnings = await check_caps(store, [Target(**IG)], at)
    assert errors == [] and warnings == []
    await _fill(store, IG, 1, at + hours(3), DraftState.PENDING)
    errors, warnings = await check_caps(store, [Target(**IG)], at)
    assert errors == [] and "1 more waiting for approval" in warnings[0]
    await _fill(store, IG, 1, at - hours(20))

    async def handles() -> dict[str, str]:
        return {"acc_ig": "@brand"}

    errors, _ = await check_caps(store, [Target(**IG)], at, handles=handles)
    local = at.strftime("%a") + f" {at.hour}:{at:%M}"
    assert errors[0].startswith(f"instagram @brand: 50 posts already in the 24 h around {local}; the cap is 50")

