"""The shared tool layer, end to end on the embedded sandbox: what every face relies on."""

from __future__ import annotations

from typing import Any

import pytest

from sdassist.config import Settings
from sdassist.publishing.drafts import DraftState
from sdassist.runtime import open_runtime
from sdassist.tools import ALL_TOOLS, TOOLS_BY_NAME, ToolError, ToolKind, select_tools
from sdassist.tools.views import draft_summary
from tests.tools.conftest import ASSISTANT, OPERATOR, call, sandbox_control

EXPECTED_NAMES = {
    "list_accounts", "connect_account", "disconnect_account", "draft_post", "list_drafts", "get_draft",
    "edit_draft", "cancel_draft", "approve_draft", "reject_draft", "list_posts", "get_post", "update_post",
    "delete_post", "get_analytics", "upload_media", "list_webhooks", "create_webhook", "delete_webhook",
    "check_post", "resolve_time",
}


def test_registry_has_exactly_the_documented_tools() -> None:
    assert set(TOOLS_BY_NAME) == EXPECTED_NAMES
    assert len(ALL_TOOLS) == len(EXPECTED_NAMES)


def test_every_tool_is_fully_described() -> None:
    for tool in ALL_TOOLS:
        assert tool.title and len(tool.description) > 40, tool.name
        assert tool.kind in ToolKind
        assert tool.input_model.model_json_schema()
        assert tool.output_model.model_json_schema()
    assert {t.name for t in ALL_TOOLS if t.human_only} == {"approve_draft", "reject_draft"}


def test_assistants_never_get_human_only_tools_and_read_only_has_no_writes() -> None:
    names = {t.name for t in select_tools(for_assistant=True)}
    assert "approve_draft" not in names and "reject_draft" not in names
    assert all(t.kind == ToolKind.READ for t in select_tools(read_only=True))


async def test_list_accounts_shows_the_demo_workspace(runtime: Any) -> None:
    out = await call(runtime, "list_accounts")
    assert sorted(out.connected_platforms) == sorted(
        ["facebook", "instagram", "linkedin", "threads", "tiktok", "reddit", "telegram", "youtube"])
    assert all(a.id.startswith("acc_") for a in out.accounts)


async def test_draft_then_approve_schedules_exactly_once(runtime: Any) -> None:
    draft = await call(runtime, "draft_post", text="Launch day!", targets=["instagram", "linkedin"],
                       when="tomorrow 9am")
    assert draft.state == DraftState.PENDING
    assert "approve_draft" in draft.next_step
    assert draft.scheduled_for.local.endswith("09:00 Europe/Berlin")
    before = await sandbox_control(runtime, "GET", "/_sandbox/stats")
    done = await call(runtime, "approve_draft", draft_id=draft.draft_id, version=draft.version)
    assert done.state == DraftState.SCHEDULED and done.post_id.startswith("post_")
    after = await sandbox_control(runtime, "GET", "/_sandbox/stats")
    key = "POST /api/v1/posts"
    assert after["requests"].get(key, 0) - before["requests"].get(key, 0) == 1
    seen = await call(runtime, "get_draft", draft_id=draft.draft_id)
    assert seen.post_id == done.post_id
    post = await call(runtime, "get_post", post_id=done.post_id)
    assert post.status == "scheduled" and post.text == "Launch day!"


async def test_every_rule_problem_is_reported_at_once_and_nothing_is_stored(runtime: Any) -> None:
    with pytest.raises(ToolError) as caught:
        await call(runtime, "draft_post", text="x" * 3412, targets=["linkedin", "youtube"], when="tomorrow 9am")
    message = str(caught.value)
    assert "3,412" in message and "3,000" in message
    assert "youtube" in message and "title" in message
    assert (await call(runtime, "list_drafts")).drafts == []


