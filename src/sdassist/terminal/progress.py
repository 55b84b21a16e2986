"""Progress on stderr while a call waits (a slow SocialDock, a rate-limit pause, a bulk run).

Quick calls print nothing. After `after` seconds a person at a terminal sees a spinner with the elapsed
time and the tool's own progress messages; a log (stderr not a terminal) gets one line now and then.
stdout is never touched: it carries the result.
"""

from __future__ import annotations

import asyncio
import contextlib
import sys
import time
from collections.abc import AsyncIterator
from typing import IO

from rich.console import Console

__all__ = ["Progress", "waiting"]


class Progress:
    """Shows what a running call is waiting for; `report` is a tool's `ProgressFn`."""

    def __init__(self, label: str, *, file: IO[str] | None = None, after: float = 1.5, every: float = 15.0) -> None:
        self.label = label
        self.file = file or sys.stderr
        self.after = after
        self.every = every
        self.message: str | None = None
        self.started = time.monotonic()
        self.interactive = self.file.isatty()

    async def report(self, done: float, total: float | None = None, message: str | None = None) -> None:
        fraction = f" {done:g}/{total:g}" if total else ""
        self.message = f"{message or ''}{fraction}".strip() or None

    def line(self) -> str:
        elapsed = time.monotonic() - self.started
        detail = f": {self.message}" if self.message else ""
        return f"{self.label}{detail} ({elapsed:.0f} s)"

    async def show(self) -> None:
        """Runs beside the call until cancelled."""
        await asyncio.sleep(self.after)
        if self.interactive:
            console = Console(file=self.file, stderr=True)
            with console.status(self.line()) as status:
                while True:
                    status.update(self.line())
                    await asyncio.sleep(0.2)
        while True:
            print(f"sdassist: still {self.line()}", file=self.file, flush=True)
            await asyncio.sleep(self.every)


@contextlib.asynccontextmanager
async def waiting(label: str, *, file: IO[str] | None = None, after: float = 1.5) -> AsyncIterator[Progress]:
    progress = Progress(label, file=file, after=after)
    task = asyncio.create_task(progress.show())
    try:
        yield progress
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
