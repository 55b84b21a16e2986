"""SDASSIST_APPROVAL=confirm in both protocol eras: a host that accepts, one that declines, one that cannot ask."""

from __future__ import annotations

import logging
import time
from typing import Any

import pytest
from mcp import Client
from mcp.types import ClientCapabilities

from sdassist.mcp.confirm_page import elicitation_modes
from sdassist.tools.confirmation import ConfirmationTokens
from tests.mcp.conftest import MODES, POST, Host, data, error_text


@pytest.mark.parametrize("mode", MODES)
async def test_host_that_accepts_sees_exactly_what_will_be_posted_then_it_is_scheduled(
    server_factory: Any, mode: str
) -> None:
    host = Host("accept")
    async with Client(server_factory(), mode=mode, elicitation_callback=host) as client:
        out = data(await client.call_tool("draft_post", {**POST, "tags": ["launch"]}))
    assert out["state"] == "scheduled" and out["post_id"].startswith("post_")
    assert "confirmed" in out["next_step"] and "confirmation_token" not in out
    [question] = host.asked
    assert "Launch day!" in question and "linkedin (acc_" in question
    assert "09:00 CET = 08:00 UTC" in question and "sandbox" in question and "launch" in question


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize(("action", "publish"), [("decline", True), ("cancel", True), ("accept", False)])
async def test_host_that_declines_cancels_the_draft_and_says_so(
    server_factory: Any, mode: str, action: str, publish: bool
) -> None:
    host = Host(action, publish=publish)
    async with Client(server_factory(), mode=mode, elicitation_callback=host) as client:
        out = data(await client.call_tool("draft_post", POST))
        assert out["state"] == "cancelled" and "post_id" not in out
        assert "declined" in out["next_step"] and "nothing was published" in out["next_step"]
        posts = data(await client.call_tool("list_posts", {"status": "scheduled"}))
    assert all(p["text"] != "Launch day!" for p in posts["posts"])
    assert len(host.asked) == 1


@pytest.mark.parametrize("mode", MODES)
async def test_invalid_post_is_refused_before_anyone_is_asked(server_factory: Any, mode: str) -> None:
    host = Host("accept")
    async with Client(server_factory(), mode=mode, elicitation_callback=host) as client:
        text = error_text(await client.call_tool("draft_post", {**POST, "targets": ["youtube"]}))
        drafts = data(await client.call_tool("list_drafts", {}))
    assert "title" in text and " — " in text
    assert host.asked == [] and drafts["drafts"] == []


@pytest.mark.parametrize("mode", MODES)
async def test_host_that_cannot_ask_gets_a_preview_and_token_and_the_token_publishes(
    server_factory: Any, mode: str
) -> None:
    async with Client(server_factory(), mode=mode) as client:
        preview = data(await client.call_tool("draft_post", POST))
        assert preview["state"] == "pending" and preview["confirmation_token"]
        assert "ask them to confirm" in preview["next_step"]
        assert preview["scheduled_for"]["echo"].endswith("08:00 UTC")
        done = data(await client.call_tool("draft_post", {**POST, "confirmation_token": preview["confirmation_token"]}))
    assert done["state"] == "scheduled" and done["draft_id"] == preview["draft_id"]


@pytest.mark.parametrize("mode", MODES)
async def test_forged_or_stale_token_is_refused(server_factory: Any, mode: str) -> None:
    async with Client(server_factory(), mode=mode) as client:
        first = data(await client.call_tool("draft_post", POST))
        token = first["confirmation_token"]
        forged = token[:-4] + ("0000" if not token.endswith("0000") else "1111")
        assert "not valid" in error_text(await client.call_tool("draft_post", {**POST, "confirmation_token": forged}))
        edited = data(await client.call_tool("edit_draft", {"draft_id": first["draft_id"], "version": 1,
                                                            "text": "Launch day, v2"}))
        assert edited["version"] == 2 and edited["confirmation_token"]
        stale = await client.call_tool("edit_draft", {"draft_id": first["draft_id"], "version": 1,
                                                      "confirmation_token": token})
        # Said so that the assistant can act on it: it cannot approve or reject, it can ask the user again.
        for refused in (stale, await client.call_tool("draft_post", {**POST, "text": "Launch day, v2",
                                                                      "confirmation_token": token})):
            text = error_text(refused)
            assert "confirms version 1" in text and "now version 2" in text and "nothing was published" in text
            assert "ask them again" in text and "approve" not in text and "reject" not in text
        state = data(await client.call_tool("get_draft", {"draft_id": first["draft_id"]}))
        assert state["state"] == "pending" and "post_id" not in state


