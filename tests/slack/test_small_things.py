"""Issue 9 §5, the Slack part: the card's fallback text follows the decision; no Bolt warning about the token at
start; `drafts mine` and words a subcommand does not take; a click for a version that never existed."""

from __future__ import annotations

import logging
from typing import Any

import pytest

from sdassist.slack.app import SlackFace, web_client
from tests.slack.conftest import APPROVER, OTHER_APPROVER, REQUESTER, Harness, slack_settings
from tests.slack.test_commands import answer_to

pytestmark = pytest.mark.asyncio


async def drafted(h: Harness, user: str = REQUESTER, text: str = "Launch") -> str:
    before = len(h.fake.of("response_url"))
    await h.command(f'schedule "{text}" tomorrow 9am on instagram', user=user)
    await h.fake.wait_for("response_url", before + 1)  # its own answer, so later answers are told apart
    draft = await h.latest_draft()
    await h.card_of(draft.id)
    return draft.id


async def test_the_cards_fallback_text_follows_the_decision(h: Harness) -> None:
    draft_id = await drafted(h)
    first = h.fake.of("chat.postMessage", where=lambda p: f"{draft_id}:1" in str(p.get("blocks")))
    assert first[0]["text"].startswith("Approval needed:")
    await h.click("sd_approve", draft_id, 1)
    await h.wait_state(draft_id, "scheduled")
    updates = await h.fake.wait_for("chat.update", where=lambda p: "scheduled for" in p.get("text", ""))
    assert not updates[-1]["text"].startswith("Approval needed")
    cancelled = await drafted(h, text="Second")
    await answer_to(h, f"cancel {cancelled}", contains="Cancelled")
    said = await h.fake.wait_for("chat.update", where=lambda p: p.get("text", "").endswith(": cancelled"))
    assert "Approval needed" not in said[-1]["text"]


async def test_a_click_for_a_version_that_never_existed_says_so(h: Harness) -> None:
    draft_id = await drafted(h)
    await h.click("sd_approve", draft_id, 7)
    said = await h.fake.wait_for("chat.postEphemeral", where=lambda p: p["user"] == APPROVER)
    assert "version 7" in said[-1]["text"] and "never existed" in said[-1]["text"]
    assert "edited" not in said[-1]["text"]
    assert (await h.rt.store.get(draft_id)).state == "pending"


async def test_drafts_mine_shows_only_mine_and_unknown_words_are_refused(h: Harness) -> None:
    mine = await drafted(h, user=REQUESTER, text="Mine")
    theirs = await drafted(h, user=OTHER_APPROVER, text="Theirs")
    listed = await answer_to(h, "drafts mine", contains="Drafts")
    assert mine in listed and theirs not in listed
    assert theirs in await answer_to(h, "drafts", contains="Drafts")
    refused = (await (await h.command("drafts minee")).json())["text"]
    assert "'minee'" in refused and "Try: `/socialdock drafts mine pending`" in refused
    assert "'x'" in (await (await h.command("accounts x")).json())["text"]


async def test_no_bolt_warning_about_the_token_at_start(h: Harness, fake: Any, tmp_path: Any,
                                                        monkeypatch: pytest.MonkeyPatch,
                                                        caplog: pytest.LogCaptureFixture) -> None:
    settings = slack_settings(tmp_path, fake)
    monkeypatch.setenv("SLACK_BOT_TOKEN", settings.slack_bot_token.get_secret_value())  # as deployed
    with caplog.at_level(logging.WARNING, logger="slack_bolt"):
        SlackFace(settings, h.rt, web_client(settings))
    assert not [r for r in caplog.records if "token" in r.getMessage()]
