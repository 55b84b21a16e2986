"""@SocialDock in a channel or thread, and direct messages: the slash command's grammar, answered in place.

"@SocialDock schedule this tomorrow 9am on linkedin" in a thread takes the thread's first message (its
text, as plain text, and its images and videos); a DM to the app reads like `/socialdock …`. The answer is
a reply in the thread (in a DM, in the conversation). Each message is handled once, by one instance, even
when Slack retries it or sends it both as a mention and as a DM.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from sdassist.slack import blocks as ui
from sdassist.slack.files import SlackFile, attachable
from sdassist.slack.grammar import GrammarError, help_text, parse
from sdassist.slack.shortcuts import readable, source_refs

if TYPE_CHECKING:
    from sdassist.slack.app import SlackFace

__all__ = ["Conversations"]

log = logging.getLogger("sdassist.slack")
LEADING_MENTIONS = re.compile(r"^\s*(?:<@[UW][A-Z0-9]+(?:\|[^>]*)?>[\s,:]*)+")
HANDLED_SUBTYPES = (None, "file_share")  # a DM with a file attached is a file_share; edits, joins… are not asks


class Conversations:
    """The listeners of `app_mention` and `message.im`."""

    def __init__(self, face: SlackFace) -> None:
        self.face = face

    async def on_mention(self, event: dict[str, Any]) -> None:
        await self.handle(event)

    async def on_message(self, event: dict[str, Any]) -> None:
        """Direct messages only; the app's own messages and message changes are not asks."""
        if event.get("channel_type") != "im" or event.get("bot_id") or event.get("subtype") not in HANDLED_SUBTYPES:
            return
        await self.handle(event)

    async def handle(self, event: Mapping[str, Any]) -> None:
        channel, ts, user_id = event.get("channel"), event.get("ts"), event.get("user")
        if not channel or not ts or not user_id:
            return
        if not await self.face.rt.store.mark_event_seen(f"slack-message:{channel}:{ts}"):
            return  # a retry, another instance, or the same message as mention and DM
        thread_ts = event.get("thread_ts")
        in_dm = event.get("channel_type") == "im" or str(channel).startswith("D")
        reply_in = thread_ts or (None if in_dm else ts)
        asked = {key: event[key] for key in ("text", "files") if event.get(key)}  # not the whole delivery
        self.face.enqueue(self._answer_or_fail, asked, {"id": user_id}, channel, ts, thread_ts, reply_in,
                          user_id=user_id, channel=channel, thread_ts=reply_in, in_conversation=True)

    async def _answer_or_fail(self, event: Mapping[str, Any], user: dict[str, Any], channel: str, ts: str,
                              thread_ts: str | None, reply_in: str | None) -> None:
        """The answer, after the ack, in line with the other work that waits on SocialDock."""
        try:
            await self._answer(event, user, channel, ts, thread_ts, reply_in)
        except Exception as exc:
            await self.face.fail(user["id"], channel, exc, thread_ts=reply_in, in_conversation=True)

    async def _answer(self, event: Mapping[str, Any], user: dict[str, Any], channel: str, ts: str,
                      thread_ts: str | None, reply_in: str | None) -> None:
        face = self.face
        words = LEADING_MENTIONS.sub("", event.get("text") or "")
        root: Mapping[str, Any] | None = None
        if thread_ts and thread_ts != ts:
            root = await self._thread_start(channel, thread_ts)
        subject = await readable(face, root.get("text") or "") if root is not None else None
        try:
            parsed = parse(await readable(face, words), subject=subject)
        except GrammarError as exc:
            await face.tell(user["id"], channel, ui.problem_text(exc.problem, example=_mention(exc.example)),
                            thread_ts=reply_in, in_conversation=True)
            return
        if parsed.action in ("help", "compose", "buttons_only"):
            await face.tell(user["id"], channel, self._plain_answer(parsed.action, parsed.tool),
                            thread_ts=reply_in, in_conversation=True)
            return
        files: list[SlackFile] = []
        source: dict[str, str] = {}
        if parsed.action == "draft":
            uses_root = root is not None and parsed.arguments.get("text") == subject
            if uses_root and root is not None:
                files += attachable(root.get("files"))[0]
            files += attachable(event.get("files"))[0]
            source = await source_refs(face, channel, str(root.get("ts")) if uses_root and root else ts)
        await face.run_parsed(parsed, user, channel, None, in_conversation=True, thread_ts=reply_in,
                              files=files[:ui.MAX_FILES], source=source)

    async def _thread_start(self, channel: str, thread_ts: str) -> Mapping[str, Any] | None:
        answer = await self.face.client.conversations_replies(channel=channel, ts=thread_ts, limit=1)
        messages = answer.get("messages") or []
        return messages[0] if messages else None

    def _plain_answer(self, action: str, tool: str | None) -> str:
        if action == "help":
            return help_text() + "\nHere, write the same after @SocialDock (or in a direct message to it); in a " \
                                 "thread, `schedule this …` posts the thread's first message."
        if action == "compose":
            return (":memo: The composer opens from `/socialdock new`, or from the message menu (⋯ → "
                    "*Schedule on SocialDock*) on any message.")
        return ui.problem_text(f"{tool} is a button, not a command: approve or reject on the card in "
                               f"<#{self.face.settings.approval_channel}>")


def _mention(example: str) -> str:
    return example.replace("/socialdock ", "@SocialDock ", 1)

