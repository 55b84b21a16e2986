"""Results as tables for people (rich), JSON for scripts.

A result is a tool's output as JSON data. Its lists of records (accounts, posts, drafts, webhooks) become
one table each, with a column per field that has a value somewhere; its other fields become one two-column
table. Nested values are summarised on one line (a time by its echo, targets as `linkedin: published`).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import IO, Any

from rich.console import Console
from rich.table import Table

__all__ = ["print_table", "summary", "tools_table"]


class _Console(Console):
    """rich's console, leaving a closed pipe to `sdassist.cli.main` (one exit code for every command)."""

    def on_broken_pipe(self) -> None:
        raise BrokenPipeError


def summary(value: Any) -> str:
    """One line for any JSON value, as a person would want to read it in a cell."""
    if value is None or value == [] or value == {}:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, dict):
        if "echo" in value:  # a resolved time: "Fri 5 Dec 2026 09:00 CET = 08:00 UTC"
            return str(value["echo"])
        if "platform" in value:  # a target: its platform and how it went
            rest = value.get("status") or value.get("handle") or value.get("account_id") or ""
            settings = value.get("settings") if isinstance(value.get("settings"), dict) else {}
            if settings:  # part of what goes out: "tiktok: acc_… (privacy: SELF_ONLY)"
                rest = f"{rest} ({', '.join(f'{k}: {v}' for k, v in settings.items())})".strip()
            return f"{value['platform']}: {rest}" if rest else str(value["platform"])
        return ", ".join(f"{k}={summary(v)}" for k, v in value.items() if summary(v))
    if isinstance(value, list):
        return ", ".join(summary(v) for v in value)
    return str(value)


def _is_records(value: Any) -> bool:
    return isinstance(value, list) and bool(value) and all(isinstance(v, dict) for v in value)


def _records_table(title: str | None, rows: Sequence[dict[str, Any]]) -> Table:
    columns: list[str] = []
    for row in rows:
        columns.extend(k for k in row if k not in columns)
    columns = [c for c in columns if any(summary(row.get(c)) for row in rows)]
    table = Table(title=title, title_justify="left", show_lines=False)
    cells = [[summary(row.get(c)) for c in columns] for row in rows]
    for i, column in enumerate(columns):
        words_only = all(" " not in r[i] for r in cells)  # ids, handles, times: never broken mid-word
        table.add_column(column, overflow="fold", no_wrap=words_only)
    for row_cells in cells:
        table.add_row(*row_cells)
    return table


def _fields_table(data: dict[str, Any]) -> Table:
    table = Table(show_header=False, box=None, pad_edge=False)
    table.add_column("field", style="bold")
    table.add_column("value", overflow="fold")
    for key, value in data.items():
        table.add_row(key, summary(value) or "-")
    return table


def print_table(data: Any, file: IO[str] | None = None) -> None:
    """Print a result for a person: one table per list of records, then its other fields."""
    console = _Console(file=file, soft_wrap=False)
    if _is_records(data):
        console.print(_records_table(None, data))
        return
    if not isinstance(data, dict):
        console.print(summary(data))
        return
    lists = {k: v for k, v in data.items() if _is_records(v) and k != "targets"}
    rest = {k: v for k, v in data.items() if k not in lists}
    for key, rows in lists.items():
        console.print(_records_table(key, rows))
    if rest:
        console.print(_fields_table(rest))


def tools_table(rows: Sequence[dict[str, Any]], file: IO[str] | None = None) -> None:
    """`sdassist tools` for a person: name, kind, toolset and one line of description."""
    table = Table(show_lines=False)
    for column in ("tool", "kind", "toolset", "what it does"):
        table.add_column(column, overflow="fold", no_wrap=column != "what it does")
    for row in rows:
        note = " (people only)" if row["human_only"] else ""
        table.add_row(row["name"], row["kind"], row["toolset"], row["description"] + note)
    _Console(file=file).print(table)
