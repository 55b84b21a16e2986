"""Several sdassist instances as real OS processes on one database: the cluster these tests run.

A sandbox served by uvicorn in its own process (with a state file), `sdassist slack` processes in HTTP mode,
an `sdassist mcp --http` process, all on one database: SDASSIST_TEST_DATABASE_URL (PostgreSQL) when set, else
a SQLite file they share. The fake Slack Web API runs in the test process; every instance talks to it. Each
process is killed when its test ends, whatever happened.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
import httpx
import pytest

from sdassist.publishing.store import DraftStore
from sdassist.sandbox import DEFAULT_KEY
from sdassist.sandbox.server import free_loopback_port as free_port
from tests.slack.conftest import APPROVER, CHANNEL, OTHER_APPROVER, SIGNING_SECRET, WEBHOOK_SECRET
from tests.slack.fake_slack import FakeSlack
from tests.slack.requests import click_body, command_body, signed_webhook, slack_headers
from tests.waiting import WaitsForDrafts

ROOT = Path(__file__).resolve().parents[2]

# The sandbox in its own process. SocialDock, like any server, processes a request it has fully received
# even if the client goes away meanwhile; the sandbox reads the body only after an injected latency, so a
# client killed during it would take the body with it. Reading the body first keeps that realistic.
SANDBOX = """
import sys, uvicorn
from sdassist.sandbox import SandboxConfig, create_app
app = create_app(SandboxConfig(state_file=sys.argv[2], webhook_backoff_seconds=0.05, tick_seconds=0.05))
async def received_first(scope, receive, send):
    if scope["type"] != "http":
        return await app(scope, receive, send)
    body, more = b"", True
    while more:
        message = await receive()
        if message["type"] != "http.request":
            break
        body, more = body + message.get("body", b""), message.get("more_body", False)
    pending = [{"type": "http.request", "body": body, "more_body": False}]
    async def replay():
        return pending.pop() if pending else await receive()
    await app(scope, replay, send)
uvicorn.run(received_first, host="127.0.0.1", port=int(sys.argv[1]), log_level="warning", lifespan="off",
            date_header=False, server_header=False)
