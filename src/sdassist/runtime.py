"""Wiring: settings → client (real SocialDock or the embedded sandbox) → store → publisher → tool context.

Every face opens one `Runtime` and asks it for a `ToolContext` per caller.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import httpx

from sdassist.client import RateLimiter, SocialDock, is_production_url
from sdassist.config import SANDBOX_KEY, Settings
from sdassist.publishing.drafts import Draft, DraftState, Principal
from sdassist.publishing.media import MediaStore
from sdassist.publishing.policy import ApprovalPolicy
from sdassist.publishing.publisher import Publisher
from sdassist.publishing.store import DraftStore
from sdassist.tools.base import DraftNotifier, ProgressFn, ToolContext
from sdassist.tools.confirmation import ConfirmationTokens

log = logging.getLogger("sdassist")

EMBEDDED_SANDBOX_URL = "http://sandbox.local"
SANDBOX_NOTICE = (
    "sdassist: no SOCIALDOCK_API_KEY set, so this runs on the built-in SocialDock sandbox: "
    "nothing is really posted."
)

RECONCILE_EVERY = 30.0
"""Seconds between looks for drafts another instance left half-published (killed in the middle of a request)."""
STRANDED_AFTER: float | None = None
"""Seconds after which a draft still `publishing`/`unknown` counts as stranded; None = the client's deadline."""


def _rate_limiter(settings: Settings) -> RateLimiter:
    """Each process paces itself to its share; with SDASSIST_SHARED_RATE_BUDGET the instances instead
    share one budget kept in the database (`sdassist.ratebudget`)."""
    if not settings.shared_rate_budget:
        return RateLimiter(share=settings.rate_share)
    from sdassist.ratebudget import SharedBudget

    key = settings.socialdock_api_key.get_secret_value() if settings.socialdock_api_key else SANDBOX_KEY
    if settings.database_url is None:
        settings.data_dir.mkdir(parents=True, exist_ok=True)
    return RateLimiter(budget=SharedBudget(settings.effective_database_url, key))


def build_client(settings: Settings, *, rate_limiter: RateLimiter | None = None) -> tuple[SocialDock, Any]:
    """The SocialDock client the settings ask for, and the in-process sandbox app when there is one.

    No key and no base URL: an embedded sandbox in this process, its state kept in the data directory.
    No key but a base URL: a sandbox served elsewhere (`sdassist sandbox`), with the sandbox key, unless that
    URL is SocialDock's own host, however written: then the embedded sandbox.
    """
    limiter = rate_limiter or _rate_limiter(settings)
    if settings.socialdock_api_key is not None:
        client = SocialDock(settings.socialdock_api_key, base_url=settings.socialdock_base_url, rate_limiter=limiter)
        return client, None
    if not is_production_url(settings.socialdock_base_url):  # the sandbox key never goes to SocialDock itself
        return SocialDock(SANDBOX_KEY, base_url=settings.socialdock_base_url, rate_limiter=limiter), None
    from sdassist.sandbox import SandboxConfig, create_app

    settings.data_dir.mkdir(parents=True, exist_ok=True)
    app = create_app(SandboxConfig(state_file=settings.data_dir / "sandbox.json"))
    transport = httpx.ASGITransport(app=app)
    return SocialDock(SANDBOX_KEY, base_url=EMBEDDED_SANDBOX_URL, transport=transport, rate_limiter=limiter), app


