"""Changing drafts and scheduled posts: one dry run decides, with every problem keyed by the field it is about."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from sdassist.publishing.drafts import DraftState
from sdassist.tools import ToolError
from sdassist.tools.changes import check_draft_change
from sdassist.tools.compose import is_public_url
from tests.tools.conftest import OPERATOR, call


async def scheduled_reddit_post(runtime: Any) -> Any:
    draft = await call(runtime, "draft_post", text="AMA tomorrow", title="Ask us anything", targets=["reddit"],
                       subreddit="r/python", when="tomorrow 9am")
    return await call(runtime, "approve_draft", draft_id=draft.draft_id, version=1)


async def test_update_post_takes_metadata_from_the_draft_that_made_the_post(runtime: Any) -> None:
    done = await scheduled_reddit_post(runtime)
    change = await call(runtime, "update_post", post_id=done.post_id, text="AMA moved", when="tomorrow 10am")
    assert change.state == DraftState.PENDING and change.kind == "update"
    stored = await runtime.store.get(change.draft_id)
    assert stored.targets[0].metadata == {"subreddit": "r/python"}
    approved = await call(runtime, "approve_draft", draft_id=change.draft_id, version=1)
    assert approved.state == DraftState.SCHEDULED
    assert (await call(runtime, "get_post", post_id=done.post_id)).text == "AMA moved"


async def test_update_post_of_a_post_sdassist_did_not_make_skips_metadata_rules(runtime: Any) -> None:
    accounts = await runtime.client.accounts.list()
    reddit = next(a for a in accounts if a.platform == "reddit")
    from sdassist.client.models import PostCreate
    when = (datetime.now(UTC) + timedelta(days=2)).isoformat()
    created = await runtime.client.posts.create(PostCreate.model_validate({
        "text": "Made elsewhere", "title": "Elsewhere", "publish_now": False, "scheduled_at": when,
        "targets": [{"platform": "reddit", "account_id": reddit.id, "metadata": {"subreddit": "r/x"}}]}))
    change = await call(runtime, "update_post", post_id=created.id, text="Changed elsewhere")
    assert change.state == DraftState.PENDING


async def test_an_update_draft_keeps_its_accounts_and_schedule(runtime: Any) -> None:
    done = await scheduled_reddit_post(runtime)
    change = await call(runtime, "update_post", post_id=done.post_id, text="AMA moved")
    with pytest.raises(ToolError, match="targets cannot change: a change to a scheduled post keeps"):
        await call(runtime, "edit_draft", draft_id=change.draft_id, version=1, targets=["instagram"])
    with pytest.raises(ToolError, match="publish_now cannot be set"):
        await call(runtime, "edit_draft", draft_id=change.draft_id, version=1, publish_now=True)
    edited = await call(runtime, "edit_draft", draft_id=change.draft_id, version=1, text="AMA moved again")
    assert edited.version == 2 and edited.scheduled_for is not None


async def test_the_dry_run_keys_every_problem_by_its_field(runtime: Any) -> None:
    draft = await call(runtime, "draft_post", text="Hello", targets=["linkedin"], when="tomorrow 9am")
    stored = await runtime.store.get(draft.draft_id)
    change = await check_draft_change(runtime.context(OPERATOR), stored, text="x" * 3100, when="03/04 9am",
                                      media_urls=["ftp://nope"])
    assert set(change.problems) == {"text", "when", "media_urls"}
    assert "3,100 characters" in change.problems["text"][0]
    assert "http(s)" in change.problems["media_urls"][0]
    with pytest.raises(ToolError) as refused:
        change.raise_if_problems()
    assert 'try "' in (refused.value.hint or "")
    assert (await runtime.store.get(draft.draft_id)).version == 1
    fine = await check_draft_change(runtime.context(OPERATOR), stored, text="Hello again")
    assert fine.ok and fine.changes == {"text": "Hello again"}


def test_one_media_url_check() -> None:
    assert is_public_url("https://x.test/a.png") and is_public_url("HTTP://x.test/a.png")
    assert not is_public_url("ftp://x.test/a.png") and not is_public_url("/tmp/a.png")


async def test_only_approvers_administer_from_slack(settings_factory: Any) -> None:
    from sdassist.publishing.drafts import Principal
    from sdassist.runtime import open_runtime
    from tests.tools.conftest import ASSISTANT

    async with open_runtime(settings_factory(SDASSIST_APPROVERS="U0BOSS"), announce=False) as rt:
        stranger = Principal(id="U0NOBODY", kind="human", face="slack", name="nobody")
        boss = Principal(id="U0BOSS", kind="human", face="slack", name="boss")
        for tool, arguments in (("delete_post", {"post_id": "post_x"}), ("delete_webhook", {"webhook_id": "wh_x"}),
                                ("disconnect_account", {"account_id": "acc_x"}),
                                ("create_webhook", {"url": "https://example.com/hook"})):
            with pytest.raises(ToolError, match="not an approver"):
                await call(rt, tool, stranger, **arguments)
        for who in (boss, OPERATOR, ASSISTANT):
            with pytest.raises(ToolError, match="list_posts"):  # allowed: SocialDock answers "not found"
                await call(rt, "delete_post", who, post_id="post_x")


async def test_a_handle_on_several_platforms_is_a_question_not_a_guess() -> None:
    from sdassist.client.models import Account
    from sdassist.tools.targets import resolve_targets

    accounts = [Account(id="acc_ig", platform="instagram", username="@brand"),
                Account(id="acc_li", platform="linkedin", username="@brand"),
                Account(id="acc_fb", platform="facebook", username="@solo")]

    class Client:
        class accounts:  # stands in for SocialDock.accounts
            @staticmethod
            async def list() -> list[Account]:
                return accounts

    from sdassist.tools.targets import TargetOptions
    with pytest.raises(ToolError, match="several platforms") as refused:
        await resolve_targets(Client(), ["@brand"], TargetOptions())  # type: ignore[arg-type]
    assert "'instagram @brand'" in (refused.value.hint or "") and "'linkedin @brand'" in (refused.value.hint or "")
    picked = await resolve_targets(Client(), ["linkedin @brand", "@solo"], TargetOptions())  # type: ignore[arg-type]
    assert [t.account_id for t in picked] == ["acc_li", "acc_fb"]
