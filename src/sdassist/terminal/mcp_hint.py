"""What `sdassist mcp` says to a person who started it in a terminal, instead of waiting in silence.

On stdio the server speaks JSON-RPC to the MCP host that started it; a person at a TTY would otherwise
see nothing at all. The hint goes to stderr (stdout is the protocol stream) and the server still runs.
"""

from __future__ import annotations

import json
import os
import shlex
import shutil
import sys
from pathlib import Path

from sdassist.config import env_files

__all__ = ["INSPECTOR", "server_command", "stdio_hint"]

INSPECTOR = "npx -y @modelcontextprotocol/inspector@0.15.0 --cli"


def server_command() -> list[str]:
    """The command a host should run: this very `sdassist`, by absolute path (hosts do not use your PATH)."""
    script = Path(sys.argv[0])
    if script.name == "sdassist" and script.exists():
        return [str(script.resolve()), "mcp"]
    found = shutil.which("sdassist")
    if found:
        return [os.path.abspath(found), "mcp"]
    return [sys.executable, "-m", "sdassist", "mcp"]


def stdio_hint(*, uses_sandbox: bool) -> str:
    command = server_command()
    entry = {"mcpServers": {"sdassist": {"command": command[0], "args": command[1:]}}}
    files = ", ".join(str(p) for p in env_files()) or "no .env file"
    where = "the built-in sandbox" if uses_sandbox else "SocialDock"
    return "\n".join([
        f"sdassist mcp: serving {where} over stdio, waiting for an MCP host to send JSON-RPC on stdin;",
        "typing here does nothing useful. Ctrl-C stops it. Next step, connect a host:",
        "",
        "  Claude Desktop / Cursor (claude_desktop_config.json, ~/.cursor/mcp.json):",
        "    " + json.dumps(entry),
        "  Claude Code:",
        "    claude mcp add sdassist -- " + shlex.join(command),
        "  Try it without a host (the MCP Inspector, Node 20+):",
        f"    {INSPECTOR} {shlex.join(command)} --method tools/list",
        "",
        f"Settings: the environment, then {files} (SDASSIST_ENV_FILE names another). Docs: docs/mcp.md",
    ])
