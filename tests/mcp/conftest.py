"""An MCP server per test on the embedded sandbox with a temporary database, and three kinds of host."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from mcp.types import CallToolResult, ElicitResult

from sdassist.config import Settings
from sdassist.mcp import build_server

MODES = ["auto", "legacy"]


@pytest.fixture
def server_factory(settings_factory: Callable[..., Settings]) -> Callable[..., Any]:
    def make(toolsets: str | None = None, read_only: bool | None = None, **overrides: Any) -> Any:
        return build_server(settings_factory(**overrides), toolsets=toolsets, read_only=read_only)

    return make


class Host:
    """An elicitation callback that records what the user was shown and answers one way."""

    def __init__(self, action: str, publish: bool = True) -> None:
        self.action = action
        self.publish = publish
        self.asked: list[str] = []

    async def __call__(self, _context: Any, params: Any) -> ElicitResult:
        self.asked.append(params.message)
        content = {"publish": self.publish} if self.action == "accept" else None
        return ElicitResult(action=self.action, content=content)


def data(result: CallToolResult) -> dict[str, Any]:
    assert not result.is_error, result.content
    assert result.structured_content is not None
    return result.structured_content


def error_text(result: CallToolResult) -> str:
    assert result.is_error, result.structured_content
    return " ".join(getattr(c, "text", "") for c in result.content)


POST = {"text": "Launch day!", "targets": ["linkedin"], "when": "tomorrow 9am"}
