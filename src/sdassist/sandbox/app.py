"""Assembling the ASGI app: the documented API, the control endpoints and the gateway around them."""

from __future__ import annotations

import logging

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.types import Receive, Scope, Send

from . import api, control
from .config import SandboxConfig
from .envelope import ApiError, error
from .gateway import MUTATING, handle_api
from .state import SandboxState

log = logging.getLogger("sdassist.sandbox")


async def _api_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, ApiError)
    return error(exc.status, exc.message, exc.details, exc.meta)


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    if exc.status_code == 404:
        return error(404, "Not Found", f"No endpoint {request.method} {request.url.path}.")
    if exc.status_code == 405:
        return error(405, "Method Not Allowed", f"{request.method} is not allowed on {request.url.path}.")
    return error(exc.status_code, "Error", str(exc.detail))


async def _server_error(request: Request, exc: Exception) -> Response:
    """A bug in the sandbox: logged with its traceback, answered without the exception's text."""
    log.error("sandbox: %s %s failed", request.method, request.url.path, exc_info=exc)
    details = "The sandbox failed on this request; its log has the details."
    if not request.url.path.startswith("/api/"):
        return PlainTextResponse(f"Internal Server Error: {details}", status_code=500)
    return JSONResponse({"data": None, "meta": {}, "error": {"message": "Internal Server Error", "details": details}},
                        status_code=500)


class SandboxApp(Starlette):
    """Starlette with the gateway outermost, where it can still drop a connection unanswered."""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await super().__call__(scope, receive, send)
            return
        state: SandboxState = self.state.sandbox
        scope["app"] = self
        if scope["path"].startswith("/api/"):
            await handle_api(state, self.router.routes, scope, receive, send, super().__call__)
            return
        state.ensure_background()
        state.publish_due()
        await super().__call__(scope, receive, send)
        if scope["method"] in MUTATING or scope["path"].endswith("/oauth/connect"):
            state.save()


def create_app(config: SandboxConfig | None = None) -> Starlette:
    """A fresh sandbox; its state is `app.state.sandbox` (`await app.state.sandbox.aclose()` when done)."""
    app = SandboxApp(
        routes=[*api.routes, *control.routes],
        exception_handlers={ApiError: _api_error, HTTPException: _http_error, Exception: _server_error},
    )
    app.state.sandbox = SandboxState(config)
    return app
