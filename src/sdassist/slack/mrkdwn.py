"""Slack message markup as the plain text a social post needs.

A Slack message's `text` is mrkdwn: links as `<https://…|label>`, people as `<@U0123>`, channels as
`<#C0123|general>`, groups and broadcasts as `<!subteam^S0123|@team>` / `<!here>`, dates as
`<!date^…|fallback>`, emoji as `:rocket:`, bold/italic/strike as `*…*`, `_…_`, `~…~`, and `&`, `<`, `>`
escaped as entities. None of that means anything on LinkedIn or Instagram, so it becomes what a reader sees
in Slack: the link's label and address, `@Alice`, `#general`, 🚀, the words without the markers.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

import emoji

__all__ = ["mentioned_users", "plain_text"]

_ENTITY = re.compile(r"<([^<>]*)>")
_USER = re.compile(r"<@([UW][A-Z0-9]+)(?:\|[^<>]*)?>")
_SKIN_TONE = re.compile(r":skin-tone-([2-6]):")
# Slack's own rule: a marker opens after start/space/punctuation and closes before end/space/punctuation,
# with no space just inside it.
_STYLE = re.compile(r"(?<![\w*_~])([*_~])(?=\S)(.+?)(?<=\S)\1(?![\w*_~])")


def mentioned_users(text: str) -> list[str]:
    """The user ids a message mentions (`<@U0123>`), in order, once each."""
    return list(dict.fromkeys(_USER.findall(text or "")))


def _link(target: str, label: str | None) -> str:
    if target.startswith("mailto:"):
        return label or target.removeprefix("mailto:")
    if not label:
        return target
    bare = re.sub(r"^https?://(www\.)?", "", target).rstrip("/")
    if label.rstrip("/") in (target.rstrip("/"), bare):
        return target
    return f"{label} ({target})"


def _entity(body: str, names: Mapping[str, str]) -> str:
    target, _, label = body.partition("|")
    label = label or None
    if target.startswith("@"):
        user = target[1:]
        return "@" + (names.get(user) or label or user)
    if target.startswith("#"):
        return "#" + (label or target[1:])
    if target.startswith("!subteam^"):
        return label or "@" + target.split("^", 1)[1]
    if target.startswith("!date^"):
        return label or ""
    if target.startswith("!"):
        return label or "@" + target[1:]
    return _link(target, label)


def plain_text(text: str, names: Mapping[str, str] | None = None) -> str:
    """`text` (Slack mrkdwn) as plain text; `names` maps user ids to the names to show for mentions."""
    names = names or {}
    out = _ENTITY.sub(lambda m: _entity(m.group(1), names), text or "")
    out = _STYLE.sub(lambda m: m.group(2), out)
    out = _SKIN_TONE.sub(lambda m: chr(0x1F3FB + int(m.group(1)) - 2), out)
    out = emoji.emojize(out, language="alias")
    return out.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&").strip()
