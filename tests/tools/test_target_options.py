"""Per-target settings (privacy, subreddit, chat id, location): enums per platform, sent only where a platform
takes them, and a clear refusal when none of the targets would."""

from __future__ import annotations

from typing import Any

import pytest

from sdassist.tools import TOOLS_BY_NAME, ToolError
from tests.tools.conftest import call, sandbox_control

VIDEO = "https://cdn.example.com/clip.mp4"


async def _metadata(runtime: Any, draft_id: str) -> dict[str, Any]:
    stored = await runtime.store.get(draft_id)
    return {t.platform: t.metadata for t in stored.targets}


def test_privacy_lists_each_platforms_values_and_says_which_are_whose() -> None:
    """One enum, YouTube's values in lower case, TikTok's in upper case, and a description that says so."""
    prop = TOOLS_BY_NAME["draft_post"].input_model.model_json_schema()["properties"]["privacy"]
    [values] = [b["enum"] for b in prop["anyOf"] if "enum" in b]
    assert values == ["public", "unlisted", "private",
                      "PUBLIC_TO_EVERYONE", "MUTUAL_FOLLOW_FRIENDS", "FOLLOWER_OF_CREATOR", "SELF_ONLY"]
    assert "YouTube: lower-case" in prop["description"] and "TikTok: upper-case" in prop["description"]


async def test_one_privacy_word_serves_youtube_and_tiktok_in_their_own_terms(runtime: Any) -> None:
    draft = await call(runtime, "draft_post", text="Clip", title="Clip", targets=["youtube", "tiktok"],
                       media_urls=[VIDEO], privacy="Private", when="tomorrow 9am")
    assert await _metadata(runtime, draft.draft_id) == {"youtube": {"privacy": "private"},
                                                         "tiktok": {"privacy_level": "SELF_ONLY"}}


async def test_a_privacy_value_the_platform_lacks_is_refused_with_its_choices(runtime: Any) -> None:
    with pytest.raises(ToolError, match="youtube: privacy SELF_ONLY is a TikTok level; YouTube takes public"):
        await call(runtime, "draft_post", text="Clip", title="Clip", targets=["youtube"], media_urls=[VIDEO],
                   privacy="self_only", when="tomorrow 9am")
    with pytest.raises(ToolError, match="tiktok: privacy unlisted does not exist on TikTok"):
        await call(runtime, "check_post", text="Clip", targets=["tiktok"], media_urls=[VIDEO], privacy="unlisted")
    with pytest.raises(ToolError, match="privacy"):  # not a privacy value anywhere: refused by the model
        await call(runtime, "draft_post", text="Clip", targets=["youtube"], privacy="friends", when="tomorrow 9am")


async def test_location_goes_to_the_platforms_that_take_it_and_is_refused_where_none_does(runtime: Any) -> None:
    draft = await call(runtime, "draft_post", text="At the fair", targets=["instagram", "linkedin"],
                       location="Berlin Messe", when="tomorrow 9am")
    assert await _metadata(runtime, draft.draft_id) == {"instagram": {"location": "Berlin Messe"}, "linkedin": None}
    done = await call(runtime, "approve_draft", draft_id=draft.draft_id, version=draft.version)
    record = runtime.sandbox_app.state.sandbox.posts[done.post_id]  # what SocialDock received
    assert {t.platform: t.metadata for t in record.targets} == {"instagram": {"location": "Berlin Messe"},
                                                                "linkedin": {}}
    with pytest.raises(ToolError) as refused:
        await call(runtime, "draft_post", text="Hi", targets=["linkedin"], location="Berlin", when="tomorrow 9am")
    assert "location applies only to instagram and facebook" in refused.value.message
    with pytest.raises(ToolError, match="subreddit applies only to reddit"):
        await call(runtime, "draft_post", text="Hi", targets=["linkedin"], subreddit="r/x", when="tomorrow 9am")


async def test_a_setting_edited_on_its_own_applies_to_the_current_targets(runtime: Any) -> None:
    draft = await call(runtime, "draft_post", text="At the fair", targets=["facebook"], when="tomorrow 9am")
    edited = await call(runtime, "edit_draft", draft_id=draft.draft_id, version=1, location="Hall 4")
    assert edited.version == 2
    assert await _metadata(runtime, draft.draft_id) == {"facebook": {"location": "Hall 4"}}
    with pytest.raises(ToolError, match="chat_id applies only to telegram"):
        await call(runtime, "edit_draft", draft_id=draft.draft_id, version=2, chat_id="@news")


async def test_list_accounts_shows_status_and_when_connected_and_names_a_broken_one(runtime: Any) -> None:
    out = await call(runtime, "list_accounts")
    assert all(a.status == "active" and a.connected_at is not None for a in out.accounts)
    assert out.next_step is None
    reddit = next(a for a in out.accounts if a.platform == "reddit")
    await sandbox_control(runtime, "POST", f"/_sandbox/accounts/{reddit.id}/status", json={"status": "expired"})
    out = await call(runtime, "list_accounts")
    assert next(a for a in out.accounts if a.id == reddit.id).status == "expired"
    assert "reddit" in out.next_step and "(expired)" in out.next_step and "connect_account" in out.next_step


