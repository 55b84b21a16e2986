"""The terminal face: run any tool, list them, and start the servers.

Exit codes (the same for every command): 0 done; 1 refused (the tool said no: bad input, a platform rule,
policy, SocialDock refused; or an approval whose publishing failed); 2 usage (the command line or a setting is
wrong); 3 not a refusal (SocialDock unreachable or failing, an outcome not known yet, or an unexpected failure:
a bug, the database gone); 130 interrupted (Ctrl-C); 141 stdout closed early (`| head`), quietly, as other Unix
tools do.
"""

from __future__ import annotations

import argparse
import asyncio
import getpass
import json
import os
import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel

from sdassist import jsonbody, package_version
from sdassist.config import Settings, SettingsError
from sdassist.netsafety import InsecureTransport

if TYPE_CHECKING:
    from sdassist.tools import Tool

# The tool registry is imported where a command needs it, not here: `sdassist mcp` is timed by every MCP host
# at start-up and loads only what it needs (see sdassist.mcp.server).

EXIT_OK = 0
EXIT_REFUSED = 1
EXIT_USAGE = 2
EXIT_INTERNAL = 3
EXIT_INTERRUPTED = 130
EXIT_PIPE = 141


def wants_table(args: argparse.Namespace) -> bool:
    """Tables for a person (stdout is a terminal, or --table), JSON for scripts (a pipe, or --json)."""
    if getattr(args, "table", False):
        return True
    if getattr(args, "json", None) is not None:
        return False
    return sys.stdout.isatty()


def _one_line(exc: BaseException) -> str:
    from sdassist.tools.errors import redact

    text = " ".join(str(exc).split()) or "no details"
    return redact(f"{type(exc).__name__}: {text}")[:300]


def machine_zone() -> str:
    """This machine's own zone (TZ, /etc/localtime), as every other terminal tool reads times; UTC if unknown."""
    from sdassist.publishing.when import TimeError, parse_zone

    try:
        import tzlocal

        name = tzlocal.get_localzone_name() or "UTC"
        parse_zone(name)
    except (TimeError, Exception):  # an unreadable or exotic local zone: say UTC rather than guess
        return "UTC"
    return name


def terminal_zone(settings: Settings, given: str | None) -> tuple[str, str]:
    """The zone times are read in and why: --zone, then SDASSIST_TIMEZONE, then the machine's zone."""
    if given:
        return given, "--zone"
    if "timezone" in settings.model_fields_set:
        return settings.timezone, "SDASSIST_TIMEZONE"
    return machine_zone(), "this machine's zone"


def cmd_tools(args: argparse.Namespace) -> int:
    from sdassist.terminal.toolhelp import one_line
    from sdassist.tools import ALL_TOOLS

    rows = [{"name": t.name, "title": t.title, "description": one_line(t), "kind": t.kind.value,
             "toolset": t.toolset.value, "human_only": t.human_only} for t in ALL_TOOLS]
    if wants_table(args):
        from sdassist.terminal.render import tools_table

        tools_table(rows)
    else:
        print(json.dumps(rows, indent=2, ensure_ascii=False))
    return EXIT_OK


async def _run_tool(tool: Tool, arguments: dict[str, Any], settings: Settings, zone: str,
                    source: str = "--zone") -> BaseModel:
    from sdassist.publishing.drafts import Principal
    from sdassist.runtime import open_runtime
    from sdassist.terminal.progress import waiting

    user = getpass.getuser()
    principal = Principal(id=f"cli:{user}", kind="operator", face="cli", name=user)
    async with waiting(f"waiting for {tool.name}") as progress, open_runtime(settings) as runtime:
        # local_files: the terminal runs on the operator's machine, so upload_media path=… reads their file.
        return await tool.run(runtime.context(principal, zone=zone, zone_source=source, progress=progress.report,
                                              local_files=True), arguments)


def _call_arguments(args: argparse.Namespace, tool: Tool) -> dict[str, Any]:
    """--json '{…}' and key=value words into one arguments object (a bare --json only asks for JSON out)."""
    from sdassist.tools import ToolError
    from sdassist.tools.arguments import AssignmentError, parse_assignments

    words = list(args.assignments)
    arguments: dict[str, Any] = {}
    if isinstance(args.json, str):
        if args.json.lstrip().startswith("{"):
            try:
                arguments = json.loads(args.json)  # not JSON: its own message and position (a usage error)
            except RecursionError:
                raise jsonbody.too_deep() from None
            if jsonbody.depth_over(arguments):
                raise jsonbody.too_deep()
        else:  # `--json key=value`: the word was an assignment, --json a flag
            words.insert(0, args.json)
    if not isinstance(arguments, dict):
        raise ToolError("--json must be a JSON object", hint='For example: --json \'{"platform": "instagram"}\'')
    try:
        arguments.update(parse_assignments(tool.input_model, words))
    except AssignmentError as exc:
        raise ToolError(f"{tool.name}: {exc}", hint=f"See: sdassist call {tool.name} --help") from None
    return arguments


