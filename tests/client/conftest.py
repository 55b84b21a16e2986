"""Fixtures: the real sandbox, in process (ASGITransport) and served by uvicorn on a loopback port."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest

from sdassist.client import RateLimiter, SocialDock
from sdassist.sandbox import SandboxConfig, build_server, create_app
from sdassist.sandbox.server import free_loopback_port as free_port

TEST_KEY = "sd_test_sandbox"
BUILD_KEY = "sd_test_build"
FREE_KEY = "sd_test_free"




@dataclass
class Sandbox:
    """One running sandbox and everything needed to reach it and to steer it."""

    mode: str
    base_url: str
    transport_factory: Callable[[], httpx.AsyncBaseTransport | None]
    control: httpx.AsyncClient
    clients: list[SocialDock] = field(default_factory=list)

    def client(self, key: str = TEST_KEY, **kwargs: Any) -> SocialDock:
        kwargs.setdefault("timeout", 5.0)
        client = SocialDock(key, base_url=self.base_url, transport=self.transport_factory(), **kwargs)
        client._loop.backoff_base = 0.01  # keep retry tests fast; the policy itself is unchanged
        self.clients.append(client)
        return client

    async def stats(self) -> dict[str, Any]:
        return (await self.control.get("/_sandbox/stats")).json()["data"]

    async def faults(self, *rules: dict[str, Any], seed: int = 1) -> None:
        response = await self.control.post("/_sandbox/faults", json={"seed": seed, "rules": list(rules)})
        assert response.status_code == 200, response.text


def sandbox_config(**overrides: Any) -> SandboxConfig:
    values: dict[str, Any] = {"window_seconds": 2.0, "tick_seconds": 0.05, "webhook_backoff_seconds": 0.02}
    values.update(overrides)
    return SandboxConfig(**values)


async def _in_process(config: SandboxConfig) -> AsyncIterator[Sandbox]:
    app = create_app(config)
    control = httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://sandbox.test")
    box = Sandbox("asgi", "http://sandbox.test", lambda: httpx.ASGITransport(app=app), control)
    try:
        yield box
    finally:
        for client in box.clients:
            await client.aclose()
        await control.aclose()
        await app.state.sandbox.aclose()


async def _uvicorn(config: SandboxConfig) -> AsyncIterator[Sandbox]:
    port = free_port()
    server = build_server("127.0.0.1", port, config)
    server.capture_signals = contextlib.nullcontext  # type: ignore[method-assign]  # leave pytest's
    task = asyncio.create_task(server.serve())
    for _ in range(500):
        if server.started:
            break
        await asyncio.sleep(0.01)
    assert server.started, "uvicorn did not start"
    base = f"http://127.0.0.1:{port}"
    control = httpx.AsyncClient(base_url=base)
    box = Sandbox("uvicorn", base, lambda: None, control)
    try:
        yield box
    finally:
        for client in box.clients:
            await client.aclose()
        await control.aclose()
        server.should_exit = True
        await asyncio.wait_for(task, 10)


@pytest.fixture(params=["asgi", "uvicorn"])
async def sandbox(request: pytest.FixtureRequest) -> AsyncIterator[Sandbox]:
    """The sandbox, once in process and once over real HTTP."""
    factory = _in_process if request.param == "asgi" else _uvicorn
    async for box in factory(sandbox_config()):
        yield box


@pytest.fixture
async def asgi_sandbox() -> AsyncIterator[Sandbox]:
    async for box in _in_process(sandbox_config()):
        yield box


@pytest.fixture
async def uvicorn_sandbox() -> AsyncIterator[Sandbox]:
    async for box in _uvicorn(sandbox_config()):
        yield box


__all__ = ["BUILD_KEY", "FREE_KEY", "TEST_KEY", "RateLimiter", "Sandbox", "sandbox_config"]
