"""The client drops an idle connection before the sandbox closes it.

With both at 5 s (httpx's and uvicorn's defaults) the server could close a connection just as the client
sent a POST on it: a ReadError after sending, which the client rightly does not replay.
"""

from __future__ import annotations

import time

import uvicorn

from sdassist.sandbox import build_server

from .conftest import Sandbox


async def test_idle_connection_expires_in_the_client_first(uvicorn_sandbox: Sandbox) -> None:
    client = uvicorn_sandbox.client()
    await client.accounts.list()
    [connection] = client._http._transport._pool.connections  # type: ignore[attr-defined]
    client_keeps = connection._connection._expire_at - time.monotonic()  # httpcore's own expiry, monotonic
    server = build_server("127.0.0.1", 0)
    try:
        server_keeps = server.config.timeout_keep_alive
    finally:
        await server.config.app.state.sandbox.aclose()
    assert client_keeps > 0
    # Below the shortest keep-alive a real SocialDock front may use (uvicorn's default, 5 s), by a second
    assert client_keeps + 1 <= uvicorn.Config(app=None).timeout_keep_alive, client_keeps
    # and well below the sandbox's, so that a busy sandbox's timer and a request on its way never meet.
    assert server_keeps - client_keeps >= 5, (client_keeps, server_keeps)
