"""A fake of the Slack Web API: a real aiohttp server on loopback that records every call.

It answers the methods the app uses with realistic shapes (`ts` values that increase, `users.info` with a
`tz`, user groups), serves `response_url` endpoints, and lets tests wait for calls, since listeners
finish after the ack.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import time
from collections.abc import Callable
from typing import Any

import aiohttp
from aiohttp import web
from aiohttp.test_utils import TestServer

Call = tuple[str, dict[str, Any]]


class FakeSlack:
    def __init__(self) -> None:
        self.calls: list[Call] = []
        self.called_at: list[float] = []
        """`time.perf_counter()` of each call in `calls` (benchmarks time what the app sends)."""
        self.users: dict[str, dict[str, Any]] = {}
        self.groups: dict[str, list[str]] = {}
        self.default_tz = "Europe/Berlin"
        self.fail_methods: dict[str, str] = {}
        self.uploads: dict[str, dict[str, Any]] = {}
        """File id → {"name", "length", "content", "completed", "channel_id", …}: files:write as it happens."""
        self.shared: dict[str, dict[str, Any]] = {}
        """File id → {"name", "mimetype", "content"}: files people attached, served to the bot token only."""
        self.threads: dict[tuple[str, str], list[dict[str, Any]]] = {}
        """(channel, thread_ts) → its messages, the first one starting the thread (conversations.replies)."""
        self.file_delay = 0.0
        """Seconds an attached file's download waits before its first byte (a slow file host)."""
        self.image_fetches: list[tuple[str, int, int]] = []
        """(image_url, HTTP status, bytes) of every image block Slack fetched to show a message."""
        self._ts = itertools.count(1)
        self._changed = asyncio.Event()
        self.server: TestServer | None = None

    # --- lifecycle -------------------------------------------------------------------------------------

    async def start(self) -> FakeSlack:
        app = web.Application()
        app.router.add_post("/api/{method}", self._api)
        app.router.add_get("/api/{method}", self._api)
        app.router.add_post("/response/{key}", self._response)
        app.router.add_post("/upload/{file_id}", self._upload)
        app.router.add_get("/files-pri/{team_file}/{name}", self._file)
        self.server = TestServer(app, host="127.0.0.1", port=0)
        await self.server.start_server()
        return self

    async def stop(self) -> None:
        if self.server is not None:
            await self.server.close()

    @property
    def root(self) -> str:
        assert self.server is not None
        return f"http://127.0.0.1:{self.server.port}"

    @property
    def api_url(self) -> str:
        return self.root + "/api/"

    def response_url(self, key: str = "cmd") -> str:
        return f"{self.root}/response/{key}"

    # --- reading what happened -------------------------------------------------------------------------

    def of(self, method: str, where: Callable[[dict[str, Any]], bool] | None = None) -> list[dict[str, Any]]:
        return [p for m, p in self.calls if m == method and (where is None or where(p))]

    async def wait_for(self, method: str, count: int = 1, *, where: Callable[[dict[str, Any]], bool] | None = None,
                       timeout: float = 5.0) -> list[dict[str, Any]]:
        deadline = time.monotonic() + timeout
        while True:
            found = self.of(method, where)
            if len(found) >= count:
                return found
            left = deadline - time.monotonic()
            if left <= 0:
                seen = [m for m, _ in self.calls]
                raise AssertionError(f"waited {timeout}s for {count}× {method}; got {len(found)}; calls: {seen}")
            self._changed.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._changed.wait(), min(left, 0.05))

    def private_texts(self, user: str | None = None) -> list[str]:
        """Everything said privately: ephemeral messages and response_url posts."""
        texts = [p.get("text", "") for p in self.of("chat.postEphemeral") if user in (None, p.get("user"))]
        texts += [p.get("text", "") for p in self.of("response_url")]
        return texts

    # --- handlers --------------------------------------------------------------------------------------

    def _record(self, method: str, params: dict[str, Any]) -> None:
        self.calls.append((method, params))
        self.called_at.append(time.perf_counter())
        self._changed.set()

    async def _params(self, request: web.Request) -> dict[str, Any]:
        params: dict[str, Any] = dict(request.query)
        if request.can_read_body:
            if request.content_type == "application/json":
                params.update(await request.json())
            else:
                params.update(dict(await request.post()))
        for key in ("blocks", "view"):
            if isinstance(params.get(key), str):
                params[key] = json.loads(params[key])
        return params

    def _ts_now(self) -> str:
        return f"{int(time.time())}.{next(self._ts):06d}"

    async def _api(self, request: web.Request) -> web.Response:
        method = request.match_info["method"]
        params = await self._params(request)
        if not request.headers.get("Authorization", "").startswith("Bearer xoxb-"):
            return web.json_response({"ok": False, "error": "not_authed"})
        self._record(method, params)
        if method in self.fail_methods:
            return web.json_response({"ok": False, "error": self.fail_methods[method]})
        if method in ("chat.postMessage", "chat.update") and not await self._fetch_images(params):
            return web.json_response({"ok": False, "error": "invalid_blocks",
                                      "errors": ["downloading image failed [json-pointer:/blocks/0/image_url]"]})
        answer: dict[str, Any] = {"ok": True}
        if method == "auth.test":
            answer.update(url="https://fake.slack.com/", team="Fake", user="sdassist", team_id="T0FAKE",
                          user_id="U0BOT", bot_id="B0BOT", is_enterprise_install=False)
        elif method == "chat.postMessage":
            ts = self._ts_now()
            answer.update(channel=params.get("channel"), ts=ts,
                          message={"ts": ts, "text": params.get("text"), "blocks": params.get("blocks")})
        elif method == "chat.update":
            answer.update(channel=params.get("channel"), ts=params.get("ts"), text=params.get("text"))
        elif method == "chat.postEphemeral":
            answer.update(message_ts=self._ts_now())
        elif method == "views.publish":
            view = dict(params.get("view") or {})
            answer.update(view={**view, "id": f"V{next(self._ts):06d}", "type": "home"})
        elif method == "files.getUploadURLExternal":
            file_id = f"F{next(self._ts):08d}"
            self.uploads[file_id] = {"name": params.get("filename"), "length": int(params.get("length", 0)),
                                     "content": None, "completed": False}
            answer.update(upload_url=f"{self.root}/upload/{file_id}", file_id=file_id)
        elif method == "files.completeUploadExternal":
            files = params.get("files")
            files = json.loads(files) if isinstance(files, str) else files or []
            done = []
            for item in files:
                upload = self.uploads.get(item.get("id"))
                if upload is None or upload["content"] is None:
                    return web.json_response({"ok": False, "error": "file_not_found"})
                upload.update(completed=True, title=item.get("title"), channel_id=params.get("channel_id"),
                              initial_comment=params.get("initial_comment"), thread_ts=params.get("thread_ts"))
                done.append({"id": item["id"], "title": item.get("title")})
            answer.update(files=done)
        elif method in ("views.open", "views.update"):
            view = dict(params.get("view") or {})
            answer.update(view={**view, "id": f"V{next(self._ts):06d}"})
        elif method == "users.info":
            user_id = params.get("user", "")
            user = {"id": user_id, "name": user_id.lower(), "real_name": f"User {user_id}",
                    "tz": self.default_tz, "profile": {"display_name": f"user-{user_id.lower()}"}}
            user.update(self.users.get(user_id, {}))
            answer.update(user=user)
        elif method == "users.list":  # the people in `users`, `limit` a page
            ids = sorted(self.users)
            start = int(params.get("cursor") or 0)
            end = start + int(params.get("limit") or 200)
            answer.update(members=[{"id": i, "name": i.lower(), "tz": self.default_tz, **self.users[i]}
                                   for i in ids[start:end]],
                          response_metadata={"next_cursor": str(end) if end < len(ids) else ""})
        elif method == "files.info":
            if params.get("file") not in self.shared:
                return web.json_response({"ok": False, "error": "file_not_found"})
            answer.update(file=self.file_object(params["file"]))
        elif method == "conversations.replies":
            thread = self.threads.get((params.get("channel", ""), params.get("ts", "")))
            if thread is None:
                return web.json_response({"ok": False, "error": "thread_not_found"})
            answer.update(messages=thread[: int(params.get("limit") or 1000)], has_more=False)
        elif method == "chat.getPermalink":
            channel, ts = params.get("channel", ""), params.get("message_ts", "")
            link = f"https://fake.slack.com/archives/{channel}/p{ts.replace('.', '')}"
            answer.update(channel=channel, permalink=link)
        elif method == "usergroups.users.list":
            group = params.get("usergroup", "")
            if group not in self.groups:
                return web.json_response({"ok": False, "error": "no_such_subteam"})
            answer.update(users=self.groups[group])
        else:
            return web.json_response({"ok": False, "error": "unknown_method"})
        return web.json_response(answer)

    # --- files people attach -----------------------------------------------------------------------------

    def share_file(self, name: str, mimetype: str, content: bytes) -> dict[str, Any]:
        """A file someone attached to a message: its file object, as a message's `files` lists it."""
        file_id = f"F{next(self._ts):08d}"
        self.shared[file_id] = {"name": name, "mimetype": mimetype, "content": content}
        return self.file_object(file_id)

    def file_object(self, file_id: str) -> dict[str, Any]:
        f = self.shared[file_id]
        url = f"{self.root}/files-pri/T0FAKE-{file_id}/{f['name']}"
        return {"id": file_id, "name": f["name"], "title": f["name"], "mimetype": f["mimetype"],
                "filetype": f["name"].rsplit(".", 1)[-1], "size": len(f["content"]), "mode": "hosted",
                "url_private": url, "url_private_download": url + "?download=1"}

    async def _file(self, request: web.Request) -> web.StreamResponse:
        """`url_private`: the bytes, to a request carrying the bot token only (as Slack does), in chunks."""
        file_id = request.match_info["team_file"].rsplit("-", 1)[-1]
        f = self.shared.get(file_id)
        authorized = request.headers.get("Authorization", "").startswith("Bearer xoxb-")
        self._record("file_download", {"file": file_id, "authorized": authorized})
        if f is None or not authorized:
            return web.Response(status=404 if f is None else 403, text="no")
        await asyncio.sleep(self.file_delay)
        response = web.StreamResponse(headers={"Content-Type": f["mimetype"]})
        await response.prepare(request)
        for start in range(0, len(f["content"]), 64 * 1024):
            await response.write(f["content"][start:start + 64 * 1024])
        await response.write_eof()
        return response

    async def _fetch_images(self, params: dict[str, Any]) -> bool:
        """Slack fetches every image block's image_url before it shows a message; one it cannot fetch makes
        the call fail with invalid_blocks. Only loopback URLs are fetched here (nothing else is contacted)."""
        urls = [b["image_url"] for b in params.get("blocks") or [] if b.get("type") == "image"]
        for url in urls:
            status, size = 0, 0
            if url.startswith(("http://127.0.0.1:", "http://localhost:")):
                async with aiohttp.ClientSession() as http, http.get(url) as got:
                    status, size = got.status, len(await got.read())
            self.image_fetches.append((url, status, size))
            if status != 200:
                return False
        return True

    async def _upload(self, request: web.Request) -> web.Response:
        """The upload URL `files.getUploadURLExternal` hands out: the raw bytes (or a multipart form) go here."""
        upload = self.uploads.get(request.match_info["file_id"])
        if upload is None:
            return web.Response(status=404, text="no such upload")
        if request.content_type.startswith("multipart/"):
            form = await request.post()
            part = next(iter(form.values()))
            content = part.file.read() if hasattr(part, "file") else str(part).encode()
        else:
            content = await request.read()
        upload["content"] = content
        self._record("upload", {"file_id": request.match_info["file_id"], "bytes": len(content)})
        return web.Response(text=f"OK - {len(content)}")

    async def _response(self, request: web.Request) -> web.Response:
        params = await request.json()
        params["key"] = request.match_info["key"]
        self._record("response_url", params)
        return web.Response(text="ok")
