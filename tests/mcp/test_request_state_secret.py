"""SDASSIST_REQUEST_STATE_SECRET: the key ring the SDK seals requestState with, shared by every MCP worker."""

from __future__ import annotations

from pathlib import Path

import pytest
from mcp.server.mcpserver import InvalidRequestState

from sdassist.config import Settings, SettingsError
from sdassist.mcp.server import request_state_security
from sdassist.mcp.state_key import DatabaseKeyCodec

OLD, NEW = "o" * 16 + "old-request-state-key-0123456789", "n" * 16 + "new-request-state-key-0123456789"


def settings(tmp_path: Path, **env: str) -> Settings:
    return Settings(_env_file=None, SDASSIST_DATA_DIR=str(tmp_path), **env)


def test_a_short_key_is_refused_by_name_without_echoing_it(tmp_path: Path) -> None:
    with pytest.raises(SettingsError) as refused:
        settings(tmp_path, SDASSIST_REQUEST_STATE_SECRET=f"{NEW},tooshort-secret")
    message = str(refused.value)
    assert message.startswith("SDASSIST_REQUEST_STATE_SECRET: each comma-separated key must be at least 32")
    assert "tooshort-secret" not in message and NEW not in message


async def test_unset_every_instance_on_one_database_seals_with_its_key(tmp_path: Path) -> None:
    """No setting: the key is the database's, made by the first instance and read by every other one; nothing is
    sealed or opened before it is read (fail closed)."""
    from sdassist.publishing.media import REQUEST_STATE_KEY, URL_SIGNING_KEY, MediaStore

    one, two = request_state_security(settings(tmp_path)), request_state_security(settings(tmp_path))
    assert isinstance(one.codec, DatabaseKeyCodec) and isinstance(two.codec, DatabaseKeyCodec)
    with pytest.raises(InvalidRequestState):
        one.codec.seal(b"too early")
    url = f"sqlite+aiosqlite:///{tmp_path / 'shared.db'}"
    first, second = await MediaStore.open(url, tmp_path), await MediaStore.open(url, tmp_path)
    try:
        one.codec.load(await first.shared_key(REQUEST_STATE_KEY))
        two.codec.load(await second.shared_key(REQUEST_STATE_KEY))
        assert two.codec.unseal(one.codec.seal(b"round one")) == b"round one"
        assert await first.shared_key(REQUEST_STATE_KEY) != await first.shared_key(URL_SIGNING_KEY)
    finally:
        await first.close()
        await second.close()
    other = request_state_security(settings(tmp_path))
    assert isinstance(other.codec, DatabaseKeyCodec)
    other.codec.load("another-database-key-0123456789-0123456789")
    with pytest.raises(InvalidRequestState):
        other.codec.unseal(one.codec.seal(b"round one"))


def test_the_ring_rotates_the_first_key_seals_and_every_key_opens(tmp_path: Path) -> None:
    before = request_state_security(settings(tmp_path, SDASSIST_REQUEST_STATE_SECRET=OLD))
    during = request_state_security(settings(tmp_path, SDASSIST_REQUEST_STATE_SECRET=f"{NEW}, {OLD}"))
    after = request_state_security(settings(tmp_path, SDASSIST_REQUEST_STATE_SECRET=NEW))
    assert before is not None and during is not None and after is not None
    sealed_before = before.codec.seal(b"round one")
    assert during.codec.unseal(sealed_before) == b"round one"
    assert after.codec.unseal(during.codec.seal(b"round two")) == b"round two"
    with pytest.raises(InvalidRequestState):
        after.codec.unseal(sealed_before)
