"""Each `/socialdock` command over signed HTTP, answered privately; bad commands get a corrected example."""

from __future__ import annotations

import time
from datetime import date, timedelta

import pytest

from sdassist.sandbox import DEFAULT_KEY
from tests.slack.conftest import APPROVER, CHANNEL, REQUESTER, Harness

pytestmark = pytest.mark.asyncio


async def answer_to(h: Harness, text: str, *, contains: str, count: int = 1) -> str:
    """Send a command, check the ack came at once, wait for the private answer that contains `contains`."""
    before = len(h.fake.of("response_url"))
    response = await h.command(text)
    assert response.status == 200
    found = await h.fake.wait_for("response_url", before + count)
    texts = [p["text"] for p in found[before:]]
    matching = [t for t in texts if contains.lower() in t.lower()]
    assert matching, f"no answer containing {contains!r} in {texts}"
    assert all(p["response_type"] == "ephemeral" for p in found[before:])
    return matching[0]


async def test_help_is_generated_and_lists_every_tool(h: Harness) -> None:
    from sdassist.tools import ALL_TOOLS

    response = await h.command("help")
    body = await response.json()
    assert body["response_type"] == "ephemeral"
    for tool in ALL_TOOLS:
        assert tool.name in body["text"]
    assert "schedule" in body["text"]


async def test_schedule_posts_a_card_and_echoes_the_time_in_the_users_zone_and_utc(h: Harness) -> None:
    text = await answer_to(h, "schedule “Launch day!” tomorrow 9am on instagram, linkedin",
                           contains="Sent for approval")
    assert "Europe/Berlin" in text or "CET" in text or "CEST" in text
    assert "UTC" in text
    card = (await h.fake.wait_for("chat.postMessage", where=lambda p: p["channel"] == CHANNEL))[0]
    draft = await h.card_of((await h.latest_draft()).id)
    assert draft.text == "Launch day!"
    assert draft.timezone == "Europe/Berlin"
    assert draft.requester_id == REQUESTER
    assert sorted(draft.platforms) == ["instagram", "linkedin"]
    flat = str(card["blocks"])
    assert "Approve" in flat and "Reject" in flat and "Edit" in flat and "confirm" in flat
    assert f"{draft.id}:1" in flat


async def test_post_now_is_still_approved_first(h: Harness) -> None:
    await answer_to(h, 'post "We are live" now on linkedin', contains="as soon as it is approved")
    draft = await h.card_of((await h.latest_draft()).id)
    assert draft.publish_now and draft.state == "pending"
    assert await h.posts_on_sandbox() == 0


async def test_schedule_with_options(h: Harness) -> None:
    await answer_to(h, 'schedule "Read this" tomorrow 10am on reddit title "A title" subreddit r/python '
                       'tags #one #two', contains="Sent for approval")
    draft = await h.latest_draft()
    assert draft.title == "A title" and draft.tags == ["one", "two"]
    assert draft.targets[0].metadata == {"subreddit": "r/python"}


@pytest.mark.parametrize("text, problem", [
    ('schedule Launch tomorrow on instagram', "in double quotes"),
    ('schedule "Hi" tomorrow 9am on instagrm', "did you mean instagram"),
    ('schedule "Hi" tomorrow 9am', "after 'on'"),
    ('frobnicate', "not a command"),
    ('posts drafty', "posts takes"),
])
async def test_unparseable_commands_get_what_was_wrong_and_an_example(h: Harness, text: str, problem: str) -> None:
    response = await h.command(text)
    body = await response.json()
    assert body["response_type"] == "ephemeral"
    assert problem in body["text"] and "Try: `/socialdock" in body["text"]
    assert not h.fake.of("chat.postMessage")


async def test_a_time_in_the_past_is_refused_by_the_tool_layer_with_an_example(h: Harness) -> None:
    text = await answer_to(h, 'schedule "Hi" yesterday 9am on instagram', contains="when")
    assert "Try:" in text
    assert await h.rt.store.list() == []


SOON = date.today() + timedelta(days=60)
WRONG_DAY = (SOON + timedelta(days=1)).strftime("%A")


@pytest.mark.parametrize(("when", "suggested"), [
    ("tomorrow 3", '/socialdock schedule "Hi" tomorrow 3pm on instagram title "T"'),
    ("asap", '/socialdock post "Hi" now on instagram title "T"'),
    (f"{WRONG_DAY} {SOON:%b} {SOON.day} 9am",
     f'/socialdock schedule "Hi" {SOON:%a %b} {SOON.day} at 9am on instagram title "T"'),
])
async def test_after_a_refused_time_the_suggestion_is_a_working_command(h: Harness, when: str,
                                                                        suggested: str) -> None:
    text = await answer_to(h, f'schedule "Hi" {when} on instagram title "T"', contains="when")
    assert f"Try: `{suggested}`" in text and f'"Hi" {when} on' not in text
    await answer_to(h, suggested.removeprefix("/socialdock "), contains="Sent for approval")


async def test_approve_is_a_button_not_a_command(h: Harness) -> None:
    body = await (await h.command("approve_draft draft_id=drf_x version=1")).json()
    assert "button" in body["text"]


async def test_accounts_drafts_posts_analytics_and_connect(h: Harness) -> None:
    assert "@demo_instagram" in await answer_to(h, "accounts", contains="Connected accounts")
    await answer_to(h, 'schedule "Hello" tomorrow 9am on instagram', contains="Sent for approval")
    draft = await h.latest_draft()
    assert draft.id in await answer_to(h, "drafts", contains="Drafts")
    await answer_to(h, "posts scheduled", contains="Posts")
    await answer_to(h, "analytics 7d", contains="analytics")
    await answer_to(h, "analytics", contains="analytics")
    text = await answer_to(h, "connect tiktok", contains="Connect TikTok")
    assert "open this link" in text
    assert h.fake.of("response_url")[-1]["response_type"] == "ephemeral"


