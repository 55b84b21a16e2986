"""Every tool's input model refuses, naming the field, what would break further down: ids with path
characters or non-ASCII letters, tokens that are not ours, control characters in any text."""

from __future__ import annotations

import time
import typing
from typing import Any

import pytest
from pydantic import ValidationError
from slack_sdk.signature import SignatureVerifier

from sdassist.tools import ALL_TOOLS, ToolError
from sdassist.tools.confirmation import ConfirmationTokens
from sdassist.tools.errors import tool_error_from
from sdassist.tools.posts import withdraw_scheduled_post
from tests.tools.conftest import OPERATOR

ID_FIELDS = sorted({(t.name, name) for t in ALL_TOOLS for name in t.input_model.model_fields
                    if name.endswith("_id") and name != "chat_id"})
BAD_IDS = ["../../etc/passwd", "drf_a/b", "post_..", "acc_x?y=1", "wh_%2e%2e", "post_é", "drf_01 02", "", "drf_",
           "drf_" + "a" * 101, "post_a#b", "acc_\u202e"]


def test_every_id_field_is_checked() -> None:
    assert {f for _, f in ID_FIELDS} == {"draft_id", "post_id", "account_id", "webhook_id"}


@pytest.mark.parametrize(("tool", "field"), ID_FIELDS)
@pytest.mark.parametrize("value", BAD_IDS)
def test_ids_with_path_characters_are_refused_naming_the_field(tool: str, field: str, value: str) -> None:
    from sdassist.tools import get_tool

    with pytest.raises(ToolError) as caught:
        get_tool(tool).parse_input({field: value, "version": 1})
    assert f"{field}: " in caught.value.message and "is not a" in caught.value.message
    assert "Input should" not in str(caught.value)


def _text_fields(tool: Any) -> list[tuple[str, bool]]:
    out = []
    for name, info in tool.input_model.model_fields.items():
        kinds = {a for a in typing.get_args(info.annotation)} | {info.annotation}
        if any(typing.get_origin(k) is list and typing.get_args(k) == (str,) for k in kinds):
            out.append((name, True))
        elif str in kinds or any(typing.get_origin(k) is typing.Annotated for k in kinds):
            out.append((name, False))
    return out


TEXT_FIELDS = [(t.name, name, is_list) for t in ALL_TOOLS for name, is_list in _text_fields(t)]


@pytest.mark.parametrize(("tool", "field", "is_list"), TEXT_FIELDS)
def test_no_text_field_takes_control_characters(tool: str, field: str, is_list: bool) -> None:
    from sdassist.tools import get_tool

    value = "a\x00b"
    with pytest.raises(ToolError) as caught:
        get_tool(tool).parse_input({field: [value] if is_list else value})
    assert f"{field}: " in caught.value.message and "\x00" not in caught.value.message
    assert "control character '\\x00'" in caught.value.message or "is not a" in caught.value.message


def test_line_breaks_and_tabs_are_text() -> None:
    from sdassist.tools import get_tool

    parsed = get_tool("check_post").parse_input({"text": "one\ntwo\r\n\tthree", "targets": ["linkedin"]})
    assert parsed.text == "one\ntwo\r\n\tthree"


@pytest.mark.parametrize("token", ["drf_é.1.2.abc", "drf_x.².2.abc", "drf_x.1.²³.abc", "drf_x.1.2.ü" * 3, "\x00"])
def test_a_confirmation_token_of_any_characters_is_a_refusal(token: str) -> None:
    with pytest.raises(ToolError, match="confirmation_token"):
        ConfirmationTokens.with_key("k").verify(token)


def test_slack_button_and_signature_with_unicode_digits_are_refused() -> None:
    from sdassist.slack.blocks import parse_button_value
    from sdassist.slack.webhook import _slack_signed

    with pytest.raises(ToolError, match="does not name a draft"):
        parse_button_value("drf_01:²")
    assert _slack_signed(b"{}", {"X-Slack-Request-Timestamp": "¹²³", "X-Slack-Signature": "v0=00"}, "s") is False
    now = str(int(time.time()))
    for timestamp, signature in ((now, "v0=é"), ("9" * 400, "v0=00"), ("9" * 5000, "v0=00"), (now, "")):
        headers = {"X-Slack-Request-Timestamp": timestamp, "X-Slack-Signature": signature}
        assert _slack_signed(b"{}", headers, "s") is False
    assert _slack_signed(b"{}", {"X-Slack-Request-Timestamp": now}, "s") is False
    signed = {"X-Slack-Request-Timestamp": now,
              "X-Slack-Signature": SignatureVerifier("s").generate_signature(timestamp=now, body="{}")}
    assert _slack_signed(b"{}", signed, "s") is True and _slack_signed(b"{} ", signed, "s") is False


async def test_slack_cancel_of_a_malformed_post_id_is_a_refusal(runtime: Any) -> None:
    with pytest.raises(ValidationError) as caught:
        await withdraw_scheduled_post(runtime.context(OPERATOR), "post_../../accounts")
    refusal = tool_error_from(caught.value)
    assert refusal is not None and refusal.message.startswith("post_id: 'post_../../accounts' is not a post id")


HUGE = "z" * 5000
LONG_INPUTS = [
    ("zone", {"when": "tomorrow 9am", "zone": HUGE}, "unknown time zone"),  # was an internal error (OSError)
    ("when", {"when": HUGE}, "at most 200"),
    ("target", {"targets": [HUGE]}, "is not a platform"),
    ("handle", {"targets": ["@" + HUGE]}, "no connected account has the handle"),
    ("platform and handle", {"targets": ["instagram @" + HUGE]}, "no connected account has the handle"),
    ("account id", {"targets": ["acc_" + HUGE]}, "no connected account has the id"),
    ("subreddit", {"targets": ["reddit"], "title": "T", "subreddit": HUGE}, "write it as r/name"),
]


@pytest.mark.parametrize(("what", "arguments", "reason"), LONG_INPUTS, ids=[i[0] for i in LONG_INPUTS])
async def test_a_refusal_never_repeats_a_huge_input_in_full(runtime: Any, what: str, arguments: dict[str, Any],
                                                             reason: str) -> None:
    """Whatever size the input, the refusal is a sentence with the reason (the input cut short, or counted),
    never an internal error and never the input again in full (an assistant reads every character of it)."""
    from tests.tools.conftest import call

    fields = {"text": "Hi", "targets": ["linkedin"], "publish_now": True, **arguments}
    if "when" in fields:
        fields.pop("publish_now")
    with pytest.raises(ToolError, match=reason) as caught:
        await call(runtime, "draft_post", **fields)
    said = f"{caught.value} {caught.value.hint or ''}"
    assert "z" * 100 not in said and "internal error" not in said


def test_a_zone_of_any_length_is_a_time_refusal_everywhere(tmp_path: Any) -> None:
    from sdassist.config import SettingsError
    from sdassist.publishing.when import TimeError, parse_zone
    from tests.conftest import make_settings

    with pytest.raises(TimeError, match="unknown time zone"):
        parse_zone(HUGE)
    with pytest.raises(SettingsError, match="SDASSIST_TIMEZONE"):
        make_settings(tmp_path, SDASSIST_TIMEZONE=HUGE)
