"""Waiting on the shared draft store: faces finish their work after the ack, so tests poll for outcomes."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

T = TypeVar("T")


async def eventually(fetch: Callable[[], Awaitable[T]], ok: Callable[[T], bool], *, timeout: float,
                     failure: Callable[[T], str], poll: float = 0.02) -> T:
    """Fetch until `ok`, or fail with `failure(last value)` after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = await fetch()
        if ok(value):
            return value
        if time.monotonic() > deadline:
            raise AssertionError(failure(value))
        await asyncio.sleep(poll)


class WaitsForDrafts:
    """`wait_state`, `card_of` and `latest_draft` for a harness that has a draft store."""

    wait_timeout = 8.0

    def draft_store(self) -> Any:
        raise NotImplementedError

    def diagnostics(self) -> str:
        """Appended to a failure: the logs of the processes under test, say."""
        return ""

    async def wait_state(self, draft_id: str, *states: str, timeout: float | None = None) -> Any:
        return await eventually(
            lambda: self.draft_store().get(draft_id), lambda d: d.state in states,
            timeout=timeout or self.wait_timeout,
            failure=lambda d: f"{draft_id} is {d.state}, wanted {states}\n{self.diagnostics()}")

    async def card_of(self, draft_id: str, timeout: float | None = None) -> Any:
        return await eventually(
            lambda: self.draft_store().get(draft_id), lambda d: bool(d.face_refs.get("slack_ts")),
            timeout=timeout or self.wait_timeout, failure=lambda _: f"no card for {draft_id}\n{self.diagnostics()}")

    async def latest_draft(self, timeout: float | None = None) -> Any:
        drafts = await eventually(
            lambda: self.draft_store().list(limit=1), bool,
            timeout=timeout or self.wait_timeout, failure=lambda _: f"no draft was stored\n{self.diagnostics()}")
        return drafts[0]
