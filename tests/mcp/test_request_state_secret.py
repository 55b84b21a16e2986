"""SDASSIST_REQUEST_STATE_SECRET: the key ring the SDK seals requestState with, shared by every MCP worker."""

from __future__ import annotations

from pathlib import Path

import pytest
from mcp.server.mcpserver import InvalidRequestState

from sdassist.config import Settings, SettingsError
from sdassist.mcp.server import request_state_security

OLD, NEW = "o" * 16 + "old-request-state-key-0123456789", "n" * 16 + "new-request-state-key-0123456789"


def settings(tmp_path: Path, **env: str) -> Settings:
    return Settings(_env_file=None, SDASSIST_DATA_DIR=str(tmp_path), **env)


def test_a_short_key_is_refused_by_name_without_echoing_it(tmp_path: Path) -> None:
    with pytest.raises(SettingsError) as refused:
        settings(tmp_path, SDASSIST_REQUEST_STATE_SECRET=f"{NEW},tooshort-secret")
    message = str(refused.value)
    assert message.startswith("SDASSIST_REQUEST_STATE_SECRET: each comma-separated key must be at least 32")
    assert "tooshort-secret" not in message and NEW not in message


def test_unset_leaves_the_sdk_a_key_per_process(tmp_path: Path) -> None:
    assert request_state_security(settings(tmp_path)) is None


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
