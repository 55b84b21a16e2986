"""JSON from the network, parsed with a depth limit: a body nested too deeply is a plain refusal.

`json.loads` raises RecursionError on a body nested past Python's recursion limit (about 1,000 levels), and a
body just under it still crashes whatever walks it recursively afterwards (validation, our own checks, a
later `json.dumps`). No message any endpoint takes is nested more than a few levels, so every receiver
parses through `loads` and refuses past `MAX_DEPTH` with a reason, never with an exception's text.
"""

from __future__ import annotations

import json
from typing import Any

MAX_DEPTH = 64
"""Levels of arrays/objects a body may nest: Slack's deepest payloads use about ten."""


class JSONBodyError(ValueError):
    """Why a body is not acceptable JSON, in words fit for the sender ("not JSON", "nested too deeply")."""


def depth_over(data: Any, limit: int = MAX_DEPTH) -> bool:
    """Whether `data` nests arrays/objects more than `limit` levels (iterative: safe on any depth)."""
    stack = [(data, 1)]
    while stack:
        value, level = stack.pop()
        if isinstance(value, dict):
            children = value.values()
        elif isinstance(value, list):
            children = value
        else:
            continue
        if level > limit:
            return True
        stack.extend((child, level + 1) for child in children if isinstance(child, (dict, list)))
    return False


def lone_surrogate(data: Any) -> str | None:
    """The first lone surrogate (`\\ud800`) in any key or string of `data`, written as an escape, or None.

    JSON's syntax admits one; it is not Unicode text: UTF-8 cannot carry it and pydantic's reader refuses it."""
    stack = [data]
    while stack:
        value = stack.pop()
        if isinstance(value, dict):
            stack.extend(value.keys())
            stack.extend(value.values())
        elif isinstance(value, list):
            stack.extend(value)
        elif isinstance(value, str) and not value.isascii():
            try:
                value.encode("utf-8")
            except UnicodeEncodeError as exc:
                return ascii(value[exc.start])[1:-1]
    return None


class TooDeep(JSONBodyError):
    """The body is JSON, nested past the limit (a receiver may answer this apart from "not JSON")."""


def too_deep(limit: int = MAX_DEPTH) -> TooDeep:
    return TooDeep(f"body is nested too deeply (more than {limit} levels of arrays and objects)")


def loads(raw: str | bytes, *, max_depth: int = MAX_DEPTH) -> Any:
    """`json.loads` that refuses (JSONBodyError) malformed JSON and nesting deeper than `max_depth`."""
    try:
        data = json.loads(raw)
    except RecursionError:
        raise too_deep(max_depth) from None
    except (ValueError, UnicodeDecodeError):
        raise JSONBodyError("body is not JSON") from None
    if depth_over(data, max_depth):
        raise too_deep(max_depth)
    return data