"""

# An instance whose periodic reconcile runs every half second for drafts stranded over a second (the
# defaults: every 30 s, after the client's 60 s deadline), so a test need not wait a minute.
QUICK_RECONCILE = """
import sys
import sdassist.runtime as runtime
runtime.RECONCILE_EVERY, runtime.STRANDED_AFTER = 0.5, 1.0
from sdassist.cli import main
main(sys.argv[1:])
"""




@dataclass
class Proc:
    name: str
    port: int
    popen: subprocess.Popen[bytes]
    log: Path

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def alive(self) -> bool:
        return self.popen.poll() is None

    def kill(self) -> None:
        if self.alive():
            self.popen.send_signal(signal.SIGKILL)
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.popen.wait(timeout=10)

    def output(self) -> str:
        return self.log.read_text(errors="replace") if self.log.exists() else ""


@dataclass
class Cluster(WaitsForDrafts):
    tmp: Path
    database_url: str
    fake: FakeSlack
    http: aiohttp.ClientSession
    store: DraftStore
    procs: list[Proc] = field(default_factory=list)
    sandbox: Proc | None = None

    # --- processes ---------------------------------------------------------------------------------------

    def env(self) -> dict[str, str]:
        keep = {k: v for k, v in os.environ.items() if not k.startswith(("SDASSIST_", "SOCIALDOCK_", "SLACK_"))}
        assert self.sandbox is not None
        return {
            **keep, "PYTHONUNBUFFERED": "1",
            "SLACK_BOT_TOKEN": "xoxb-multi-test", "SLACK_SIGNING_SECRET": SIGNING_SECRET,
            "SDASSIST_SLACK_API_URL": self.fake.api_url, "SDASSIST_APPROVAL": "slack",
            "SDASSIST_APPROVAL_CHANNEL": CHANNEL, "SDASSIST_APPROVERS": f"{APPROVER},{OTHER_APPROVER}",
            "SDASSIST_WEBHOOK_SECRET": WEBHOOK_SECRET, "SOCIALDOCK_BASE_URL": self.sandbox.url,
            "SDASSIST_DATABASE_URL": self.database_url, "SDASSIST_SHARED_RATE_BUDGET": "1",
            "SDASSIST_DATA_DIR": str(self.tmp / "data"), "SDASSIST_TIMEZONE": "UTC",
        }

    def _spawn(self, name: str, argv: list[str], port: int, env: dict[str, str] | None = None) -> Proc:
        log = self.tmp / f"{name}.log"
        with log.open("ab") as out:
            popen = subprocess.Popen(argv, env=env if env is not None else self.env(), stdout=out,
                                     stderr=subprocess.STDOUT, cwd=ROOT)
        proc = Proc(name, port, popen, log)
        self.procs.append(proc)
        return proc

    def start_sandbox(self) -> Proc:
        port = free_port()
        env = {k: v for k, v in os.environ.items() if not k.startswith(("SDASSIST_", "SOCIALDOCK_", "SLACK_"))}
        self.sandbox = self._spawn("sandbox", [sys.executable, "-c", SANDBOX, str(port),
                                               str(self.tmp / "sandbox.json")], port, env)
        return self.sandbox

    def start_slack(self, name: str, *, quick_reconcile: bool = False) -> Proc:
        port = free_port()
        head = [sys.executable, "-c", QUICK_RECONCILE] if quick_reconcile else [sys.executable, "-m", "sdassist"]
        return self._spawn(name, [*head, "slack", "--host", "127.0.0.1", "--port", str(port)], port)

    def start_mcp(self) -> Proc:
        port = free_port()
        return self._spawn("mcp", [sys.executable, "-m", "sdassist", "mcp", "--http", "--host", "127.0.0.1",
                                   "--port", str(port)], port)

    async def ready(self, *procs: Proc, timeout: float = 30.0) -> None:
        """Wait until each process accepts connections on its port (the event loop keeps serving the fake)."""
        deadline = time.monotonic() + timeout
        for proc in procs:
            while True:
                if not proc.alive():
                    raise AssertionError(f"{proc.name} exited with {proc.popen.returncode}:\n{proc.output()}")
                try:
                    _, writer = await asyncio.open_connection("127.0.0.1", proc.port)
                    writer.close()
                    await writer.wait_closed()
                    break
                except OSError:
                    pass
                if time.monotonic() > deadline:
                    raise AssertionError(f"{proc.name} not listening after {timeout}s:\n{proc.output()}")
                await asyncio.sleep(0.05)

    def kill_all(self) -> None:
        for proc in self.procs:
            proc.kill()

    def logs(self) -> str:
        return "\n".join(f"--- {p.name} ---\n{p.output()[-3000:]}" for p in self.procs)

    # --- the sandbox -------------------------------------------------------------------------------------

    async def sandbox_get(self, path: str) -> Any:
        assert self.sandbox is not None
        async with httpx.AsyncClient(base_url=self.sandbox.url, timeout=10,
                                     headers={"Authorization": f"Bearer {DEFAULT_KEY}"}) as client:
            answer = await client.get(path)
        answer.raise_for_status()
        return answer.json()["data"]

    async def faults(self, *rules: dict[str, Any]) -> None:
        assert self.sandbox is not None
        async with httpx.AsyncClient(base_url=self.sandbox.url, timeout=10) as client:
            answer = await client.post("/_sandbox/faults", json={"rules": list(rules), "seed": 1})
        assert answer.status_code == 200, answer.text

    async def stats(self) -> dict[str, Any]:
        return await self.sandbox_get("/_sandbox/stats")

    async def posts_created(self) -> tuple[int, int, int]:
        """(POST /posts that arrived, that were processed, posts that exist)."""
        stats = await self.stats()
        label = "POST /api/v1/posts"
        return (stats["requests"].get(label, 0), stats["processed"].get(label, 0), sum(stats["posts"].values()))

    # --- Slack, signed like Slack signs -----------------------------------------------------------------

    async def signed(self, instance: Proc, body: str) -> aiohttp.ClientResponse:
        response = await self.http.post(instance.url + "/slack/events", data=body.encode(),
                                        headers=slack_headers(body, SIGNING_SECRET))
        await response.read()
        return response

    async def command(self, instance: Proc, text: str, *, user: str = "U0ASKER") -> aiohttp.ClientResponse:
        return await self.signed(instance, command_body(text, user=user, response_url=self.fake.response_url(user)))

    async def click(self, instance: Proc, action_id: str, draft_id: str, version: int, *,
                    user: str = APPROVER) -> aiohttp.ClientResponse:
        refs = (await self.store.get(draft_id)).face_refs
        body = click_body(action_id, draft_id, version, user=user, refs=refs, channel=CHANNEL,
                          response_url=self.fake.response_url(f"click-{user}"))
        return await self.signed(instance, body)

    async def webhook(self, instance: Proc, event: dict[str, Any]) -> aiohttp.ClientResponse:
        raw, headers = signed_webhook(event, WEBHOOK_SECRET)
        response = await self.http.post(instance.url + "/socialdock/webhook", data=raw, headers=headers)
        await response.read()
        return response

    # --- the shared database -----------------------------------------------------------------------------

    wait_timeout = 10.0

    def draft_store(self) -> DraftStore:
        return self.store

    def diagnostics(self) -> str:
        return self.logs()


@pytest.fixture
def database_url(tmp_path: Path) -> str:
    return os.environ.get("SDASSIST_TEST_DATABASE_URL") or f"sqlite+aiosqlite:///{tmp_path / 'shared.db'}"


@pytest.fixture
async def cluster(tmp_path: Path, database_url: str) -> AsyncIterator[Cluster]:
    """The fake Slack, a store on the shared database for looking, and a served sandbox; tests add instances."""
    fake = await FakeSlack().start()
    store = await DraftStore.open(database_url)  # creates the tables before any instance starts
    http = aiohttp.ClientSession()
    cluster = Cluster(tmp_path, database_url, fake, http, store)
    try:
        await cluster.ready(cluster.start_sandbox())
        yield cluster
    finally:
        cluster.kill_all()
        await http.close()
        await store.close()
        await fake.stop()
