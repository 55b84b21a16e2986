"""The one request loop: pacing, the envelope, error mapping, retries, deadline and logging.

Retry policy (client-notes.md): GET, PUT and DELETE are retried on 5xx and on transport errors; a POST
only when nothing was sent (connect errors) or on 429, because replaying a create that may have been
applied can publish a post twice. Every logical request carries one `Idempotency-Key`, reused by its
retries.
"""

from __future__ import annotations

import asyncio
import json as jsonlib
import random
import time
import uuid
from typing import Any

import httpx

from . import logs
from .envelope import Envelope, to_error, unwrap
from .errors import TransportError
from .ratelimit import RateLimiter

#: Methods whose replay cannot do harm twice.
IDEMPOTENT_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "PUT", "DELETE"})

#: httpx errors raised before any byte of the request left this process.
_NOT_SENT = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout, httpx.UnsupportedProtocol)


def request_was_sent(exc: httpx.TransportError) -> bool:
    """Whether the request may have reached the server (anything but a failure to connect)."""
    return not isinstance(exc, _NOT_SENT)


class RequestLoop:
    """Sends one logical request, retrying and pacing it, and returns its envelope or raises."""

    def __init__(
        self,
        http: httpx.AsyncClient,
        limiter: RateLimiter,
        *,
        max_retries: int,
        deadline: float,
        backoff_base: float = 0.5,
        backoff_cap: float = 8.0,
        max_rate_limit_retries: int = 10,
        rng: random.Random | None = None,
    ) -> None:
        self.http = http
        self.limiter = limiter
        self.max_retries = max(0, max_retries)
        self.deadline = deadline
        self.backoff_base = backoff_base
        self.backoff_cap = backoff_cap
        self.max_rate_limit_retries = max_rate_limit_retries
        self._rng = rng or random.Random()

    def backoff(self, failures: int) -> float:
        """0.5·2^n seconds, capped, plus up to 25 % jitter so workers do not retry in step."""
        base = min(self.backoff_cap, self.backoff_base * 2 ** max(0, failures - 1))
        return base + self._rng.uniform(0, base / 4)

    async def request(
        self, method: str, path: str, *, params: dict[str, Any] | None = None, json: Any = None
    ) -> Envelope:
        method = method.upper()
        idempotent = method in IDEMPOTENT_METHODS
        headers = {"Idempotency-Key": str(uuid.uuid4())}
        content = None
        if json is not None:
            content = jsonlib.dumps(json, separators=(",", ":")).encode()
            headers["Content-Type"] = "application/json"
        clean_params = {k: v for k, v in (params or {}).items() if v is not None}
        started = time.monotonic()
        ends = started + self.deadline
        failures = 0  # 5xx and transport failures, for backoff and max_retries
        limited = 0  # 429s
        maybe_applied = False  # an earlier attempt may have reached the server
        last_429: httpx.Response | None = None
        while True:
            # The deadline covers the wait for the limiter's turn too, not only the request.
            left = ends - time.monotonic()
            try:
                if left <= 0:
                    raise TimeoutError
                async with asyncio.timeout(left):
                    await self.limiter.acquire()
            except TimeoutError:
                if last_429 is not None:
                    raise to_error(last_429) from None
                raise TransportError(
                    f"{method} {path}: not sent, the rate limit left no turn within the "
                    f"{self.deadline:g} s deadline",
                    request_sent=maybe_applied,
                ) from None
            response: httpx.Response | None = None
            error: TransportError | None = None
            sent_at = time.monotonic()
            logs.debug("→ %s %s %s attempt %d", method, path, clean_params or "",
                       failures + limited + 1)
            if content is not None:
                logs.debug("  body %s", content.decode(errors="replace")[:2000])
            left = ends - sent_at
            if left <= 0:  # the turn came just as time ran out: give it back, send nothing
                await self._complete(None)
                if last_429 is not None:
                    raise to_error(last_429)
                raise TransportError(
                    f"{method} {path}: not sent, no time left within the {self.deadline:g} s deadline",
                    request_sent=maybe_applied,
                )
            try:
                async with asyncio.timeout(left):
                    response = await self.http.request(
                        method, path, params=clean_params or None, content=content, headers=headers
                    )
            except httpx.TransportError as exc:
                sent = request_was_sent(exc)
                error = TransportError(
                    logs.redact(f"{method} {path} failed: {type(exc).__name__}: {exc}".rstrip(": ")),
                    request_sent=sent or maybe_applied,
                )
                error.__cause__ = exc
            except TimeoutError:
                error = TransportError(
                    f"{method} {path}: no answer within the {self.deadline:g} s deadline",
                    request_sent=True,
                )
            finally:
                await self._complete(response)

            elapsed = (time.monotonic() - sent_at) * 1000
            if error is not None:
                logs.debug("✗ %s %s after %.0f ms: %s", method, path, elapsed, error)
                could_replay = idempotent or not error.request_sent
                if could_replay and failures < self.max_retries and await self._wait(failures + 1, ends):
                    failures += 1
                    maybe_applied = maybe_applied or error.request_sent
                    continue
                raise error

            status = response.status_code
            logs.debug("← %s %s %d in %.0f ms (remaining %s)", method, path, status, elapsed,
                       response.headers.get("x-ratelimit-remaining", "?"))
            if 200 <= status < 300:
                return unwrap(response)
            if status == 429:
                limited += 1
                last_429 = response
                if limited <= self.max_rate_limit_retries and time.monotonic() < ends:
                    continue  # the limiter now holds every worker until the window resets (or the deadline)
                raise to_error(response)
            if status >= 500:
                if idempotent and failures < self.max_retries and await self._wait(failures + 1, ends):
                    failures += 1
                    maybe_applied = True
                    continue
                raise to_error(response)
            if status == 404 and method == "DELETE" and maybe_applied:
                return Envelope(data=None)  # an earlier attempt deleted it
            raise to_error(response)

    async def _complete(self, response: httpx.Response | None) -> None:
        """Give the request back to the limiter. Its bookkeeping failing never changes the outcome."""
        try:
            await self.limiter.complete(response)
        except Exception as exc:
            logs.logger.warning("rate-limit bookkeeping failed (the request's outcome stands): %s",
                                logs.redact(f"{type(exc).__name__}: {exc}"))

    async def _wait(self, failures: int, ends: float) -> bool:
        """Sleep the backoff for the n-th failure if the deadline leaves room; False if it does not."""
        delay = self.backoff(failures)
        if time.monotonic() + delay >= ends:
            return False
        await asyncio.sleep(delay)
        return True
