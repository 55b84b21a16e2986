"""The two Slack manifests ask for what the app's surfaces need, and agree with each other and the code."""

from __future__ import annotations

from pathlib import Path

import pytest

from sdassist.slack.shortcuts import SHORTCUT

ROOT = Path(__file__).resolve().parents[2]
MANIFESTS = ["manifest.yml", "manifest.socket.yml"]


def listed(text: str, key: str) -> list[str]:
    """The `- item` lines of the YAML list under `key:` (the manifests are plain block YAML)."""
    lines = text.splitlines()
    start = next(i for i, line in enumerate(lines) if line.strip() == f"{key}:")
    indent = len(lines[start]) - len(lines[start].lstrip())
    items = []
    for line in lines[start + 1:]:
        if line.strip().startswith("- ") and len(line) - len(line.lstrip()) > indent:
            items.append(line.strip()[2:].strip())
        elif line.strip() and len(line) - len(line.lstrip()) <= indent:
            break
    return items


@pytest.mark.parametrize("name", MANIFESTS)
def test_the_message_shortcut_mentions_and_dms_are_declared(name: str) -> None:
    text = (ROOT / name).read_text()
    assert f"callback_id: {SHORTCUT}" in text and "type: message" in text
    assert {"app_mention", "message.im"} <= set(listed(text, "bot_events"))
    assert "messages_tab_enabled: true" in text and "messages_tab_read_only_enabled: false" in text
    scopes = set(listed(text, "bot"))
    # files.info + url_private (files:read); app_mention (app_mentions:read); message.im and
    # conversations.replies in DMs, channels, private channels, group DMs (*:history)
    assert {"files:read", "app_mentions:read", "im:history", "channels:history", "groups:history",
            "mpim:history"} <= scopes


def test_both_manifests_ask_for_the_same_scopes_and_events() -> None:
    http, socket = ((ROOT / n).read_text() for n in MANIFESTS)
    assert sorted(listed(http, "bot")) == sorted(listed(socket, "bot"))
    assert sorted(listed(http, "bot_events")) == sorted(listed(socket, "bot_events"))
