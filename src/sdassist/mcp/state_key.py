"""The key the SDK seals `requestState` with when `SDASSIST_REQUEST_STATE_SECRET` is unset: one random key kept
in the database (beside the media URLs' key), so every instance on that database opens the state another one
sealed, with nothing more to configure. The setting, when given, wins (and rotates: `Settings`)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from mcp.server.request_state import AESGCMRequestStateCodec, InvalidRequestState

if TYPE_CHECKING:
    from mcp.server.context import CallNext, HandlerResult, ServerRequestContext

    from sdassist.mcp.server import ServerState

__all__ = ["DatabaseKeyCodec", "database_key_loader"]


class DatabaseKeyCodec:
    """The SDK's AES-GCM codec under the database's key. The SDK calls a codec synchronously, so the key is
    read beforehand, once, by `database_key_loader`; until then nothing is sealed or opened (fail closed)."""

    def __init__(self) -> None:
        self._codec: AESGCMRequestStateCodec | None = None

    @property
    def loaded(self) -> bool:
        return self._codec is not None

    def load(self, key: str) -> None:
        self._codec = AESGCMRequestStateCodec([key])

    def seal(self, payload: bytes) -> str:
        if self._codec is None:
            raise InvalidRequestState("no key yet")
        return self._codec.seal(payload)

    def unseal(self, token: str) -> bytes:
        if self._codec is None:
            raise InvalidRequestState("no key yet")
        return self._codec.unseal(token)


def database_key_loader(state: ServerState, codec: DatabaseKeyCodec) -> Any:
    """Server middleware outside the SDK's request-state boundary: before the first call that may seal (a tool
    call) or must open (any request carrying requestState) a state, read the key from the database."""

    async def load_database_key(ctx: ServerRequestContext[Any, Any], call_next: CallNext) -> HandlerResult:
        carries = isinstance(ctx.params, dict) and ctx.params.get("requestState") is not None
        if not codec.loaded and (ctx.method == "tools/call" or carries):
            from sdassist.publishing.media import REQUEST_STATE_KEY

            runtime = await state.runtime()
            codec.load(await runtime.media.shared_key(REQUEST_STATE_KEY))
        return await call_next(ctx)

    return load_database_key
