"""The 2026-07-28 rounds of a confirmation page, and the handshake-era completion notices (`confirm_page` has
the why). Light on purpose: the server installs these at start-up, before the tools are loaded."""

from __future__ import annotations

import contextvars
import json
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from mcp.shared.exceptions import MCPError
from mcp.types import INVALID_PARAMS, ElicitRequest, ElicitRequestURLParams, InputRequiredResult
from mcp_types.version import is_version_at_least

if TYPE_CHECKING:
    from mcp.server.context import CallNext, HandlerResult, ServerRequestContext
    from mcp.server.session import ServerSession

    from sdassist.tools.base import ToolContext

log = logging.getLogger("sdassist.mcp")

ROUNDS_VERSION = "2026-07-28"
"""The first protocol revision where elicitation rides on the tool call's own rounds (InputRequiredResult)."""
INPUT_KEY = "confirm_page"
"""The key of the one input request: the client answers under it on the retry."""
STATE_KEY = "sdassist.confirm_page"
"""Marks a requestState as ours (the form question's resolver state never carries it)."""
CONFIRMED_TOOLS = frozenset({"draft_post", "edit_draft", "update_post"})
"""The tools whose answer is a draft waiting for approval."""


STATE_REFUSED = (
    "Invalid or expired requestState: a retry must carry, unchanged, the requestState this server returned for "
    "the same tool call by the same signed-in person, within 10 minutes. This retry did nothing; list_drafts "
    "mine_only=true shows what the first call stored.")


async def explain_refused_state(ctx: ServerRequestContext[Any, Any], call_next: CallNext) -> HandlerResult:
    """Server middleware outside the SDK's request-state boundary: its refusal says how to go on. Which check
    failed stays in the server log, as the SDK intends."""
    try:
        return await call_next(ctx)
    except MCPError as exc:
        data = exc.data
        if isinstance(data, dict) and data.get("reason") == "invalid_request_state":
            raise MCPError(code=exc.code, message=STATE_REFUSED, data=data) from None
        raise


def elicitation_id(draft_id: str, version: int) -> str:
    return f"{draft_id}-v{version}"


@dataclass
class PageRequest:
    """What the tool body wants the host asked (modern era), filled in for `ConfirmPageRounds`."""

    draft_id: str
    version: int
    subject: str
    url: str
    message: str


class PageSlot:
    """Where the tool body leaves its `PageRequest`: one per tools/call, set by the middleware."""

    def __init__(self) -> None:
        self.request: PageRequest | None = None


SLOT: contextvars.ContextVar[PageSlot | None] = contextvars.ContextVar("sdassist_confirm_page", default=None)


def uses_rounds(protocol_version: str | None) -> bool:
    return protocol_version is not None and is_version_at_least(protocol_version, ROUNDS_VERSION)


def _ours(state: Any) -> dict[str, Any] | None:
    """Our requestState (already unsealed and verified by the SDK's boundary), or None for anyone else's."""
    if not isinstance(state, str) or STATE_KEY not in state:
        return None
    try:
        body = json.loads(state)
    except ValueError:
        return None
    mine = body.get(STATE_KEY) if isinstance(body, dict) else None
    return mine if isinstance(mine, dict) else None


class ConfirmPageRounds:
    """Server middleware for the 2026-07-28 rounds of a confirmation page (see the module docstring).

    `context_for(request_context)` gives the tool context of the caller (its principal from the bearer token)."""

    def __init__(self, context_for: Callable[[ServerRequestContext[Any, Any]], Awaitable[ToolContext]]) -> None:
        self._context_for = context_for

    async def __call__(self, ctx: ServerRequestContext[Any, Any], call_next: CallNext) -> HandlerResult:
        params = ctx.params or {}
        if ctx.method != "tools/call" or params.get("name") not in CONFIRMED_TOOLS or not uses_rounds(
                ctx.protocol_version):
            return await call_next(ctx)
        state = _ours(params.get("requestState"))
        if state is not None:
            return await self._retry(ctx, state, params.get("inputResponses"))
        slot = PageSlot()
        token = SLOT.set(slot)
        try:
            result = await call_next(ctx)
        finally:
            SLOT.reset(token)
        asked = slot.request
        if asked is None:
            return result
        ask = ElicitRequest(params=ElicitRequestURLParams(message=asked.message, url=asked.url))
        body = {STATE_KEY: {"draft_id": asked.draft_id, "version": asked.version, "subject": asked.subject}}
        return InputRequiredResult(input_requests={INPUT_KEY: ask}, request_state=json.dumps(body))

    async def _retry(self, ctx: ServerRequestContext[Any, Any], state: dict[str, Any], responses: Any) -> Any:
        """The host answered (or retried): the draft as it stands. The tool does not run again."""
        tctx = await self._context_for(ctx)
        if tctx.confirm_links is None or tctx.principal.via is None or state.get("subject") != tctx.principal.id:
            raise MCPError(code=INVALID_PARAMS, message=(
                "requestState: this confirmation belongs to another person's call; retry only with the "
                "requestState your own call returned"))
        answer = responses.get(INPUT_KEY) if isinstance(responses, dict) else None
        action = answer.get("action") if isinstance(answer, dict) else None
        from sdassist.mcp.adapter import as_result
        from sdassist.mcp.confirm_page import answer_from_page

        view = await answer_from_page(tctx, str(state["draft_id"]), int(state["version"]), action)
        return as_result(view)


class OpenPages:
    """Handshake-era sessions of this process whose host was sent to a confirmation page, by elicitation id, so
    that the page's answer reaches them as `notifications/elicitation/complete`. Best effort, as the spec allows:
    a session on another instance, or one already closed, is not told (the assistant still sees it with
    get_draft). Bounded: the oldest entries go first."""

    LIMIT = 1000

    def __init__(self) -> None:
        self._sessions: dict[str, list[ServerSession]] = {}

    def remember(self, eid: str, session: ServerSession) -> None:
        waiting = self._sessions.pop(eid, [])
        if session not in waiting:
            waiting.append(session)
        self._sessions[eid] = waiting
        while len(self._sessions) > self.LIMIT:
            self._sessions.pop(next(iter(self._sessions)))

    async def answered(self, draft_id: str, version: int) -> None:
        """The page published or cancelled this draft version: tell the hosts that were sent there."""
        eid = elicitation_id(draft_id, version)
        for session in self._sessions.pop(eid, []):
            try:
                await session.send_elicit_complete(eid)
            except Exception:  # a closed session: nobody to tell
                log.debug("elicitation/complete for %s not delivered", eid, exc_info=True)