def test_privacy_values_are_the_platform_rules_values() -> None:
    """The `privacy` field takes exactly the values the platform rules check, YouTube's then TikTok's."""
    from typing import get_args

    from sdassist.publishing.platforms import RULES, TIKTOK_PRIVACY, YOUTUBE_PRIVACY
    from sdassist.tools.targets import Privacy

    assert get_args(Privacy) == YOUTUBE_PRIVACY + TIKTOK_PRIVACY
    assert RULES["youtube"].metadata_choices["privacy"] == YOUTUBE_PRIVACY
    assert RULES["tiktok"].metadata_choices["privacy_level"] == TIKTOK_PRIVACY


async def test_every_preview_shows_each_targets_settings_as_sent(runtime: Any) -> None:
    """A setting is part of what goes out (privacy=private is SELF_ONLY on TikTok): the draft the user confirms
    from (the tool's answer, the MCP question, the confirmation page, the terminal) shows it per target, and an
    edit that changes only a setting shows the change."""
    from sdassist.mcp.confirm import describe
    from sdassist.terminal.render import summary
    from sdassist.web.confirm import draft_details

    draft = await call(runtime, "draft_post", text="Clip", title="Clip", targets=["youtube", "tiktok", "telegram"],
                       media_urls=[VIDEO], privacy="private", chat_id="@launches", when="tomorrow 9am")
    assert {t.platform: t.settings for t in draft.targets} == {
        "youtube": {"privacy": "private"}, "tiktok": {"privacy": "SELF_ONLY"}, "telegram": {"chat_id": "@launches"}}
    question = describe(TOOLS_BY_NAME["draft_post"], draft, sandbox=True)
    assert "youtube (acc_" in question and "privacy: private)" in question and "privacy: SELF_ONLY)" in question
    assert "chat_id: @launches)" in question
    page = draft_details(await runtime.store.get(draft.draft_id), sandbox=True)
    assert "privacy: SELF_ONLY" in page and "chat_id: @launches" in page
    from sdassist.slack.blocks import card

    slack_card = str(card(await runtime.store.get(draft.draft_id)))  # the same names on the Slack card
    assert "privacy: SELF_ONLY" in slack_card and "privacy_level" not in slack_card
    rows = summary(draft.model_dump(mode="json", exclude_none=True)["targets"])
    assert "tiktok: acc_" in rows and "(privacy: SELF_ONLY)" in rows
    edited = await call(runtime, "edit_draft", draft_id=draft.draft_id, version=1, chat_id="@news")
    assert [t.settings for t in edited.targets if t.platform == "telegram"] == [{"chat_id": "@news"}]
    plain = await call(runtime, "draft_post", text="Hi", targets=["linkedin"], when="tomorrow 9am")
    assert plain.targets[0].settings is None  # no setting, nothing shown


async def test_nothing_to_change_names_every_field_an_edit_takes(runtime: Any) -> None:
    """An edit of only a setting is an edit (above): the refusal of an empty one lists the settings too."""
    draft = await call(runtime, "draft_post", text="Hi", targets=["instagram"], when="tomorrow 9am")
    with pytest.raises(ToolError, match="nothing to change") as caught:
        await call(runtime, "edit_draft", draft_id=draft.draft_id, version=1)
    for name in ("text", "targets", "when", "publish_now", "subreddit", "privacy", "chat_id", "location"):
        assert name in caught.value.hint
    edited = await call(runtime, "edit_draft", draft_id=draft.draft_id, version=1, location="Berlin")
    assert edited.version == 2 and edited.targets[0].settings == {"location": "Berlin"}


async def test_when_now_means_once_approved_in_every_tool_that_drafts(runtime: Any) -> None:
    """A post is approved first, so "now" can only mean once approved (as Slack's `post "…" now`). Kept as this
    instant it passed before anyone approved it, and the draft could never go out."""
    for when in ("now", "Right now", " immediately "):
        draft = await call(runtime, "draft_post", text="Hi", targets=["linkedin"], when=when)
        assert draft.publish_now is True and draft.scheduled_for is None
    both = await call(runtime, "draft_post", text="Hi", targets=["linkedin"], when="now", publish_now=True)
    assert both.publish_now is True
    scheduled = await call(runtime, "draft_post", text="Hi", targets=["linkedin"], when="tomorrow 9am")
    edited = await call(runtime, "edit_draft", draft_id=scheduled.draft_id, version=1, when="now")
    assert edited.publish_now is True and edited.scheduled_for is None and edited.version == 2
    approved = await call(runtime, "approve_draft", draft_id=edited.draft_id, version=2)
    assert approved.state == "published"
