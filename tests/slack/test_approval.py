"""The approval card: approve exactly once, refusals said privately, edits make old buttons stale, reject."""

from __future__ import annotations

import asyncio
import json
import time

import pytest

from tests.slack.conftest import APPROVER, CHANNEL, OTHER_APPROVER, REQUESTER, STRANGER, Harness

pytestmark = pytest.mark.asyncio


async def drafted(h: Harness, text: str = 'schedule "Launch day!" tomorrow 9am on instagram, linkedin') -> str:
    await h.command(text)
    draft = await h.latest_draft()
    await h.card_of(draft.id)
    return draft.id


async def test_approve_posts_exactly_once_and_reports_in_the_thread(h: Harness) -> None:
    draft_id = await drafted(h)
    response = await h.click("sd_approve", draft_id, 1)
    assert response.status == 200
    draft = await h.wait_state(draft_id, "scheduled")
    assert await h.posts_on_sandbox() == 1
    thread = await h.fake.wait_for("chat.postMessage", where=lambda p: p.get("thread_ts") and "Scheduled for"
                                   in p["text"])
    assert draft.post_id in thread[0]["text"] and "UTC" in thread[0]["text"]
    update = await h.fake.wait_for("chat.update", where=lambda p: "Approved by" in str(p["blocks"]))
    last = update[-1]
    assert last["channel"] == CHANNEL and last["ts"] == draft.face_refs["slack_ts"]
    assert f"<@{APPROVER}>" in str(last["blocks"])
    assert not any(b["type"] == "actions" for b in last["blocks"])
    decisions = await h.rt.store.decisions(draft_id)
    assert any(d.actor_id == APPROVER and d.face == "slack" for d in decisions)


async def test_twenty_concurrent_approvals_make_one_post(h: Harness) -> None:
    draft_id = await drafted(h)
    clicks = [h.click("sd_approve", draft_id, 1, user=APPROVER if i % 2 else OTHER_APPROVER) for i in range(20)]
    responses = await asyncio.gather(*clicks)
    assert all(r.status == 200 for r in responses)
    await h.wait_state(draft_id, "scheduled")
    await h.fake.wait_for("chat.postEphemeral", 19, timeout=10)
    assert await h.posts_on_sandbox() == 1
    await h.fake.wait_for("chat.postMessage", where=lambda p: "Scheduled for" in (p.get("text") or ""))
    await asyncio.sleep(0.3)
    assert len(h.fake.of("chat.postMessage", where=lambda p: "Scheduled for" in (p.get("text") or ""))) == 1


async def test_a_non_approver_is_refused_privately(h: Harness) -> None:
    draft_id = await drafted(h)
    await h.click("sd_approve", draft_id, 1, user=STRANGER)
    said = await h.fake.wait_for("chat.postEphemeral", where=lambda p: p["user"] == STRANGER)
    assert "not an approver" in said[0]["text"]
    assert (await h.rt.store.get(draft_id)).state == "pending"
    assert await h.posts_on_sandbox() == 0


async def test_the_requester_cannot_approve_their_own_draft(h: Harness) -> None:
    h.rt.publisher.policy = h.rt.policy = type(h.rt.policy)(approvers=frozenset({REQUESTER}))
    draft_id = await drafted(h)
    await h.click("sd_approve", draft_id, 1, user=REQUESTER)
    said = await h.fake.wait_for("chat.postEphemeral", where=lambda p: p["user"] == REQUESTER)
    assert "someone else" in said[0]["text"]
    assert (await h.rt.store.get(draft_id)).state == "pending"


