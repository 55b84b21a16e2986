"""The Slack manifests ask for exactly what the code uses: every event has a listener, every scope a use."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
MANIFESTS = ["manifest.yml", "manifest.socket.yml"]
SLACK_CODE = "\n".join(p.read_text() for p in (ROOT / "src" / "sdassist" / "slack").rglob("*.py"))

# What in the code needs each scope (Slack's docs list the scope of every method and event).
SCOPE_USES: dict[str, list[str]] = {
    "commands": ['.command("/socialdock")'],
    "chat:write": ["chat_postMessage(", "chat_update(", "chat_postEphemeral("],
    # cards in a channel the bot was not invited to
    "chat:write.public": ["chat_postMessage(channel=self.channel", "chat_postMessage, draft, channel=self.channel"],
    "users:read": ["users_info(", "users_list("],
    "usergroups:read": ["usergroups_users_list("],
    "files:write": ["files_upload_v2("],
    "files:read": ["files_info(", "url_private"],
    "app_mentions:read": ['.event("app_mention")'],
    "im:history": ['.event("message")'],
    "channels:history": ["conversations_replies(", "conversations_history("],
    "groups:history": ["conversations_replies(", "conversations_history("],
    "mpim:history": ["conversations_replies(", "conversations_history("],
}
# The listener each subscribed event needs.
EVENT_LISTENERS = {"message.im": '.event("message")'}


def manifest(name: str) -> dict:
    return yaml.safe_load((ROOT / name).read_text())


@pytest.mark.parametrize("name", MANIFESTS)
def test_every_scope_is_used_and_every_event_is_listened_to(name: str) -> None:
    data = manifest(name)
    scopes = data["oauth_config"]["scopes"]["bot"]
    unused = [s for s in scopes if not any(use in SLACK_CODE for use in SCOPE_USES.get(s, []))]
    assert unused == [], f"{name} asks for scopes the code does not use: {unused}"
    events = data["settings"]["event_subscriptions"]["bot_events"]
    for event in events:
        listener = EVENT_LISTENERS.get(event, f'.event("{event}")')
        assert listener in SLACK_CODE, f"{name} subscribes to {event} but no listener handles it"
    assert data["features"]["app_home"]["home_tab_enabled"] is True


def test_every_event_listened_to_is_subscribed_and_every_method_has_its_scope() -> None:
    data = manifest("manifest.yml")
    events = data["settings"]["event_subscriptions"]["bot_events"]
    listened = set(re.findall(r'\.event\("([a-z_]+)"\)', SLACK_CODE))
    subscribed = {EVENT_LISTENERS.get(e, f'.event("{e}")')[8:-2] for e in events}
    assert listened <= subscribed, f"listeners without a subscription: {listened - subscribed}"
    scopes = set(data["oauth_config"]["scopes"]["bot"])
    for scope in ("chat:write", "users:read", "files:write"):
        assert scope in scopes


def test_both_manifests_ask_for_the_same() -> None:
    http, socket = manifest("manifest.yml"), manifest("manifest.socket.yml")
    assert http["oauth_config"] == socket["oauth_config"]
    assert http["settings"]["event_subscriptions"]["bot_events"] == \
        socket["settings"]["event_subscriptions"]["bot_events"]
    assert http["features"]["app_home"] == socket["features"]["app_home"]
    assert http["features"]["shortcuts"] == socket["features"]["shortcuts"]
    assert socket["settings"]["socket_mode_enabled"] is True and "request_url" not in \
        socket["settings"]["event_subscriptions"]


@pytest.mark.parametrize("name", MANIFESTS)
def test_the_message_shortcut_and_the_messages_tab_are_declared(name: str) -> None:
    from sdassist.slack.shortcuts import SHORTCUT

    data = manifest(name)
    assert [(s["type"], s["callback_id"]) for s in data["features"]["shortcuts"]] == [("message", SHORTCUT)]
    assert "app.shortcut(SHORTCUT)" in SLACK_CODE
    home = data["features"]["app_home"]
    assert home["messages_tab_enabled"] is True and home["messages_tab_read_only_enabled"] is False
    assert {"app_mention", "message.im"} <= set(data["settings"]["event_subscriptions"]["bot_events"])
