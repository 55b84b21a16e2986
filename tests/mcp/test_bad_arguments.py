"""Arguments and messages the SDK would refuse before a tool runs get the same plain answer as our refusals.

A tool call with a wrong literal, a wrong type or a string where a list belongs names the field, says what
it takes and gives a hint; never pydantic's text or its URL. A JSON-RPC request with an id but params that
are not an object gets a JSON-RPC error with that id (over real stdio and streamable HTTP), never silence.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx
import pytest
from mcp import Client

from tests.mcp.conftest import error_text
from tests.mcp.test_http import TOKEN, http_server  # noqa: F401 - the fixture

PYDANTIC_WORDS = ("pydantic", "validation error", "type=", "Input should", "input_value", "For further information")

BAD_CALLS = [
    ("list_posts", {"status": "nope"}, "status: must be one of 'published', 'scheduled' or 'failed' (got 'nope')"),
    ("draft_post", {"text": "Hi", "targets": "linkedin", "when": "tomorrow 9am"},
     'targets: must be a list, like ["linkedin"], not one text'),
    ("draft_post", {"text": 5, "targets": ["linkedin"], "when": "tomorrow 9am"},
     "text: must be text (got a whole number)"),
    ("list_posts", {"limit": "many"}, "limit: must be a whole number (got text)"),
    ("list_posts", {"limit": 100000}, "limit: must be at most 100"),
    ("draft_post", {"text": "Hi", "targets": ["linkedin"], "when": "tomorrow 9am", "publish_now": "perhaps"},
     "publish_now: must be true or false"),
    ("draft_post", {"targets": ["linkedin"]}, "text: is required"),
    ("draft_post", {"text": "Hi", "targets": ["linkedin"], "when": "tomorrow 9am", "colour": "red"},
     "colour: not a known field"),
    ("get_draft", {"draft_id": "../../etc/passwd"}, "draft_id: '../../etc/passwd' is not a draft id"),
    ("get_post", {"post_id": "post_a/../b"}, "post_id: 'post_a/../b' is not a post id"),
    ("draft_post", {"text": "Hi", "targets": ["linkedin"], "when": "tomorrow 9am", "confirmation_token": "drf_x.1.2.é"},
     "confirmation_token: 'drf_x.1.2.\\xe9' is not a token this server issued"),
]


@pytest.mark.parametrize(("tool", "arguments", "said"), BAD_CALLS)
async def test_arguments_the_sdk_checks_are_refused_in_our_words(server_factory: Any, tool: str,
                                                                  arguments: dict[str, Any], said: str) -> None:
    async with Client(server_factory()) as client:
        text = error_text(await client.call_tool(tool, arguments))
    assert said in text
    assert " — " in text  # a hint follows
    assert not any(word in text for word in PYDANTIC_WORDS), text


# --- JSON-RPC messages the SDK cannot read ----------------------------------------------------------------

MALFORMED = [
    ('{"jsonrpc":"2.0","id":11,"method":"tools/call","params":"list_posts"}', 11, -32602, "params of tools/call must "
     "be an object"),
    ('{"jsonrpc":"2.0","id":"r-12","method":"tools/list","params":[1,2]}', "r-12", -32602, "not an array"),
    ('{"jsonrpc":"2.0","id":13,"method":7}', 13, -32600, "method must be a string"),
    ('{"jsonrpc":"1.0","id":14,"method":"ping"}', 14, -32600, '"jsonrpc" must be "2.0"'),
    ('{"jsonrpc":"2.0","id":{"a":1},"method":"ping"}', None, -32600, "id must be a string or a number"),
    # JSON allows a lone surrogate escape; the SDK's reader does not, and dropped the line unanswered
    ('{"jsonrpc":"2.0","id":15,"method":"ping","params":{"x":"\\ud800"}}', 15, -32602, "lone surrogate"),
    ('{"jsonrpc":"2.0","id":16,"method":"tools/call","params":{"name":"list_posts","arguments":{"platform":'
     '"\\udfff"}}}', 16, -32602, "lone surrogate"),
    ('{"jsonrpc":"2.0","id":1.5,"method":"ping"}', None, -32600, "not a fractional number"),
]
INITIALIZE = {"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
    "protocolVersion": "2025-06-18", "capabilities": {}, "clientInfo": {"name": "t", "version": "1"}}}


def test_every_request_over_stdio_is_answered(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SOCIALDOCK_", "SDASSIST_"))}
    env.update(SDASSIST_DATA_DIR=str(tmp_path))
    lines = [json.dumps(INITIALIZE), '{"jsonrpc":"2.0","method":"notifications/initialized"}']
    lines += [line for line, *_ in MALFORMED]
    lines += ['{"jsonrpc":"2.0","method":"notifications/progress","params":"x"}',  # a notification: no answer
              "{not json", "[" * 5000 + "]" * 5000, '{"jsonrpc":"2.0","id":99,"method":"ping"}']
    done = subprocess.run([sys.executable, "-m", "sdassist", "mcp"], input="\n".join(lines) + "\n", env=env,
                          capture_output=True, text=True, timeout=60, cwd=tmp_path)
    answers = [json.loads(line) for line in done.stdout.splitlines()]  # in any order: match them by id
    by_id = {a["id"]: a for a in answers if a["id"] is not None}
    assert "result" in by_id[1] and by_id[99] == {"jsonrpc": "2.0", "id": 99, "result": {}}
    for _, ident, code, said in MALFORMED:
        if ident is not None:
            assert by_id[ident]["error"]["code"] == code and said in by_id[ident]["error"]["message"]
    anonymous = sorted((a["error"]["code"], a["error"]["message"]) for a in answers if a["id"] is None)
    assert anonymous == [(-32700, "Parse error: body is nested too deeply (more than 64 levels of arrays and objects)"),
                         (-32700, "Parse error: body is not JSON"),
                         (-32600, "Invalid Request: id must be a string or a number, not a fractional number"),
                         (-32600, "Invalid Request: id must be a string or a number, not an object")]
    assert len(answers) == len(by_id) + 4  # and nothing for the notification
    assert "Traceback" not in done.stderr


def test_every_request_over_http_is_answered_with_its_id(http_server: str) -> None:  # noqa: F811
    headers = {"Authorization": f"Bearer {TOKEN}", "Accept": "application/json, text/event-stream",
               "Content-Type": "application/json"}
    with httpx.Client(headers=headers) as http:
        opened = http.post(http_server, json=INITIALIZE)
        assert opened.status_code == 200
        if "mcp-session-id" in opened.headers:
            http.headers["mcp-session-id"] = opened.headers["mcp-session-id"]
        http.headers["mcp-protocol-version"] = "2025-06-18"
        for line, ident, code, said in MALFORMED:
            answer = http.post(http_server, content=line)
            assert answer.status_code == 400
            body = answer.json()
            assert body["id"] == ident and body["error"]["code"] == code and said in body["error"]["message"]
            assert not any(word in answer.text for word in PYDANTIC_WORDS)
        deep = http.post(http_server, content="[" * 5000 + "]" * 5000)
        assert deep.status_code == 400 and deep.json()["error"]["code"] == -32700
