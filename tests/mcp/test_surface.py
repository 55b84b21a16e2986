"""What an assistant sees: every tool described and annotated, the right ones and only those."""

from __future__ import annotations

from typing import Any

import pytest
from mcp import Client

from sdassist.mcp.adapter import LOCAL_TOOLS
from sdassist.tools import ALL_TOOLS, DEFAULT_TOOLSETS, ToolKind
from tests.mcp.conftest import MODES, data


async def list_tools(server: Any, mode: str = "auto") -> list[Any]:
    async with Client(server, mode=mode) as client:
        return (await client.list_tools()).tools


@pytest.mark.parametrize("mode", MODES)
async def test_every_tool_has_a_description_title_and_all_four_annotations(server_factory: Any, mode: str) -> None:
    tools = await list_tools(server_factory(toolsets="all"), mode)
    by_kind = {t.name: t.kind for t in ALL_TOOLS}
    assert tools
    for tool in tools:
        ann = tool.annotations
        assert tool.description and tool.title, tool.name
        assert None not in (ann.read_only_hint, ann.destructive_hint, ann.idempotent_hint, ann.open_world_hint)
        kind = by_kind[tool.name]
        assert ann.read_only_hint is (kind == ToolKind.READ)
        assert ann.destructive_hint is (kind == ToolKind.DESTRUCTIVE)
        assert ann.idempotent_hint is (kind == ToolKind.READ)
        assert ann.open_world_hint is (tool.name not in LOCAL_TOOLS)
        assert tool.output_schema, tool.name


async def test_human_only_tools_never_appear(server_factory: Any) -> None:
    names = {t.name for t in await list_tools(server_factory(toolsets="all"))}
    assert names == {t.name for t in ALL_TOOLS if not t.human_only}
    assert "approve_draft" not in names and "reject_draft" not in names


async def test_read_only_registers_no_write_tool(server_factory: Any, settings_factory: Any) -> None:
    reads = {t.name for t in ALL_TOOLS if t.kind == ToolKind.READ}
    for server in (server_factory(toolsets="all", read_only=True),
                   server_factory(toolsets="all", SDASSIST_READ_ONLY="true")):
        tools = await list_tools(server)
        assert {t.name for t in tools} <= reads
        assert all(t.annotations.read_only_hint for t in tools)
        async with Client(server) as client:
            assert "read-only" in client.instructions


async def test_toolsets_select_and_default_is_sensible(server_factory: Any) -> None:
    names = {t.name for t in await list_tools(server_factory(toolsets="posts,analytics"))}
    assert names == {t.name for t in ALL_TOOLS if t.toolset.value in ("posts", "analytics") and not t.human_only}
    default = {t.name for t in await list_tools(server_factory())}
    assert default == {t.name for t in ALL_TOOLS if t.toolset in DEFAULT_TOOLSETS and not t.human_only}
    env = {t.name for t in await list_tools(server_factory(SDASSIST_TOOLSETS="accounts"))}
    assert env == {"list_accounts", "connect_account", "disconnect_account"}


async def test_input_schema_is_flat_and_described(server_factory: Any) -> None:
    tools = {t.name: t for t in await list_tools(server_factory())}
    schema = tools["draft_post"].input_schema
    props = schema["properties"]
    assert set(schema["required"]) == {"text", "targets"}
    assert {"text", "targets", "when", "zone", "confirmation_token"} <= set(props)
    assert "question" not in props and "answer" not in props and "ctx" not in props
    assert "$ref" not in str(props["text"]) and props["text"]["description"]
    assert props["targets"]["minItems"] == 1
    assert "confirmation_token" in tools["draft_post"].description


async def test_every_input_field_is_described_and_the_list_fits_the_budget(server_factory: Any) -> None:
    import json

    async with Client(server_factory(toolsets="all")) as client:
        listed = await client.list_tools()
    bare = [f"{t.name}.{name}" for t in listed.tools for name, prop in t.input_schema["properties"].items()
            if not prop.get("description")]
    assert bare == []
    async with Client(server_factory()) as client:
        default = await client.list_tools()
    size = len(json.dumps(default.model_dump(mode="json", by_alias=True, exclude_none=True),
                          separators=(",", ":"), ensure_ascii=False).encode())
    assert size <= 16_384, f"tools/list for the default toolsets is {size} bytes"


async def test_instructions_name_the_sandbox_the_zone_and_the_approval_route(server_factory: Any) -> None:
    async with Client(server_factory()) as client:
        text = client.instructions
    assert "SANDBOX" in text and "list_accounts first" in text and "Europe/Berlin" in text
    assert "confirmation_token" in text
    async with Client(server_factory(SDASSIST_APPROVAL="slack", SOCIALDOCK_API_KEY="sd_live_x")) as client:
        text = client.instructions
    assert "SANDBOX" not in text and "Slack" in text


async def test_platform_rules_resource_and_planning_prompt(server_factory: Any) -> None:
    async with Client(server_factory()) as client:
        resources = (await client.list_resources()).resources
        assert [str(r.uri) for r in resources] == ["sdassist://platform-rules"]
        rules = await client.read_resource("sdassist://platform-rules")
        assert "| Platform |" in rules.contents[0].text
        prompt = await client.get_prompt("plan_week", {"topic": "our launch"})
        assert "check_post" in prompt.messages[0].content.text


async def test_a_read_tool_answers_with_structured_output(server_factory: Any) -> None:
    async with Client(server_factory()) as client:
        out = data(await client.call_tool("list_accounts", {}))
    assert out["accounts"] and all(a["id"].startswith("acc_") for a in out["accounts"])
