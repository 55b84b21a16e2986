"""What an assistant sees: every tool described and annotated, the right ones and only those."""

from __future__ import annotations

import json
import typing
from importlib.metadata import version
from typing import Any

import jsonschema
import pytest
from mcp import Client
from pydantic import BaseModel

from sdassist.mcp.adapter import LOCAL_TOOLS, hint
from sdassist.tools import ALL_TOOLS, DEFAULT_TOOLSETS, ToolKind
from tests.mcp.conftest import MODES, POST, data


async def list_tools(server: Any, mode: str = "auto") -> list[Any]:
    async with Client(server, mode=mode) as client:
        return (await client.list_tools()).tools


@pytest.mark.parametrize("mode", MODES)
async def test_every_tool_has_a_description_title_and_annotations_that_read_right(server_factory: Any,
                                                                                  mode: str) -> None:
    """Hints equal to the spec's defaults are left out, so each is read as a client must: published or default."""
    tools = await list_tools(server_factory(toolsets="all"), mode)
    by_kind = {t.name: t.kind for t in ALL_TOOLS}
    assert tools
    for tool in tools:
        ann = tool.annotations
        assert tool.description and tool.title, tool.name
        kind = by_kind[tool.name]
        assert hint(ann, "read_only_hint") is (kind == ToolKind.READ)
        assert hint(ann, "open_world_hint") is (tool.name not in LOCAL_TOOLS)
        if kind != ToolKind.READ:  # the hint that decides whether a host asks first never rests on a default
            assert ann.destructive_hint is (kind == ToolKind.DESTRUCTIVE), tool.name
            assert hint(ann, "idempotent_hint") is False


async def test_a_shared_output_schema_is_published_once_and_the_others_say_where(server_factory: Any) -> None:
    tools = {t.name: t for t in await list_tools(server_factory(toolsets="all"))}
    assert tools["get_draft"].output_schema["properties"].keys() >= {"draft_id", "state", "next_step"}
    for name in ("draft_post", "edit_draft", "update_post"):
        assert tools[name].output_schema is None and "Answers like get_draft." in tools[name].description
    assert all(t.output_schema for n, t in tools.items() if n not in ("draft_post", "edit_draft", "update_post"))
    async with Client(server_factory()) as client:  # and they still answer with structured content of that shape
        out = data(await client.call_tool("draft_post", POST))
    assert set(out) <= set(tools["get_draft"].output_schema["properties"]) and out["draft_id"].startswith("drf_")


async def test_an_input_enum_is_published_without_the_type_it_implies(server_factory: Any) -> None:
    """`enum` alone already pins the values (and so their type); outputs, reduced to types, keep theirs."""
    tools = {t.name: t for t in await list_tools(server_factory(toolsets="all"))}
    schema = tools["list_posts"].input_schema
    assert "type" not in schema["properties"]["platform"] and "youtube" in schema["properties"]["platform"]["enum"]
    checker = jsonschema.Draft202012Validator(schema)
    assert checker.is_valid({"platform": "youtube", "status": "failed"})
    assert not checker.is_valid({"platform": 3}) and not checker.is_valid({"status": "lost"})
    assert tools["get_draft"].output_schema["properties"]["state"] == {"type": "string"}


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
    assert "said yes" in props["confirmation_token"]["description"]
    assert list(props)[:3] == ["text", "targets", "when"]  # the fields people fill most come first
    edit = list(tools["edit_draft"].input_schema["properties"])
    assert edit[:5] == ["draft_id", "version", "text", "targets", "when"]


async def test_every_input_field_is_described_and_the_list_fits_the_budget(server_factory: Any) -> None:
    async with Client(server_factory(toolsets="all")) as client:
        listed = await client.list_tools()
    bare = [f"{t.name}.{name}" for t in listed.tools for name, prop in t.input_schema["properties"].items()
            if not prop.get("description")]
    assert bare == []
    async with Client(server_factory()) as client:
        default = await client.list_tools()
    size = len(json.dumps(default.model_dump(mode="json", by_alias=True, exclude_none=True),
                          separators=(",", ":"), ensure_ascii=False).encode())
    assert size <= 14_000, f"tools/list for the default toolsets is {size} bytes, the budget is 14,000"


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


@pytest.mark.parametrize("mode", MODES)
async def test_an_unknown_prompt_or_a_missing_or_unknown_argument_says_which(server_factory: Any, mode: str) -> None:
    """Invalid params naming the argument and what it takes, not "Internal server error" and a traceback."""
    from mcp.shared.exceptions import MCPError
    from mcp.types import INVALID_PARAMS

    async with Client(server_factory(), mode=mode) as client:
        for arguments, said in (({}, "plan_week: topic is required: What the week's posts are about."),
                                ({"topic": "  "}, "topic is required"),
                                ({"topic": "x", "tone": "fun"}, "tone: not an argument; plan_week takes topic, "
                                                                "platforms, start")):
            with pytest.raises(MCPError) as caught:
                await client.get_prompt("plan_week", arguments)
            assert caught.value.code == INVALID_PARAMS and said in caught.value.error.message
        with pytest.raises(MCPError) as caught:
            await client.get_prompt("plan_month", {"topic": "x"})
        assert caught.value.code == INVALID_PARAMS
        assert caught.value.error.message == "Unknown prompt: 'plan_month'; prompts: plan_week"


async def test_a_read_tool_answers_with_structured_output(server_factory: Any) -> None:
    async with Client(server_factory()) as client:
        out = data(await client.call_tool("list_accounts", {}))
    assert out["accounts"] and all(a["id"].startswith("acc_") for a in out["accounts"])


def _models_in(model: type[BaseModel], seen: set[type[BaseModel]]) -> None:
    if model in seen:
        return
    seen.add(model)
    for info in model.model_fields.values():
        for arg in (info.annotation, *typing.get_args(info.annotation)):
            for inner in (arg, *typing.get_args(arg)):
                if isinstance(inner, type) and issubclass(inner, BaseModel):
                    _models_in(inner, seen)


def test_every_nullable_output_field_may_be_left_out() -> None:
    """Results leave null fields out, so a field that can be null must also be optional, or the result
    would not validate against its own model."""
    models: set[type[BaseModel]] = set()
    for tool in ALL_TOOLS:
        _models_in(tool.output_model, models)
    must_be_null = [f"{m.__name__}.{name}" for m in models for name, info in m.model_fields.items()
                    if info.is_required() and type(None) in typing.get_args(info.annotation)]
    assert must_be_null == []


async def test_results_leave_out_null_fields_and_the_text_copy_is_compact_json(server_factory: Any) -> None:
    async with Client(server_factory()) as client:
        result = await client.call_tool("draft_post", POST)
        out = data(result)
        listed = data(await client.call_tool("list_posts", {}))
    assert "title" not in out and "post_id" not in out and None not in out.values()
    assert "next_offset" not in listed
    text = result.content[0].text
    assert json.loads(text) == out and text == json.dumps(out, ensure_ascii=False, separators=(",", ":"))


async def test_server_version_is_the_package_version_and_the_prompt_arguments_are_described(
        server_factory: Any) -> None:
    async with Client(server_factory(), mode="legacy") as client:
        assert client.server_info is not None and client.server_info.version == version("sdassist")
        prompts = (await client.list_prompts()).prompts
    args = {a.name: a for a in prompts[0].arguments}
    assert list(args) == ["topic", "platforms", "start"] and args["topic"].required
    assert all(a.description for a in args.values())