async def test_edit_makes_a_new_version_and_the_old_button_is_refused(h: Harness) -> None:
    draft_id = await drafted(h)
    await h.click("sd_edit", draft_id, 1, user=REQUESTER)
    opened = (await h.fake.wait_for("views.open"))[0]["view"]
    assert opened["callback_id"] == "sd_edit_view"
    metadata = json.loads(opened["private_metadata"])
    when = int(time.time()) + 2 * 86400
    response = await h.submit("sd_edit_view", {
        "text": {"type": "plain_text_input", "value": "Launch day, edited!"},
        "when": {"type": "datetimepicker", "selected_date_time": when},
        "media": {"type": "plain_text_input", "value": None},
        "title": {"type": "plain_text_input", "value": None},
    }, user=REQUESTER, metadata=metadata)
    assert response.status == 200 and (await response.read()) in (b"", b"{}")
    await h.fake.wait_for("chat.update", where=lambda p: f"{draft_id}:2" in str(p["blocks"]))
    await h.fake.wait_for("chat.postMessage", where=lambda p: "version 2" in (p.get("text") or ""))
    draft = await h.rt.store.get(draft_id)
    assert draft.version == 2 and draft.text == "Launch day, edited!"
    await h.click("sd_approve", draft_id, 1)
    said = await h.fake.wait_for("chat.postEphemeral", where=lambda p: p["user"] == APPROVER)
    assert "version 1" in said[0]["text"] and "version 2" in said[0]["text"]
    assert (await h.rt.store.get(draft_id)).state == "pending"
    assert await h.posts_on_sandbox() == 0
    await h.click("sd_approve", draft_id, 2)
    await h.wait_state(draft_id, "scheduled")
    assert await h.posts_on_sandbox() == 1


async def test_edit_with_bad_values_shows_errors_on_the_fields(h: Harness) -> None:
    draft_id = await drafted(h)
    response = await h.submit("sd_edit_view", {
        "text": {"type": "plain_text_input", "value": "x" * 2300},
        "when": {"type": "datetimepicker", "selected_date_time": int(time.time()) - 3600},
        "media": {"type": "plain_text_input", "value": "ftp://nope"},
    }, user=REQUESTER, metadata={"draft_id": draft_id, "version": 1, "channel": CHANNEL})
    body = await response.json()
    assert body["response_action"] == "errors"
    assert {"when", "media", "text"} <= set(body["errors"])
    assert (await h.rt.store.get(draft_id)).version == 1


async def test_reject_with_a_reason(h: Harness) -> None:
    draft_id = await drafted(h)
    await h.click("sd_reject", draft_id, 1)
    opened = (await h.fake.wait_for("views.open"))[0]["view"]
    assert opened["callback_id"] == "sd_reject_view"
    metadata = json.loads(opened["private_metadata"])
    await h.submit("sd_reject_view", {"reason": {"type": "plain_text_input", "value": "Off brand"}},
                   user=APPROVER, metadata=metadata)
    draft = await h.wait_state(draft_id, "rejected")
    update = await h.fake.wait_for("chat.update", where=lambda p: "Rejected by" in str(p["blocks"]))
    assert "Off brand" in str(update[-1]["blocks"])
    await h.fake.wait_for("chat.postMessage", where=lambda p: p.get("thread_ts") and "Rejected" in p["text"])
    await h.click("sd_approve", draft_id, 1)
    said = await h.fake.wait_for("chat.postEphemeral", where=lambda p: p["user"] == APPROVER)
    assert "already rejected" in said[0]["text"]
    assert draft.error and await h.posts_on_sandbox() == 0


async def test_a_stranger_cannot_open_reject(h: Harness) -> None:
    draft_id = await drafted(h)
    await h.click("sd_reject", draft_id, 1, user=STRANGER)
    said = await h.fake.wait_for("chat.postEphemeral", where=lambda p: p["user"] == STRANGER)
    assert "only the requester" in said[0]["text"]
    assert not h.fake.of("views.open")


@pytest.mark.parametrize("harness", [{"SDASSIST_APPROVERS": "S0EDITORS"}], indirect=True)
async def test_approvers_may_be_a_user_group(h: Harness) -> None:
    h.fake.groups["S0EDITORS"] = [OTHER_APPROVER]
    draft_id = await drafted(h)
    await h.click("sd_approve", draft_id, 1, user=APPROVER)
    said = await h.fake.wait_for("chat.postEphemeral", where=lambda p: p["user"] == APPROVER)
    assert "not an approver" in said[0]["text"]
    await h.click("sd_approve", draft_id, 1, user=OTHER_APPROVER)
    await h.wait_state(draft_id, "scheduled")
    assert h.fake.of("usergroups.users.list")


