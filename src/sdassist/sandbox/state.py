"""Everything a sandbox knows, in memory (optionally mirrored to a JSON file), and what it does with it."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
from collections import Counter
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlencode, urlsplit, urlunsplit

from .clock import SandboxClock, iso
from .config import SandboxConfig
from .envelope import ApiError, bad_request, not_found
from .faults import FaultInjector
from .ids import new_id, stable_id
from .platform_ids import platform_post_id
from .ratelimit import RateLimiter
from .records import Account, MediaRecord, PostRecord, TargetRecord, WebhookRecord, dump, load
from .rules import MIME_BY_EXTENSION, PLATFORMS, extension_of
from .validation import PostInput, validate_create, validate_update
from .webhooks import Dispatcher

CDN = "https://cdn.socialdock.test"
EVENTS = ("post_published", "post_failed")
RESTART = "Start again with POST /api/v1/accounts/connect."

log = logging.getLogger("sdassist.sandbox")


@dataclass(frozen=True)
class Workspace:
    id: str
    key: str
    plan: str


class SandboxState:
    """The sandbox's data and behaviour; the HTTP layer only translates to and from it."""

    def __init__(self, config: SandboxConfig | None = None) -> None:
        self.config = config or SandboxConfig()
        self.clock = SandboxClock()
        self.limiter = RateLimiter(self.config.window_seconds)
        self.faults = FaultInjector(self.config.fault_seed)
        self.dispatcher = Dispatcher(now=self.clock.now, backoff=self.config.webhook_backoff_seconds,
                                     max_attempts=self.config.webhook_max_attempts,
                                     timeout=self.config.webhook_timeout_seconds)
        self.workspaces = {key: Workspace(stable_id("ws", key), key, plan.upper())
                           for key, plan in self.config.keys.items()}
        self._ticker: asyncio.Task[None] | None = None
        self._clear()
        path = self._path()
        if path is not None and path.exists():
            self.load(path)
        else:
            self._seed_demo()

    # --- lifecycle ---------------------------------------------------------------------------------

    def _clear(self) -> None:
        self.accounts: dict[str, Account] = {}
        self.posts: dict[str, PostRecord] = {}
        self.webhooks: dict[str, WebhookRecord] = {}
        self.media: dict[str, MediaRecord] = {}
        self.tokens: dict[str, dict[str, Any]] = {}
        self.failures: list[dict[str, Any]] = []
        self.requests: Counter[str] = Counter()
        self.processed: Counter[str] = Counter()
        self.injected_429 = 0

    def _seed_demo(self) -> None:
        if not self.config.demo_accounts:
            return
        now = self.clock.now()
        for ws in self.workspaces.values():
            if ws.plan == "FREE":
                continue
            for platform in PLATFORMS:
                account = Account(stable_id("acc", ws.key, "demo", platform), ws.id, platform,
                                  f"@demo_{platform}", f"Demo {platform.capitalize()}", now)
                self.accounts[account.id] = account

    def reset(self) -> None:
        """Back to the initial state: data, clock, faults, failures, rate-limit windows, deliveries."""
        self.clock.reset()
        self.limiter.reset()
        self.faults = FaultInjector(self.config.fault_seed)
        self.dispatcher.reset()
        self._clear()
        self._seed_demo()
        self.save()

    def ensure_background(self) -> None:
        """Start the scheduler ticker on the running loop (lazily: ASGITransport runs no lifespan)."""
        loop = asyncio.get_running_loop()
        ticker = self._ticker
        if ticker is None or ticker.done() or ticker.get_loop() is not loop:
            self._ticker = loop.create_task(self._tick_forever())
        self.dispatcher.kick()

    async def _tick_forever(self) -> None:
        while True:
            await asyncio.sleep(self.config.tick_seconds)
            try:
                if self.publish_due():
                    self.save()
            except Exception:  # keep ticking, but say why this tick failed
                log.exception("sandbox: publishing due posts failed; trying again next tick")

    async def aclose(self) -> None:
        """Cancel the ticker and webhook deliveries running on this loop."""
        ticker, self._ticker = self._ticker, None
        if ticker is not None and not ticker.done() and ticker.get_loop() is asyncio.get_running_loop():
            ticker.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await ticker
        await self.faults.aclose()
        await self.dispatcher.aclose()

    # --- persistence ------------------------------------------------------------------------------

    def _path(self) -> Path | None:
        return Path(self.config.state_file) if self.config.state_file else None

    def save(self) -> None:
        """Write accounts, posts, webhooks and media to the state file, atomically (no file: no-op)."""
        path = self._path()
        if path is None:
            return
        data = {
            "version": 1,
            "accounts": [dump(a) for a in self.accounts.values()],
            "posts": [dump(p) for p in self.posts.values()],
            "webhooks": [dump(w) for w in self.webhooks.values()],
            "media": [dump(m) for m in self.media.values()],
        }
        tmp = path.with_suffix(path.suffix + ".tmp")
        tmp.write_text(json.dumps(data, indent=1))
        os.replace(tmp, path)

    def load(self, path: Path) -> None:
        data = json.loads(path.read_text())
        self.accounts = {a["id"]: load(Account, a) for a in data.get("accounts", [])}
        self.posts = {p["id"]: load(PostRecord, p) for p in data.get("posts", [])}
        self.webhooks = {w["id"]: load(WebhookRecord, w) for w in data.get("webhooks", [])}
        self.media = {m["id"]: load(MediaRecord, m) for m in data.get("media", [])}

    # --- workspaces and accounts ------------------------------------------------------------------

    def workspace_for_key(self, key: str) -> Workspace | None:
        return self.workspaces.get(key)

    def accounts_of(self, ws: Workspace) -> dict[str, Account]:
        return {a.id: a for a in self.accounts.values() if a.workspace == ws.id}

    def account(self, ws: Workspace, account_id: str) -> Account:
        account = self.accounts.get(account_id)
        if account is None or account.workspace != ws.id:
            raise ApiError(404, "Account not found",
                           f"No account with id {account_id} exists in this workspace.")
        return account

    def start_connect(self, ws: Workspace, platform: Any, redirect_url: Any, base_url: str) -> dict[str, Any]:
        problems = []
        if platform not in PLATFORMS:
            problems.append(f"platform must be one of {', '.join(PLATFORMS)} (got {platform!r})")
        parts = urlsplit(redirect_url) if isinstance(redirect_url, str) else None
        if parts is None or parts.scheme not in ("http", "https") or not parts.netloc:
            problems.append("redirect_url is required and must be an absolute http(s) URL")
        if problems:
            raise ApiError(400, "Invalid request body", "; ".join(problems))
        token = new_id("tok")
        expires = self.clock.now() + timedelta(seconds=self.config.token_ttl_seconds)
        self.tokens[token] = {"workspace": ws.id, "platform": platform, "redirect_url": redirect_url,
                              "expires_at": expires, "used": False}
        return {"connect_url": f"{base_url.rstrip('/')}/_sandbox/oauth/connect?token={token}",
                "token": token, "expires_at": iso(expires), "platform": platform}

    def complete_connect(self, token: str) -> str:
        """Authorise a connect token: create the account, answer the redirect URL. ValueError if refused."""
        entry = self.tokens.get(token)
        if entry is None:
            raise ValueError(f"Unknown connect token {token!r}. {RESTART}")
        if entry["used"]:
            raise ValueError(f"This connect link was already used. {RESTART}")
        if self.clock.now() >= entry["expires_at"]:
            raise ValueError(f"This connect link expired at {iso(entry['expires_at'])}. {RESTART}")
        entry["used"] = True
        platform = entry["platform"]
        n = 1 + sum(1 for a in self.accounts.values()
                    if a.workspace == entry["workspace"] and a.platform == platform)
        account = Account(new_id("acc"), entry["workspace"], platform, f"@sandbox_{platform}_{n}",
                          f"Sandbox {platform.capitalize()} {n}", self.clock.now())
        self.accounts[account.id] = account
        parts = urlsplit(entry["redirect_url"])
        added = urlencode({"account_id": account.id, "platform": platform})
        query = f"{parts.query}&{added}" if parts.query else added
        return urlunsplit(parts._replace(query=query))

    def disconnect(self, ws: Workspace, account_id: str) -> None:
        del self.accounts[self.account(ws, account_id).id]

    # --- media ------------------------------------------------------------------------------------

    def add_media(self, ws: Workspace, url: str, file_name: str | None = None, *, mime_type: str | None = None,
                  size: int | None = None) -> MediaRecord:
        """A media record; `mime_type` and `size` are those of the bytes fetched, when they were."""
        ext = extension_of(file_name or "") or extension_of(url)
        mime = mime_type or MIME_BY_EXTENSION.get(ext)
        if mime_type and MIME_BY_EXTENSION.get(ext) != mime_type:
            ext = next((e for e, m in MIME_BY_EXTENSION.items() if m == mime_type), ext)
        if mime is None:
            raise bad_request(f"cannot tell the media type of {url!r} (extension {ext or 'missing'!r}); "
                              f"supported extensions: {', '.join(MIME_BY_EXTENSION)}")
        media_id = new_id("med")
        record = MediaRecord(media_id, ws.id, f"{CDN}/{media_id}.{ext}", mime, url, file_name,
                             self.clock.now(), size)
        self.media[media_id] = record
        return record

    def mime_of(self, url: str) -> str | None:
        """The mime type of a URL: the record of a `med_` CDN URL we issued, else from the extension."""
        if url.startswith(CDN + "/"):
            media_id = url[len(CDN) + 1:].split(".", 1)[0].split("?", 1)[0]
            if media_id in self.media:
                return self.media[media_id].mime_type
        return MIME_BY_EXTENSION.get(extension_of(url))

    def _attach(self, ws: Workspace, urls: list[str]) -> list[MediaRecord]:
        records = []
        for url in urls:
            media_id = url[len(CDN) + 1:].split(".", 1)[0] if url.startswith(CDN + "/") else ""
            if media_id in self.media:
                records.append(self.media[media_id])
                continue
            media_id = new_id("med")
            ext = extension_of(url)
            cdn = f"{CDN}/{media_id}.{ext}" if ext else f"{CDN}/{media_id}"
            records.append(MediaRecord(media_id, ws.id, cdn, self.mime_of(url), url, None, self.clock.now()))
        return records

    # --- posts ------------------------------------------------------------------------------------

    def post(self, ws: Workspace, post_id: str) -> PostRecord:
        post = self.posts.get(post_id)
        if post is None or post.workspace != ws.id:
            raise not_found("Post", post_id)
        return post

    def posts_of(self, ws: Workspace) -> list[PostRecord]:
        return [p for p in self.posts.values() if p.workspace == ws.id]

    def create_post(self, ws: Workspace, body: dict[str, Any]) -> PostRecord:
        now = self.clock.now()
        data = validate_create(body, self.accounts_of(ws), self.mime_of, now)
        post = PostRecord(
            id=new_id("post"), workspace=ws.id, text=data.text, title=data.title,
            targets=[TargetRecord(t["platform"], t["account_id"], t["metadata"]) for t in data.targets],
            media=self._attach(ws, data.media_urls), media_urls=data.media_urls, tags=data.tags,
            scheduled_at=None if data.publish_now else data.scheduled_at, created_at=now,
        )
        self.posts[post.id] = post
        if data.publish_now:
            self._publish(post)
        return post

    def update_post(self, ws: Workspace, post_id: str, body: dict[str, Any]) -> PostRecord:
        post = self.post(ws, post_id)
        if post.status != "scheduled":
            raise bad_request(f"Only scheduled posts can be updated; post {post_id} is {post.status}.")
        current = PostInput(text=post.text, title=post.title, media_urls=post.media_urls, tags=post.tags,
                            publish_now=False, scheduled_at=post.scheduled_at,
                            targets=[{"platform": t.platform, "account_id": t.account_id,
                                      "metadata": t.metadata} for t in post.targets])
        data = validate_update(body, current, self.mime_of, self.clock.now())
        post.text, post.title, post.tags = data.text, data.title, data.tags
        post.scheduled_at = data.scheduled_at
        if data.media_urls != post.media_urls:
            post.media_urls, post.media = data.media_urls, self._attach(ws, data.media_urls)
        post.updated_at = self.clock.now()
        return post

    def delete_post(self, ws: Workspace, post_id: str) -> None:
        del self.posts[self.post(ws, post_id).id]

    def publish_due(self) -> int:
        """Publish every scheduled post whose time has come on the sandbox clock; answers how many."""
        now = self.clock.now()
        due = [p for p in self.posts.values()
               if p.status == "scheduled" and p.scheduled_at is not None and p.scheduled_at <= now]
        for post in sorted(due, key=lambda p: (p.scheduled_at, p.id)):
            self._publish(post)
        return len(due)

    def add_failure(self, spec: dict[str, Any]) -> dict[str, Any]:
        """Make the next publish(es) to an account or platform fail with a reason."""
        account_id, platform = spec.get("account_id"), spec.get("platform")
        if (account_id is None) == (platform is None):
            raise bad_request("give exactly one of account_id or platform")
        if platform is not None and platform not in PLATFORMS:
            raise bad_request(f"platform must be one of {', '.join(PLATFORMS)}")
        if account_id is not None and not isinstance(account_id, str):
            raise bad_request("account_id must be a string (acc_…)")
        count = spec.get("count", 1)
        if isinstance(count, bool) or not isinstance(count, int) or count < 1:
            raise bad_request("count must be a positive integer")
        rule = {"account_id": account_id, "platform": platform, "count": count,
                "reason": str(spec.get("reason") or "Injected failure")}
        self.failures.append(rule)
        return rule

    def _take_failure(self, target: TargetRecord) -> str | None:
        for rule in self.failures:
            if rule["count"] > 0 and (rule["account_id"] == target.account_id
                                      or rule["platform"] == target.platform):
                rule["count"] -= 1
                return rule["reason"]
        return None

    def _publish(self, post: PostRecord) -> None:
        now = self.clock.now()
        for target in post.targets:
            if target.status != "scheduled":
                continue
            reason = self._take_failure(target)
            if reason is None and target.account_id not in self.accounts:
                reason = f"Account {target.account_id} was disconnected before publishing."
            if reason is None:
                target.status = "published"
                target.platform_post_id = platform_post_id(target.platform, post.id, target.account_id)
                target.published_at = now
            else:
                target.status, target.error = "failed", reason
            self._emit(post, target)
        published = any(t.status == "published" for t in post.targets)
        post.status = "published" if published else "failed"
        post.published_at = now if published else None
        self.failures = [f for f in self.failures if f["count"] > 0]

    # --- webhooks ---------------------------------------------------------------------------------

    def webhooks_of(self, ws: Workspace) -> list[WebhookRecord]:
        return [w for w in self.webhooks.values() if w.workspace == ws.id]

    def add_webhook(self, ws: Workspace, url: str, events: list[str], secret: str | None) -> WebhookRecord:
        hook = WebhookRecord(new_id("wh"), ws.id, url, events, secret, True, self.clock.now())
        self.webhooks[hook.id] = hook
        return hook

    def delete_webhook(self, ws: Workspace, webhook_id: str) -> None:
        hook = self.webhooks.get(webhook_id)
        if hook is None or hook.workspace != ws.id:
            raise not_found("Webhook", webhook_id)
        del self.webhooks[webhook_id]

    def _emit(self, post: PostRecord, target: TargetRecord) -> None:
        name = "post_published" if target.status == "published" else "post_failed"
        event = {
            "id": new_id("evt"), "event": name, "created_at": iso(self.clock.now()),
            "data": {"post_id": post.id, "platform": target.platform, "account_id": target.account_id,
                     "status": target.status, "platform_post_id": target.platform_post_id,
                     "error": target.error},
        }
        for hook in self.webhooks.values():
            if hook.workspace == post.workspace and hook.active and name in hook.events:
                self.dispatcher.submit({"id": hook.id, "url": hook.url, "secret": hook.secret}, event)

    # --- stats ------------------------------------------------------------------------------------

    def stats(self) -> dict[str, Any]:
        by_ws = Counter(p.workspace for p in self.posts.values())
        return {
            "requests": dict(self.requests),
            "processed": dict(self.processed),
            "rate_limited": self.limiter.rejected + self.injected_429,
            "posts": {ws.key: by_ws.get(ws.id, 0) for ws in self.workspaces.values()},
            "faults_fired": self.faults.fired,
        }
