"""The Bolt listeners: `/socialdock`, the card's buttons, the modals, and the web app that serves them.

Every listener acks first (Slack allows 3 s, SocialDock may take longer or be down) and does the slow work
after: work that waits on SocialDock goes to a bounded line of jobs (`work.py`) with only the fields it
needs. Work goes through the tool registry with the clicking person as the principal; failures reach that
person privately, with the reason, and the draft is kept.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import functools
import html
import json
import logging
import os
import time
from collections import Counter
from collections.abc import Iterator, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import aiohttp
from aiohttp import web
from slack_bolt.async_app import AsyncApp
from slack_bolt.logger.messages import warning_client_prioritized_and_token_skipped
from slack_sdk.web.async_client import AsyncWebClient

from sdassist.client.models import Target
from sdassist.config import Settings
from sdassist.netsafety import check_secret_transport
from sdassist.publishing.drafts import Draft, DraftState, Principal
from sdassist.publishing.media import check_media_files
from sdassist.publishing.when import TimeError, parse_zone
from sdassist.runtime import Runtime
from sdassist.slack import blocks as ui
from sdassist.slack.analytics import analytics_text
from sdassist.slack.cards import CardKeeper
from sdassist.slack.events import Conversations
from sdassist.slack.files import SlackFile, SlackFiles, card_media
from sdassist.slack.grammar import Command, GrammarError, help_text, parse, with_when
from sdassist.slack.home import RECONNECT, HomeKeeper, calendar_message, home_view, reconnect_view
from sdassist.slack.shortcuts import SHORTCUT, MessageShortcut, source_refs
from sdassist.slack.webhook import WEBHOOK_PATH, event_text, events_guard, make_handler
from sdassist.slack.work import Busy, WorkLine
from sdassist.tools import ToolError, get_tool
from sdassist.tools.accounts import CONNECTED_PATH
from sdassist.tools.base import attachments_of
from sdassist.tools.calendar import BrokenConnection, broken_connections, plan, read_week, warm
from sdassist.tools.changes import DraftChange, check_draft_change
from sdassist.tools.compose import messages
from sdassist.tools.errors import tool_error_from
from sdassist.tools.media import draft_with_files
from sdassist.tools.posts import withdraw_scheduled_post
from sdassist.tools.targets import normalise_platform
from sdassist.tools.views import DraftStatus
from sdassist.web.media import add_media_route

log = logging.getLogger("sdassist.slack")
S = DraftState
SLACK_API = "https://slack.com/api/"
SLOW_WORK_LIMIT = 32  # SocialDock-bound jobs at once; more queue (a deep httpx pool costs the loop more than a queue)
QUEUE_LIMIT = 2000  # jobs waiting in line before "busy": ~2 min of waiting when SocialDock takes 2 s a call
COMPOSER_BLOCKS = {"text", "accounts", "when", "now", "media", "title"}
EDIT_BLOCKS = {"text", "when", "media", "title"}
PROGRESS_AFTER = 0.5  # seconds: show "approved, sending…" on the card when SocialDock is slower than this
HOME_WARM_EVERY = 600.0  # seconds between App Home warm-ups after the first: windows kept current, a new week read
WARM_ZONES = 4  # App Home's days are laid out ahead in the workspace's most common zones, this many
RECANCEL_AFTER = 0.5  # seconds: stop() cancels again a task still running (one that swallowed the cancellation)
LEARN_PAGES = 50  # pages of users.list read at start (200 people each); people beyond are asked when they come
WARMUP_PRINCIPAL = Principal(id="sdassist", kind="operator", face="system", name="sdassist")


def web_client(settings: Settings) -> AsyncWebClient:
    """The Web API client; `SDASSIST_SLACK_API_URL` points it elsewhere (a proxy, the tests' fake)."""
    token = settings.slack_bot_token.get_secret_value().strip() if settings.slack_bot_token else None
    base = (settings.slack_api_url or SLACK_API).strip().rstrip("/") + "/"
    if token:
        check_secret_transport(base, what="Slack bot token", setting="SDASSIST_SLACK_API_URL")
    return AsyncWebClient(token=token, base_url=base, timeout=10)


async def connected_page(request: web.Request) -> web.Response:
    """The end of an OAuth connect: say what happened, in plain HTML, and what to do next."""
    platform = html.escape(request.query.get("platform", "the account"))
    body = (f"<!doctype html><title>Connected</title><h1>{platform} is connected to SocialDock</h1>"
            "<p>You can close this tab. In Slack, <code>/socialdock accounts</code> lists it.</p>")
    return web.Response(text=body, content_type="text/html")


@contextlib.contextmanager
def _quiet_same_token(client: AsyncWebClient) -> Iterator[None]:
    """Bolt reads SLACK_BOT_TOKEN from the environment even when given a client, and warns at start that the
    token is unused. When it is the very token the client carries, nothing is unused: that warning is dropped."""
    same = os.environ.get("SLACK_BOT_TOKEN", "").strip() == (client.token or "")
    bolt_log = logging.getLogger("slack_bolt.AsyncApp")

    def keep(record: logging.LogRecord) -> bool:
        return not (same and record.getMessage() == warning_client_prioritized_and_token_skipped())

    bolt_log.addFilter(keep)
    try:
        yield
    finally:
        bolt_log.removeFilter(keep)


class ClickRefused(ToolError):
    """A click that cannot count (an old version, a draft already decided): said to the clicker, not an error."""


def explain(exc: BaseException) -> ToolError:
    """Any failure as a ToolError the user can read; an unexpected one is logged, never shown raw."""
    if isinstance(exc, ToolError):
        return exc
    mapped = tool_error_from(exc)
    if mapped is not None:
        return mapped
    log.exception("unexpected error in the Slack face", exc_info=exc)
    return ToolError(f"something went wrong on our side ({type(exc).__name__})",
                     hint="The draft, if any, is kept. Try again, or ask whoever runs sdassist to check its log.")


class ZoneCache:
    """Each user's Slack time zone (`users.info`), cached; the configured default otherwise. Past `ttl` the zone
    known is still answered at once and asked again in the background, so only a person's first request after a
    start waits for Slack, not one an hour (their App Home would wait a Slack round trip each time)."""

    def __init__(self, client: AsyncWebClient, default: str, ttl: float = 3600.0) -> None:
        self.client, self.default, self.ttl = client, default, ttl
        self._zones: dict[str, tuple[float, str, str | None]] = {}
        self._asking: dict[str, asyncio.Task[Any]] = {}

    async def get(self, user_id: str) -> tuple[str, str | None]:
        """(IANA zone, display name)."""
        hit = self._zones.get(user_id)
        if hit is None:
            return await self._ask(user_id)
        if time.monotonic() - hit[0] >= self.ttl and user_id not in self._asking:
            task = self._asking[user_id] = asyncio.create_task(self._ask(user_id))
            task.add_done_callback(lambda _: self._asking.pop(user_id, None))
        return hit[1], hit[2]

    async def _ask(self, user_id: str) -> tuple[str, str | None]:
        try:
            zone, name = self._keep((await self.client.users_info(user=user_id))["user"])
        except Exception as exc:
            log.info("users.info for %s failed (%s); using %s", user_id, type(exc).__name__,
                     "the zone known" if user_id in self._zones else self.default)
            hit = self._zones.get(user_id)
            return (hit[1], hit[2]) if hit else (self.default, None)
        return zone, name

    def _keep(self, user: Mapping[str, Any]) -> tuple[str, str | None]:
        """Remember a Slack user object's zone (the default when it has none or one we cannot read) and name."""
        zone = user.get("tz") or self.default
        try:
            parse_zone(zone)
        except TimeError:
            zone = self.default
        profile = user.get("profile") or {}
        name = profile.get("display_name") or user.get("real_name") or user.get("name")
        self._zones[user["id"]] = (time.monotonic(), zone, name)
        return zone, name

    def common(self, count: int) -> list[str]:
        """The `count` zones most people known are in, most first."""
        return [zone for zone, _ in Counter(zone for _, zone, _ in self._zones.values()).most_common(count)]

    async def learn_all(self, *, pages: int = LEARN_PAGES) -> int:
        """Every member's zone from `users.list`, a page of 200 at a time, so that nobody's first App Home or
        command after a start waits for Slack to say where they are. Returns how many were learned."""
        cursor: str | None = None
        learned = 0
        for _ in range(pages):
            answer = await self.client.users_list(limit=200, cursor=cursor)
            for user in answer.get("members") or []:
                if user.get("id") and not user.get("deleted") and user["id"] not in self._zones:
                    self._keep(user)
                    learned += 1
            cursor = (answer.get("response_metadata") or {}).get("next_cursor")
            if not cursor:
                break
        return learned


class ApproverDirectory:
    """Expands user groups (`S…` ids in SDASSIST_APPROVERS) into members, cached for a minute."""

    def __init__(self, client: AsyncWebClient, rt: Runtime, ttl: float = 60.0) -> None:
        self.client, self.rt, self.ttl = client, rt, ttl
        self.base = rt.policy
        self._at: float | None = None

    async def refresh(self) -> None:
        """Bring the policy's approver list up to date (a no-op without user groups, or within the TTL)."""
        groups = sorted(a for a in self.base.approvers if a.startswith("S"))
        if not groups or (self._at is not None and time.monotonic() - self._at < self.ttl):
            return
        members: set[str] = set()
        for group in groups:
            try:
                members.update((await self.client.usergroups_users_list(usergroup=group))["users"])
            except Exception as exc:
                log.warning("could not read user group %s: %s", group, exc)
        policy = dataclasses.replace(self.base, approvers=frozenset(self.base.approvers | members))
        self.rt.policy = policy
        self.rt.publisher.policy = policy
        self._at = time.monotonic()


class AccountCache:
    """Connected accounts for the composer and the card's handles; refreshed in the background."""

    def __init__(self, rt: Runtime) -> None:
        self.rt = rt
        self.accounts: list[dict[str, Any]] = []
        self.broken: list[BrokenConnection] = []
        self.at = 0.0

    def handles(self) -> dict[str, str]:
        return {a["id"]: a["handle"] for a in self.accounts if a.get("handle")}

    async def refresh(self, timeout: float = 5.0) -> None:
        ctx = self.rt.context(Principal(id="sdassist", kind="operator", face="system"))
        async with asyncio.timeout(timeout):  # not wait_for: on 3.11 it can swallow a cancellation (stop's)
            out = await get_tool("list_accounts").run(ctx, {})
        self.accounts = [a.model_dump() for a in out.accounts]
        self.broken = broken_connections(out.accounts)
        self.at = time.monotonic()

    def options(self) -> list[dict[str, Any]]:
        if self.accounts:
            return [ui.account_option(f"{a['platform']}|{a['id']}",
                                      f"{ui.platform_name(a['platform'])} {a.get('handle') or a['id']}")
                    for a in self.accounts]
        from sdassist.client.models import PLATFORMS
        return [ui.account_option(p, ui.platform_name(p)) for p in PLATFORMS]


def _person(user: Mapping[str, Any]) -> dict[str, str]:
    """The few fields of a Slack user object that work after an ack needs (not the request it came in)."""
    return {key: str(user[key]) for key in ("id", "name", "username") if user.get(key)}


def _principal(user: Mapping[str, Any], name: str | None = None) -> Principal:
    return Principal(id=user["id"], kind="human", face="slack",
                     name=name or user.get("name") or user.get("username") or user["id"])


def _local_phrase(unix: int, zone: str) -> str:
    return f"{datetime.fromtimestamp(unix, UTC).astimezone(parse_zone(zone)):%Y-%m-%d %H:%M}"


# Where a tool field's problem shows on a modal: block ids of the composer (and of the Edit modal, which has
# no accounts block: problems about accounts show on its text).
MODAL_FIELDS = {"text": "text", "title": "title", "media_urls": "media", "when": "when", "publish_now": "when",
                "targets": "accounts", "subreddit": "accounts", "privacy": "accounts", "chat_id": "accounts",
                "tags": "text"}


def modal_errors(change: DraftChange, blocks: set[str]) -> dict[str, str]:
    """A dry run's problems on the modal's fields (Slack shows at most ~2,000 characters per field)."""
    errors: dict[str, list[str]] = {}
    for name, problems in change.problems.items():
        block = MODAL_FIELDS.get(name, "text")
        errors.setdefault(block if block in blocks else "text", []).extend(problems)
    return {k: "; ".join(v)[:1900] for k, v in errors.items()}


class SlackFace:
    """Owns the Bolt app, the cards, and the caches; one per process."""

    def __init__(self, settings: Settings, rt: Runtime, client: AsyncWebClient) -> None:
        if not settings.approval_channel:
            raise ValueError("SDASSIST_APPROVAL_CHANNEL is not set: the channel (id, e.g. C0123…) for approval cards")
        self.settings, self.rt, self.client = settings, rt, client
        with _quiet_same_token(client):
            self.app = AsyncApp(  # the bot token travels in `client`, whose base_url may point at a proxy or fake
                signing_secret=settings.slack_signing_secret.get_secret_value() if settings.slack_signing_secret
                else None,
                client=client, process_before_response=False,
                request_verification_enabled=False,  # events_guard verifies first, before Bolt parses the body
            )
        self.accounts = AccountCache(rt)
        self.cards = CardKeeper(client, rt.store, settings.approval_channel, self.accounts.handles)
        rt.notifier = self.cards
        self.zones = ZoneCache(client, settings.timezone)
        self.approvers = ApproverDirectory(client, rt)
        self.tasks: set[asyncio.Task[Any]] = set()
        self.home_warmup: asyncio.Task[None] | None = None
        self.home = HomeKeeper(client, self.render_home, self.spawn)
        self.cards.on_change = self.home.changed
        self.files = SlackFiles(client, settings, rt.media, spawn=self.spawn)
        self.cards.media = card_media(rt.media, settings.public_url)
        self.shortcut = MessageShortcut(self)
        self.conversations = Conversations(self)
        self.work = WorkLine(self.spawn, workers=SLOW_WORK_LIMIT, limit=QUEUE_LIMIT)
        self._session: aiohttp.ClientSession | None = None
        self._register()

    # --- plumbing ---------------------------------------------------------------------------------------

    def spawn(self, coro: Any) -> asyncio.Task[Any]:
        task = asyncio.create_task(coro)
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)
        return task

    @property
    def backlog(self) -> int:
        """Jobs after an ack (SocialDock-bound) taken and not finished."""
        return self.work.backlog

    def enqueue(self, job: Any, *args: Any, user_id: str, channel: str | None, response_url: str | None = None,
                thread_ts: str | None = None, in_conversation: bool = False) -> None:
        """Hand `job(*args)` to the line of work after acks (`work.py`: give it only the few fields it needs,
        never Bolt's body or context). When the line is full the person is told so at once."""
        try:
            self.work.put(job, *args)
        except Busy as exc:
            self.spawn(self.fail(user_id, channel, exc, response_url=response_url, thread_ts=thread_ts,
                                 in_conversation=in_conversation))

    async def context_for(self, user: Mapping[str, Any]) -> Any:
        """The tool context of a Slack user, with the approver list refreshed first (every policy check reads it)."""
        await self.approvers.refresh()
        zone, name = await self.zones.get(user["id"])
        return self.rt.context(_principal(user, name), zone=zone, zone_source="your Slack time zone"), zone

    async def tell(self, user_id: str, channel: str | None, text: str, *, response_url: str | None = None,
                   blocks: list[dict[str, Any]] | None = None, thread_ts: str | None = None,
                   in_conversation: bool = False) -> None:
        """A private answer: the response_url, else an ephemeral in the channel, else a DM. `in_conversation`
        (an answer to a mention or a DM): a message in the conversation, in the thread `thread_ts` if given."""
        if in_conversation and channel:
            await self.client.chat_postMessage(channel=channel, thread_ts=thread_ts, text=text, blocks=blocks)
            return
        if response_url:
            try:
                from slack_sdk.webhook.async_client import AsyncWebhookClient
                answer = await AsyncWebhookClient(response_url).send(
                    text=text, blocks=blocks, response_type="ephemeral", replace_original=False)
                if answer.status_code == 200:
                    return
            except Exception as exc:
                log.info("response_url failed: %s", exc)
        try:
            if channel:
                await self.client.chat_postEphemeral(channel=channel, user=user_id, text=text, blocks=blocks)
                return
        except Exception as exc:
            log.info("chat.postEphemeral failed: %s", exc)
        await self.client.chat_postMessage(channel=user_id, text=text, blocks=blocks)

    async def fail(self, user_id: str, channel: str | None, exc: BaseException, *, example: str | None = None,
                   response_url: str | None = None, thread_ts: str | None = None,
                   in_conversation: bool = False) -> None:
        where: dict[str, Any] = {"response_url": response_url, "thread_ts": thread_ts,
                                 "in_conversation": in_conversation}
        if isinstance(exc, ClickRefused):
            await self.tell(user_id, channel, f":information_source: {exc.message}", **where)
            return
        err = explain(exc)
        await self.tell(user_id, channel, ui.problem_text(err.message, hint=err.hint, example=example), **where)

    def web_app(self, *, with_slack: bool = True) -> web.Application:
        """`/slack/events` (HTTP mode) and the SocialDock webhook receiver on one aiohttp application."""
        app = self.app.web_app(path="/slack/events") if with_slack else web.Application()
        if with_slack:
            secret = self.settings.slack_signing_secret
            app.middlewares.append(events_guard(secret.get_secret_value() if secret else None))
        handler = make_handler(lambda: self.rt.publisher,
                               lambda: self.settings.webhook_secret.get_secret_value()
                               if self.settings.webhook_secret else None,
                               self.relay, self.tasks)
        app.router.add_post(WEBHOOK_PATH, handler)
        app.router.add_get(CONNECTED_PATH, connected_page)
        add_media_route(app, lambda: self.rt.media)  # SocialDock and Slack fetch attached files here
        return app

    async def relay(self, draft: Draft, event: Any) -> None:
        try:
            await self.cards.say(draft, event_text(event))
            current = await self.rt.store.get(draft.id)
            if not await self.cards.tell_late(current):  # a late post is news for the thread, told once
                await self.cards.refresh(current)
        except Exception as exc:
            log.warning("could not relay webhook for %s: %s", draft.id, exc)

    async def start(self, *, poll_interval: float = 1.0) -> None:
        """Background work: App Home's warm-up (`warmed` waits for it), the card poller, the accounts cache, and
        registering the webhook."""
        self._share_connections()
        self.files.open()
        self.home_warmup = self.spawn(self.warm_home())
        self.spawn(self._keep_home_warm())
        self.spawn(self._learn_zones())
        await asyncio.to_thread(self._warm_time_parser)
        self.spawn(self.cards.watch(poll_interval))
        self.spawn(self._keep_accounts())
        if self.settings.public_url and self.settings.webhook_secret:
            self.spawn(self.register_webhook())

    def _share_connections(self) -> None:
        """One aiohttp session, its connections kept alive, for the Web API calls of this process: without one,
        slack_sdk opens a session and a connection (with Slack, a TLS handshake) per call, and at hundreds of
        calls a minute connecting and closing sockets took a third of the event loop's time in the bench."""
        if self.client.session is None:
            self._session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=self.client.timeout))
            self.client.session = self._session

    def _warm_time_parser(self) -> None:
        """dateparser loads its language data on first use (~0.5 s of CPU); pay that now, off the event loop,
        rather than inside some listener while acks wait behind it."""
        from sdassist.publishing.when import resolve_time

        try:
            resolve_time("next friday at noon", zone="UTC", default_zone="UTC")
        except Exception as exc:
            log.debug("time parser warm-up: %s", exc)

    async def stop(self) -> None:
        """Cancel the background work and the listeners still at work after their ack, and wait for them: called
        before the runtime closes its SocialDock client (and stop taking requests first), so none of that work
        is left to fail on a closed client. Work a listener was doing is left as after a crash: the draft is
        stored, and reconciling finds where it got to; jobs still waiting in line are dropped the same way."""
        self.work.clear()
        while self.tasks:  # a task being cancelled may spawn another (a card refresh): cancel until none is left
            pending = set(self.tasks)
            while pending:  # cancel again what is still running: a cancellation can be swallowed on its way
                for task in pending:
                    task.cancel()
                done, pending = await asyncio.wait(pending, timeout=RECANCEL_AFTER)
                for task in done:
                    if not task.cancelled():
                        task.exception()  # retrieved, so asyncio does not log it as never retrieved
                self.tasks.difference_update(done)
        if self._session is not None:
            self.client.session = None
            await self._session.close()
            self._session = None
        await self.files.close()

    async def _keep_accounts(self) -> None:
        while True:
            try:
                await self.accounts.refresh()
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                log.info("could not list accounts yet: %s", type(exc).__name__)
            await asyncio.sleep(60)

    async def register_webhook(self) -> str:
        """Register `SDASSIST_PUBLIC_URL/socialdock/webhook` with SocialDock unless it already is."""
        url = self.settings.public_url.rstrip("/") + WEBHOOK_PATH  # type: ignore[union-attr]
        ctx = self.rt.context(Principal(id="sdassist", kind="operator", face="system", name="sdassist"))
        try:
            existing = await get_tool("list_webhooks").run(ctx, {})
            if any(h.url == url for h in existing.webhooks):
                return "already registered"
            hook = await get_tool("create_webhook").run(ctx, {"url": url})
            log.info("registered webhook %s for %s", hook.id, url)
            return hook.id
        except Exception as exc:
            log.warning("could not register the webhook %s: %s", url, explain(exc))
            return "failed"

    # --- listeners --------------------------------------------------------------------------------------

    def _tracked(self, listener: Any) -> Any:
        """`listener` with the task Bolt runs it in kept in `tasks`. Bolt runs each listener in a task of its own
        that outlives the ack (work that waits on SocialDock goes to the line of `work.py`, but what a listener does
        itself may wait too), and keeps no handle on it: without this `stop` could not cancel that work, and it
        would go on after the clients it uses were closed. `functools.wraps` keeps the signature Bolt reads to
        choose the arguments it passes."""

        @functools.wraps(listener)
        async def run(*args: Any, **kwargs: Any) -> Any:
            task = asyncio.current_task()
            if task is not None and task not in self.tasks:
                self.tasks.add(task)
                task.add_done_callback(self.tasks.discard)
            return await listener(*args, **kwargs)

        return run

    def _register(self) -> None:
        app, track = self.app, self._tracked
        app.command("/socialdock")(track(self.on_command))
        app.action(ui.APPROVE)(track(self.on_approve))
        app.action(ui.EDIT)(track(self.on_edit))
        app.action(ui.REJECT)(track(self.on_reject))
        app.view(ui.COMPOSER_VIEW)(track(self.on_composer_submit))
        app.view(ui.EDIT_VIEW)(track(self.on_edit_submit))
        app.view(ui.REJECT_VIEW)(track(self.on_reject_submit))
        app.event("app_home_opened")(track(self.on_home_opened))
        app.shortcut(SHORTCUT)(track(self.shortcut))
        app.event("app_mention")(track(self.conversations.on_mention))
        app.event("message")(track(self.conversations.on_message))
        app.action(RECONNECT)(track(self.on_reconnect))
        app.action("sd_reconnect_open")(track(self.on_link_opened))

    async def on_command(self, ack: Any, command: dict[str, Any]) -> None:
        try:
            parsed = parse(command.get("text") or "")
        except GrammarError as exc:
            await ack(response_type="ephemeral", text=ui.problem_text(exc.problem, example=exc.example))
            return
        if parsed.action == "help":
            await ack(response_type="ephemeral", text=help_text())
            return
        if parsed.action == "buttons_only":
            await ack(response_type="ephemeral", text=ui.problem_text(
                f"{parsed.tool} is a button, not a command: approve or reject on the card in "
                f"<#{self.settings.approval_channel}>", example=parsed.example))
            return
        if parsed.action == "compose":
            await ack()
            await self.open_composer(command)
            return
        try:
            self.work.check()
        except Busy as exc:
            await ack(response_type="ephemeral", text=ui.problem_text(exc.message, hint=exc.hint))
            return
        ahead = self.work.ahead()
        if ahead:
            await ack(response_type="ephemeral", text=ui.queued_text(ahead))
        elif parsed.action == "draft":
            await ack(response_type="ephemeral", text=":hourglass_flowing_sand: On it…")
        else:
            await ack()
        user = {"id": command["user_id"], "name": command.get("user_name")}
        channel, response_url = command.get("channel_id"), command.get("response_url")
        self.enqueue(self.run_parsed, parsed, user, channel, response_url, user_id=user["id"], channel=channel,
                     response_url=response_url)

    async def run_parsed(self, parsed: Command, user: dict[str, Any], channel: str | None, response_url: str | None,
                         *, in_conversation: bool = False, thread_ts: str | None = None,
                         files: Sequence[SlackFile] = (), source: Mapping[str, str] | None = None) -> None:
        """Run a parsed command and answer it: privately (a slash command), or `in_conversation` (in the thread
        `thread_ts`) when it came as a mention or a DM (`events.py`, which also passes the files and the
        source message). A connect link stays private in a channel either way."""
        private = parsed.tool == "connect_account" and not (channel or "").startswith("D")
        where: dict[str, Any] = {"response_url": response_url, "thread_ts": thread_ts,
                                 "in_conversation": in_conversation and not private}
        try:
            ctx, zone = await self.context_for(user)
            if parsed.action == "draft":
                stored = [await self.files.fetch(f.id, user["id"]) for f in files]
                view = await draft_with_files(ctx, {**parsed.arguments, "zone": zone}, stored, source=source)
                text = self._sent_text(view)
            elif parsed.action == "calendar":
                start = read_week(parsed.arguments.get("week"), zone)
                await self.warmed()
                text, blocks = calendar_message(await plan(ctx, start=start, days=7, zone=zone),
                                                broken=self.accounts.broken, handles=self.accounts.handles())
                await self.tell(user["id"], channel, text, blocks=blocks, **where)
                return
            elif parsed.action == "cancel":
                text = await self._cancel(ctx, parsed.arguments["id"])
            else:
                assert parsed.tool is not None
                tool = get_tool(parsed.tool)
                output = await tool.run(ctx, parsed.arguments)
                if tool.attachments is not None:
                    await self._answer_with_files(tool, output, user["id"], channel, response_url)
                    return
                text = ui.result_text(parsed.tool, output)
        except Exception as exc:
            better = getattr(exc, "example", None) if parsed.action == "draft" else None
            example = with_when(parsed, better) if isinstance(better, str) else parsed.example
            await self.fail(user["id"], channel, exc, example=example, **where)
            return
        await self.tell(user["id"], channel, text, **where)

    async def _answer_with_files(self, tool: Any, output: Any, user_id: str, channel: str | None,
                                 response_url: str | None) -> None:
        """The summary privately, then the tool's files (the analytics chart) uploaded to the conversation."""
        files = await attachments_of(tool, output)
        text = analytics_text(output, chart=bool(files) and bool(channel)) if tool.name == "get_analytics" \
            else ui.result_text(tool.name, output)
        await self.tell(user_id, channel, text, response_url=response_url)
        for item in files if channel else []:
            try:
                await self.client.files_upload_v2(channel=channel, file=item.data, filename=item.filename,
                                                  title=item.title)
            except Exception as exc:
                reason = getattr(getattr(exc, "response", None), "get", lambda _k: None)("error") or type(exc).__name__
                await self.tell(user_id, channel, f":information_source: The chart could not be posted here "
                                                  f"({reason}): invite @SocialDock to this channel, or ask in a "
                                                  "direct message with it.", response_url=response_url)

    def _sent_text(self, view: Any) -> str:
        """The requester's answer, from the tool's own state and next step (true in every approval mode)."""
        platforms = ", ".join(ui.platform_name(t.platform) for t in view.targets)
        if view.state == S.PENDING:
            when = view.scheduled_for.echo if view.scheduled_for else "as soon as it is approved"
            head = (f":inbox_tray: Sent for approval in <#{self.settings.approval_channel}>: `{view.draft_id}` "
                    f"(version {view.version}) to {platforms}, {when}.")
        else:
            when = f" for {view.scheduled_for.echo}" if view.scheduled_for and view.state == S.SCHEDULED else ""
            head = f":outbox_tray: `{view.draft_id}` (version {view.version}) to {platforms}: {view.state}{when}."
        lines = [head] + ([ui.escape(view.next_step)] if view.next_step else [])
        lines += [f":warning: {ui.escape(w)}" for w in view.warnings]
        return "\n".join(lines)

    async def _cancel(self, ctx: Any, ident: str) -> str:
        if ident.startswith("post_"):
            done = await withdraw_scheduled_post(ctx, ident)
            if not isinstance(done, DraftStatus):
                return f":wastebasket: Deleted scheduled post `{ident}` from SocialDock."
            view = done
        else:
            view = await get_tool("cancel_draft").run(ctx, {"draft_id": ident})
        await self.cards.settle(await self.rt.store.get(view.draft_id))
        return f":no_entry_sign: Cancelled `{view.draft_id}`." + (f" Post `{view.post_id}` was deleted from "
                                                                  "SocialDock." if view.post_id else "")

    # --- App Home ---------------------------------------------------------------------------------------

    async def warm_home(self, zones: Sequence[str] = ()) -> None:
        """Read App Home's fortnight and render it once for nobody before anyone opens the tab, so the first
        person does not pay for reading the window (~100 ms at 100,000 drafts) nor for the first use of the
        queries and code behind it; then lay its days out in each of `zones` too (a day is a day in someone's
        zone). Also ahead of time: a week about to start somewhere is read before it does. Never raises:
        without it the first render reads what it needs."""
        started = time.perf_counter()
        plans = []
        try:
            for zone in dict.fromkeys([self.settings.timezone, *zones]):
                plans += await warm(self.rt.context(WARMUP_PRINCIPAL, zone=zone), days=14,
                                    ahead=timedelta(seconds=2 * HOME_WARM_EVERY))
            for found in plans:
                home_view(found, broken=self.accounts.broken, handles=self.accounts.handles())
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            log.warning("App Home warm-up failed (%s); the first render reads the calendar itself",
                        type(exc).__name__)
            return
        log.debug("App Home warm-up: %s in %.0f ms", ", ".join(f"{p.start} in {p.zone}" for p in plans),
                  1000 * (time.perf_counter() - started))

    async def warmed(self) -> None:
        """Wait for the start-up warm-up of App Home if it is still running, rather than read the same window
        beside it. A render that is cancelled meanwhile leaves the warm-up running."""
        if self.home_warmup is not None and not self.home_warmup.done():
            await asyncio.wait([self.home_warmup])

    async def _learn_zones(self) -> None:
        """The workspace's zones; then App Home's days laid out in the most common of them (not waited for by
        renders: a render that comes first lays out its own)."""
        try:
            log.debug("learned the time zones of %d people", await self.zones.learn_all())
        except Exception as exc:  # without them each person's first request asks users.info, as before
            log.info("could not list the workspace's people for their time zones: %s", type(exc).__name__)
            return
        others = [zone for zone in self.zones.common(WARM_ZONES) if zone != self.settings.timezone]
        if others:
            await self.warmed()
            await self.warm_home(others)

    async def _keep_home_warm(self) -> None:
        await self.warmed()
        while True:
            await asyncio.sleep(HOME_WARM_EVERY)
            await self.warm_home(self.zones.common(WARM_ZONES))

    async def render_home(self, user_id: str) -> dict[str, Any]:
        """This week and next, for this person, in their zone."""
        await self.warmed()
        ctx, zone = await self.context_for({"id": user_id})
        start = read_week(None, zone)
        return home_view(await plan(ctx, start=start, days=14, zone=zone),
                         broken=self.accounts.broken, handles=self.accounts.handles())

    async def on_home_opened(self, event: dict[str, Any]) -> None:
        """Render and publish in a task of its own that holds only the user id: Bolt's request and context are
        let go with this listener (hundreds of people opening the tab at once kept them all alive)."""
        if event.get("tab", "home") != "home":
            return  # the messages tab
        self.spawn(self.publish_home(str(event["user"])))

    async def publish_home(self, user_id: str) -> None:
        try:
            await self.home.opened(user_id)
        except Exception as exc:
            log.warning("could not publish App Home for %s: %s", user_id, explain(exc).message)

    async def on_reconnect(self, ack: Any, body: dict[str, Any]) -> None:
        """Reconnect on App Home: a fresh connect link (they are short-lived), in a modal."""
        await ack()
        user = body["user"]
        platform = body["actions"][0]["value"]
        try:
            ctx, _ = await self.context_for(user)
            link = await get_tool("connect_account").run(ctx, {"platform": platform})
            await self.client.views_open(trigger_id=body["trigger_id"], view=reconnect_view(
                platform, link.connect_url, f"{link.expires_at:%H:%M} UTC"))
        except Exception as exc:
            await self.fail(user["id"], None, exc)

    async def on_link_opened(self, ack: Any) -> None:
        await ack()  # a link button still reports its click; the browser does the rest

    # --- composer ---------------------------------------------------------------------------------------

    async def open_composer(self, command: dict[str, Any]) -> None:
        metadata = {"channel": command.get("channel_id"), "response_url": command.get("response_url")}
        try:
            await self.client.views_open(trigger_id=command["trigger_id"],
                                         view=ui.composer_view(self.accounts.options(), metadata))
        except Exception as exc:
            await self.fail(command["user_id"], command.get("channel_id"), exc,
                            response_url=command.get("response_url"))
            return
        await self.zones.get(command["user_id"])  # warm: the submission reads the zone without waiting

    async def on_composer_submit(self, ack: Any, body: dict[str, Any], view: dict[str, Any]) -> None:
        values = ui.view_values(view)
        user = body["user"]
        zone = (self.zones._zones.get(user["id"]) or (0, self.settings.timezone))[1]
        arguments: dict[str, Any] = {"text": (values.get("text") or "").strip(), "zone": zone}
        picked = values.get("accounts") or []
        arguments["targets"] = [v.split("|", 1)[-1] for v in picked]
        if values.get("when"):
            arguments["when"] = _local_phrase(int(values["when"]), zone)
        if values.get("now"):
            arguments["publish_now"] = True
        arguments["media_urls"] = [u.strip() for u in (values.get("media") or "").split() if u.strip()]
        if values.get("title"):
            arguments["title"] = values["title"].strip()
        metadata = json.loads(view.get("private_metadata") or "{}")
        offered = {f[0]: SlackFile(*f) for f in metadata.get("files") or []}
        files = [offered[i] for i in values.get("files") or [] if i in offered]
        files += [SlackFile.of(f) for f in values.get("upload") or []]
        errors = await self._dry_run(user, zone, arguments, picked, files, file_block="files" if offered else "upload")
        if errors:
            await ack(response_action="errors", errors=errors)
            return
        if busy := self._busy_errors("text"):  # the modal stays open with what they wrote
            await ack(response_action="errors", errors=busy)
            return
        await ack()
        person, source = _person(user), metadata.get("source") or {}
        where = {"channel": metadata.get("channel"), "response_url": metadata.get("response_url")}
        self.enqueue(self.compose, person, arguments, files, source.get("channel"), source.get("ts"), where,
                     user_id=person["id"], **where)

    def _busy_errors(self, block: str) -> dict[str, str]:
        """A modal's submission refused on `block` while the line of work is full (empty when it is not)."""
        try:
            self.work.check()
        except Busy as exc:
            return {block: f"{exc.message} {exc.hint}"}
        return {}

    async def compose(self, user: dict[str, str], arguments: dict[str, Any], files: Sequence[SlackFile],
                      source_channel: str | None, source_ts: str | None, where: dict[str, Any]) -> None:
        """The composer's draft, after its ack: the files stored, the source message linked, the answer told."""
        try:
            ctx, _ = await self.context_for(user)
            stored = [await self.files.fetch(f.id, user["id"]) for f in files]
            refs = await source_refs(self, source_channel, source_ts)
            result = await draft_with_files(ctx, arguments, stored, source=refs)
        except Exception as exc:
            await self.fail(user["id"], where["channel"], exc, response_url=where["response_url"])
            return
        await self.tell(user["id"], where["channel"], self._sent_text(result), response_url=where["response_url"])

    async def _dry_run(self, user: Mapping[str, Any], zone: str, arguments: dict[str, Any],
                       picked: list[str], files: Sequence[SlackFile] = (),
                       file_block: str = "upload") -> dict[str, str]:
        """The tool layer's dry run (time, every platform rule, the files' type, size and count as Slack
        describes them), without SocialDock, before the ack."""
        targets: list[Target] = []
        for value in picked:
            platform, _, account = value.partition("|")
            if account and normalise_platform(platform):
                targets.append(Target(platform=platform, account_id=account))  # type: ignore[arg-type]
        ctx = self.rt.context(_principal(user), zone=zone)
        fields = {k: v for k, v in arguments.items() if k != "targets"}
        change = await check_draft_change(ctx, None, targets=targets or None, **fields)  # platform names: no rules yet
        errors = modal_errors(change, COMPOSER_BLOCKS)
        problems = messages(check_media_files([f.facts for f in files], targets).errors) if files and targets else []
        if problems:
            errors[file_block] = "; ".join(problems)[:1900]
        return errors

    # --- the card's buttons ------------------------------------------------------------------------------

    async def _clicked(self, body: dict[str, Any]) -> tuple[Draft, int]:
        """The draft a button names and its clicked version; a ClickRefused says why the click cannot count."""
        draft_id, version = ui.parse_button_value(body["actions"][0]["value"])
        draft = await self.rt.store.get(draft_id)
        if version > draft.version:
            raise ClickRefused(f"These buttons name version {version} of {draft.id}, which never existed (it is at "
                               f"version {draft.version}). Use the buttons on its current card.")
        if draft.version != version:
            raise ClickRefused(f"These buttons are for version {version}; the draft was edited and is now "
                               f"version {draft.version}. Look at the updated card and decide on that.")
        if draft.state not in (S.PENDING, S.FAILED):
            decision = ui.deciding(await self.rt.store.decisions(draft.id))
            by = f" by {ui.who(decision.actor_id, decision.face, decision.actor_name)} at {ui.stamp(decision.at)}" \
                if decision else ""
            raise ClickRefused(f"Nothing happened: the draft is already {draft.state}{by}.")
        return draft, version

    async def on_approve(self, ack: Any, body: dict[str, Any]) -> None:
        await ack()
        user, channel = _person(body["user"]), (body.get("channel") or {}).get("id")
        try:
            draft, version = await self._clicked(body)
        except Exception as exc:
            await self.fail(user["id"], channel, exc)
            return
        self.enqueue(self.approve, draft.id, version, user, channel, user_id=user["id"], channel=channel)

    async def approve(self, draft_id: str, version: int, user: dict[str, str], channel: str | None) -> None:
        """An Approve click, after its ack: the approval (and the publish it starts), then the card settled."""
        try:
            await self.approvers.refresh()
            ctx, _ = await self.context_for(user)
            work = asyncio.ensure_future(get_tool("approve_draft").run(
                ctx, {"draft_id": draft_id, "version": version}))
            try:
                done, _ = await asyncio.wait({work}, timeout=PROGRESS_AFTER)
            except asyncio.CancelledError:  # shutting down (`stop`): the approval goes with this job
                work.cancel()
                raise
            if not done:  # SocialDock is slow: show the decision now, the outcome when it comes
                current = await self.rt.store.get(draft_id)
                if current.state == S.PUBLISHING:
                    await self.cards.settle(current)
            result = await work
        except Exception as exc:
            await self.fail(user["id"], channel, exc)
            return
        settled = await self.rt.store.get(result.draft_id)
        try:
            await self.cards.settle(settled)
        except Exception as exc:  # the decision stands; the poller settles the card once Slack takes it
            log.warning("could not settle the card of %s yet: %s", settled.id, exc)
        if settled.state in (S.FAILED, S.UNKNOWN):
            await self.tell(user["id"], channel, ui.outcome_text(settled))

    async def on_edit(self, ack: Any, body: dict[str, Any]) -> None:
        await ack()
        user, channel = body["user"], (body.get("channel") or {}).get("id")
        try:
            draft, version = await self._clicked(body)
            await self.approvers.refresh()
            self.rt.policy.check_can_edit(_principal(user), draft)
            metadata = {"draft_id": draft.id, "version": version, "channel": channel}
            await self.client.views_open(trigger_id=body["trigger_id"], view=ui.edit_view(draft, metadata))
        except Exception as exc:
            await self.fail(user["id"], channel, exc)

    def _edit_arguments(self, draft: Draft, values: dict[str, Any]) -> dict[str, Any]:
        arguments: dict[str, Any] = {"draft_id": draft.id, "version": draft.version,
                                     "text": (values.get("text") or "").strip(),
                                     "media_urls": [u for u in (values.get("media") or "").split() if u]}
        if values.get("title") is not None or draft.title:
            arguments["title"] = (values.get("title") or "").strip() or None
        if values.get("when"):
            arguments["when"] = _local_phrase(int(values["when"]), draft.timezone)
            arguments["zone"] = draft.timezone
        elif draft.scheduled_at is None or draft.publish_now:
            arguments["publish_now"] = True  # empty "When" on a scheduled draft keeps its time
        return arguments

    async def on_edit_submit(self, ack: Any, body: dict[str, Any], view: dict[str, Any]) -> None:
        metadata = json.loads(view.get("private_metadata") or "{}")
        user = body["user"]
        draft = await self.rt.store.get(metadata["draft_id"])
        if draft.version != metadata["version"] or draft.state not in (S.PENDING, S.FAILED):
            await ack(response_action="errors", errors={"text": f"The draft changed meanwhile (now version "
                                                                 f"{draft.version}, {draft.state}); close and "
                                                                 "look at the card again."})
            return
        arguments = self._edit_arguments(draft, ui.view_values(view))
        errors = await self._check_edit(user, draft, arguments)
        if errors:
            await ack(response_action="errors", errors=errors)
            return
        await ack()
        try:
            ctx, _ = await self.context_for(user)
            await get_tool("edit_draft").run(ctx, arguments)
        except Exception as exc:
            await self.fail(user["id"], metadata.get("channel"), exc)

    async def _check_edit(self, user: Mapping[str, Any], draft: Draft, arguments: dict[str, Any]) -> dict[str, str]:
        """The tool layer's dry run of the edit, before the ack, with the problems on the modal's fields."""
        ctx = self.rt.context(_principal(user), zone=draft.timezone)
        fields = {k: v for k, v in arguments.items() if k not in ("draft_id", "version")}
        return modal_errors(await check_draft_change(ctx, draft, **fields), EDIT_BLOCKS)

    async def on_reject(self, ack: Any, body: dict[str, Any]) -> None:
        await ack()
        user, channel = body["user"], (body.get("channel") or {}).get("id")
        try:
            draft, version = await self._clicked(body)
            await self.approvers.refresh()
            self.rt.policy.check_can_reject(_principal(user), draft)
            metadata = {"draft_id": draft.id, "version": version, "channel": channel}
            await self.client.views_open(trigger_id=body["trigger_id"], view=ui.reject_view(draft, metadata))
        except Exception as exc:
            await self.fail(user["id"], channel, exc)

    async def on_reject_submit(self, ack: Any, body: dict[str, Any], view: dict[str, Any]) -> None:
        if busy := self._busy_errors("reason"):
            await ack(response_action="errors", errors=busy)
            return
        await ack()
        metadata = json.loads(view.get("private_metadata") or "{}")
        user, channel = _person(body["user"]), metadata.get("channel")
        reason = (ui.view_values(view).get("reason") or "").strip() or None
        self.enqueue(self.reject, metadata["draft_id"], metadata["version"], reason, user, channel,
                     user_id=user["id"], channel=channel)

    async def reject(self, draft_id: str, version: int, reason: str | None, user: dict[str, str],
                     channel: str | None) -> None:
        """A rejection, after the modal's ack: recorded, and the card settled."""
        try:
            ctx, _ = await self.context_for(user)
            result = await get_tool("reject_draft").run(
                ctx, {"draft_id": draft_id, "version": version, "reason": reason})
            await self.cards.settle(await self.rt.store.get(result.draft_id))
        except Exception as exc:
            await self.fail(user["id"], channel, exc)
