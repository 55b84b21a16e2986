"""The tool surface as a visible diff: every registry tool's schemas, kind and toolset, snapshotted.

A change to any tool's input or output shows up here. After an intended change, rewrite the snapshot:
`SDASSIST_UPDATE_SNAPSHOTS=1 pytest tests/mcp/test_snapshots.py` and review the diff.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from mcp import Client

from sdassist.tools import ALL_TOOLS

SNAPSHOT = Path(__file__).resolve().parents[1] / "snapshots" / "tool_schemas.json"


def registry_surface() -> list[dict[str, Any]]:
    return [
        {
            "name": t.name, "kind": t.kind.value, "toolset": t.toolset.value, "human_only": t.human_only,
            "scope": t.scope,
            "input_schema": t.input_model.model_json_schema(),
            "output_schema": t.output_model.model_json_schema(),
        }
        for t in ALL_TOOLS
    ]


def test_tool_schemas_match_the_snapshot() -> None:
    current = json.dumps(registry_surface(), indent=2, sort_keys=True, ensure_ascii=False) + "\n"
    if os.environ.get("SDASSIST_UPDATE_SNAPSHOTS") == "1" or not SNAPSHOT.exists():
        SNAPSHOT.parent.mkdir(parents=True, exist_ok=True)
        SNAPSHOT.write_text(current, encoding="utf-8")
    assert SNAPSHOT.read_text(encoding="utf-8") == current, (
        "the tool surface changed; if intended, rerun with SDASSIST_UPDATE_SNAPSHOTS=1 and review the diff")


async def test_mcp_schemas_carry_every_input_field_of_the_registry(server_factory: Any) -> None:
    async with Client(server_factory(toolsets="all")) as client:
        listed = {t.name: t for t in (await client.list_tools()).tools}
    for tool in ALL_TOOLS:
        if tool.human_only:
            continue
        schema = listed[tool.name].input_schema
        assert set(schema.get("properties", {})) == set(tool.input_model.model_fields), tool.name
        required = {n for n, f in tool.input_model.model_fields.items() if f.is_required()}
        assert set(schema.get("required", [])) == required, tool.name
        published = listed[tool.name].output_schema or listed["get_draft"].output_schema  # shared: see test_surface
        assert published["properties"].keys() == tool.output_model.model_fields.keys()
