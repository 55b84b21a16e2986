"""ConfirmPageRounds' own check on a retry, behind the SDK's boundary: the state's subject must be the caller."""

from __future__ import annotations

import json
from types import SimpleNamespace
from typing import Any

import pytest
from mcp.shared.exceptions import MCPError

from sdassist.mcp.page_rounds import STATE_KEY, ConfirmPageRounds
from sdassist.publishing.drafts import Principal

BOB = Principal(id="bob", kind="assistant", face="mcp", name="Bob via Claude", via="Claude")


async def test_a_retry_with_someone_elses_subject_is_refused_without_running_anything() -> None:
    async def context_for(ctx: Any) -> Any:
        return SimpleNamespace(principal=BOB, confirm_links=object(), store=None)

    async def call_next(ctx: Any) -> Any:
        raise AssertionError("the tool must not run on a retry")

    state = json.dumps({STATE_KEY: {"draft_id": "d_1", "version": 1, "subject": "alice"}})
    ctx = SimpleNamespace(method="tools/call", protocol_version="2026-07-28", params={
        "name": "draft_post", "arguments": {}, "requestState": state,
        "inputResponses": {"confirm_page": {"action": "accept"}}})
    with pytest.raises(MCPError, match="belongs to another person's call"):
        await ConfirmPageRounds(context_for)(ctx, call_next)  # type: ignore[arg-type]
