"""The runtime wires the settings into the core: the draft TTL, closing what it opened, reconcile rounds."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from sdassist.config import Settings, SettingsError
from sdassist.runtime import open_runtime
from tests.publishing.conftest import ALICE, make_draft


def settings(tmp_path: Path, **env: Any) -> Settings:
    return Settings(_env_file=None, SDASSIST_DATA_DIR=str(tmp_path), **env)


async def test_the_draft_ttl_setting_applies_to_edits_too(tmp_path: Path) -> None:
    async with open_runtime(settings(tmp_path, SDASSIST_DRAFT_TTL_HOURS="2"), announce=False,
                            reconcile=False) as rt:
        draft = await rt.store.add(make_draft(scheduled_at=datetime.now(UTC) + timedelta(days=5)), ALICE)
        edited = await rt.store.edit(draft.id, expected_version=1, changes={"text": "new words"}, actor=ALICE)
    assert abs(edited.expires_at - (datetime.now(UTC) + timedelta(hours=2))) < timedelta(minutes=1)


@pytest.mark.parametrize("hours", ["0", "-1"])
def test_a_draft_ttl_must_be_positive(tmp_path: Path, hours: str) -> None:
    with pytest.raises(SettingsError, match="SDASSIST_DRAFT_TTL_HOURS"):
        settings(tmp_path, SDASSIST_DRAFT_TTL_HOURS=hours)


@pytest.fixture
def closed(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Records which of the runtime's resources were closed."""
    from sdassist.client import SocialDock
    from sdassist.sandbox.state import SandboxState

    seen: list[str] = []
    for cls, name, label in ((SocialDock, "aclose", "client"), (SandboxState, "aclose", "sandbox")):
        real = getattr(cls, name)

        def spy(real: Any = real, label: str = label) -> Any:
            async def closing(self: Any, *a: Any, **k: Any) -> Any:
                seen.append(label)
                return await real(self, *a, **k)
            return closing

        monkeypatch.setattr(cls, name, spy())
    return seen


