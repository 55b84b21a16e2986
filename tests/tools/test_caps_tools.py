"""Caps in the tool layer, so in every face: counted at draft time and again at approval, with the count."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from sdassist.publishing.drafts import DraftState, new_draft
from sdassist.tools import ToolError
from tests.publishing.conftest import force_state
from tests.tools.conftest import OPERATOR, call


async def _instagram(runtime: Any) -> Any:
    return (await call(runtime, "list_accounts", platform="instagram")).accounts[0]


async def _scheduled(runtime: Any, account_id: str, count: int, at: datetime) -> None:
    for i in range(count):
        draft = new_draft(text=f"post {i}", targets=[{"platform": "instagram", "account_id": account_id}],
                          requester=OPERATOR, publish_now=False, scheduled_at=at - timedelta(minutes=i + 1))
        await runtime.store.add(draft, OPERATOR)
        await force_state(runtime.store, draft.id, DraftState.SCHEDULED)


async def test_approval_refuses_the_one_post_too_many_and_keeps_the_draft(runtime: Any) -> None:
    account = await _instagram(runtime)
    at = (datetime.now(UTC) + timedelta(days=2)).replace(hour=9, minute=0, second=0, microsecond=0)
    when = f"{at:%Y-%m-%d} 09:00 UTC"
    await _scheduled(runtime, account.id, 49, at)
    first = await call(runtime, "draft_post", text="one", targets=["instagram"], when=when)
    second = await call(runtime, "draft_post", text="two", targets=["instagram"], when=when)
    assert any("1 more waiting for approval" in w for w in second.warnings)
    assert (await call(runtime, "approve_draft", draft_id=first.draft_id, version=1)).state == "scheduled"
    with pytest.raises(ToolError) as refused:
        await call(runtime, "approve_draft", draft_id=second.draft_id, version=1)
    assert f"instagram {account.handle}: 50 posts already in the 24 h around" in refused.value.message
    assert "the cap is 50" in refused.value.message
    assert "another time" in (refused.value.hint or "")
    kept = await runtime.store.get(second.draft_id)
    assert kept.state == DraftState.PENDING and kept.version == 1
    # Moving it a day on makes room: the edit is checked the same way, then it can be approved.
    moved = await call(runtime, "edit_draft", draft_id=second.draft_id, version=1,
                       when=f"{at + timedelta(days=1, hours=1):%Y-%m-%d %H:%M} UTC")
    assert (await call(runtime, "approve_draft", draft_id=moved.draft_id, version=2)).state == "scheduled"


async def test_a_full_window_is_refused_at_draft_time_and_nothing_is_stored(runtime: Any) -> None:
    account = await _instagram(runtime)
    at = (datetime.now(UTC) + timedelta(days=3)).replace(hour=12, minute=0, second=0, microsecond=0)
    await _scheduled(runtime, account.id, 50, at)
    before = len(await runtime.store.list(limit=100))
    with pytest.raises(ToolError) as refused:
        await call(runtime, "draft_post", text="too many", targets=["instagram", "linkedin"],
                   when=f"{at:%Y-%m-%d} 12:00 UTC")
    assert "50 posts already" in refused.value.message and "linkedin" not in refused.value.message
    assert "nothing was stored" in (refused.value.hint or "").lower()
    assert len(await runtime.store.list(limit=100)) == before
    # A day later the window holds none of them: the same post fits.
    later = at + timedelta(hours=24)
    assert (await call(runtime, "draft_post", text="fits", targets=["instagram"],
                       when=f"{later:%Y-%m-%d %H:%M} UTC")).state == "pending"
