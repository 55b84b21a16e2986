"""What to answer a JSON-RPC message the MCP SDK cannot read: an error with the request's id, in plain words.

The SDK drops a line on stdio that fails its message model (a request with an id whose params are not an
object gets no answer at all, and the host waits forever), and over HTTP answers with pydantic's text and
`id: null`. JSON-RPC 2.0 says a request gets a response: this decides which error, for both transports.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import mcp_types as types
from pydantic import ValidationError

from sdassist import jsonbody

PARSE_ERROR, INVALID_REQUEST, INVALID_PARAMS = -32700, -32600, -32602


@dataclass(frozen=True)
class Refusal:
    """The error to send: `id` is the request's (None when it has none we can read); `reply` is False for a
    message JSON-RPC never answers (a notification, or a response from the client)."""

    id: int | str | None
    code: int
    message: str
    reply: bool = True

    def as_message(self) -> types.JSONRPCError:
        return types.JSONRPCError(jsonrpc="2.0", id=self.id, error=types.ErrorData(code=self.code,
                                                                                     message=self.message))

    def as_json(self) -> dict[str, Any]:
        return {"jsonrpc": "2.0", "id": self.id, "error": {"code": self.code, "message": self.message}}


def _kind(value: object) -> str:
    names = {str: "a string", int: "a number", float: "a fractional number", bool: "true/false", list: "an array",
             type(None): "null", dict: "an object"}
    return names.get(type(value), type(value).__name__)


def _readable_id(message: dict[str, Any]) -> int | str | None:
    ident = message.get("id")
    if isinstance(ident, str) and jsonbody.lone_surrogate(ident):
        return None  # an id that cannot be written back
    return ident if isinstance(ident, (int, str)) and not isinstance(ident, bool) else None


def check_message(message: Any) -> Refusal | None:
    """None when the SDK can read `message`; otherwise the error that says what is wrong with it."""
    if (isinstance(message, dict) and "method" in message and "id" in message and _readable_id(message) is None
            and not isinstance(message["id"], str)):  # a string id that is not Unicode: said below
        # The SDK would take it for a notification and never answer.
        return Refusal(None, INVALID_REQUEST, f"Invalid Request: id must be a string or a number, not "
                                              f"{_kind(message['id'])}")
    if isinstance(message, dict) and (bad := jsonbody.lone_surrogate(message)) is not None:
        # The SDK's reader refuses such text and drops the whole line: the request would never be answered.
        in_params = jsonbody.lone_surrogate(message.get("params")) is not None
        is_request = "method" in message and "id" in message
        return Refusal(_readable_id(message), INVALID_PARAMS if in_params else INVALID_REQUEST,
                       f"Invalid {'params' if in_params else 'Request'}: a string holds a lone surrogate ({bad}), "
                       "which is not Unicode text; send the characters themselves or a surrogate pair",
                       is_request or not ("result" in message or "error" in message or "method" in message))
    try:
        types.jsonrpc_message_adapter.validate_python(message, by_name=False)
        return None
    except ValidationError:
        pass
    if isinstance(message, list):
        return Refusal(None, INVALID_REQUEST, "Invalid Request: batches are not supported; send one message at a time")
    if not isinstance(message, dict):
        return Refusal(None, INVALID_REQUEST, f"Invalid Request: a message is a JSON object, not {_kind(message)}")
    ident = _readable_id(message)
    is_request = "method" in message and "id" in message
    reply = is_request or ("method" not in message and not ("result" in message or "error" in message))
    if message.get("jsonrpc") != "2.0":
        return Refusal(ident, INVALID_REQUEST, 'Invalid Request: "jsonrpc" must be "2.0"', reply)
    if "method" in message:
        if not isinstance(message["method"], str):
            return Refusal(ident, INVALID_REQUEST, f"Invalid Request: method must be a string, not "
                                                   f"{_kind(message['method'])}", is_request)
        if "params" in message and not isinstance(message["params"], dict):
            return Refusal(ident, INVALID_PARAMS, f"Invalid params: params of {message['method']} must be an "
                                                  f"object (named parameters), not {_kind(message['params'])}",
                           is_request)
    return Refusal(ident, INVALID_REQUEST, "Invalid Request: not a JSON-RPC 2.0 request, notification or "
                                           "response (see the MCP specification, Base Protocol)", reply)


def check_line(line: str | bytes) -> Refusal | None:
    """`check_message` for raw text, with JSON that cannot be parsed (or nests too deeply) a parse error."""
    if not line.strip():
        return None  # a blank line: nothing was asked
    try:
        message = jsonbody.loads(line)
    except jsonbody.JSONBodyError as exc:
        return Refusal(None, PARSE_ERROR, f"Parse error: {exc}")
    return check_message(message)
