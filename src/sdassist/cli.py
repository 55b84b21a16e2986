"""The terminal face: run any tool, list them, and start the servers."""

from __future__ import annotations

import argparse
import asyncio
import getpass
import json
import sys
from collections.abc import Sequence
from typing import Any

from pydantic import BaseModel

from sdassist.netsafety import InsecureTransport
from sdassist.tools import ALL_TOOLS, Tool, ToolError, get_tool
from sdassist.tools.arguments import AssignmentError, parse_assignments
from sdassist.tools.errors import redact

EXIT_REFUSED = 1
EXIT_USAGE = 2


def _pretty(data: Any, indent: int = 0) -> str:
    pad = "  " * indent
    if isinstance(data, dict):
        lines = []
        for key, value in data.items():
            if isinstance(value, (dict, list)) and value:
                lines.append(f"{pad}{key}:")
                lines.append(_pretty(value, indent + 1))
            else:
                lines.append(f"{pad}{key}: {value if value not in (None, [], {}) else '-'}")
        return "\n".join(lines)
    if isinstance(data, list):
        return "\n".join(_pretty_item(item, pad, indent) for item in data)
    return f"{pad}{data}"


def _pretty_item(item: Any, pad: str, indent: int) -> str:
    """`- first: value` then the rest of a mapping aligned under it, like YAML."""
    if not isinstance(item, (dict, list)) or not item:
        return f"{pad}- {item}"
    body = _pretty(item, indent + 1)
    return f"{pad}- {body.lstrip()}"


def _one_line(exc: BaseException) -> str:
    text = " ".join(str(exc).split()) or "no details"
    return redact(f"{type(exc).__name__}: {text}")[:300]


def cmd_tools(args: argparse.Namespace) -> int:
    if args.json:
        print(json.dumps([{"name": t.name, "title": t.title, "kind": t.kind.value, "toolset": t.toolset.value,
                           "human_only": t.human_only} for t in ALL_TOOLS], indent=2))
        return 0
    width = max(len(t.name) for t in ALL_TOOLS)
    for tool in ALL_TOOLS:
        flag = "  (people only)" if tool.human_only else ""
        print(f"{tool.name:<{width}}  {tool.kind.value:<11} {tool.toolset.value:<10} {tool.title}{flag}")
    return 0


async def _run_tool(tool: Tool, arguments: dict[str, Any], zone: str | None) -> BaseModel:
    from sdassist.publishing.drafts import Principal
    from sdassist.runtime import open_runtime

    user = getpass.getuser()
    principal = Principal(id=f"cli:{user}", kind="operator", face="cli", name=user)
    async with open_runtime() as runtime:
        return await tool.run(runtime.context(principal, zone=zone), arguments)


def cmd_call(args: argparse.Namespace) -> int:
    try:
        tool = get_tool(args.tool)
        arguments = json.loads(args.json) if args.json else {}
        if not isinstance(arguments, dict):
            raise ToolError("--json must be a JSON object", hint='For example: --json \'{"platform": "instagram"}\'')
        try:
            arguments.update(parse_assignments(tool.input_model, args.assignments))
        except AssignmentError as exc:
            raise ToolError(f"{tool.name}: {exc}", hint=f"For example: sdassist call {tool.name} key=value") from None
        result = asyncio.run(_run_tool(tool, arguments, args.zone))
    except json.JSONDecodeError as exc:
        print(f"error: --json is not valid JSON: {exc.msg} at position {exc.pos}", file=sys.stderr)
        return EXIT_USAGE
    except InsecureTransport as exc:  # configuration, not the tool: said as such
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except ToolError as exc:
        print(f"error: {exc.message}", file=sys.stderr)
        if exc.hint:
            print(f"hint: {exc.hint}", file=sys.stderr)
        return EXIT_REFUSED
    except Exception as exc:  # a bug or an environment problem: one line, never a traceback
        print(f"error: {args.tool} failed unexpectedly: {_one_line(exc)}", file=sys.stderr)
        print("hint: this is not a refusal of your input; before retrying a write, check list_drafts and list_posts",
              file=sys.stderr)
        return EXIT_REFUSED
    data = result.model_dump(mode="json", exclude_none=True)
    if args.field:
        return _print_field(data, args.field)
    print(_pretty(data) if args.pretty else json.dumps(data, indent=2, ensure_ascii=False))
    return 0


