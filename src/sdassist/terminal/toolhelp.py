"""`sdassist call TOOL --help`, generated from the tool's input schema, so it can never disagree with it."""

from __future__ import annotations

import re
import textwrap
from typing import Any

from sdassist.tools import Tool

__all__ = ["example_call", "field_rows", "one_line", "tool_help"]

# Values a person would type for fields of these names; other fields get one from their type.
_EXAMPLES: dict[str, str] = {
    "text": "Launch day!", "targets": "instagram,linkedin", "when": "tomorrow 9am", "phrase": "friday 5pm",
    "zone": "Europe/Berlin", "draft_id": "drf_…", "post_id": "post_…", "account_id": "acc_…",
    "webhook_id": "wh_…", "version": "1", "url": "https://example.com/cat.png", "platform": "instagram",
    "reason": "wrong date", "title": "Launch day", "subreddit": "r/example", "privacy": "public",
}
_TOOL_EXAMPLES: dict[tuple[str, str], str] = {
    ("create_webhook", "url"): "https://example.com/socialdock/webhook",
}


def one_line(tool: Tool) -> str:
    """The first sentence of a tool's description: what `sdassist tools` shows."""
    text = " ".join(tool.description.split())
    match = re.match(r"(.+?[.!?])(\s|$)", text)
    return match.group(1) if match else text


def _resolve(schema: dict[str, Any], root: dict[str, Any]) -> dict[str, Any]:
    ref = schema.get("$ref")
    if isinstance(ref, str) and ref.startswith("#/$defs/"):
        return _resolve(root.get("$defs", {}).get(ref.split("/")[-1], {}), root)
    return schema


def _type_of(schema: dict[str, Any], root: dict[str, Any]) -> str:
    schema = _resolve(schema, root)
    options = schema.get("anyOf") or schema.get("oneOf")
    if options:
        kinds = [_type_of(o, root) for o in options if _resolve(o, root).get("type") != "null"]
        return " or ".join(dict.fromkeys(kinds)) or "null"
    if "enum" in schema:
        return "one of " + ", ".join(str(v) for v in schema["enum"])
    if "const" in schema:
        return repr(schema["const"])
    kind = schema.get("type")
    if kind == "array":
        return f"list of {_type_of(schema.get('items', {}), root)} (a,b or JSON)"
    if kind == "object":
        return "object (JSON)"
    return {"string": "text", "integer": "integer", "number": "number", "boolean": "true/false"}.get(
        str(kind), str(kind or "any"))


def field_rows(tool: Tool) -> list[dict[str, Any]]:
    """Every input field: name, type, required, default, description; required ones first."""
    schema = tool.input_model.model_json_schema()
    required = set(schema.get("required", []))
    rows = []
    for name, prop in schema.get("properties", {}).items():
        rows.append({
            "name": name,
            "type": _type_of(prop, schema),
            "required": name in required,
            "default": prop.get("default"),
            "description": " ".join(str(prop.get("description", "")).split()),
        })
    return sorted(rows, key=lambda r: not r["required"])


def _example_value(tool: Tool, row: dict[str, Any]) -> str:
    if (tool.name, row["name"]) in _TOOL_EXAMPLES:
        return _TOOL_EXAMPLES[tool.name, row["name"]]
    if row["name"] in _EXAMPLES:
        return _EXAMPLES[row["name"]]
    kind = row["type"]
    if kind.startswith("one of "):
        return kind.removeprefix("one of ").split(", ")[0]
    return {"integer": "1", "number": "1", "true/false": "true"}.get(kind, "…")


def example_call(tool: Tool) -> str:
    """One command that fills every required field, plus `when` beside a required text, or the text an
    edit changes."""
    rows = field_rows(tool)
    required = {r["name"] for r in rows if r["required"]}
    extra = {"when"} if "text" in required else {"text"}
    chosen = [r for r in rows if r["required"] or r["name"] in extra]
    words = [f"{r['name']}={_quoted(_example_value(tool, r))}" for r in chosen]
    return " ".join(["sdassist call", tool.name, *words])


def _quoted(value: str) -> str:
    """As a person types it: bare when the shell leaves it alone, else in double quotes."""
    return value if re.fullmatch(r"[\w@%+=:,./…-]+", value) else '"' + value.replace('"', '\\"') + '"'


def _default(row: dict[str, Any]) -> str:
    if row["required"]:
        return "required"
    value = row["default"]
    if value is None:
        return "optional"
    if isinstance(value, bool):
        return f"default {'true' if value else 'false'}"
    if value in ([], ""):
        return "optional"
    return f"default {value}"


def tool_help(tool: Tool, width: int = 100) -> str:
    """The whole help text of one tool, as `sdassist call TOOL --help` prints it."""
    wrap = lambda text, indent: textwrap.fill(text, width, initial_indent=indent, subsequent_indent=indent)  # noqa: E731
    lines = [
        f"usage: sdassist call {tool.name} [key=value …] [--json ['{{…}}']] [--table] [--field NAME] [--zone ZONE]",
        "",
        f"{tool.title} ({tool.kind.value}, toolset {tool.toolset.value}"
        + (", people only: never offered to assistants)" if tool.human_only else ")"),
        wrap(" ".join(tool.description.split()), "  "),
        "",
        "fields:",
    ]
    rows = field_rows(tool)
    if not rows:
        lines.append("  (none)")
    pad = max((len(r["name"]) for r in rows), default=0)
    for row in rows:
        lines.append(f"  {row['name']:<{pad}}  {row['type']}; {_default(row)}")
        if row["description"]:
            lines.append(wrap(row["description"], "      "))
    lines += [
        "",
        "example:",
        f"  {example_call(tool)}",
        "",
        "Lists take a,b or JSON; numbers and true/false are read as JSON; --json '{…}' passes every field at once.",
    ]
    return "\n".join(lines)
