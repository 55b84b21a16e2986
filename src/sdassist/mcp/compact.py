"""Smaller published schemas: an assistant's context is precious.

pydantic's JSON schemas carry noise a model does not need: a generated `title` on every property, a
`{"type": "null"}` branch for every optional field, `"type": "string"` beside an input's enum of strings
(the enum already says it), `additionalProperties` and defaults on outputs. This
rewrites the *published* schemas only; validation still uses the full pydantic models on both sides.
"""

from __future__ import annotations

from typing import Any

_SIMPLE = frozenset({"string", "integer", "number", "boolean", "array", "object"})


def _nullable(branches: list[Any]) -> dict[str, Any] | None:
    """`anyOf: [{type: T, ...}, {type: null}]` → `{type: [T, null], ...}` when T is one plain type."""
    if len(branches) != 2 or {"type": "null"} not in branches:
        return None
    other = next(b for b in branches if b != {"type": "null"})
    if not isinstance(other, dict) or other.get("type") not in _SIMPLE:
        return None
    return {**other, "type": [other["type"], "null"]}


def compact_schema(schema: Any, *, output: bool, optional_null: bool = True, _props: bool = False) -> Any:
    """A smaller schema that accepts and describes the same values (inputs drop the null of optionals)."""
    if isinstance(schema, list):
        return [compact_schema(s, output=output) for s in schema]
    if not isinstance(schema, dict):
        return schema
    if _props:  # a `properties` mapping: keys are field names, not keywords
        return {name: compact_schema(sub, output=output) for name, sub in schema.items()}
    out: dict[str, Any] = {}
    for key, value in schema.items():
        if key == "title" and isinstance(value, str):
            continue
        if output and key in ("additionalProperties", "default"):
            continue
        if key == "default" and value in (None, False, []):
            continue  # an optional input's empty default is what leaving it out means anyway
        if key in ("properties", "$defs"):
            out[key] = compact_schema(value, output=output, _props=True)
        else:
            out[key] = compact_schema(value, output=output)
    branches = out.get("anyOf")
    if isinstance(branches, list):
        if not output and {"type": "null"} in branches and len(branches) == 2:
            # An optional input: omitting it is how a caller says "none"; the model need not see null.
            other = next(b for b in branches if b != {"type": "null"})
            out.pop("anyOf")
            out = {**other, **out}
        else:
            merged = _nullable(branches)
            if merged is not None:
                out.pop("anyOf")
                out = {**merged, **out}
    if not output and out.get("type") == "string" and out.get("enum") and all(isinstance(v, str) for v in out["enum"]):
        del out["type"]
    return out


def inline_defs(schema: dict[str, Any]) -> dict[str, Any]:
    """`$ref`s into `$defs` replaced by what they point at (input models are not recursive): an enum used
    once is shorter written where it is used, and some clients resolve no `$ref` at all."""
    defs = schema.get("$defs")
    if not defs:
        return schema

    def resolve(node: Any, depth: int = 0) -> Any:
        if isinstance(node, list):
            return [resolve(n, depth) for n in node]
        if not isinstance(node, dict):
            return node
        ref = node.get("$ref")
        if isinstance(ref, str) and ref.startswith("#/$defs/") and depth < 8:
            target = defs.get(ref.removeprefix("#/$defs/"), {})
            return resolve({**target, **{k: v for k, v in node.items() if k != "$ref"}}, depth + 1)
        return {k: resolve(v, depth) for k, v in node.items()}

    return {k: resolve(v) for k, v in schema.items() if k != "$defs"}


def _shallow(prop: Any, defs: dict[str, Any]) -> Any:
    """One output property reduced to its JSON type: the values themselves show the rest, and every byte of a
    tools/list answer is read by the model on every turn."""
    if not isinstance(prop, dict):
        return prop
    ref = prop.get("$ref")
    if isinstance(ref, str):
        target = defs.get(ref.rsplit("/", 1)[-1], {})
        return _shallow({k: v for k, v in prop.items() if k != "$ref"} | target, defs)
    if "anyOf" in prop:
        kinds = [_shallow(b, defs) for b in prop["anyOf"]]
        types = [k.get("type") for k in kinds if isinstance(k, dict)]
        if all(isinstance(t, str) for t in types):
            out = {k: v for k, v in prop.items() if k != "anyOf"}
            return out | {"type": list(dict.fromkeys(types))}
        return prop
    return {key: prop[key] for key in ("type", "format") if key in prop}


def _never_null(prop: Any) -> Any:
    """Results leave null fields out (`as_result`), so a published type never needs `null`."""
    kinds = prop.get("type") if isinstance(prop, dict) else None
    if not isinstance(kinds, list) or "null" not in kinds:
        return prop
    rest = [k for k in kinds if k != "null"]
    return {**prop, "type": rest[0] if len(rest) == 1 else rest}


def shallow_output(schema: dict[str, Any] | None) -> dict[str, Any] | None:
    """An output schema one level deep: every property with its type, nested objects as plain `object`.

    Still true of every result (no `additionalProperties: false`), and a third of the size: the nested
    shapes are plain to see in the results themselves.
    """
    if schema is None:
        return None
    defs = schema.get("$defs", {})
    props = {name: _never_null(_shallow(p, defs)) for name, p in schema.get("properties", {}).items()}
    return {"type": "object", "properties": props}
