"""Secrets stay out of reprs, and a live key never travels over plain http to another machine."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from sdassist.client import PUBLIC_SANDBOX_KEY, SocialDock
from sdassist.config import Settings
from sdassist.netsafety import InsecureTransport
from sdassist.tools.confirmation import ConfirmationTokens

LIVE = "sd_live_abcdefghijklmnop1234"


KEYS_OF_EVERY_FORM = [LIVE, f" {LIVE}", f"{LIVE}\n", "SD_LIVE_abcdefghijklmnop1234", "Sd_Live_abcdefghijklmnop1234",
                      "sd_test_abcdefghijklmnop1234", " SD_TEST_abcdefghijklmnop1234 ", "abcdefghijklmnop1234"]


@pytest.mark.parametrize("url", ["http://api.socialdock.com", "http://10.0.0.5:8080", "HTTP://example.org/",
                                 " http://example.org", "http://127.0.0.1.nip.io/", "ftp://example.org",
                                 # hosts a URL checker may decode or map to loopback, an HTTP client does not:
                                 "http://127%2e0%2e0%2e1:9", "http://localhost%2e:9", "http://loc%61lhost:9"])
@pytest.mark.parametrize("key", KEYS_OF_EVERY_FORM)
def test_no_key_of_any_form_goes_over_plain_http_to_another_host(url: str, key: str) -> None:
    with pytest.raises(InsecureTransport, match=r"unencrypted. Use https:// in SOCIALDOCK_BASE_URL") as caught:
        SocialDock(key, base_url=url)
    assert key.strip() not in str(caught.value) and "abcdefghijklmnop" not in str(caught.value)


@pytest.mark.parametrize("key", KEYS_OF_EVERY_FORM)
async def test_the_key_is_normalised_once_and_sent_as_trimmed(key: str) -> None:
    seen: list[str] = []

    def answer(request: httpx.Request) -> httpx.Response:
        seen.append(request.headers["Authorization"])
        return httpx.Response(200, json={"data": [], "meta": {}})

    async with SocialDock(key, base_url="http://127.0.0.1:9", transport=httpx.MockTransport(answer)) as client:
        await client.accounts.list()
    assert seen == [f"Bearer {key.strip()}"]


def test_settings_refuse_an_insecure_key_or_bot_token_at_start(tmp_path: Path) -> None:
    def settings(**values: str) -> Settings:
        return Settings(_env_file=None, SDASSIST_DATA_DIR=str(tmp_path), **values)

    with pytest.raises(InsecureTransport, match=r"SocialDock API key .* SOCIALDOCK_BASE_URL"):
        settings(SOCIALDOCK_API_KEY=" sd_live_x", SOCIALDOCK_BASE_URL="http://example.org").check_secret_transports()
    with pytest.raises(InsecureTransport, match=r"Slack bot token .* SDASSIST_SLACK_API_URL"):
        settings(SLACK_BOT_TOKEN="xoxb-1", SDASSIST_SLACK_API_URL="http://10.0.0.3/api/").check_secret_transports()
    settings(SOCIALDOCK_API_KEY="sd_live_x", SOCIALDOCK_BASE_URL="http://[::1]:8080",
             SLACK_BOT_TOKEN="xoxb-1", SDASSIST_SLACK_API_URL="http://localhost:9/api/").check_secret_transports()
    settings(SOCIALDOCK_BASE_URL="http://sandbox-box:8787").check_secret_transports()  # the public sandbox key


@pytest.mark.parametrize("url", ["http://slack.example.org/api/", "HTTP://10.0.0.3/api", "http://0x7f.1.evil/api"])
def test_the_slack_bot_token_goes_only_over_tls_or_to_loopback(tmp_path: Path, url: str) -> None:
    from sdassist.slack.app import web_client

    settings = Settings(_env_file=None, SDASSIST_DATA_DIR=str(tmp_path), SLACK_BOT_TOKEN=" xoxb-secret-77 ",
                        SDASSIST_SLACK_API_URL=url)
    with pytest.raises(InsecureTransport, match="Slack bot token") as caught:
        web_client(settings)
    assert "xoxb-secret-77" not in str(caught.value)
    for ok in ("https://slack.example.org/api/", "http://127.0.0.1:9/api/"):
        client = web_client(settings.model_copy(update={"slack_api_url": ok}))
        assert client.token == "xoxb-secret-77"


@pytest.mark.parametrize("url", ["https://api.socialdock.com", "http://127.0.0.1:8000", "http://localhost:9",
                                 "http://[::1]:8000"])
async def test_a_live_key_is_fine_over_tls_or_to_loopback(url: str) -> None:
    async with SocialDock(LIVE, base_url=url):
        pass


async def test_only_the_published_sandbox_key_may_use_plain_http_anywhere() -> None:
    async with SocialDock(PUBLIC_SANDBOX_KEY, base_url="http://sandbox.example.org"):
        pass


def test_confirmation_key_is_not_in_the_repr() -> None:
    tokens = ConfirmationTokens.with_key("shared-confirm-secret-1234")
    assert "shared-confirm-secret-1234" not in repr(tokens) and "key" not in repr(tokens)


def test_database_password_is_masked_in_the_settings_repr_and_still_usable(tmp_path: Path) -> None:
    url = "postgresql+asyncpg://sdassist:pa55word-xyz@db.internal:5432/sdassist"
    settings = Settings(_env_file=None, SDASSIST_DATA_DIR=str(tmp_path), SDASSIST_DATABASE_URL=url)
    for shown in (repr(settings), str(settings)):
        assert "pa55word-xyz" not in shown and "sdassist:***@db.internal:5432" in shown
    assert settings.database_url == url and settings.effective_database_url == url


@pytest.mark.parametrize("face", [["call", "list_accounts"], ["mcp"], ["slack"]])
def test_every_face_refuses_an_insecure_key_in_one_line_before_starting(tmp_path: Path, face: list[str]) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SDASSIST_", "SOCIALDOCK_", "SLACK_"))}
    env.update(SDASSIST_DATA_DIR=str(tmp_path), SOCIALDOCK_API_KEY=" SD_LIVE_abcdefghijklmnop1234",
               SOCIALDOCK_BASE_URL="http://example.org", SLACK_BOT_TOKEN="xoxb-1", SLACK_SIGNING_SECRET="s",
               SDASSIST_APPROVAL_CHANNEL="C1")
    done = subprocess.run([sys.executable, "-m", "sdassist", *face], env=env, capture_output=True, text=True,
                          stdin=subprocess.DEVNULL, timeout=60)
    assert done.returncode == 2, done.stderr
    assert "refusing to send the SocialDock API key over http:// to example.org" in done.stderr
    assert "Traceback" not in done.stderr and "abcdefghijklmnop" not in done.stderr + done.stdout