def _print_field(data: Any, path: str) -> int:
    """`--field draft_id` prints one value as plain text, so a shell can keep it: `d=$(sdassist call … --field …)`."""
    value = data
    for part in path.split("."):
        if isinstance(value, dict) and part in value:
            value = value[part]
        elif isinstance(value, list) and part.isdigit() and int(part) < len(value):
            value = value[int(part)]
        else:
            print(f"error: the result has no field {path!r}", file=sys.stderr)
            if isinstance(data, dict):
                print(f"hint: its fields are {', '.join(data)}", file=sys.stderr)
            return EXIT_USAGE
    print(value if isinstance(value, str) else json.dumps(value, ensure_ascii=False))
    return 0


def cmd_sandbox(args: argparse.Namespace) -> int:
    from sdassist.sandbox import SandboxConfig, serve

    config = SandboxConfig(window_seconds=args.window, state_file=args.state_file,
                           demo_accounts=not args.no_demo)
    serve(host=args.host, port=args.port, config=config)
    return 0


def cmd_mcp(args: argparse.Namespace) -> int:
    from sdassist.mcp_server import run

    return run(args)


def cmd_slack(args: argparse.Namespace) -> int:
    from sdassist.slack_app import run

    return run(args)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="sdassist", description="Conversational publishing on SocialDock.")
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("tools", help="list every tool with its kind and toolset")
    p.add_argument("--json", action="store_true", help="as JSON")
    p.set_defaults(func=cmd_tools)

    p = sub.add_parser("call", help="run one tool: sdassist call TOOL key=value …")
    p.add_argument("tool")
    p.add_argument("assignments", nargs="*", metavar="key=value")
    p.add_argument("--json", help="arguments as a JSON object")
    p.add_argument("--pretty", action="store_true", help="a readable listing instead of JSON")
    p.add_argument("--field", metavar="NAME", help="print only this field of the result (a.b.0 for nested ones)")
    p.add_argument("--zone", help="read times in this IANA zone (default SDASSIST_TIMEZONE)")
    p.set_defaults(func=cmd_call)

    p = sub.add_parser("sandbox", help="serve the local SocialDock sandbox")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=8787)
    p.add_argument("--window", type=float, default=60.0, help="rate-limit window in seconds")
    p.add_argument("--state-file", default=None, help="keep state in this JSON file across restarts")
    p.add_argument("--no-demo", action="store_true", help="start with no connected accounts")
    p.set_defaults(func=cmd_sandbox)

    p = sub.add_parser("mcp", help="serve the MCP server (stdio, or --http)")
    p.add_argument("--http", action="store_true", help="serve streamable HTTP at /mcp instead of stdio")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=8000)
    p.add_argument("--read-only", action="store_true", default=None, help="register no write tools")
    p.add_argument("--toolsets", default=None, help="comma-separated toolsets, or 'all'")
    p.set_defaults(func=cmd_mcp)

    p = sub.add_parser("slack", help="run the Slack app")
    p.add_argument("--host", default="0.0.0.0")
    p.add_argument("--port", type=int, default=3000)
    p.set_defaults(func=cmd_slack)

    from sdassist.tokens_cli import add_tokens_parser

    add_tokens_parser(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> None:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        code = args.func(args)
    except KeyboardInterrupt:
        code = 130
    except Exception as exc:  # the README promises one line and status 1, never a traceback
        print(f"error: sdassist {args.command} failed: {_one_line(exc)}", file=sys.stderr)
        code = EXIT_REFUSED
    sys.exit(code)
