"""Every tool needs exactly one scope, read from the tool's own metadata (no hand-written list to forget a new
tool in), and the MCP endpoint's 403 step-up names exactly the scope each call needs."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from sdassist.identity.scopes import ADMIN, DRAFT, READ, SCOPES, scope_for, scopes_needed
from sdassist.tools.base import Tool, ToolInput, ToolKind, ToolOutput, Toolset
from sdassist.tools.registry import ALL_TOOLS
from tests.oauth.test_resource import Served, challenge, serve


def test_every_registered_tool_has_exactly_one_scope_from_its_metadata() -> None:
    for tool in ALL_TOOLS:
        assert tool.scope in SCOPES, tool.name
        expected = ADMIN if tool.admin else READ if tool.kind == ToolKind.READ else DRAFT
        assert tool.scope == expected, tool.name
        assert not (tool.admin and tool.kind == ToolKind.READ), f"{tool.name}: an admin tool that only reads"
    # what each scope covers today, as the consent page words it
    by_scope = {s: sorted(t.name for t in ALL_TOOLS if t.scope == s) for s in SCOPES}
    assert by_scope[DRAFT] == ["cancel_draft", "draft_post", "edit_draft", "update_post", "upload_media"]
    assert by_scope[ADMIN] == ["approve_draft", "connect_account", "create_webhook", "delete_post",
                               "delete_webhook", "disconnect_account", "reject_draft"]


async def _nothing(ctx: object, inp: ToolInput) -> ToolOutput:
    return ToolOutput()


@pytest.mark.parametrize(("kind", "admin", "scope"), [
    (ToolKind.READ, False, READ), (ToolKind.WRITE, False, DRAFT), (ToolKind.DESTRUCTIVE, False, DRAFT),
    (ToolKind.WRITE, True, ADMIN), (ToolKind.DESTRUCTIVE, True, ADMIN)])
def test_a_new_tool_gets_its_scope_without_any_list_to_update(kind: ToolKind, admin: bool, scope: str) -> None:
    """A hand-written set of drafting tools made every new write tool `admin` until someone remembered it."""
    tool = Tool(name="schedule_thread", title="t", description="d", input_model=ToolInput, output_model=ToolOutput,
                kind=kind, toolset=Toolset.DRAFTS, handler=_nothing, admin=admin)
    assert tool.scope == scope == scope_for(kind.value, admin=admin)
    assert scopes_needed(["schedule_thread", "list_drafts", "nope"], {"schedule_thread": tool.scope,
                                                                      "list_drafts": READ}) \
        == [s for s in SCOPES if s in {scope, READ}]


@pytest.fixture
def all_tools_server(tmp_path: Path) -> Iterator[Served]:
    yield from serve(tmp_path, SDASSIST_MCP_AUTH="oauth", SDASSIST_TOOLSETS="all")


def test_the_403_step_up_names_each_tools_own_scope(all_tools_server: Served) -> None:
    """With a `read` token, a call of every listed tool that needs more is refused with a 403 naming exactly
    the scope it needs; one that reads is let through."""
    with all_tools_server.session(all_tools_server.pat(READ)) as http:
        for n, tool in enumerate([t for t in ALL_TOOLS if not t.human_only], start=10):
            call = {"jsonrpc": "2.0", "id": n, "method": "tools/call", "params": {"name": tool.name, "arguments": {}}}
            response = http.post(all_tools_server.mcp, json=call)
            if tool.scope == READ:
                assert response.status_code == 200, (tool.name, response.text)
            else:
                assert response.status_code == 403, tool.name
                assert challenge(response)["scope"] == tool.scope, tool.name
