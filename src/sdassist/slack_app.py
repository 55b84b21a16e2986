"""`sdassist slack`: run the Slack app, over HTTP (`/slack/events`) or Socket Mode, plus the webhook receiver.

HTTP mode serves Slack and SocialDock's webhooks on one port. With SLACK_APP_TOKEN set the app connects to
Slack over Socket Mode (no public URL needed for Slack) and the port serves only the webhook receiver.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import errno
import logging
import signal
import sys
from typing import TYPE_CHECKING

from aiohttp import web

from sdassist import heap, logsetup
from sdassist.config import Settings
from sdassist.netsafety import InsecureTransport

if TYPE_CHECKING:
    from sdassist.slack.app import SlackFace

EXIT_CONFIG = 2
log = logging.getLogger("sdassist.slack")


def missing_settings(settings: Settings) -> list[str]:
    """Names (never values) of the settings this mode cannot run without."""
    needed = {"SLACK_BOT_TOKEN": settings.slack_bot_token, "SDASSIST_APPROVAL_CHANNEL": settings.approval_channel}
    if settings.slack_app_token is None:
        needed["SLACK_SIGNING_SECRET"] = settings.slack_signing_secret
    return [name for name, value in needed.items() if not value]


async def start_face(face: SlackFace) -> int:
    """What `sdassist slack` does once it listens: start the face's background work, let App Home's warm-up finish
    (requests are served meanwhile), then settle the heap, after the warm-up so what it read is frozen with the
    rest and the full collection `heap.settle` runs lands here rather than in someone's first App Home. Returns
    the number of objects frozen."""
    await face.start()
    await face.warmed()
    return heap.settle()


async def serve(settings: Settings, host: str, port: int, *, stop: asyncio.Event | None = None) -> None:
    """Open the runtime, start the web server (and Socket Mode), run until `stop` is set or a signal comes."""
    from sdassist.runtime import open_runtime
    from sdassist.slack.app import SlackFace, web_client

    stop = stop or asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(sig, stop.set)
    async with open_runtime(settings) as rt:
        face = SlackFace(settings, rt, web_client(settings))
        socket_mode = settings.slack_app_token is not None
        runner = web.AppRunner(face.web_app(with_slack=not socket_mode))
        await runner.setup()
        await web.TCPSite(runner, host, port).start()
        handler = None
        if socket_mode:
            from slack_bolt.adapter.socket_mode.async_handler import AsyncSocketModeHandler

            handler = AsyncSocketModeHandler(face.app, settings.slack_app_token.get_secret_value())  # type: ignore[union-attr]
            await handler.connect_async()
            print(f"sdassist slack: Socket Mode connected; webhook receiver on http://{host}:{port}"
                  "/socialdock/webhook", file=sys.stderr)
        else:
            print(f"sdassist slack: listening on http://{host}:{port} (/slack/events, /socialdock/webhook)",
                  file=sys.stderr)
        frozen = await start_face(face)  # start-up is over: keep full GC passes over its objects out of the acks
        log.info("start-up heap settled: %d objects out of the garbage collector's full passes", frozen)
        try:
            await stop.wait()
        finally:  # stop taking requests, then stop the work they started, then (leaving open_runtime) close clients
            if handler is not None:
                await handler.close_async()
            await runner.cleanup()
            await face.stop()


def run(args: argparse.Namespace) -> int:
    """Entry point of `sdassist slack`; exit code 2 when a required setting is missing."""
    logsetup.configure(logging.INFO, "%(levelname)s %(name)s: %(message)s")
    logging.getLogger("httpx").setLevel(logging.WARNING)  # one line per SocialDock request is noise here
    settings = Settings()
    missing = missing_settings(settings)
    if missing:
        print(f"sdassist slack: {', '.join(missing)} not set. Set them in the environment or .env; "
              "docs/configuration.md says where in Slack's app settings each value is "
              "(docs/slack.md: the setup).", file=sys.stderr)
        return EXIT_CONFIG
    try:
        settings.check_secret_transports()
    except InsecureTransport as exc:
        print(f"sdassist slack: {exc}", file=sys.stderr)
        return EXIT_CONFIG
    try:
        asyncio.run(serve(settings, getattr(args, "host", "0.0.0.0"), getattr(args, "port", 3000)))
    except KeyboardInterrupt:
        pass
    except OSError as exc:  # a port taken or not ours is a usage error (2, as in docs/terminal.md); else internal (3)
        print(f"sdassist slack: cannot listen on {args.host}:{args.port}: {exc.strerror}", file=sys.stderr)
        return EXIT_CONFIG if exc.errno in (errno.EADDRINUSE, errno.EACCES, errno.EADDRNOTAVAIL) else 3
    return 0