async def test_a_store_that_cannot_open_leaves_nothing_open(
    tmp_path: Path, closed: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from sdassist.publishing.store import DraftStore

    async def refuse(*_a: Any, **_k: Any) -> DraftStore:
        raise ConnectionError("database unreachable")

    monkeypatch.setattr(DraftStore, "open", refuse)
    with pytest.raises(ConnectionError):
        async with open_runtime(settings(tmp_path), announce=False, reconcile=False):
            pass
    assert sorted(closed) == ["client", "sandbox"]


async def test_one_failing_close_does_not_skip_the_others(
    tmp_path: Path, closed: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from sdassist.publishing.store import DraftStore

    real = DraftStore.close

    async def broken_close(self: DraftStore) -> None:
        await real(self)
        raise ConnectionError("lost the database while closing")

    monkeypatch.setattr(DraftStore, "close", broken_close)
    with pytest.raises(ConnectionError):
        async with open_runtime(settings(tmp_path), announce=False, reconcile=False):
            pass
    assert sorted(closed) == ["client", "sandbox"]


async def test_one_bad_draft_does_not_block_a_stranded_round(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from sdassist.publishing.drafts import DraftState
    from tests.publishing.conftest import force_state

    async with open_runtime(settings(tmp_path), announce=False, reconcile=False) as rt:
        bad, good = (await rt.store.add(make_draft(), ALICE)), (await rt.store.add(make_draft(), ALICE))
        for draft in (bad, good):
            await force_state(rt.store, draft.id, DraftState.UNKNOWN,
                              publish_started_at=datetime.now(UTC) - timedelta(hours=1))
        real = rt.publisher.reconcile

        async def reconcile(draft_id: str) -> Any:
            if draft_id == bad.id:
                raise RuntimeError("a draft nobody can read")
            return await real(draft_id)

        monkeypatch.setattr(rt.publisher, "reconcile", reconcile)
        settled = await rt.reconcile_stranded()
    assert [(d.id, d.state) for d in settled] == [(good.id, DraftState.FAILED)]


@pytest.mark.parametrize("url", ["https://api.socialdock.com/", "HTTPS://API.SocialDock.com", "http://api.socialdock.com",
                                 "https://api.socialdock.com/api/v1", " https://api.socialdock.com "])
async def test_without_a_key_the_production_host_means_the_embedded_sandbox(tmp_path: Path, url: str) -> None:
    from sdassist.runtime import EMBEDDED_SANDBOX_URL, build_client

    client, app = build_client(settings(tmp_path, SOCIALDOCK_BASE_URL=url))
    try:
        assert app is not None and client.base_url == EMBEDDED_SANDBOX_URL  # the sandbox key stays home
    finally:
        await client.aclose()
        if app is not None:
            await app.state.sandbox.aclose()


async def test_without_a_key_another_base_url_is_a_served_sandbox(tmp_path: Path) -> None:
    from sdassist.runtime import build_client

    client, app = build_client(settings(tmp_path, SOCIALDOCK_BASE_URL="http://127.0.0.1:8765/"))
    await client.aclose()
    assert app is None and client.base_url == "http://127.0.0.1:8765"


def test_one_default_base_url() -> None:
    from sdassist import config
    from sdassist.client import _client

    assert config.DEFAULT_BASE_URL is _client.DEFAULT_BASE_URL
    assert Settings(_env_file=None).socialdock_base_url == _client.DEFAULT_BASE_URL


async def test_the_late_post_settings_reach_the_publisher_and_every_round_looks_for_late_posts(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    env = {"SDASSIST_ATTEMPT_MAY_LAND_MINUTES": "30", "SDASSIST_LATE_POST_WATCH_HOURS": "48"}
    async with open_runtime(settings(tmp_path, **env), announce=False, reconcile=False) as rt:
        assert rt.publisher.attempt_may_land == timedelta(minutes=30)
        assert rt.publisher.late_post_watch == timedelta(hours=48)
        rounds: list[str] = []

        async def looked() -> list[Any]:
            rounds.append("watch")
            raise asyncio.CancelledError  # one round is enough

        monkeypatch.setattr(rt.publisher, "watch_late_posts", looked)
        with pytest.raises(asyncio.CancelledError):
            await rt.keep_reconciling(every=0)
    assert rounds == ["watch"]


def test_a_request_may_land_for_at_least_the_reconcile_grace(tmp_path: Path) -> None:
    with pytest.raises(SettingsError, match="SDASSIST_ATTEMPT_MAY_LAND_MINUTES"):
        settings(tmp_path, SDASSIST_ATTEMPT_MAY_LAND_MINUTES="1")


async def test_every_face_looks_for_late_posts_as_it_starts(tmp_path: Path) -> None:
    """A terminal run lasts less than a reconcile round: without a look at start, a draft whose held request
    landed would say "not found on SocialDock yet" in every `sdassist call` although its post is live."""
    from sdassist.publishing.drafts import SYSTEM, DraftState, OpenAttempt
    from tests.tools.conftest import call

    text = "Landed while no face was running"
    async with open_runtime(settings(tmp_path), announce=False, reconcile=False) as rt:
        made = await call(rt, "draft_post", text=text, targets=["linkedin"], publish_now=True)
        draft = await rt.store.get(made.draft_id)
        sent = datetime.now(UTC) - timedelta(minutes=5)
        await rt.store.transition(draft.id, to=DraftState.PUBLISHING, actor=SYSTEM,
                                  expected_state=DraftState.PENDING, changes={"publish_started_at": sent})
        attempt = OpenAttempt(sent_at=sent, may_land_until=sent + timedelta(minutes=15),
                              watch_until=sent + timedelta(hours=24), version=draft.version, text=text,
                              targets=draft.targets)
        failed = await rt.store.transition(draft.id, to=DraftState.FAILED, actor=SYSTEM,
                                           expected_state=DraftState.PUBLISHING,
                                           changes={"error": "not found on SocialDock yet",
                                                    "open_attempt": attempt.model_dump()})
        assert failed is not None and [d.id for d in await rt.store.watched()] == [draft.id]
        post = await rt.client.posts.create(draft.to_post_create())  # the held request lands, no face running
    async with open_runtime(settings(tmp_path), announce=False) as rt:  # the next `sdassist call`
        seen = await rt.store.get(draft.id)
    assert seen.state == DraftState.PUBLISHED and seen.post_id == post.id and seen.open_attempt is None
    assert seen.late_note and "landed late" in seen.late_note
