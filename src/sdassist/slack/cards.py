"""Approval cards in the approval channel: posting, re-rendering, and the outcomes in their threads.

Every post or update of a card is claimed first in the shared database (`store.mark_event_seen`), so several
app instances, or a click handler and the background poller, never post the same card or outcome twice.
The poller also shows cards for drafts made elsewhere (an assistant through MCP, possibly another process).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Mapping
from typing import Any, Literal

from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from sdassist.publishing.drafts import TERMINAL_STATES, Draft, DraftNotFound, DraftState
from sdassist.publishing.store import ChangeCursor, DraftStore
from sdassist.slack.blocks import card, escape, outcome_text

log = logging.getLogger("sdassist.slack")
S = DraftState
QUIET_STATES = {S.PENDING, S.PUBLISHING}  # shown on the card, not announced in the thread
MOVING_SCAN = 1000  # drafts not yet ended that the first round looks at, per state group (newest first)
ENDED_SCAN = 300  # ended drafts in the first round: their last change is recent or already on the card
CHANGES_PER_ROUND = 1000  # changed drafts a later round reads; more wait for the next round
Outcome = Literal["done", "failed", "claimed"]
CLAIM_ROUNDS = 60  # rounds the poller keeps looking at a card that another task or instance had claimed


def settle_claim(draft: Draft) -> str:
    """The claim on re-rendering a card for the draft's version and state, once across instances."""
    return f"slack:{draft.id}:v{draft.version}:{draft.state}"


