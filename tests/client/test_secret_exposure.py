"""Secrets stay out of reprs, and a live key never travels over plain http to another machine."""

from __future__ import annotations

from pathlib import Path

import pytest

from sdassist.client import SocialDock
from sdassist.config import Settings
from sdassist.tools.confirmation import ConfirmationTokens

LIVE = "sd_live_abcdefghijklmnop1234"


@pytest.mark.parametrize("url", ["http://api.socialdock.com", "http://10.0.0.5:8080", "HTTP://example.org/"])
def test_a_live_key_is_refused_over_plain_http_to_another_host(url: str) -> None:
    with pytest.raises(ValueError, match="plain http") as caught:
        SocialDock(LIVE, base_url=url)
    assert LIVE not in str(caught.value)


@pytest.mark.parametrize("url", ["https://api.socialdock.com", "http://127.0.0.1:8000", "http://localhost:9",
                                 "http://[::1]:8000"])
async def test_a_live_key_is_fine_over_tls_or_to_loopback(url: str) -> None:
    async with SocialDock(LIVE, base_url=url):
        pass


async def test_a_test_key_may_use_plain_http_anywhere() -> None:
    async with SocialDock("sd_test_sandbox", base_url="http://sandbox.example.org"):
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