@pytest.mark.parametrize(
    ("arguments", "expected"),
    [
        ({"targets": ["instagarm"], "when": "tomorrow 9am"}, "Did you mean instagram"),
        ({"targets": ["instagram"]}, "when='tomorrow 9am'"),
        ({"targets": ["instagram"], "when": "tomorrow 9am", "publish_now": True}, "not both"),
        ({"targets": ["instagram"], "when": "next week"}, "time"),
        ({"targets": ["acc_doesnotexist"], "when": "tomorrow 9am"}, "(instagram @demo_instagram)"),
    ],
)
async def test_refusals_say_what_to_do(runtime: Any, arguments: dict[str, Any], expected: str) -> None:
    with pytest.raises(ToolError) as caught:
        await call(runtime, "draft_post", text="Hello", **arguments)
    assert expected in str(caught.value)


async def test_unknown_field_is_refused_not_ignored(runtime: Any) -> None:
    with pytest.raises(ToolError, match="not a known field"):
        await call(runtime, "list_accounts", platfrom="instagram")


async def test_edit_bumps_version_and_old_approval_is_refused(runtime: Any) -> None:
    draft = await call(runtime, "draft_post", text="v1", targets=["linkedin"], when="tomorrow 10am")
    edited = await call(runtime, "edit_draft", draft_id=draft.draft_id, version=1, text="v2")
    assert edited.version == 2 and edited.state == DraftState.PENDING
    with pytest.raises(ToolError):
        await call(runtime, "approve_draft", draft_id=draft.draft_id, version=1)
    done = await call(runtime, "approve_draft", draft_id=draft.draft_id, version=2)
    assert done.state == DraftState.SCHEDULED
    assert (await call(runtime, "get_post", post_id=done.post_id)).text == "v2"


async def test_assistant_cannot_approve(runtime: Any) -> None:
    draft = await call(runtime, "draft_post", ASSISTANT, text="From a bot", targets=["threads"], when="in 2 hours")
    assert draft.confirmation_token
    with pytest.raises(ToolError, match="assistant"):
        await call(runtime, "approve_draft", ASSISTANT, draft_id=draft.draft_id, version=1)


async def test_confirmation_token_publishes_the_previewed_version_only(runtime: Any) -> None:
    draft = await call(runtime, "draft_post", ASSISTANT, text="Token post", targets=["threads"], when="in 2 hours")
    done = await call(runtime, "draft_post", ASSISTANT, text="Token post", targets=["threads"], when="in 2 hours",
                      confirmation_token=draft.confirmation_token)
    assert done.state == DraftState.SCHEDULED
    forged = draft.confirmation_token[:-4] + "0000"
    with pytest.raises(ToolError, match="not valid"):
        await call(runtime, "draft_post", ASSISTANT, text="Token post", targets=["threads"], when="in 2 hours",
                   confirmation_token=forged)


async def test_approval_off_publishes_straight_away(settings_factory: Any) -> None:
    settings: Settings = settings_factory(SDASSIST_APPROVAL="none")
    async with open_runtime(settings, announce=False) as rt:
        out = await call(rt, "draft_post", text="Now!", targets=["facebook"], publish_now=True)
        assert out.state == DraftState.PUBLISHED
        assert "approval is switched off" in out.next_step


async def test_update_post_goes_through_approval(runtime: Any) -> None:
    draft = await call(runtime, "draft_post", text="Original", targets=["instagram"], when="tomorrow 9am")
    scheduled = await call(runtime, "approve_draft", draft_id=draft.draft_id, version=1)
    change = await call(runtime, "update_post", post_id=scheduled.post_id, text="Changed")
    assert change.state == DraftState.PENDING and change.kind == "update"
    assert (await call(runtime, "get_post", post_id=scheduled.post_id)).text == "Original"
    await call(runtime, "approve_draft", draft_id=change.draft_id, version=1)
    assert (await call(runtime, "get_post", post_id=scheduled.post_id)).text == "Changed"