def _check_zone_option(zone: str) -> None:
    """--zone is part of the command line: one that is not a zone is a usage error for every tool, as the same
    value in SDASSIST_TIMEZONE is a settings error, never ignored by a tool that reads no time."""
    from sdassist.publishing.when import TimeError, parse_zone
    from sdassist.tools.errors import time_refusal

    try:
        parse_zone(zone)
    except TimeError as exc:
        raise time_refusal(exc, "--zone") from None


def cmd_call(args: argparse.Namespace) -> int:
    from sdassist.tools import ToolError, get_tool

    if args.help or not args.tool:
        return _call_help(args)
    try:  # the command line itself: no such tool, bad --json, a word that is not key=value or names no field,
        tool = get_tool(args.tool)  # a --zone that is not one (whether or not this tool reads times)
        arguments = _call_arguments(args, tool)
        if args.zone is not None:
            _check_zone_option(args.zone)
    except json.JSONDecodeError as exc:
        print(f"error: --json is not valid JSON: {exc.msg} at position {exc.pos}", file=sys.stderr)
        return EXIT_USAGE
    except jsonbody.JSONBodyError as exc:
        print(f"error: --json: {str(exc).removeprefix('body ')}", file=sys.stderr)
        return EXIT_USAGE
    except ToolError as exc:
        _say(exc)
        return EXIT_USAGE
    try:
        settings = Settings()
        zone, source = terminal_zone(settings, args.zone)
        if source == "this machine's zone" and ({"when", "phrase"} & arguments.keys()):
            print(f"sdassist: times are read in {zone}, {source} (SDASSIST_TIMEZONE or --zone to change)",
                  file=sys.stderr)
        result = asyncio.run(_run_tool(tool, arguments, settings, zone, source))
    except InsecureTransport as exc:  # configuration, not the tool: said as such
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except SettingsError:
        raise  # main() says it, one line, exit 2
    except ToolError as exc:
        _say(exc)
        return EXIT_INTERNAL if exc.unavailable else EXIT_REFUSED  # SocialDock down is not a refusal of the input
    except Exception as exc:  # a bug or an environment problem: one line, never a traceback
        print(f"error: {args.tool} failed unexpectedly: {_one_line(exc)}", file=sys.stderr)
        print("hint: this is not a refusal of your input; before retrying a write, check list_drafts and list_posts",
              file=sys.stderr)
        return EXIT_INTERNAL
    data = result.model_dump(mode="json", exclude_none=True)
    if args.field:
        return _print_field(data, args.field) or _not_out(tool, data)
    if wants_table(args):
        from sdassist.terminal.render import print_table

        print_table(data)
    else:
        print(json.dumps(data, indent=2, ensure_ascii=False))
    return _not_out(tool, data)


def _not_out(tool: Any, data: dict[str, Any]) -> int:
    """A write whose answer is a draft that did not go out (publishing failed, or its outcome is unknown): the
    result is printed as always, and stderr and the exit code say so, so that `approve_draft … && …` does not
    go on as if it had been published. Failed is SocialDock's refusal (1); unknown, not a refusal (3)."""
    state = data.get("state")
    if tool.kind == "read" or state not in ("failed", "unknown"):
        return EXIT_OK
    what = "publishing failed" if state == "failed" else "the outcome is not known yet"
    print(f"error: {data.get('draft_id')}: {what}: {data.get('error') or 'no reason given'}", file=sys.stderr)
    if data.get("next_step"):
        print(f"hint: {data['next_step']}", file=sys.stderr)
    return EXIT_REFUSED if state == "failed" else EXIT_INTERNAL


def _say(exc: Any) -> None:
    """A ToolError as the terminal shows it: `error:` and, when there is one, `hint:`, on stderr."""
    print(f"error: {exc.message}", file=sys.stderr)
    if exc.hint:
        print(f"hint: {exc.hint}", file=sys.stderr)


def _call_help(args: argparse.Namespace) -> int:
    from sdassist.tools import ToolError, get_tool

    if not args.tool:
        args.call_parser.print_help()
        return EXIT_OK if args.help else EXIT_USAGE
    try:
        tool = get_tool(args.tool)
    except ToolError as exc:
        _say(exc)
        return EXIT_USAGE
    from sdassist.terminal.toolhelp import tool_help

    print(tool_help(tool))
    return EXIT_OK


def _print_field(data: Any, path: str) -> int:
    """`--field draft_id` prints one value as plain text, so a shell can keep it: `d=$(sdassist call … --field …)`."""
    value = data
    for part in path.split("."):
        if isinstance(value, dict) and part in value:
            value = value[part]
        elif isinstance(value, list) and part.isascii() and part.isdigit() and int(part) < len(value):
            value = value[int(part)]
        else:
            print(f"error: the result has no field {path!r}", file=sys.stderr)
            if isinstance(data, dict):
                print(f"hint: its fields are {', '.join(data)}", file=sys.stderr)
            return EXIT_USAGE
    print(value if isinstance(value, str) else json.dumps(value, ensure_ascii=False))
    return EXIT_OK


