"""Requests as Slack and SocialDock send them: signed slash commands, button clicks and webhook bodies."""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from typing import Any
from urllib.parse import urlencode

from slack_sdk.signature import SignatureVerifier


def slack_headers(body: str, secret: str, *, timestamp: int | None = None) -> dict[str, str]:
    """The headers Slack signs a request with: `v0=` HMAC of `v0:{timestamp}:{body}`."""
    ts = str(timestamp if timestamp is not None else int(time.time()))
    return {"Content-Type": "application/x-www-form-urlencoded", "X-Slack-Request-Timestamp": ts,
            "X-Slack-Signature": SignatureVerifier(secret).generate_signature(timestamp=ts, body=body)}


def command_body(text: str, *, user: str, response_url: str) -> str:
    """A `/socialdock` slash command, form-encoded."""
    return urlencode({
        "token": "legacy", "team_id": "T0FAKE", "team_domain": "fake", "channel_id": "C0GENERAL",
        "channel_name": "general", "user_id": user, "user_name": user.lower(), "command": "/socialdock",
        "text": text, "api_app_id": "A0APP", "response_url": response_url,
        "trigger_id": f"trigger-{time.monotonic_ns()}",
    })


def click_body(action_id: str, draft_id: str, version: int, *, user: str, refs: dict[str, str],
               channel: str, response_url: str) -> str:
    """A click on an approval card's button, as `payload=<json>`."""
    payload = {
        "type": "block_actions", "team": {"id": "T0FAKE"}, "api_app_id": "A0APP",
        "user": {"id": user, "username": user.lower(), "name": user.lower(), "team_id": "T0FAKE"},
        "channel": {"id": refs.get("slack_channel", channel)}, "trigger_id": f"trigger-{time.monotonic_ns()}",
        "container": {"type": "message", "message_ts": refs.get("slack_ts"), "channel_id": channel},
        "response_url": response_url,
        "actions": [{"action_id": action_id, "block_id": f"decide:{draft_id}:{version}",
                     "type": "button", "value": f"{draft_id}:{version}", "action_ts": str(time.time())}],
    }
    return urlencode({"payload": json.dumps(payload)})


def signed_webhook(event: dict[str, Any], secret: str) -> tuple[bytes, dict[str, str]]:
    """A SocialDock webhook body and its `X-SocialDock-Signature` header."""
    raw = json.dumps(event).encode()
    signature = hmac.new(secret.encode(), raw, hashlib.sha256).hexdigest()
    return raw, {"Content-Type": "application/json", "X-SocialDock-Signature": signature}


def shortcut_payload(message: dict[str, Any], *, user: str, channel: str, response_url: str) -> dict[str, Any]:
    """A message shortcut ("Schedule on SocialDock") on `message`, as Slack sends it."""
    return {
        "type": "message_action", "callback_id": "sd_schedule_message", "team": {"id": "T0FAKE"},
        "user": {"id": user, "username": user.lower(), "name": user.lower(), "team_id": "T0FAKE"},
        "channel": {"id": channel, "name": "general"}, "trigger_id": f"trigger-{time.monotonic_ns()}",
        "message_ts": message["ts"], "message": message, "response_url": response_url,
    }


def event_callback(event: dict[str, Any]) -> str:
    """An Events API body wrapping `event` (JSON)."""
    return json.dumps({"token": "legacy", "team_id": "T0FAKE", "api_app_id": "A0APP", "type": "event_callback",
                       "event_id": f"Ev{time.monotonic_ns()}", "event_time": int(time.time()), "event": event,
                       "authorizations": [{"team_id": "T0FAKE", "user_id": "U0BOT", "is_bot": True}]})
