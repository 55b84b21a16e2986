"""The key never shows in logs, reprs or errors; webhook signatures verify exactly."""

from __future__ import annotations

import logging

import pytest
from pydantic import SecretStr

from sdassist.client import SocialDock, sign_payload, verify_signature
from sdassist.client.errors import AuthenticationError, TransportError
from sdassist.client.logs import redact

from .conftest import Sandbox

SECRET_KEY = "sd_test_sandbox"
BAD_KEY = "sd_live_Zx9secretvalue"


async def test_key_never_logged(sandbox: Sandbox, caplog: pytest.LogCaptureFixture,
                                monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SDASSIST_LOG", "debug")
    caplog.set_level(logging.DEBUG, logger="sdassist.client")
    client = sandbox.client(SECRET_KEY)
    await client.accounts.list()
    with pytest.raises(AuthenticationError) as caught:
        await sandbox.client(BAD_KEY).accounts.list()
    logging.getLogger("sdassist.client").debug("header was Authorization: Bearer %s", BAD_KEY)
    assert "GET /api/v1/accounts" in caplog.text
    for key in (SECRET_KEY, BAD_KEY):
        assert key not in caplog.text
        assert key not in str(caught.value) and key not in repr(caught.value)
        assert key not in repr(client)


async def test_silent_unless_switched_on(asgi_sandbox: Sandbox, caplog: pytest.LogCaptureFixture,
                                         monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SDASSIST_LOG", raising=False)
    caplog.set_level(logging.DEBUG, logger="sdassist.client")
    await asgi_sandbox.client().accounts.list()
    assert not [r for r in caplog.records if r.name == "sdassist.client"]


def test_repr_shows_only_the_mode_prefix() -> None:
    client = SocialDock(SecretStr("sd_live_abcdefgh"))
    assert repr(client) == "SocialDock(base_url='https://api.socialdock.com', key=sd_live_…****)"
    assert not client.is_test_key and SocialDock("sd_test_x").is_test_key
    assert "abcdefgh" not in str(client)


def test_redact() -> None:
    assert redact("Bearer sd_live_abc123 and sd_test_x_y") == "Bearer [redacted] and [redacted]"
    assert "tok" not in redact("authorization: bearer tok")


async def test_transport_error_text_has_no_key() -> None:
    from .conftest import free_port

    async with SocialDock(BAD_KEY, base_url=f"http://127.0.0.1:{free_port()}", max_retries=0) as client:
        with pytest.raises(TransportError) as caught:
            await client.webhooks.list()
    assert BAD_KEY not in str(caught.value)


def test_signatures() -> None:
    body = b'{"id":"evt_1","event":"post_published"}'
    signature = sign_payload(body, "whsec")
    assert len(signature) == 64 and signature == signature.lower()
    assert verify_signature(body, signature, "whsec")
    assert verify_signature(body, signature.upper(), "whsec")
    assert not verify_signature(body + b" ", signature, "whsec")
    assert not verify_signature(body, signature, "other")
    for garbage in (None, "", "zz", "abc", signature[:-2], "é" * 64):
        assert not verify_signature(body, garbage, "whsec")
