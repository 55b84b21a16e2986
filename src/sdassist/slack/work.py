"""Work after an ack that waits on SocialDock: a line of small jobs and a bounded number of workers.

A listener acks, then hands its job to the line with only the fields the job needs (ids, the user, the
channel, the response_url), and returns: Bolt's request, context and parsed body are let go at once. A job
waiting in line keeps a handful of objects alive instead of the ~40-60 a listener task parked on a
semaphore kept (measured with `bench/slack_ack.py --full`), and the garbage collector's full passes, which
walk everything alive, stay short however long the line gets: 1,300 waiting listener tasks made them
65-115 ms, longer than an ack may take.

At most `workers` jobs run at once (a deep connection pool costs the event loop acks need more than a line
does). Past `limit` jobs waiting, the app says it is busy and takes nothing: a person is told at once,
rather than have work start many minutes later or the process stall.
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any

from sdassist.tools import ToolError

__all__ = ["Busy", "WorkLine"]

log = logging.getLogger("sdassist.slack")
Job = Callable[..., Awaitable[None]]


class Busy(ToolError):
    """The line is full: nothing was done, the person may try again later."""


class WorkLine:
    """A first-in, first-out line of jobs `(function, arguments)` run by up to `workers` tasks that `spawn`
    starts when there is work and that end when the line is empty (so an idle app runs none)."""

    def __init__(self, spawn: Callable[[Coroutine[Any, Any, None]], asyncio.Task[Any]], *, workers: int,
                 limit: int) -> None:
        self.spawn, self.workers, self.limit = spawn, workers, limit
        self._line: deque[tuple[Job, tuple[Any, ...]]] = deque()
        self._workers = 0  # worker tasks alive
        self._running = 0  # jobs started and not finished
        self.refused = 0
        """Jobs refused as busy since start (benchmarks and logs read it)."""

    @property
    def waiting(self) -> int:
        """Jobs in line, not started."""
        return len(self._line)

    @property
    def backlog(self) -> int:
        """Jobs taken and not finished: waiting plus running."""
        return len(self._line) + self._running

    def ahead(self) -> int:
        """How many jobs must finish before a job put now starts (0: it starts at once)."""
        return max(0, self.backlog - self.workers + 1)

    def waiting_jobs(self) -> list[tuple[Job, tuple[Any, ...]]]:
        """The jobs in line, first first: what each keeps alive while it waits (for tests and debugging)."""
        return list(self._line)

    def check(self) -> None:
        """Raise `Busy` when the line is full, before a listener acks or promises anything."""
        if len(self._line) >= self.limit:
            self.refused += 1
            raise Busy(f"sdassist is busy: {len(self._line):,} requests are waiting for SocialDock, which is "
                       "slow right now. Nothing was done.", hint="Try again in a few minutes.")

    def put(self, job: Job, *args: Any) -> int:
        """Add a job (a coroutine function and its few arguments); returns how many jobs are ahead of it.
        Raises `Busy` when the line is full."""
        self.check()
        ahead = self.ahead()
        self._line.append((job, args))
        if self._workers < self.workers:
            self._workers += 1
            self.spawn(self._work())
        return ahead

    def clear(self) -> int:
        """Drop the jobs not started (at shutdown, after their workers were cancelled); returns how many."""
        dropped = len(self._line)
        self._line.clear()
        return dropped

    async def _work(self) -> None:
        try:
            while self._line:
                job, args = self._line.popleft()
                self._running += 1
                try:
                    await job(*args)
                except Exception:  # a job tells its person about its own failures; this is a bug in one
                    log.exception("a Slack job after its ack failed")
                finally:
                    self._running -= 1
                del job, args  # not kept alive while waiting for the next
        finally:
            self._workers -= 1
