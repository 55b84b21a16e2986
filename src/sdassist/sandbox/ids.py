"""Prefixed, lowercase, ULID-like identifiers that sort in creation order."""

from __future__ import annotations

import hashlib
import secrets
import threading
import time

_ALPHABET = "0123456789abcdefghjkmnpqrstvwxyz"  # Crockford base32, lowercase
_lock = threading.Lock()
_last: list[int] = [0, 0]  # [millis, randomness] of the previous id


def _encode(value: int, length: int) -> str:
    out = []
    for _ in range(length):
        value, rem = divmod(value, 32)
        out.append(_ALPHABET[rem])
    return "".join(reversed(out))


def new_id(prefix: str) -> str:
    """`prefix_` + 26 chars: 10 of millisecond time, 16 of randomness, monotonic within a process."""
    with _lock:
        millis = int(time.time() * 1000)
        if millis <= _last[0]:
            millis, rand = _last[0], _last[1] + 1
        else:
            rand = secrets.randbits(80)
        _last[0], _last[1] = millis, rand
    return f"{prefix}_{_encode(millis, 10)}{_encode(rand % (1 << 80), 16)}"


def stable_id(prefix: str, *parts: str) -> str:
    """A deterministic id for seeded objects (demo accounts) so they survive restarts."""
    digest = int.from_bytes(hashlib.sha256("|".join(parts).encode()).digest()[:17], "big")
    return f"{prefix}_{_encode(digest, 26)}"