@dataclass
class Runtime:
    settings: Settings
    client: SocialDock
    store: DraftStore
    publisher: Publisher
    policy: ApprovalPolicy
    confirmations: ConfirmationTokens
    sandbox_app: Any = None
    notifier: DraftNotifier | None = None
    media: MediaStore | None = None

    def context(
        self,
        principal: Principal,
        *,
        zone: str | None = None,
        zone_source: str | None = None,
        progress: ProgressFn | None = None,
        local_files: bool = False,
    ) -> ToolContext:
        """`zone_source` names where `zone` came from ("--zone", "your Slack time zone"), for refusals."""
        return ToolContext(
            client=self.client, store=self.store, publisher=self.publisher, policy=self.policy,
            settings=self.settings, principal=principal, zone=zone or self.settings.timezone,
            zone_source=zone_source or ("the caller's time zone" if zone else "SDASSIST_TIMEZONE"),
            confirmations=self.confirmations, notifier=self.notifier, progress=progress, media=self.media,
            local_files=local_files,
        )

    async def reconcile_stranded(self) -> list[Draft]:
        """Settle drafts left `publishing`/`unknown` for longer than the client's deadline.

        Whoever sent their request is gone by then (an instance killed mid-request); without this only a
        restart would settle them. Reconciling never resends, and a reconcile that races a live sender just
        loses its compare-and-set, so any instance may do it.
        """
        after = STRANDED_AFTER
        if after is None:
            after = getattr(getattr(self.client, "_loop", None), "deadline", 60.0)
        cutoff = self.publisher.clock() - timedelta(seconds=after)
        settled = []
        for draft in await self.store.list(states=[DraftState.PUBLISHING, DraftState.UNKNOWN], limit=100):
            if (draft.publish_started_at or draft.updated_at) <= cutoff:
                try:
                    settled.append(await self.publisher.reconcile(draft.id))
                except Exception:  # one bad draft must not keep the others unsettled
                    log.exception("could not reconcile stranded draft %s; the others go on", draft.id)
        return settled

    async def keep_reconciling(self, every: float | None = None) -> None:
        """`reconcile_stranded` and the late-post watch every `every` seconds (RECONCILE_EVERY), until cancelled."""
        while True:
            await asyncio.sleep(every if every is not None else RECONCILE_EVERY)
            for work, what in ((self.reconcile_stranded, "reconcile stranded drafts"),
                               (self.publisher.watch_late_posts, "look for late posts")):
                try:
                    await work()
                except asyncio.CancelledError:
                    raise
                except Exception as exc:  # SocialDock or the database briefly away: try again next round
                    log.warning("could not %s: %s", what, type(exc).__name__)


@asynccontextmanager
async def open_runtime(
    settings: Settings | None = None,
    *,
    client: SocialDock | None = None,
    announce: bool = True,
    reconcile: bool = True,
) -> AsyncIterator[Runtime]:
    """Open everything a face needs; reconcile drafts a previous run left half-published, at once and then
    every RECONCILE_EVERY seconds for drafts another instance stranded (`Runtime.reconcile_stranded`)."""
    settings = settings or Settings()
    async with contextlib.AsyncExitStack() as stack:
        # Each closer is registered the moment its resource exists, so a failure while opening the next
        # one, or a failing close, never leaves the others open.
        sandbox_app = None
        if client is None:
            client, sandbox_app = build_client(settings)
        if sandbox_app is not None:
            stack.push_async_callback(sandbox_app.state.sandbox.aclose)
        close_budget = getattr(client.rate_limiter.budget, "aclose", None)
        if close_budget is not None:
            stack.push_async_callback(close_budget)
        stack.push_async_callback(client.aclose)
        if announce and settings.uses_sandbox:
            print(SANDBOX_NOTICE, file=sys.stderr)
        if settings.database_url is None:
            settings.data_dir.mkdir(parents=True, exist_ok=True)
        store = await DraftStore.open(
            settings.effective_database_url, draft_ttl=timedelta(hours=settings.draft_ttl_hours))
        stack.push_async_callback(store.close)
        media_secret = settings.media_secret.get_secret_value() if settings.media_secret else None
        media = await MediaStore.open(settings.effective_database_url, settings.data_dir, secret=media_secret,
                                      keep=timedelta(days=settings.media_keep_days))
        stack.push_async_callback(media.close)
        policy = ApprovalPolicy.from_settings(settings)
        publisher = Publisher(
            client, store, policy, attempt_may_land=timedelta(minutes=settings.attempt_may_land_minutes),
            late_post_watch=timedelta(hours=settings.late_post_watch_hours))
        runtime = Runtime(
            settings=settings, client=client, store=store, publisher=publisher, policy=policy,
            confirmations=ConfirmationTokens.with_key(
                settings.confirm_secret.get_secret_value() if settings.confirm_secret else None),
            sandbox_app=sandbox_app, media=media,
        )
        if reconcile:
            # and the late posts due a look: a terminal run ends long before the first round below
            for work, what in ((publisher.reconcile_all, "reconcile unfinished drafts"),
                               (publisher.watch_late_posts, "look for late posts")):
                try:
                    await work()
                except Exception as exc:  # an unreachable SocialDock must not stop the face from starting
                    log.warning("could not %s yet: %s", what, type(exc).__name__)
            keeper = asyncio.create_task(runtime.keep_reconciling())
            stack.push_async_callback(_stop, keeper)
        yield runtime


async def _stop(task: asyncio.Task[None]) -> None:
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task
