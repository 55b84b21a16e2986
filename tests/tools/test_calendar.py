"""The calendar's window is read once and then kept current from the store's change cursor."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sdassist.publishing.drafts import Principal
from sdassist.tools.calendar import plan, read_week
from tests.tools.conftest import call

BOSS = Principal(id="U0BOSS", kind="human", face="slack", name="boss")


async def entries(runtime: Any) -> dict[str, str]:
    ctx = runtime.context(BOSS, zone="Europe/Berlin")
    start = read_week(None, "Europe/Berlin")
    out = await plan(ctx, start=start, days=14, zone="Europe/Berlin")
    return {s.id: str(s.state) for day in out.days for s in day.entries}


async def test_changes_after_the_first_read_show_in_the_next_calendar(runtime: Any) -> None:
    first = await call(runtime, "draft_post", text="one", targets=["linkedin"], when="tomorrow 10am")
    assert await entries(runtime) == {first.draft_id: "pending"}
    second = await call(runtime, "draft_post", text="two", targets=["facebook"], when="in 3 days at 9am")
    await call(runtime, "approve_draft", draft_id=first.draft_id, version=1)
    assert await entries(runtime) == {first.draft_id: "scheduled", second.draft_id: "pending"}
    later = (await runtime.store.get(second.draft_id)).scheduled_at + timedelta(days=40)
    await call(runtime, "edit_draft", draft_id=second.draft_id, version=1, when=f"{later:%Y-%m-%d %H:%M} UTC")
    assert await entries(runtime) == {first.draft_id: "scheduled"}  # moved out of the fortnight
    await call(runtime, "cancel_draft", draft_id=first.draft_id)
    assert await entries(runtime) == {}
