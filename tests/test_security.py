"""Secrets stay secret: a full run through the tool layer and the CLI never shows the key or the webhook secret.

A sandbox served by uvicorn accepts a recognisable key (`SandboxConfig.keys`), so the client really
authenticates with it over HTTP; logs are captured at DEBUG with SDASSIST_LOG=debug.
"""

from __future__ import annotations

import importlib.util
import json
import logging
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from sdassist.config import Settings
from sdassist.publishing.drafts import Principal
from sdassist.runtime import open_runtime
from sdassist.sandbox import SandboxConfig
from sdassist.tools import get_tool
from sdassist.tools.errors import ToolError
from sdassist.tools.webhooks import check_webhook_url

ROOT = Path(__file__).resolve().parents[1]
KEY = "sd_live_SECRETKEY_7f3a9c2e51d84b06"
KEY_TAIL = "7f3a9c2e51d84b06"
WEBHOOK_SECRET = "whsec_SECRET_5e1b77c0d9a24f33"
SECRET_TAIL = "5e1b77c0d9a24f33"
OPERATOR = Principal(id="cli:sec", kind="operator", face="cli", name="sec")


def _served_sandbox() -> Any:
    spec = importlib.util.spec_from_file_location("bench_faults_sec", ROOT / "bench" / "faults.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module.ServedSandbox(SandboxConfig(keys={KEY: "ACCELERATE"}, webhook_max_attempts=1))


@pytest.fixture(scope="module")
def sandbox() -> Iterator[Any]:
    with _served_sandbox() as served:
        yield served


def assert_clean(text: str, where: str) -> None:
    for secret in (KEY, KEY_TAIL, WEBHOOK_SECRET, SECRET_TAIL):
        assert secret not in text, f"{where} shows a secret: ...{text[max(0, text.find(secret) - 80):][:200]}"


async def test_tool_outputs_errors_and_logs_never_show_the_key_or_the_webhook_secret(
    sandbox: Any, tmp_path: Path, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("SDASSIST_LOG", "debug")
    caplog.set_level(logging.DEBUG)
    settings = Settings(_env_file=None, SDASSIST_DATA_DIR=str(tmp_path), SOCIALDOCK_API_KEY=KEY,
                        SOCIALDOCK_BASE_URL=sandbox.url, SDASSIST_WEBHOOK_SECRET=WEBHOOK_SECRET,
                        SDASSIST_APPROVAL="none", SDASSIST_ALLOW_SELF_APPROVAL="1")
    seen: list[str] = [repr(settings), str(settings.model_dump())]
    async with open_runtime(settings, announce=False) as rt:
        seen.append(repr(rt.client))

        async def call(name: str, **args: Any) -> Any:
            try:
                out = await get_tool(name).run(rt.context(OPERATOR), args)
            except ToolError as exc:
                seen.append(f"{exc} {exc.hint}")
                return None
            seen.append(out.model_dump_json())
            return out

        assert await call("list_accounts") is not None
        drafted = await call("draft_post", text="Security run", targets=["linkedin"], when="tomorrow 9am")
        assert drafted is not None
        post_id = getattr(drafted, "post_id", None)  # approval "none": trusted automation publishes at once
        if not post_id:
            approved = await call("approve_draft", draft_id=drafted.draft_id, version=drafted.version)
            assert approved is not None, seen[-1]
            post_id = approved.post_id
        assert post_id
        await call("get_post", post_id=post_id)
        hook = await call("create_webhook", url="http://127.0.0.1:9/hook", events=["post_published"])
        assert hook is not None
        await call("list_webhooks")
        await call("get_post", post_id="post_does_not_exist")  # an API error's text
        await call("create_webhook", url=f"http://example.com/{KEY}", secret=WEBHOOK_SECRET)  # refused
        await call("draft_post", text=KEY, targets=["nowhere"])  # a key pasted into input is not echoed back
        await call("delete_webhook", webhook_id=hook.id)
    captured = capsys.readouterr()
    seen += [caplog.text, captured.out, captured.err]
    assert caplog.records  # debug logging really ran
    for i, text in enumerate(seen):
        assert_clean(text, f"output #{i}")


def test_a_cli_run_never_shows_the_key(sandbox: Any, tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SDASSIST_", "SOCIALDOCK_", "SLACK_"))}
    env.update(SDASSIST_DATA_DIR=str(tmp_path), SOCIALDOCK_API_KEY=KEY, SOCIALDOCK_BASE_URL=sandbox.url,
               SDASSIST_WEBHOOK_SECRET=WEBHOOK_SECRET, SDASSIST_LOG="debug")

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "sdassist", *args], capture_output=True, text=True, env=env,
                              timeout=60, check=False)

    outputs = [run("call", "list_accounts"), run("call", "get_post", "post_id=post_missing"),
               run("call", "draft_post", "text=CLI security", "targets=linkedin", "when=tomorrow 9am"),
               run("call", "create_webhook", "url=http://127.0.0.1:9/hook"), run("call", "list_webhooks")]
    assert outputs[0].returncode == 0, outputs[0].stderr
    assert json.loads(outputs[0].stdout)
    for i, out in enumerate(outputs):
        assert_clean(out.stdout + out.stderr, f"CLI run #{i}")


@pytest.mark.parametrize("url", ["http://example.com/hook", "http://10.0.0.1/hook", "ftp://example.com/x",
                                 "http://localhost.example.com/hook", "https://", "javascript:alert(1)"])
def test_webhook_urls_must_be_https_except_loopback(url: str) -> None:
    with pytest.raises(ToolError, match="https"):
        check_webhook_url(url)


@pytest.mark.parametrize("url", ["https://example.com/hook", "http://127.0.0.1:8080/hook", "http://localhost/h",
                                 "http://[::1]:9/h"])
def test_https_and_loopback_webhook_urls_are_accepted(url: str) -> None:
    assert check_webhook_url(url, loopback_ok=True) == url


# --- the Slack face -------------------------------------------------------------------------------------

BOT_TOKEN = "xoxb-SECRETBOT-4c1d9e7a2b"
SIGNING = "slacksign_SECRET_93b0f1e6d2"
SLACK_SECRETS = (KEY, KEY_TAIL, WEBHOOK_SECRET, SECRET_TAIL, BOT_TOKEN, "4c1d9e7a2b", SIGNING, "93b0f1e6d2")


async def test_a_slack_run_never_shows_a_token_secret_or_key_and_forged_requests_change_nothing(
    tmp_path: Path, caplog: pytest.LogCaptureFixture,
) -> None:
    import asyncio
    import time

    import aiohttp
    import httpx
    from aiohttp.test_utils import TestServer

    from sdassist.client import SocialDock
    from sdassist.sandbox import create_app
    from sdassist.slack.app import SlackFace, web_client
    from tests.slack.conftest import APPROVER, STRANGER, Harness, slack_settings
    from tests.slack.fake_slack import FakeSlack

    caplog.set_level(logging.DEBUG)
    fake = await FakeSlack().start()
    sandbox_app = create_app(SandboxConfig(keys={KEY: "ACCELERATE"}, webhook_backoff_seconds=0.02, tick_seconds=0.05))
    transport = httpx.ASGITransport(app=sandbox_app)
    sandbox = httpx.AsyncClient(transport=transport, base_url="http://sandbox.test")
    settings = slack_settings(tmp_path, fake, SLACK_BOT_TOKEN=BOT_TOKEN, SLACK_SIGNING_SECRET=SIGNING,
                              SDASSIST_WEBHOOK_SECRET=WEBHOOK_SECRET, SOCIALDOCK_API_KEY=KEY,
                              SDASSIST_DATABASE_URL=f"sqlite+aiosqlite:///{tmp_path / 'sec.db'}")
    client = SocialDock(KEY, base_url="http://sandbox.test", transport=transport)
    seen: list[str] = [repr(settings), str(settings.model_dump())]
    try:
        async with open_runtime(settings, client=client, announce=False) as rt, aiohttp.ClientSession() as http:
            face = SlackFace(settings, rt, web_client(settings))
            server = TestServer(face.web_app(), host="127.0.0.1", port=0)
            await server.start_server()
            await face.start(poll_interval=0.1)
            h = Harness(fake, face, f"http://127.0.0.1:{server.port}", sandbox, http)
            try:
                await h.command("help", secret=SIGNING)
                await h.command('schedule "Security day" tomorrow 9am on linkedin', secret=SIGNING)
                draft = await h.card_of((await h.latest_draft()).id)
                await h.click("sd_approve", draft.id, 1, secret=SIGNING)
                draft = await h.wait_state(draft.id, "scheduled")
                event = {"id": "evt_sec", "event": "post_published", "created_at": "2026-03-26T10:00:00Z",
                         "data": {"post_id": draft.post_id, "platform": "linkedin", "status": "published",
                                  "platform_post_id": "urn:1"}}
                assert (await h.webhook(event, secret=WEBHOOK_SECRET)).status == 200
                await fake.wait_for("chat.postMessage", where=lambda p: "Published on" in (p.get("text") or ""))
                await h.command('schedule "Second post" tomorrow 10am on linkedin', secret=SIGNING)
                other = await h.card_of((await h.latest_draft()).id)
                await h.click("sd_approve", other.id, 1, user=STRANGER, secret=SIGNING)  # a refused click
                await fake.wait_for("chat.postEphemeral", where=lambda p: p["user"] == STRANGER)
                await h.command("schedule Launch tomorrow on nowhere", secret=SIGNING)  # a grammar error
                await h.command("get_post post_id=post_missing", secret=SIGNING)  # a SocialDock error
                await fake.wait_for("response_url", count=3)

                # forged: a bad signature, a stale timestamp, a webhook signed with the wrong secret
                stats = (await sandbox.get("/_sandbox/stats")).json()["data"]["posts"]
                drafts = [(d.id, d.state, d.version, d.target_results) for d in await rt.store.list()]
                calls = len(fake.calls)
                assert (await h.click("sd_approve", other.id, 1, user=APPROVER, secret="wrong")).status == 401
                assert (await h.click("sd_approve", other.id, 1, user=APPROVER, secret=SIGNING,
                                      timestamp=int(time.time()) - 600)).status == 401
                assert (await h.command('schedule "Forged" now on linkedin', secret=SIGNING[:-1])).status == 401
                failed = {**event, "id": "evt_forged", "event": "post_failed",
                          "data": {**event["data"], "status": "failed", "error": "forged"}}
                assert (await h.webhook(failed, secret="not-the-secret")).status == 401
                await asyncio.sleep(0.3)
                assert (await sandbox.get("/_sandbox/stats")).json()["data"]["posts"] == stats
                assert [(d.id, d.state, d.version, d.target_results) for d in await rt.store.list()] == drafts
                assert [m for m, _ in fake.calls[calls:] if m not in ("users.info", "users.list", "auth.test")] == []
            finally:
                await asyncio.sleep(0.2)
                await face.stop()
                await server.close()
        seen += [json.dumps(p, default=str) for _, p in fake.calls]  # every message: text and blocks
        assert any("Security day" in s for s in seen)  # the run really reached Slack
    finally:
        await fake.stop()
        await sandbox.aclose()
        await sandbox_app.state.sandbox.aclose()
    seen.append(caplog.text)
    assert caplog.records
    for i, text in enumerate(seen):
        for secret in SLACK_SECRETS:
            assert secret not in text, f"Slack output #{i}: ...{text[max(0, text.find(secret) - 80):][:200]}"