async def test_cancel_scheduled_draft_deletes_the_post(runtime: Any) -> None:
    draft = await call(runtime, "draft_post", text="Cancel me", targets=["facebook"], when="tomorrow 9am")
    scheduled = await call(runtime, "approve_draft", draft_id=draft.draft_id, version=1)
    cancelled = await call(runtime, "cancel_draft", draft_id=draft.draft_id)
    assert cancelled.state == DraftState.CANCELLED
    with pytest.raises(ToolError, match="list_posts"):
        await call(runtime, "get_post", post_id=scheduled.post_id)


async def test_reject_records_the_reason(runtime: Any) -> None:
    draft = await call(runtime, "draft_post", ASSISTANT, text="Meh", targets=["facebook"], when="tomorrow 9am")
    out = await call(runtime, "reject_draft", draft_id=draft.draft_id, version=1, reason="off brand")
    assert out.state == DraftState.REJECTED
    decisions = await runtime.store.decisions(draft.draft_id)
    assert decisions[-1].to_state == DraftState.REJECTED and decisions[-1].actor_id == OPERATOR.id


async def test_dry_runs_store_nothing(runtime: Any) -> None:
    checked = await call(runtime, "check_post", text="#a #b #c #d #e #f", targets=["instagram"], when="friday 5pm")
    assert checked.ok and any("hashtag" in w for w in checked.warnings)
    assert checked.scheduled_for is not None
    bad = await call(runtime, "check_post", text="No title", targets=["youtube"])
    assert not bad.ok
    echo = await call(runtime, "resolve_time", phrase="tomorrow 9am", zone="America/New_York")
    assert "09:00" in echo.echo and "UTC" in echo.echo
    assert (await call(runtime, "list_drafts")).drafts == []


async def test_posts_analytics_media_and_webhooks(runtime: Any) -> None:
    out = await call(runtime, "draft_post", text="Live", targets=["instagram", "threads"], publish_now=True)
    done = await call(runtime, "approve_draft", draft_id=out.draft_id, version=1)
    assert done.state == DraftState.PUBLISHED
    listing = await call(runtime, "list_posts", status="published")
    assert done.post_id in [p.post_id for p in listing.posts]
    post_stats = await call(runtime, "get_analytics", post_id=done.post_id)
    assert post_stats.scope == "post"
    assert {t.platform: t.metrics is None for t in post_stats.post_targets} == {"instagram": False, "threads": True}
    workspace = await call(runtime, "get_analytics", period="7d")
    assert workspace.scope == "workspace" and workspace.total_posts >= 1
    media = await call(runtime, "upload_media", url="https://example.com/clip.mp4")
    assert media.kind == "video" and media.media_id.startswith("med_")
    with pytest.raises(ToolError, match="https"):
        await call(runtime, "create_webhook", url="http://example.com/hook")
    hook = await call(runtime, "create_webhook", url="https://example.com/hook", secret="s3cret-value")
    assert hook.signed and "s3cret-value" not in hook.model_dump_json()
    assert [h.id for h in (await call(runtime, "list_webhooks")).webhooks] == [hook.id]
    assert (await call(runtime, "delete_webhook", webhook_id=hook.id)).deleted


async def test_connect_and_disconnect_account(runtime: Any) -> None:
    link = await call(runtime, "connect_account", platform="linkedin")
    assert "/_sandbox/oauth/connect" in link.connect_url
    accounts = (await call(runtime, "list_accounts", platform="reddit")).accounts
    gone = await call(runtime, "disconnect_account", account_id=accounts[0].id)
    assert gone.disconnected
    with pytest.raises(ToolError, match="connect_account platform=reddit"):
        await call(runtime, "draft_post", text="Hi", targets=["reddit"], title="T", subreddit="r/x",
                   when="tomorrow 9am")


async def test_a_pending_draft_whose_slot_passed_shows_expired(runtime: Any) -> None:
    draft = await call(runtime, "draft_post", text="Soon", targets=["facebook"], when="in 1 minute")
    await runtime.store.expire_due(now=draft.scheduled_for.utc)
    seen = await call(runtime, "get_draft", draft_id=draft.draft_id)
    assert seen.state == DraftState.EXPIRED
    with pytest.raises(ToolError):
        await call(runtime, "approve_draft", draft_id=draft.draft_id, version=1)


