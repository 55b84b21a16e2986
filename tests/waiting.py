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


class Rounds:
    """Counts the finished rounds of a poller (wraps its async round function), so a test waits for the
    next rounds, an event, rather than for some seconds of wall time that a loaded machine may not honour."""

    def __init__(self, round_once: Callable[[], Awaitable[Any]], *, hang: float = 60.0) -> None:
        self._round_once = round_once
        self.finished = 0
        self._changed = asyncio.Condition()
        self.hang = hang  # only to end a test whose poller stopped, never a measure of speed

    async def __call__(self) -> Any:
        try:
            return await self._round_once()
        finally:
            self.finished += 1
            async with self._changed:
                self._changed.notify_all()

    async def wait(self, count: int = 2) -> None:
        """Until `count` more rounds have finished: with 2, at least one whole round began after this call."""
        target = self.finished + count
        async with self._changed:
            try:
                await asyncio.wait_for(self._changed.wait_for(lambda: self.finished >= target), self.hang)
            except TimeoutError:
                raise AssertionError(f"the poller finished no round in {self.hang}s") from None

    async def within(self, fetch: Callable[[], Awaitable[T]], ok: Callable[[T], bool], *, rounds: int,
                     failure: Callable[[T], str]) -> T:
        """Fetch after each round until `ok`; fail once `rounds` whole rounds begun after this call are over."""
        done_by = self.finished + rounds + 1
        while True:
            value = await fetch()
            if ok(value):
                return value
            if self.finished >= done_by:
                raise AssertionError(f"after {rounds} rounds: {failure(value)}")
            await self.wait(1)


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
