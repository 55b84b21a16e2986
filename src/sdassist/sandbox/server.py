"""Running the sandbox as a real HTTP server with uvicorn."""

from __future__ import annotations

import logging
import socket
import threading
import time
from typing import Any

import httpx
import uvicorn

from .app import create_app
from .config import DEFAULT_KEY, SandboxConfig

#: Seconds the sandbox keeps an idle connection open: well above the client's KEEPALIVE_EXPIRY, so the client
#: always drops an idle connection before the server closes it. uvicorn's default (5 s) equalled httpx's, and a
#: request sent on a connection the server was just closing met a reset (ReadError on POST /posts in
#: bench/bulk_schedule.py).
KEEP_ALIVE_SECONDS = 15


def build_server(
    host: str = "127.0.0.1", port: int = 8787, config: SandboxConfig | None = None
) -> uvicorn.Server:
    """A uvicorn server for a new sandbox; the app sends its own `Date` header, so uvicorn's is off."""
    app = create_app(config)
    uv_config = uvicorn.Config(app, host=host, port=port, log_level="warning", lifespan="off",
                               date_header=False, server_header=False, timeout_keep_alive=KEEP_ALIVE_SECONDS)
    return uvicorn.Server(uv_config)


def serve(host: str = "127.0.0.1", port: int = 8787, config: SandboxConfig | None = None) -> None:
    """Run the sandbox until interrupted, after printing where it listens and which key to use."""
    config = config or SandboxConfig()
    key = DEFAULT_KEY if DEFAULT_KEY in config.keys else next(iter(config.keys), DEFAULT_KEY)
    print(f"SocialDock sandbox on http://{host}:{port}  key: {key}", flush=True)
    build_server(host, port, config).run()


def free_loopback_port() -> int:
    """A port on 127.0.0.1 that nothing listens on right now (for a server about to start there)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class ServedSandbox:
    """A sandbox served by uvicorn on a free loopback port, in a background thread of this process.

    For benchmarks and demos that need a real HTTP SocialDock next to code running on its own event loop:
    `with ServedSandbox(SandboxConfig(window_seconds=2)) as sandbox: … sandbox.url …`.
    """

    def __init__(self, config: SandboxConfig | None = None, *, quiet_disconnects: bool = False) -> None:
        self.port = free_loopback_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.server = build_server("127.0.0.1", self.port, config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)
        self.quiet_disconnects = quiet_disconnects

    def control(self, method: str, path: str, **kwargs: Any) -> Any:
        """Call a `/_sandbox/…` control endpoint; returns its `data`."""
        response = httpx.request(method, self.url + path, timeout=10, **kwargs)
        response.raise_for_status()
        return response.json()["data"]

    def __enter__(self) -> ServedSandbox:
        if self.quiet_disconnects:
            # A client that gave up during injected latency makes the body read fail with ClientDisconnect;
            # uvicorn would print that traceback for every such request.
            logging.getLogger("uvicorn.error").setLevel(logging.CRITICAL)
        self.thread.start()
        deadline = time.monotonic() + 10
        while not self.server.started:
            if time.monotonic() > deadline or not self.thread.is_alive():
                raise RuntimeError(f"the sandbox did not start on {self.url}")
            time.sleep(0.01)
        return self

    def __exit__(self, *_exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)
