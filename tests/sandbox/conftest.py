"""Fixtures: a sandbox in process (ASGITransport), a sandbox under uvicorn, and a webhook receiver."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse
from starlette.routing import Route

from sdassist.sandbox import DEFAULT_KEY, SandboxConfig, build_server, create_app

AUTH = {"Authorization": f"Bearer {DEFAULT_KEY}"}


def fast_config(**overrides: Any) -> SandboxConfig:
    """Small backoff and tick so background work finishes within a test."""
    values: dict[str, Any] = {"webhook_backoff_seconds": 0.02, "tick_seconds": 0.02,
                              "webhook_timeout_seconds": 2.0}
    values.update(overrides)
    return SandboxConfig(**values)


@pytest.fixture
async def make_client() -> AsyncIterator[Callable[..., httpx.AsyncClient]]:
    """Build an in-process sandbox and a client for it; everything is closed after the test."""
    opened: list[tuple[Any, httpx.AsyncClient]] = []

    def make(config: SandboxConfig | None = None, key: str | None = DEFAULT_KEY) -> httpx.AsyncClient:
        app = create_app(config or fast_config())
        headers = {"Authorization": f"Bearer {key}"} if key else {}
        client = httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://sandbox.test",
                                   headers=headers)
        client.app = app  # type: ignore[attr-defined]
        opened.append((app, client))
        return client

    yield make
    for app, client in opened:
        await client.aclose()
        await app.state.sandbox.aclose()


@pytest.fixture
async def client(make_client: Callable[..., httpx.AsyncClient]) -> httpx.AsyncClient:
    return make_client()


async def first_account(client: httpx.AsyncClient, platform: str) -> str:
    accounts = (await client.get("/api/v1/accounts")).json()["data"]["accounts"]
    return next(a["id"] for a in accounts if a["platform"] == platform)


def _loopback_socket() -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    return sock


@dataclass
class Running:
    url: str
    server: uvicorn.Server
    app: Any


async def start(server: uvicorn.Server) -> tuple[str, asyncio.Task[None]]:
    sock = _loopback_socket()
    port = sock.getsockname()[1]
    server.config.install_signal_handlers = False  # type: ignore[attr-defined]
    task = asyncio.create_task(server.serve(sockets=[sock]))
    for _ in range(500):
        if server.started:
            break
        if task.done():
            task.result()
        await asyncio.sleep(0.01)
    return f"http://127.0.0.1:{port}", task


async def stop(server: uvicorn.Server, task: asyncio.Task[None]) -> None:
    server.should_exit = True
    await asyncio.wait_for(task, 5)


@pytest.fixture
async def live() -> AsyncIterator[Running]:
    """The sandbox under real uvicorn on a free loopback port."""
    server = build_server("127.0.0.1", 0, fast_config())
    url, task = await start(server)
    app = server.config.app
    yield Running(url, server, app)
    await app.state.sandbox.aclose()
    await stop(server, task)


@dataclass
class Receiver:
    """A webhook receiver on loopback that records raw bodies and can fail the first N requests."""

    url: str = ""
    fail_first: int = 0
    received: list[tuple[bytes, dict[str, str]]] = field(default_factory=list)
    attempts: int = 0
    event: asyncio.Event = field(default_factory=asyncio.Event)

    async def wait_for(self, count: int, timeout: float = 5.0) -> None:
        async def loop() -> None:
            while len(self.received) < count:
                self.event.clear()
                await self.event.wait()
        await asyncio.wait_for(loop(), timeout)


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    rec = Receiver()

    async def hook(request: Request) -> PlainTextResponse:
        rec.attempts += 1
        if rec.attempts <= rec.fail_first:
            return PlainTextResponse("try again", status_code=500)
        rec.received.append((await request.body(), dict(request.headers)))
        rec.event.set()
        return PlainTextResponse("ok")

    app = Starlette(routes=[Route("/hook", hook, methods=["POST"])])
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="off"))
    url, task = await start(server)
    rec.url = url + "/hook"
    yield rec
    await stop(server, task)