async def test_list_drafts_shows_each_draft_as_its_summary_newest_first(runtime: Any) -> None:
    """What list_drafts shows of each draft is `draft_summary` of the whole draft (it validates only a few fields
    of each): several targets, zones, a publish-now draft, a scheduled post; by states, mine_only and limit."""
    made = [
        await call(runtime, "draft_post", text="Launch\nday! " + "more words " * 20,
                   targets=["instagram", "linkedin"], when="tomorrow 9am"),
        await call(runtime, "draft_post", ASSISTANT, text="Now", targets=["threads"], publish_now=True),
        await call(runtime, "draft_post", text="Evening", targets=["facebook"], when="tomorrow 8pm",
                   zone="America/New_York"),
        await call(runtime, "draft_post", ASSISTANT, text="Later", targets=["linkedin"], when="in 3 days"),
    ]
    await call(runtime, "approve_draft", draft_id=made[0].draft_id, version=1)
    await call(runtime, "reject_draft", draft_id=made[3].draft_id, version=1)
    newest_first = [d.draft_id for d in reversed(made)]
    assert [d.draft_id for d in (await call(runtime, "list_drafts")).drafts] == newest_first
    for arguments, who, which in [
        ({}, OPERATOR, {}),
        ({"limit": 2}, OPERATOR, {"limit": 2}),
        ({"states": ["pending"]}, OPERATOR, {"states": [DraftState.PENDING]}),
        ({"states": ["scheduled", "rejected", "failed"]}, OPERATOR,
         {"states": [DraftState.SCHEDULED, DraftState.REJECTED, DraftState.FAILED]}),
        ({"mine_only": True}, ASSISTANT, {"requester_id": ASSISTANT.id}),
        ({"mine_only": True, "states": ["pending", "rejected"], "limit": 1}, ASSISTANT,
         {"requester_id": ASSISTANT.id, "states": [DraftState.PENDING, DraftState.REJECTED], "limit": 1}),
    ]:
        shown = (await call(runtime, "list_drafts", who, **arguments)).drafts
        assert shown == [draft_summary(d) for d in await runtime.store.list(**{"limit": 20, **which})], arguments
    scheduled = (await call(runtime, "list_drafts", states=["scheduled"])).drafts[0]
    assert scheduled.platforms == ["instagram", "linkedin"] and scheduled.post_id.startswith("post_")
    evening = (await call(runtime, "list_drafts", states=["pending"], limit=1)).drafts[0]
    assert evening.draft_id == made[2].draft_id and " 20:00 E" in evening.scheduled_for  # New York's wall clock


async def test_rule_problems_name_the_tool_fields_to_set(runtime: Any) -> None:
    checked = await call(runtime, "check_post", text="hi", targets=["reddit", "tiktok"], title="T")
    assert any(e.startswith("reddit: subreddit is required") for e in checked.errors)
    assert any(e.startswith("tiktok: privacy is required") for e in checked.errors)
    assert not any("metadata." in e for e in checked.errors)


def test_key_value_words_are_typed_by_the_input_model() -> None:
    from sdassist.tools.arguments import AssignmentError, parse_assignments

    model = TOOLS_BY_NAME["draft_post"].input_model
    parsed = parse_assignments(model, ["text=2024", "targets=instagram, linkedin", "publish_now=true"])
    assert parsed == {"text": "2024", "targets": ["instagram", "linkedin"], "publish_now": True}
    assert parse_assignments(model, ['targets=["a,b"]'])["targets"] == ["a,b"]
    with pytest.raises(AssignmentError, match="no field 'txt'"):
        parse_assignments(model, ["txt=hi"])
    with pytest.raises(AssignmentError, match="not key=value"):
        parse_assignments(model, ["hello"])
    deep = "[" * 3000 + "]" * 3000  # a Slack command's text fits this: refused naming the field, never a crash
    with pytest.raises(AssignmentError, match=r"targets: .*nested too deeply"):
        parse_assignments(model, [f"targets={deep}"])
    with pytest.raises(AssignmentError, match=r"publish_now: .*nested too deeply"):
        parse_assignments(model, [f"publish_now={deep}"])


