"""Logging for a long-running face (`sdassist mcp`, `sdassist slack`): stderr only, redacted, SDASSIST_LOG honoured.

`SDASSIST_LOG=debug` opens every `sdassist.*` logger (sign-in, consent, tokens, tool calls), not only the
SocialDock client's; the redacting filter sits on the handler, so it sees every record that is written,
whichever logger it came from.
"""

from __future__ import annotations

import logging
import sys

from sdassist.client.logs import RedactingFilter, debug_requested


def configure(level: int, fmt: str) -> None:
    """Root logging on stderr at `level` (stdout stays free: it is the MCP stdio stream)."""
    logging.basicConfig(stream=sys.stderr, level=level, format=fmt)
    for handler in logging.getLogger().handlers:
        if not any(isinstance(f, RedactingFilter) for f in handler.filters):
            handler.addFilter(RedactingFilter())
    if debug_requested():
        logging.getLogger("sdassist").setLevel(logging.DEBUG)
