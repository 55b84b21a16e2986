"""The message shortcut "Schedule on SocialDock": any message becomes a post.

It opens the composer prefilled with the message's text as plain text (links, mentions, emoji: see
`mrkdwn.py`) and its images and videos, which start downloading at once while the person picks accounts
and a time. The draft remembers the message (channel, ts, permalink) and the card links to it.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from sdassist.slack import blocks as ui
from sdassist.slack.files import attachable
from sdassist.slack.mrkdwn import mentioned_users, plain_text

if TYPE_CHECKING:
    from sdassist.slack.app import SlackFace

__all__ = ["SHORTCUT", "MessageShortcut", "readable", "source_refs"]

log = logging.getLogger("sdassist.slack")
SHORTCUT = "sd_schedule_message"
NAMES_WITHIN = 1.0  # seconds for looking up mentioned people's names before the composer must open


async def readable(face: SlackFace, text: str, *, within: float = NAMES_WITHIN) -> str:
    """A message's text as plain text, mentions resolved to people's names (users.info, cached) where
    that takes no longer than `within` seconds; otherwise a mention shows the user id."""
    users = mentioned_users(text)[:20]
    names: dict[str, str] = {}
    if users:
        try:
            async with asyncio.timeout(within):
                found = await asyncio.gather(*(face.zones.get(u) for u in users))
            names = {u: name for u, (_, name) in zip(users, found, strict=True) if name}
        except TimeoutError:
            log.info("names of %d mentioned people not read in time; showing their ids", len(users))
    return plain_text(text, names)


async def source_refs(face: SlackFace, channel: str | None, ts: str | None) -> dict[str, str]:
    """What a draft keeps about the message it came from: channel, ts and, when Slack gives it, a permalink."""
    if not channel or not ts:
        return {}
    refs = {"source_channel": channel, "source_ts": ts}
    try:
        answer = await face.client.chat_getPermalink(channel=channel, message_ts=ts)
        refs["source_permalink"] = str(answer["permalink"])
    except Exception as exc:
        log.info("no permalink for %s/%s: %s", channel, ts, type(exc).__name__)
    return refs


class MessageShortcut:
    """The listener of the shortcut: ack, open the prefilled composer, start the downloads."""

    def __init__(self, face: SlackFace) -> None:
        self.face = face

    async def __call__(self, ack: Any, body: dict[str, Any]) -> None:
        await ack()
        face = self.face
        user = body["user"]
        channel = (body.get("channel") or {}).get("id")
        message: Mapping[str, Any] = body.get("message") or {}
        media, others = attachable(message.get("files"))
        media = media[:ui.MAX_FILES]
        metadata = {"channel": channel, "response_url": body.get("response_url"),
                    "source": {"channel": channel, "ts": message.get("ts") or body.get("message_ts")},
                    "files": [[f.id, f.name[:60], f.mimetype[:40], f.size] for f in media]}  # ≤ 3,000 chars in all
        view = ui.composer_view(
            face.accounts.options(), metadata, text=(await readable(face, message.get("text") or ""))[:3000],
            files=[(f.id, f.name, f.mimetype, f.size) for f in media], left_out=[f.name for f in others],
            source=f":speech_balloon: From a message in <#{channel}>" if channel else None)
        try:
            await face.client.views_open(trigger_id=body["trigger_id"], view=view)
        except Exception as exc:
            await face.fail(user["id"], channel, exc, response_url=body.get("response_url"))
            return
        face.files.prefetch(media, user["id"])
        await face.zones.get(user["id"])  # warm: the submission reads the zone without waiting
