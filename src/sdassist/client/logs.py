"""The client's logger: silent unless SDASSIST_LOG=debug, and it never prints a key.

Everything the client logs goes through `redact`, and a filter on the logger redacts again, so a key
that slips into a message, an argument or a header dump is replaced before any handler sees it.
"""

from __future__ import annotations

import logging
import os
import re
from typing import Any

from sdassist import secret_shapes

LOGGER_NAME = "sdassist.client"
REDACTED = "[redacted]"
#: A SocialDock key, or a token or code sdassist's own authorization server minted.
_KEY_RE = re.compile(r"(?i:sd_(?:live|test)_\w+)|" + secret_shapes.PATTERN)
_BEARER_RE = re.compile(r"(?i)(bearer\s+)\S+")
#: JSON fields that carry a credential (a webhook's signing secret in a request body, a token…).
_SECRET_FIELD_RE = re.compile(
    r'(?i)("(?:secret|signing_secret|webhook_secret|client_secret|password|api_key|'
    r'(?:access_|refresh_|bot_|app_)?token)"\s*:\s*")((?:[^"\\]|\\.)*)(")'
)

logger = logging.getLogger(LOGGER_NAME)


def redact(text: object) -> str:
    """The text with every key-shaped token and bearer credential replaced."""
    value = _KEY_RE.sub(REDACTED, str(text))
    value = _SECRET_FIELD_RE.sub(lambda m: m.group(1) + REDACTED + m.group(3), value)
    return _BEARER_RE.sub(lambda m: m.group(1) + REDACTED, value)


class RedactingFilter(logging.Filter):
    """Last line of defence: redacts the formatted message of every record on the client logger (and, through
    logsetup, of every record a face's handler writes)."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a broken format string: log it as given, still redacted
            message = f"{record.msg} {record.args}"
        record.msg = redact(message)
        record.args = None
        return True


if not any(isinstance(f, RedactingFilter) for f in logger.filters):
    logger.addFilter(RedactingFilter())


def debug_requested() -> bool:
    """SDASSIST_LOG=debug is set (read on each call so tests can switch it)."""
    return os.environ.get("SDASSIST_LOG", "").strip().lower() == "debug"


def enabled() -> bool:
    """Debug logging is opt-in through the environment, read on each call so tests can switch it.

    The logger's own level is set here, not left to the root's: a face that configured logging first
    (`sdassist slack` at INFO, `sdassist mcp` at WARNING) would otherwise drop every debug record."""
    on = debug_requested()
    if on:
        if logger.level != logging.DEBUG:
            logger.setLevel(logging.DEBUG)
        if not logger.handlers and not logging.getLogger().handlers:
            handler = logging.StreamHandler()
            handler.setFormatter(logging.Formatter("%(asctime)s %(name)s %(levelname)s %(message)s"))
            logger.addHandler(handler)
    return on


def debug(message: str, *args: Any) -> None:
    """Log at DEBUG when switched on; arguments are redacted before formatting."""
    if enabled():
        logger.debug(redact(message % args if args else message))