async def test_nobody_puts_their_words_into_someone_elses_request(settings_factory: Any) -> None:
    from sdassist.publishing.drafts import Principal

    alice = Principal(id="U_ALICE", kind="human", face="slack", name="alice")
    bob = Principal(id="U_BOB", kind="human", face="slack", name="bob")
    mallory = Principal(id="U_MALLORY", kind="human", face="slack", name="mallory")
    async with open_runtime(settings_factory(SDASSIST_APPROVERS="U_BOB"), announce=False) as rt:
        draft = await call(rt, "draft_post", alice, text="Alice's words", targets=["linkedin"], when="tomorrow 9am")
        with pytest.raises(ToolError, match="assistant can never edit"):
            await call(rt, "edit_draft", ASSISTANT, draft_id=draft.draft_id, version=1, text="The bot's words")
        with pytest.raises(ToolError, match="only the requester"):
            await call(rt, "edit_draft", mallory, draft_id=draft.draft_id, version=1, text="Mallory's words")
        await call(rt, "edit_draft", bob, draft_id=draft.draft_id, version=1, text="Bob's words")
        with pytest.raises(ToolError, match="wrote the current version"):
            await call(rt, "approve_draft", bob, draft_id=draft.draft_id, version=2)
        assert (await rt.store.get(draft.draft_id)).state == DraftState.PENDING


async def test_confirmation_tokens_mean_nothing_outside_confirm_mode(settings_factory: Any) -> None:
    async with open_runtime(settings_factory(SDASSIST_APPROVAL="slack"), announce=False) as rt:
        draft = await call(rt, "draft_post", ASSISTANT, text="Via Slack", targets=["threads"], when="in 2 hours")
        token = rt.confirmations.issue(draft.draft_id, draft.version)
        with pytest.raises(ToolError, match="not used here"):
            await call(rt, "draft_post", ASSISTANT, text="Via Slack", targets=["threads"], when="in 2 hours",
                       confirmation_token=token)
        assert (await rt.store.get(draft.draft_id)).state == DraftState.PENDING


async def test_two_approved_updates_of_one_post_do_not_undo_each_other(runtime: Any) -> None:
    draft = await call(runtime, "draft_post", text="First words", targets=["linkedin"], when="tomorrow 9am")
    post_id = (await call(runtime, "approve_draft", draft_id=draft.draft_id, version=1)).post_id
    new_text = await call(runtime, "update_post", post_id=post_id, text="Second words")
    new_time = await call(runtime, "update_post", post_id=post_id, when="tomorrow 11am")
    assert (await runtime.store.get(new_text.draft_id)).update_fields == ["text"]
    assert (await runtime.store.get(new_time.draft_id)).update_fields == ["scheduled_at"]
    await call(runtime, "approve_draft", draft_id=new_text.draft_id, version=1)
    await call(runtime, "approve_draft", draft_id=new_time.draft_id, version=1)
    post = await call(runtime, "get_post", post_id=post_id)
    assert post.text == "Second words"  # the time change, drafted from the old text, did not put it back
    assert post.scheduled_for.local.endswith("11:00 Europe/Berlin")


async def test_an_edited_update_sends_the_fields_the_edit_touched_too(runtime: Any) -> None:
    draft = await call(runtime, "draft_post", text="Edit me", targets=["facebook"], when="tomorrow 9am")
    post_id = (await call(runtime, "approve_draft", draft_id=draft.draft_id, version=1)).post_id
    change = await call(runtime, "update_post", post_id=post_id, text="Edited once")
    edited = await call(runtime, "edit_draft", draft_id=change.draft_id, version=1, tags=["launch"])
    stored = await runtime.store.get(edited.draft_id)
    assert stored.update_fields == ["text", "tags"]
    assert set(stored.to_post_update().model_dump(exclude_unset=True)) == {"text", "tags"}
