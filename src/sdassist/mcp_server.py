"""`sdassist mcp`: serve the MCP face over stdio (default) or streamable HTTP (`--http`).

Only stderr is written to: on stdio, stdout is the protocol stream.
"""

from __future__ import annotations

import argparse
import logging
import sys

from sdassist import logsetup
from sdassist.mcp import build_server

__all__ = ["build_server", "run"]

SANDBOX_NOTICE = ("sdassist mcp: no SOCIALDOCK_API_KEY set, so this runs on the built-in SocialDock sandbox: "
                  "nothing is really posted.")


def run(args: argparse.Namespace) -> int:
    logsetup.configure(logging.WARNING, "%(name)s: %(levelname)s: %(message)s")
    from sdassist.config import Settings

    settings = Settings()
    try:
        settings.check_secret_transports()
        server = build_server(settings, toolsets=getattr(args, "toolsets", None),
                              read_only=getattr(args, "read_only", None))
        if getattr(args, "http", False):
            from sdassist.mcp.http import required_token

            required_token(settings, args.host)  # refuse before announcing anything
            from sdassist.listen import listen_problem

            if problem := listen_problem(args.host, args.port):
                raise ValueError(problem)
    except ValueError as exc:  # HttpConfigError included
        print(f"sdassist mcp: {exc}", file=sys.stderr)
        return 2
    if settings.uses_sandbox:
        print(SANDBOX_NOTICE, file=sys.stderr)
    if getattr(args, "http", False):
        from sdassist.mcp.http import serve_http

        print(f"sdassist mcp: serving streamable HTTP at http://{args.host}:{args.port}/mcp", file=sys.stderr)
        serve_http(server, settings, args.host, args.port)
    else:
        if sys.stdin.isatty():  # a person, not a host: say what this waits for and what to do next
            from sdassist.terminal.mcp_hint import stdio_hint

            print(stdio_hint(uses_sandbox=settings.uses_sandbox), file=sys.stderr)
        server.sdassist_state.local_files = True  # type: ignore[attr-defined]
        from sdassist.mcp.stdio import run_stdio

        run_stdio(server)
    return 0