async def test_bad_signature_or_old_timestamp_is_401_and_nothing_happens(h: Harness) -> None:
    draft_id = await drafted(h)
    await h.work_done()  # the command's own reply (response_url) may still be on its way
    calls = len(h.fake.calls)
    assert (await h.click("sd_approve", draft_id, 1, secret="wrong")).status == 401
    assert (await h.click("sd_approve", draft_id, 1, timestamp=int(time.time()) - 600)).status == 401
    assert (await h.command('schedule "x" tomorrow on instagram', secret="wrong")).status == 401
    await asyncio.sleep(0.3)
    assert (await h.rt.store.get(draft_id)).state == "pending"
    assert await h.posts_on_sandbox() == 0
    assert len(await h.rt.store.list()) == 1
    assert [m for m, _ in h.fake.calls[calls:] if m not in ("users.info", "users.list", "auth.test")] == []


async def test_a_stranger_cannot_open_edit_and_is_told_who_may_edit(h: Harness) -> None:
    draft_id = await drafted(h)
    await h.click("sd_edit", draft_id, 1, user=STRANGER)
    said = await h.fake.wait_for("chat.postEphemeral", where=lambda p: p["user"] == STRANGER)
    assert "may edit" in said[0]["text"]
    assert not h.fake.of("views.open")


@pytest.mark.parametrize("harness", [{"SDASSIST_APPROVERS": "S0EDITORS", "SDASSIST_APPROVAL": "none"}],
                         indirect=True)
async def test_expanding_a_user_group_keeps_the_rest_of_the_policy(h: Harness) -> None:
    h.fake.groups["S0EDITORS"] = [OTHER_APPROVER]
    assert h.rt.policy.approval_required is False
    await h.face.approvers.refresh()
    assert OTHER_APPROVER in h.rt.policy.approvers and "S0EDITORS" in h.rt.policy.approvers
    assert h.rt.policy.approval_required is False and h.rt.publisher.policy is h.rt.policy


async def test_a_group_member_may_edit_without_a_prior_approve_click(h: Harness) -> None:
    h.fake.groups["S0EDITORS"] = [STRANGER]
    base = type(h.rt.policy)(approvers=frozenset({"S0EDITORS"}))
    h.face.approvers.base = h.rt.policy = h.rt.publisher.policy = base
    draft_id = await drafted(h)
    await h.click("sd_edit", draft_id, 1, user=STRANGER)
    opened = (await h.fake.wait_for("views.open"))[0]["view"]
    assert opened["callback_id"] == "sd_edit_view"


async def test_an_empty_when_in_the_edit_modal_keeps_the_scheduled_time(h: Harness) -> None:
    draft_id = await drafted(h)
    before = await h.rt.store.get(draft_id)
    response = await h.submit("sd_edit_view", {
        "text": {"type": "plain_text_input", "value": "Launch day, reworded"},
        "when": {"type": "datetimepicker", "selected_date_time": None},
        "media": {"type": "plain_text_input", "value": None},
    }, user=REQUESTER, metadata={"draft_id": draft_id, "version": 1, "channel": CHANNEL})
    assert response.status == 200 and (await response.read()) in (b"", b"{}")
    await h.fake.wait_for("chat.update", where=lambda p: f"{draft_id}:2" in str(p["blocks"]))
    after = await h.rt.store.get(draft_id)
    assert after.version == 2 and after.text == "Launch day, reworded"
    assert not after.publish_now and after.scheduled_at == before.scheduled_at


async def test_composer_problems_show_on_their_fields(h: Harness) -> None:
    response = await h.submit("sd_composer", {
        "text": {"type": "plain_text_input", "value": "Hello"},
        "accounts": {"type": "multi_static_select", "selected_options": []},
        "when": {"type": "datetimepicker", "selected_date_time": None},
        "now": {"type": "checkboxes", "selected_options": []},
        "media": {"type": "plain_text_input", "value": "ftp://nope"},
    }, user=REQUESTER, metadata={"channel": CHANNEL})
    body = await response.json()
    assert body["response_action"] == "errors"
    assert "no time given" in body["errors"]["when"] and "http(s)" in body["errors"]["media"]
