"""`key=value` words into tool arguments, typed by the tool's input model: one reading for every face
that takes words (the terminal, Slack's generated subcommands)."""

from __future__ import annotations

import typing
from collections.abc import Callable, Iterable
from typing import Any

from pydantic import BaseModel

from sdassist import jsonbody


class AssignmentError(ValueError):
    """A word that is not `key=value`, or a key the tool does not take."""


def _annotations(model: type[BaseModel], name: str) -> tuple[Any, ...]:
    annotation = model.model_fields[name].annotation
    return (annotation, *typing.get_args(annotation))


def takes_list(model: type[BaseModel], name: str) -> bool:
    return any(typing.get_origin(a) is list or a is list for a in _annotations(model, name))


def takes_scalar(model: type[BaseModel], name: str) -> bool:
    """Numbers and booleans: the only fields where `2` or `true` is not text."""
    return any(a in (int, float, bool) for a in _annotations(model, name))


def _json(key: str, raw: str) -> Any:
    """`raw` as JSON, or `_NOT_JSON`; nested too deeply is refused naming the field (never a RecursionError)."""
    try:
        return jsonbody.loads(raw)
    except jsonbody.JSONBodyError as exc:
        if raw.lstrip()[:1] in "[{" and "nested too deeply" in str(exc):
            raise AssignmentError(f"{key}: the value is {str(exc).removeprefix('body is ')}") from None
        return _NOT_JSON


_NOT_JSON = object()


def _value(model: type[BaseModel], key: str, raw: str, clean: Callable[[str], str]) -> Any:
    if takes_list(model, key):
        if raw.lstrip().startswith("[") and (value := _json(key, raw)) is not _NOT_JSON:
            return value
        return [clean(v.strip()) for v in raw.split(",") if v.strip()]
    if takes_scalar(model, key):
        value = _json(key, raw)
        return raw if value is _NOT_JSON else value
    return clean(raw)


def parse_assignments(
    model: type[BaseModel],
    words: Iterable[str],
    *,
    hidden: Iterable[str] = (),
    clean: Callable[[str], str] = lambda s: s,
) -> dict[str, Any]:
    """`text=Hello targets=a,b version=2` → {"text": "Hello", "targets": ["a", "b"], "version": 2}.

    Lists take `a,b` (or JSON), numbers and booleans are read as JSON, everything else stays text, so
    `text=2024` is the text "2024". `clean` tidies each text value (Slack wraps URLs in `<…>`)."""
    hidden = frozenset(hidden)
    fields = [name for name in model.model_fields if name not in hidden]
    arguments: dict[str, Any] = {}
    for word in words:
        key, sep, raw = word.partition("=")
        key = key.strip().replace("-", "_")
        if not sep or not key:
            raise AssignmentError(f"'{word}' is not key=value")
        if key not in fields:
            raise AssignmentError(f"there is no field '{key}'; fields: {', '.join(fields)}")
        arguments[key] = _value(model, key, raw, clean)
    return arguments