def cmd_sandbox(args: argparse.Namespace) -> int:
    from sdassist.listen import listen_problem
    from sdassist.sandbox import SandboxConfig, serve

    if problem := listen_problem(args.host, args.port):  # before the banner, as `sdassist slack` does
        print(f"sdassist sandbox: {problem}", file=sys.stderr)
        return EXIT_USAGE
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


def _port(text: str) -> int:
    """A TCP port (0: any free one), as a usage error otherwise, never a bind() traceback."""
    try:
        port = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a port number (0 to 65535)") from None
    if not 0 <= port <= 65535:
        raise argparse.ArgumentTypeError(f"{port} is not a port number (0 to 65535)")
    return port


def _positive_seconds(text: str) -> float:
    try:
        seconds = float(text)
    except ValueError:
        seconds = float("nan")
    if not seconds > 0 or seconds == float("inf"):
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of seconds above 0")
    return seconds


def _listen_arguments(parser: argparse.ArgumentParser, host: str, port: int) -> None:
    """--host and --port of a server command, with their defaults said and the port checked."""
    parser.add_argument("--host", default=host, help=f"address to listen on (default {host})")
    parser.add_argument("--port", type=_port, default=port, help=f"port to listen on (default {port})")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="sdassist", description="Conversational publishing on SocialDock: an MCP server, a Slack app and "
        "this terminal, on one set of tools.",
        epilog="Output: tables when stdout is a terminal, JSON when it is not; --table and --json choose. "
        "Exit codes: 0 done, 1 refused, 2 usage or settings, 3 SocialDock unavailable or internal, "
        "130 interrupted. Docs: docs/terminal.md")
    parser.add_argument("--version", action="version", version=f"sdassist {package_version()}")
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("tools", help="list every tool with its kind, toolset and what it does")
    out = p.add_mutually_exclusive_group()
    out.add_argument("--json", action="store_const", const=True,
                     help="JSON (the default when stdout is not a terminal)")
    out.add_argument("--table", action="store_true", help="a table (the default on a terminal)")
    p.set_defaults(func=cmd_tools)

    p = sub.add_parser("call", help="run one tool: sdassist call TOOL key=value … (TOOL --help: its fields)",
                       add_help=False)
    p.add_argument("tool", nargs="?", help="the tool to run (sdassist tools lists them)")
    p.add_argument("assignments", nargs="*", metavar="key=value", help="the tool's fields")
    p.add_argument("-h", "--help", action="store_true", help="this help, or with TOOL the tool's fields")
    out = p.add_mutually_exclusive_group()
    out.add_argument("--json", nargs="?", const=True, metavar="'{…}'",
                     help="JSON output (the default when stdout is not a terminal); with an object, also the "
                     "arguments as JSON")
    out.add_argument("--table", "--pretty", dest="table", action="store_true",
                     help="a table (the default on a terminal)")
    p.add_argument("--field", metavar="NAME", help="print only this field of the result as text (a.b.0 for nested)")
    p.add_argument("--zone", help="read times in this zone (default SDASSIST_TIMEZONE, else this machine's zone)")
    p.set_defaults(func=cmd_call, call_parser=p)

    p = sub.add_parser("sandbox", help="serve the local SocialDock sandbox")
    _listen_arguments(p, "127.0.0.1", 8787)
    p.add_argument("--window", type=_positive_seconds, default=60.0, help="rate-limit window in seconds")
    p.add_argument("--state-file", default=None, help="keep state in this JSON file across restarts")
    p.add_argument("--no-demo", action="store_true", help="start with no connected accounts")
    p.set_defaults(func=cmd_sandbox)

    p = sub.add_parser("mcp", help="serve the MCP server (stdio, or --http)")
    p.add_argument("--http", action="store_true", help="serve streamable HTTP at /mcp instead of stdio")
    _listen_arguments(p, "127.0.0.1", 8000)
    p.add_argument("--read-only", action="store_true", default=None, help="register no write tools")
    p.add_argument("--toolsets", default=None, help="comma-separated toolsets, or 'all'")
    p.set_defaults(func=cmd_mcp)

    p = sub.add_parser("slack", help="run the Slack app")
    _listen_arguments(p, "0.0.0.0", 3000)
    p.set_defaults(func=cmd_slack)

    from sdassist.tokens_cli import add_tokens_parser

    add_tokens_parser(sub)
    from sdassist.grants_cli import add_grants_parser

    add_grants_parser(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> None:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        code = args.func(args)
        sys.stdout.flush()
    except SettingsError as exc:  # one line naming the setting and what it takes, never pydantic's text
        print(f"sdassist {args.command}: {exc}", file=sys.stderr)
        code = EXIT_USAGE
    except KeyboardInterrupt:
        code = EXIT_INTERRUPTED
    except BrokenPipeError:  # `sdassist … | head`: the reader has what it wanted
        _quiet_stdout()
        code = EXIT_PIPE
    except Exception as exc:  # one line, never a traceback
        print(f"error: sdassist {args.command} failed: {_one_line(exc)}", file=sys.stderr)
        code = EXIT_INTERNAL
    sys.exit(code)


def _quiet_stdout() -> None:
    """Point stdout at /dev/null so the interpreter's own flush at exit does not complain again."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except OSError:
        pass