async def test_expired_token_is_refused(server_factory: Any) -> None:
    server = server_factory(SDASSIST_CONFIRM_SECRET="shared-secret")
    async with Client(server) as client:
        first = data(await client.call_tool("draft_post", POST))
        old = ConfirmationTokens.with_key("shared-secret").issue(first["draft_id"], 1, now=time.time() - 3600)
        text = error_text(await client.call_tool("draft_post", {**POST, "confirmation_token": old}))
    assert "expired" in text


async def test_edit_and_update_are_confirmed_too(server_factory: Any) -> None:
    host = Host("accept")
    async with Client(server_factory(), elicitation_callback=host) as client:
        scheduled = data(await client.call_tool("draft_post", POST))
        change = data(await client.call_tool("update_post", {"post_id": scheduled["post_id"], "text": "Changed"}))
        assert change["state"] == "scheduled" and change["kind"] == "update"
        post = data(await client.call_tool("get_post", {"post_id": scheduled["post_id"]}))
    assert post["text"] == "Changed"
    assert "Change this scheduled post" in host.asked[1] and "Changed" in host.asked[1]


async def test_approval_none_and_slack_never_ask(server_factory: Any) -> None:
    host = Host("decline")
    async with Client(server_factory(SDASSIST_APPROVAL="none"), elicitation_callback=host) as client:
        out = data(await client.call_tool("draft_post", {**POST, "when": None, "publish_now": True}))
    assert out["state"] == "published" and host.asked == []
    async with Client(server_factory(SDASSIST_APPROVAL="slack"), elicitation_callback=host) as client:
        out = data(await client.call_tool("draft_post", POST))
    assert out["state"] == "pending" and "Slack" in out["next_step"] and host.asked == []


async def test_a_bug_reaches_the_model_as_a_generic_error_and_the_log_gets_the_rest(
    server_factory: Any, caplog: pytest.LogCaptureFixture
) -> None:
    server = server_factory()
    runtime = await server.sdassist_state.runtime()

    async def boom(*_a: Any, **_k: Any) -> Any:
        raise RuntimeError("secret sd_live_abcdef123 leaked")

    runtime.client.accounts.list = boom
    with caplog.at_level(logging.ERROR, logger="sdassist.mcp"):
        async with Client(server) as client:
            text = error_text(await client.call_tool("list_accounts", {}))
    assert "internal error" in text and "secret" not in text and "Traceback" not in text
    assert any("list_accounts" in r.getMessage() for r in caplog.records)
    await server.sdassist_state.aclose()


@pytest.mark.parametrize("mode", MODES)
async def test_long_calls_report_progress(server_factory: Any, mode: str) -> None:
    seen: list[tuple[float, float | None, str | None]] = []

    async def progress(done: float, total: float | None, message: str | None) -> None:
        seen.append((done, total, message))

    async with Client(server_factory(), mode=mode) as client:
        result = await client.call_tool("upload_media", {"url": "https://example.com/cat.jpg"},
                                        progress_callback=progress)
    assert not result.is_error, result.content
    assert seen and seen[-1][0] == 1


@pytest.mark.parametrize(("declared", "modes"), [
    (None, set()), ({}, set()), ({"elicitation": {}}, {"form"}), ({"elicitation": {"form": {}}}, {"form"}),
    ({"elicitation": {"url": {}}}, {"url"}), ({"elicitation": {"form": {}, "url": {}}}, {"form", "url"}),
])
def test_the_elicitation_modes_a_client_declared(declared: dict[str, Any] | None, modes: set[str]) -> None:
    """One reading for the form (confirm) and the page (URL mode); a bare `elicitation: {}` predates modes: form."""
    caps = None if declared is None else ClientCapabilities.model_validate(declared)
    assert elicitation_modes(caps) == modes