class CardKeeper:
    """The `DraftNotifier` of the Slack face: one card per draft, kept in step with the draft."""

    def __init__(self, client: AsyncWebClient, store: DraftStore, channel: str,
                 handles: Callable[[], Mapping[str, str]] | None = None) -> None:
        self.client = client
        self.store = store
        self.channel = channel
        self.handles = handles or (lambda: {})
        self.on_change: Callable[[Draft], None] = lambda draft: None
        """Called after a card shows a draft's change (App Home refreshes on it)."""
        self.media: Callable[[Draft], Awaitable[list[dict[str, Any]]]] | None = None
        """The draft's stored files for the card (signed image URLs Slack fetches); None: links only."""
        self._cursor: ChangeCursor | None = None  # where the poller's next round reads changes from
        self._retry: dict[str, int] = {}  # drafts to look at again next round → rounds spent behind a claim

    # DraftNotifier
    async def draft_pending(self, draft: Draft) -> None:
        await self.show(draft)

    async def _render(self, draft: Draft, *, images: bool = True) -> tuple[str, list[dict]]:
        media = await self.media(draft) if self.media is not None and images and draft.media_urls else []
        return card(draft, await self.store.decisions(draft.id), handles=self.handles(), media=media)

    async def _send(self, call: Callable[..., Awaitable[Any]], draft: Draft, **where: Any) -> Any:
        """Post or update the card. When Slack cannot fetch its images (a public URL it cannot reach), the
        card goes out without them rather than not at all."""
        text, blocks = await self._render(draft)
        try:
            return await call(text=text, blocks=blocks, **where)
        except SlackApiError as exc:
            if exc.response.get("error") != "invalid_blocks" or not any(b["type"] == "image" for b in blocks):
                raise
            log.warning("Slack could not fetch the images of %s's card; showing it without them", draft.id)
            text, blocks = await self._render(draft, images=False)
            return await call(text=text, blocks=blocks, **where)

    async def show(self, draft: Draft) -> bool:
        """Post the card of a pending draft, or re-render it as the new version after an edit."""
        claim = f"card:{draft.id}:v{draft.version}"
        if not await self.store.mark_event_seen(claim):
            return False
        try:
            return await self._show_claimed(await self.store.get(draft.id))
        except Exception:
            await self.store.forget_event(claim)  # Slack failed: let the poller try this card again
            raise

    async def _show_claimed(self, draft: Draft) -> bool:
        refs = draft.face_refs
        if refs.get("slack_ts"):
            channel, ts = refs["slack_channel"], refs["slack_ts"]
            await self._send(self.client.chat_update, draft, channel=channel, ts=ts)
            if draft.version > int(refs.get("slack_version") or 0):
                await self.client.chat_postMessage(
                    channel=channel, thread_ts=ts,
                    text=f":pencil2: Edited: the card now shows version {draft.version}. "
                         "Decisions on earlier versions no longer count.")
        else:
            answer = await self._send(self.client.chat_postMessage, draft, channel=self.channel)
            channel, ts = answer["channel"], answer["ts"]
        await self.store.set_face_refs(draft.id, slack_channel=channel, slack_ts=ts,
                                       slack_version=str(draft.version), slack_state=str(draft.state))
        self.on_change(draft)
        return True

    async def settle(self, draft: Draft, *, announce: bool = True) -> bool:
        """After a decision or outcome: re-render the card (buttons replaced) and say it in the thread, once."""
        draft = await self.store.get(draft.id)
        refs = draft.face_refs
        if not refs.get("slack_ts"):
            return False
        claim = settle_claim(draft)
        if not await self.store.mark_event_seen(claim):
            return False
        try:
            await self.refresh(draft)
            if announce and draft.state not in QUIET_STATES:
                await self.say(draft, outcome_text(draft) if draft.state not in (S.REJECTED, S.CANCELLED)
                               else await self._decision_sentence(draft))
        except Exception:
            await self.store.forget_event(claim)  # Slack failed: let the poller settle this card again
            raise
        return True

    async def tell_late(self, draft: Draft) -> bool:
        """An earlier request of the draft, first not found, landed late: say so in its thread once, and
        re-render the card (which shows the note) as the draft now stands."""
        refs = draft.face_refs
        if not draft.late_note or not refs.get("slack_ts") or refs.get("slack_late"):
            return False
        claim = f"slack-late:{draft.id}"
        if not await self.store.mark_event_seen(claim):
            return False
        try:
            await self.say(draft, f":turtle: {escape(draft.late_note)}. {outcome_text(draft)}")
            await self.refresh(draft)
            await self.store.set_face_refs(draft.id, slack_late="1")
        except Exception:
            await self.store.forget_event(claim)  # Slack failed: let the poller tell it again
            raise
        return True

    async def _decision_sentence(self, draft: Draft) -> str:
        _, blocks = await self._render(draft)
        return blocks[-1]["text"]["text"]

    async def refresh(self, draft: Draft) -> None:
        """Re-render an existing card as the draft stands now (status line, per-platform results)."""
        refs = draft.face_refs
        if not refs.get("slack_ts"):
            return
        await self._send(self.client.chat_update, draft, channel=refs["slack_channel"], ts=refs["slack_ts"])
        await self.store.set_face_refs(draft.id, slack_state=str(draft.state))
        self.on_change(draft)

    async def say(self, draft: Draft, text: str) -> None:
        """A message in the card's thread."""
        refs = draft.face_refs
        if refs.get("slack_ts"):
            await self.client.chat_postMessage(channel=refs["slack_channel"], thread_ts=refs["slack_ts"], text=text)

    # --- the poller ------------------------------------------------------------------------------------

    async def sync_once(self) -> None:
        """Cards for drafts nobody showed yet (assistants, other processes), and cards whose draft moved on.

        The first round looks at every draft that may lag (by state); each later round reads only the drafts
        written since the last one (`DraftStore.changed_since`), so a round costs what changed, not the
        size of the store, plus the drafts whose card failed last time or was claimed by another holder."""
        await self.store.expire_due()
        if self._cursor is None:
            self._cursor = await self.store.change_cursor()  # first: what changes during the scan comes next
            drafts = [*await self.store.list(states=[S.PENDING], limit=MOVING_SCAN),
                      *await self._settle_candidates()]
        else:
            drafts, self._cursor = await self.store.changed_since(self._cursor, limit=CHANGES_PER_ROUND)
            if drafts:  # App Home tabs open on this instance learn of changes made on any instance
                self.on_change(drafts[-1])
        retry, self._retry = self._retry, {}
        seen = {d.id for d in drafts}
        drafts += [d for d in [await self._current(i) for i in sorted(retry.keys() - seen)] if d is not None]
        for draft in drafts:
            outcome = await self._sync(draft)
            if outcome == "failed":
                self._retry[draft.id] = 0
            elif outcome == "claimed" and retry.get(draft.id, 0) < CLAIM_ROUNDS:
                self._retry[draft.id] = retry.get(draft.id, 0) + 1

    async def _current(self, draft_id: str) -> Draft | None:
        try:
            return await self.store.get(draft_id)
        except DraftNotFound:
            return None

    async def _sync(self, draft: Draft) -> Outcome:
        """Bring one card in step with its draft: "done"; "failed" (Slack refused: try again next round); or
        "claimed": a click handler or another instance holds the claim on this very update. Its holder gives
        the claim back when Slack refuses it, and nothing else changes the draft then, so the change this
        round read will not come again: the poller looks at the draft again next round, until the card
        shows the draft (or CLAIM_ROUNDS pass, for a claim whose holder died)."""
        refs = draft.face_refs
        if draft.state == S.PENDING:
            if refs.get("slack_version") != str(draft.version):
                return await self._guard(self.show(draft), draft)
        elif draft.late_note and refs.get("slack_ts") and not refs.get("slack_late"):
            return await self._guard(self.tell_late(draft), draft)
        elif refs.get("slack_ts") and refs.get("slack_state") != str(draft.state):
            # a scheduled post's later outcome is announced by the webhook receiver, not here
            return await self._guard(self.settle(draft, announce=refs.get("slack_state") != S.SCHEDULED), draft)
        return "done"

    async def _settle_candidates(self) -> list[Draft]:
        """Drafts whose card may lag behind: every draft still moving (by state, not by age, so an old
        scheduled draft's card settles too), and the most recent of those that reached an end."""
        moving = [s for s in S if s not in TERMINAL_STATES and s != S.PENDING]
        return [*await self.store.list(states=moving, limit=MOVING_SCAN),
                *await self.store.list(states=sorted(TERMINAL_STATES), limit=ENDED_SCAN)]

    async def _guard(self, work: Awaitable[bool], draft: Draft) -> Outcome:
        try:
            done = await work
        except Exception as exc:  # one failing card must not stop the others
            log.warning("could not update the card of %s: %s", draft.id, exc)
            return "failed"
        return "done" if done else "claimed"

    async def watch(self, interval: float = 1.0) -> None:
        while True:
            try:
                await self.sync_once()
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                log.warning("card poller: %s", exc)
            await asyncio.sleep(interval)
