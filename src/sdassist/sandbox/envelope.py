"""SocialDock's response envelope: `{"data": …}` on success, `{"data": null, "error": …}` on failure."""

from __future__ import annotations

from typing import Any

from starlette.responses import JSONResponse


class ApiError(Exception):
    """An error answer in the documented envelope; raised anywhere in a handler."""

    def __init__(self, status: int, message: str, details: str, meta: dict[str, Any] | None = None) -> None:
        super().__init__(f"{status} {message}: {details}")
        self.status = status
        self.message = message
        self.details = details
        self.meta = meta or {}


def ok(data: Any, *, status: int = 200, meta: dict[str, Any] | None = None) -> JSONResponse:
    body: dict[str, Any] = {"data": data}
    if meta is not None:
        body["meta"] = meta
    return JSONResponse(body, status_code=status)


def error_body(message: str, details: str, meta: dict[str, Any] | None = None) -> dict[str, Any]:
    return {"data": None, "error": {"message": message, "details": details}, "meta": meta or {}}


def error(status: int, message: str, details: str, meta: dict[str, Any] | None = None) -> JSONResponse:
    return JSONResponse(error_body(message, details, meta), status_code=status)


def bad_request(details: str) -> ApiError:
    return ApiError(400, "Bad Request", details)


def not_found(kind: str, ident: str) -> ApiError:
    return ApiError(404, f"{kind} not found", f"No {kind.lower()} with id {ident} exists in this workspace.")
