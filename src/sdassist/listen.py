"""Whether a server command can listen where it was told, checked before it says it is serving.

uvicorn (`sdassist mcp --http`, `sdassist sandbox`) reports a port in use with a log line after the command has
announced its address, and exits as if sdassist had failed; `sdassist slack` says it in one line, exit 2. This
gives the first two the same one line.
"""

from __future__ import annotations

import socket


def listen_problem(host: str, port: int) -> str | None:
    """Why nothing could listen on `host:port` (port in use, an address not on this machine), else None.

    Binds as uvicorn does (SO_REUSEADDR), so a port only in TIME_WAIT is not reported, then lets go at once."""
    try:
        infos = socket.getaddrinfo(host or None, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    except OSError as exc:
        return f"cannot listen on {host}:{port}: {exc.strerror or exc}"
    family, kind, proto, _, address = infos[0]
    with socket.socket(family, kind, proto) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(address)
        except OSError as exc:
            return f"cannot listen on {host}:{port}: {exc.strerror or exc}"
    return None
