"""Keep the garbage collector's full passes out of request latency in the long-running servers.

A full (generation 2) collection walks every object the collector tracks. After start-up that is mostly
what the imports built (Bolt, slack_sdk, SQLAlchemy, pydantic's validators, dateparser's language data):
hundreds of thousands of objects that live as long as the process. One such walk took ~90 ms on a loaded
2-core machine, and a Slack ack that waits behind it misses its 50 ms target. `settle()` runs once, after
start-up and warm-up: one collection, then `gc.freeze()` moves every survivor into the permanent
generation, which later passes skip, so a full pass only walks what the process made since. Objects made
after start-up are collected as before; the frozen ones were never going to be garbage.

It also collects the youngest generation less often (every `YOUNG_THRESHOLD` allocations instead of 700):
a request's short-lived objects then mostly die before a collection sees them, instead of being promoted,
while still in use, to the older generations whose growth is what triggers the full passes.
"""

from __future__ import annotations

import gc

__all__ = ["YOUNG_THRESHOLD", "settle"]

#: Net allocations between two collections of the youngest generation (CPython's default is 700).
YOUNG_THRESHOLD = 10_000


def settle() -> int:
    """Collect once, freeze what survived start-up, collect the young less often. Returns the frozen count."""
    gc.collect()
    gc.freeze()
    _, middle, old = gc.get_threshold()
    gc.set_threshold(YOUNG_THRESHOLD, middle, old)
    return gc.get_freeze_count()