async def test_generated_tool_commands_reach_the_rest_of_the_registry(h: Harness) -> None:
    assert "webhooks" in (await answer_to(h, "tool list_webhooks", contains="List webhooks")).lower()
    text = await answer_to(h, "upload-media url=https://example.com/cat.png", contains="Upload media")
    assert "med_" in text
    assert "utc" in (await answer_to(h, 'resolve_time phrase="tomorrow 9am"', contains="Resolve time")).lower()
    wrong = await answer_to(h, "get_post post_id=post_doesnotexist", contains="warning")
    assert "Try:" in wrong


async def test_cancel_a_pending_draft_and_a_post(h: Harness) -> None:
    await answer_to(h, 'schedule "Bye" tomorrow 9am on linkedin', contains="Sent for approval")
    draft = await h.card_of((await h.latest_draft()).id)
    await answer_to(h, f"cancel {draft.id}", contains="Cancelled")
    assert (await h.rt.store.get(draft.id)).state == "cancelled"
    card = await h.fake.wait_for("chat.update", where=lambda p: "Cancelled by" in str(p.get("blocks")))
    assert card
    # A cancel that cannot work says why and points at the list, not at the same command again.
    again = await answer_to(h, f"cancel {draft.id}", contains=f"draft {draft.id} is already cancelled")
    assert "Try: `/socialdock drafts mine`" in again and f"cancel {draft.id}`" not in again
    missing = await answer_to(h, "cancel post_01zzzzzzzzzzzzzzzzzzzzzzzz", contains="not found")
    assert "Try: `/socialdock posts scheduled`" in missing


async def test_the_composer_opens_first_thing_after_the_ack(h: Harness) -> None:
    started = time.perf_counter()
    response = await h.command("")
    assert response.status == 200 and time.perf_counter() - started < 1
    opened = (await h.fake.wait_for("views.open"))[0]
    view = opened["view"]
    assert view["callback_id"] == "sd_composer"
    accounts = next(b for b in view["blocks"] if b["block_id"] == "accounts")
    assert accounts["element"]["options"]
    await h.command("new")
    await h.fake.wait_for("views.open", 2)


async def test_the_connect_redirect_lands_on_a_page_that_says_it_worked(h: Harness) -> None:
    page = await h.http.get(h.url + "/socialdock/connected?platform=linkedin&account_id=acc_x")
    assert page.status == 200 and "linkedin is connected" in await page.text()
    escaped = await h.http.get(h.url + "/socialdock/connected?platform=<script>")
    assert "<script>" not in await escaped.text()


async def _approved(h: Harness, command: str) -> object:
    from sdassist.publishing.drafts import Principal
    from sdassist.tools import get_tool

    await answer_to(h, command, contains="Sent for approval")
    draft = await h.card_of((await h.latest_draft()).id)
    boss = Principal(id=APPROVER, kind="human", face="slack", name="boss")
    await get_tool("approve_draft").run(h.rt.context(boss), {"draft_id": draft.id, "version": draft.version})
    return await h.rt.store.get(draft.id)


async def test_cancel_post_goes_through_the_owning_draft_and_only_for_scheduled_posts(h: Harness) -> None:
    scheduled = await _approved(h, 'schedule "Later" tomorrow 9am on linkedin')
    assert scheduled.state == "scheduled"
    text = await answer_to(h, f"cancel {scheduled.post_id}", contains="Cancelled")
    assert scheduled.id in text
    assert (await h.rt.store.get(scheduled.id)).state == "cancelled"
    published = await _approved(h, 'post "Out now" now on facebook')
    assert published.state == "published"
    refused = await answer_to(h, f"cancel {published.post_id}", contains="warning")
    assert "not scheduled" in refused
    assert (await h.sandbox.get(f"/api/v1/posts/{published.post_id}",
                                headers={"Authorization": f"Bearer {DEFAULT_KEY}"})).status_code == 200


@pytest.mark.parametrize("command", ["delete_post post_id=post_x", "disconnect_account account_id=acc_x",
                                     "delete_webhook webhook_id=wh_x", "create_webhook url=https://example.com/h"])
async def test_destructive_and_admin_commands_are_for_approvers_only(h: Harness, command: str) -> None:
    refused = await answer_to(h, command, contains="warning")
    assert "not an approver" in refused


async def test_an_approver_may_delete_a_post(h: Harness) -> None:
    published = await _approved(h, 'post "Out now" now on facebook')
    before = len(h.fake.of("response_url"))
    await h.command(f"delete_post post_id={published.post_id}", user=APPROVER)
    found = await h.fake.wait_for("response_url", before + 1)
    assert "deleted" in found[-1]["text"].lower() and "warning" not in found[-1]["text"]


@pytest.mark.parametrize("harness", [{"SDASSIST_APPROVAL": "none"}], indirect=True)
async def test_with_approval_off_the_answer_says_it_went_out(h: Harness) -> None:
    text = await answer_to(h, 'schedule "Straight out" tomorrow 9am on linkedin', contains="scheduled")
    assert "Nothing is published until" not in text and "approval is switched off" in text


@pytest.mark.parametrize("harness", [{"SDASSIST_APPROVAL": "confirm"}], indirect=True)
async def test_in_confirm_mode_a_slack_user_is_sent_to_the_card_not_the_terminal(h: Harness) -> None:
    text = await answer_to(h, 'schedule "Check me" tomorrow 9am on linkedin', contains="Sent for approval")
    assert "sdassist call" not in text and "on its card" in text and APPROVER in text
    await h.card_of((await h.latest_draft()).id)
