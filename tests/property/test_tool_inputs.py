"""Every tool's input, at random: a result or a ToolError, never another exception.

Parsing is checked for every tool with many examples; a handful per tool also run against the embedded
sandbox (create_webhook only parses: a random https URL must not become a real delivery target).
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sdassist.config import Settings
from sdassist.publishing.drafts import Principal
from sdassist.runtime import Runtime, open_runtime
from sdassist.tools.errors import ToolError
from sdassist.tools.registry import ALL_TOOLS, get_tool

OPERATOR = Principal(id="cli:prop", kind="operator", face="cli", name="prop")
ASSISTANT = Principal(id="mcp-prop", kind="assistant", face="mcp", name="an assistant")
NAMES = [t.name for t in ALL_TOOLS]
OFFLINE_ONLY = {"create_webhook"}
PYDANTIC_WORDS = ("Input should", "pydantic", "[type=", "input_value", "For further information", "validation error")

PLAUSIBLE = ["linkedin", "facebook", "instagram", "youtube", "tiktok", "reddit", "telegram", "x", "tomorrow 9am",
             "in 2 hours", "Europe/Berlin", "scheduled", "published", "pending", "https://example.com/a.jpg",
             "drf_00000000000000000000000000", "post_123", "acc_linkedin", "7d", "30d", "public", "", " "]

scalars = st.one_of(st.none(), st.booleans(), st.integers(min_value=-(2**70), max_value=2**70),
                    st.floats(allow_nan=True, allow_infinity=True), st.text(max_size=40), st.sampled_from(PLAUSIBLE))
junk = st.recursive(scalars, lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner,
                                                                                         max_size=3), max_leaves=8)


def _field_values(schema: dict[str, Any]) -> st.SearchStrategy[Any]:
    kinds = {schema.get("type")} | {s.get("type") for s in schema.get("anyOf", [])}
    options: list[st.SearchStrategy[Any]] = [junk]
    if "string" in kinds:
        options += [st.text(max_size=80), st.sampled_from(PLAUSIBLE)]
    if "integer" in kinds:
        options.append(st.integers(min_value=-5, max_value=10_000))
    if "boolean" in kinds:
        options.append(st.booleans())
    if "array" in kinds:
        options += [st.lists(st.sampled_from(PLAUSIBLE), max_size=4), st.lists(st.text(max_size=12), max_size=3)]
    enum = schema.get("enum") or [e for s in schema.get("anyOf", []) for e in s.get("enum", [])]
    if enum:
        options.append(st.sampled_from(enum))
    return st.one_of(options)


def arguments_for(name: str) -> st.SearchStrategy[Any]:
    schema = get_tool(name).input_model.model_json_schema()
    props: dict[str, Any] = schema.get("properties", {})
    known = st.fixed_dictionaries({}, optional={k: _field_values(v) for k, v in props.items()})
    extra = st.dictionaries(st.text(max_size=10), junk, max_size=2)
    return st.one_of(known, st.builds(lambda a, b: {**b, **a}, known, extra), junk)


@pytest.mark.parametrize("name", NAMES)
def test_input_is_parsed_or_refused(name: str) -> None:
    tool = get_tool(name)

    @settings(max_examples=60)
    @given(args=arguments_for(name))
    def check(args: Any) -> None:
        try:
            tool.parse_input(args)
        except ToolError as exc:
            assert exc.message.strip() and exc.hint
            assert not any(w in str(exc) for w in PYDANTIC_WORDS), str(exc)  # our words, never pydantic's

    check()


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[asyncio.AbstractEventLoop, Runtime]]:
    tmp: Path = tmp_path_factory.mktemp("prop-runtime")
    loop = asyncio.new_event_loop()
    manager = open_runtime(Settings(_env_file=None, SDASSIST_DATA_DIR=str(tmp), SDASSIST_TIMEZONE="Europe/Berlin"),
                           announce=False)
    runtime = loop.run_until_complete(manager.__aenter__())
    try:
        yield loop, runtime
    finally:
        loop.run_until_complete(manager.__aexit__(None, None, None))
        loop.close()


@pytest.mark.parametrize("name", [n for n in NAMES if n not in OFFLINE_ONLY])
def test_running_random_input_gives_a_result_or_a_tool_error(
    name: str, live: tuple[asyncio.AbstractEventLoop, Runtime]
) -> None:
    loop, runtime = live
    tool = get_tool(name)

    @settings(max_examples=12)
    @given(args=arguments_for(name), who=st.sampled_from([OPERATOR, ASSISTANT]))
    def check(args: Any, who: Principal) -> None:
        try:
            out = loop.run_until_complete(tool.run(runtime.context(who), args))
        except ToolError as exc:
            assert exc.message.strip()
            return
        assert isinstance(out, tool.output_model)

    check()
