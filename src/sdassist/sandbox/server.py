"""Running the sandbox as a real HTTP server with uvicorn."""

from __future__ import annotations

import uvicorn

from .app import create_app
from .config import DEFAULT_KEY, SandboxConfig


def build_server(
    host: str = "127.0.0.1", port: int = 8787, config: SandboxConfig | None = None
) -> uvicorn.Server:
    """A uvicorn server for a new sandbox; the app sends its own `Date` header, so uvicorn's is off."""
    app = create_app(config)
    uv_config = uvicorn.Config(app, host=host, port=port, log_level="warning", lifespan="off",
                               date_header=False, server_header=False)
    return uvicorn.Server(uv_config)


def serve(host: str = "127.0.0.1", port: int = 8787, config: SandboxConfig | None = None) -> None:
    """Run the sandbox until interrupted, after printing where it listens and which key to use."""
    config = config or SandboxConfig()
    key = DEFAULT_KEY if DEFAULT_KEY in config.keys else next(iter(config.keys), DEFAULT_KEY)
    print(f"SocialDock sandbox on http://{host}:{port}  key: {key}", flush=True)
    build_server(host, port, config).run()
