"""Shared fixtures: a store on a temp SQLite file, or on SDASSIST_TEST_DATABASE_URL when set."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import delete, update

from sdassist.publishing import store as store_module
from sdassist.publishing.drafts import Draft, DraftState, Principal, new_draft
from sdassist.publishing.store import DraftStore

ALICE = Principal(id="U_ALICE", kind="human", face="slack", name="alice")
BOB = Principal(id="U_BOB", kind="human", face="slack", name="bob")
CAROL = Principal(id="U_CAROL", kind="human", face="slack", name="carol")
ASSISTANT = Principal(id="claude", kind="assistant", face="mcp", name="Claude")
OPERATOR = Principal(id="operator", kind="operator", face="cli", name="local operator")

TARGETS = [{"platform": "linkedin", "account_id": "acc_linkedin"}]


@pytest.fixture
def database_url(tmp_path: Any) -> str:
    return os.environ.get("SDASSIST_TEST_DATABASE_URL") or f"sqlite+aiosqlite:///{tmp_path / 'db' / 'sdassist.db'}"


async def _wipe(store: DraftStore) -> None:
    async with store._engine.begin() as conn:
        for table in reversed(store_module.metadata.sorted_tables):
            await conn.execute(delete(table))


@pytest.fixture
async def store(database_url: str) -> AsyncIterator[DraftStore]:
    s = await DraftStore.open(database_url)
    if not database_url.startswith("sqlite"):
        await _wipe(s)
    try:
        yield s
    finally:
        await s.close()


def make_draft(
    *,
    requester: Principal = ALICE,
    text: str = "Hello from sdassist",
    publish_now: bool = False,
    scheduled_at: datetime | None = None,
    targets: list[dict[str, Any]] | None = None,
    **kwargs: Any,
) -> Draft:
    if not publish_now and scheduled_at is None:
        scheduled_at = datetime.now(UTC) + timedelta(days=1)
    return new_draft(
        text=text,
        targets=targets or TARGETS,
        requester=requester,
        publish_now=publish_now,
        scheduled_at=scheduled_at,
        **kwargs,
    )


async def force_state(store: DraftStore, draft_id: str, state: DraftState, **body_changes: Any) -> Draft:
    """Put a stored draft into `state` directly (test setup only: bypasses the state machine)."""
    current = await store.get(draft_id)
    forced = current.model_copy(update={"state": state, **body_changes})
    async with store._engine.begin() as conn:
        await conn.execute(
            update(store_module.drafts_table)
            .where(store_module.drafts_table.c.id == draft_id)
            .values(**store_module._row_values(forced), changed_seq=store._next_seq())
        )
    return await store.get(draft_id)
