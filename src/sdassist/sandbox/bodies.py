"""Reading JSON request bodies strictly: at most 1 MiB, right content type, valid JSON, an object, known fields."""

from __future__ import annotations

import json
from collections.abc import Collection
from typing import Any

from starlette.requests import Request

from .envelope import ApiError, bad_request

MAX_BODY = 1024 * 1024
"""The largest request body the sandbox reads (1 MiB); a larger one is a 413."""


def _too_large(size: int | None = None) -> ApiError:
    said = f"{size} bytes" if size is not None else "larger than that"
    return ApiError(413, "Payload Too Large", f"The request body is {said}; the limit is {MAX_BODY} bytes (1 MiB).")


async def _read_limited(request: Request) -> bytes:
    declared = request.headers.get("content-length", "")
    if declared.isascii() and declared.isdigit() and int(declared) > MAX_BODY:
        raise _too_large(int(declared))
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > MAX_BODY:
            raise _too_large()
        chunks.append(chunk)
    return b"".join(chunks)


MAX_DEPTH = 64
TOO_DEEP = f"Malformed JSON body: nested too deeply (more than {MAX_DEPTH} levels of arrays and objects)."


def _nests_deeper(data: Any, limit: int) -> bool:
    """Whether `data` nests arrays/objects more than `limit` levels (iterative, so safe on any depth)."""
    stack = [(data, 1)]
    while stack:
        value, level = stack.pop()
        children = value.values() if isinstance(value, dict) else value if isinstance(value, list) else None
        if children is None:
            continue
        if level > limit:
            return True
        stack.extend((child, level + 1) for child in children if isinstance(child, (dict, list)))
    return False


def unknown_fields(body: dict[str, Any], fields: Collection[str], where: str = "") -> str | None:
    """The problem with keys outside `fields` ("unknown field 'x'; accepted fields: …"), or None."""
    unknown = [k for k in body if k not in fields]
    if not unknown:
        return None
    names = ", ".join(repr(k) for k in unknown)
    accepted = ", ".join(fields) if fields else "none (this endpoint takes no body)"
    return f"{where}unknown field{'s' if len(unknown) > 1 else ''} {names}; accepted fields: {accepted}"


async def json_body(request: Request, *, required: bool = True,
                    fields: Collection[str] | None = None) -> dict[str, Any]:
    """The body as a dict, or an ApiError (400, or 413 above 1 MiB) that says what is wrong with it.

    With `fields`, a key outside them is refused by name.
    """
    raw = await _read_limited(request)
    if not raw.strip():
        if required:
            raise bad_request("A JSON object body is required (Content-Type: application/json).")
        return {}
    ctype = request.headers.get("content-type", "").split(";", 1)[0].strip().lower()
    if ctype != "application/json" and not ctype.endswith("+json"):
        raise bad_request(f"Content-Type must be application/json, got {ctype or 'none'!r}.")
    try:
        data = json.loads(raw)
    except RecursionError:
        raise bad_request(TOO_DEEP) from None
    except json.JSONDecodeError as exc:
        raise bad_request(f"Malformed JSON body: {exc.msg} at line {exc.lineno} column {exc.colno}.") from None
    except (ValueError, UnicodeDecodeError):
        raise bad_request("Malformed JSON body: it is not UTF-8 JSON text.") from None
    if _nests_deeper(data, MAX_DEPTH):
        raise bad_request(TOO_DEEP)
    if not isinstance(data, dict):
        raise bad_request(f"The JSON body must be an object, got {type(data).__name__}.")
    if fields is not None:
        problem = unknown_fields(data, fields)
        if problem:
            raise bad_request(problem)
    return data
