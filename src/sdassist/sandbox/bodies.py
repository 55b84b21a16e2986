"""Reading JSON request bodies strictly: right content type, valid JSON, an object."""

from __future__ import annotations

import json
from typing import Any

from starlette.requests import Request

from .envelope import bad_request


async def json_body(request: Request, *, required: bool = True) -> dict[str, Any]:
    """The body as a dict, or an ApiError(400) that says what is wrong with it."""
    raw = await request.body()
    if not raw.strip():
        if required:
            raise bad_request("A JSON object body is required (Content-Type: application/json).")
        return {}
    ctype = request.headers.get("content-type", "").split(";", 1)[0].strip().lower()
    if ctype != "application/json" and not ctype.endswith("+json"):
        raise bad_request(f"Content-Type must be application/json, got {ctype or 'none'!r}.")
    try:
        data = json.loads(raw)
    except (ValueError, UnicodeDecodeError) as exc:
        raise bad_request(f"Malformed JSON body: {exc}.") from None
    if not isinstance(data, dict):
        raise bad_request(f"The JSON body must be an object, got {type(data).__name__}.")
    return data
