"""The terminal explains itself: version, generated help, settings errors, zones, .env files, exit codes,
the MCP server's word to a person at a TTY, and progress while SocialDock is slow."""

from __future__ import annotations

import json
import os
import pty
import re
import select
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest

from sdassist.config import Settings, SettingsError
from sdassist.sandbox.server import free_loopback_port
from sdassist.terminal.toolhelp import field_rows, tool_help
from sdassist.tools import ALL_TOOLS
from sdassist.tools.arguments import parse_assignments


def environment(data_dir: Path, **env: str) -> dict[str, str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("SDASSIST_", "SOCIALDOCK_", "SLACK_", "TZ"))}
    clean.update(SDASSIST_DATA_DIR=str(data_dir), COLUMNS="250", **env)
    return clean


def run(data_dir: Path, *args: str, cwd: Path | None = None, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "sdassist", *args], capture_output=True, text=True,
                          env=environment(data_dir, **env), cwd=cwd or data_dir, timeout=60, check=False)


def test_version_is_the_package_version(tmp_path: Path) -> None:
    from importlib.metadata import version

    out = run(tmp_path, "--version")
    assert out.returncode == 0 and out.stdout.strip() == f"sdassist {version('sdassist')}"


@pytest.mark.parametrize("tool", ALL_TOOLS, ids=[t.name for t in ALL_TOOLS])
def test_call_help_names_every_field_and_its_example_parses(tool) -> None:  # type: ignore[no-untyped-def]
    text = tool_help(tool)
    schema = tool.input_model.model_json_schema()
    for name, prop in schema.get("properties", {}).items():
        assert f"  {name} " in text
        if prop.get("description"):
            assert " ".join(prop["description"].split())[:40] in " ".join(text.split())
    for row in field_rows(tool):
        if row["required"]:
            assert f"{row['name']}" in text.split("example:")[1]
    example = text.split("example:\n  ")[1].splitlines()[0]
    import shlex

    words = shlex.split(example)
    assert words[:3] == ["sdassist", "call", tool.name]
    parse_assignments(tool.input_model, words[3:])  # every word is a field the tool takes


def test_call_help_from_the_command_line(tmp_path: Path) -> None:
    out = run(tmp_path, "call", "draft_post", "--help")
    assert out.returncode == 0, out.stderr
    assert re.search(r"^  text +text; required$", out.stdout, re.MULTILINE)
    assert re.search(r"^  publish_now +true/false; default false$", out.stdout, re.MULTILINE)
    assert 'sdassist call draft_post text="Launch day!" targets=instagram,linkedin when="tomorrow 9am"' in out.stdout
    unknown = run(tmp_path, "call", "nope", "--help")
    assert unknown.returncode == 2 and "no tool named 'nope'" in unknown.stderr


@pytest.mark.parametrize(
    ("args", "env", "message"),
    [
        (("call", "list_accounts"), {"SDASSIST_APPROVAL": "bogus"},
         "sdassist call: SDASSIST_APPROVAL is 'bogus': allowed values are slack, confirm, none"),
        (("mcp",), {"SDASSIST_APPROVAL": "bogus"},
         "sdassist mcp: SDASSIST_APPROVAL is 'bogus': allowed values are slack, confirm, none"),
        (("slack",), {"SDASSIST_TIMEZONE": "Mars/Base"},
         "sdassist slack: SDASSIST_TIMEZONE is 'Mars/Base': not a time zone; allowed values are IANA names"),
        (("call", "resolve_time", "phrase=tomorrow 9am"), {"SDASSIST_READ_ONLY": "maybe"},
         "sdassist call: SDASSIST_READ_ONLY is 'maybe': allowed values are true, false"),
        (("mcp", "--http"), {"SDASSIST_RATE_SHARE": "2"},
         "sdassist mcp: SDASSIST_RATE_SHARE is '2': it must be less than"),
    ],
)
def test_a_bad_setting_is_one_line_naming_it_and_exit_2(tmp_path: Path, args: tuple[str, ...], env: dict[str, str],
                                                         message: str) -> None:
    out = run(tmp_path, *args, **env)
    assert out.returncode == 2
    lines = out.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(message), out.stderr
    assert "pydantic" not in out.stderr and "validation error" not in out.stderr


def test_a_bad_secret_setting_never_shows_its_value() -> None:
    with pytest.raises(SettingsError) as caught:
        Settings(_env_file=None, SDASSIST_APPROVAL="nope", SDASSIST_WEBHOOK_SECRET=["not", "text"])
    assert "SDASSIST_WEBHOOK_SECRET:" in str(caught.value) and "not" not in str(caught.value).split("SECRET:")[1][:12]


def test_terminal_reads_times_in_the_machine_zone_unless_told(tmp_path: Path) -> None:
    local = run(tmp_path, "call", "resolve_time", "phrase=tomorrow 9am", TZ="Asia/Tokyo")
    assert local.returncode == 0, local.stderr
    assert json.loads(local.stdout)["local"].endswith("09:00 Asia/Tokyo")
    assert "times are read in Asia/Tokyo, this machine's zone" in local.stderr
    told = run(tmp_path, "call", "resolve_time", "phrase=tomorrow 9am", TZ="Asia/Tokyo",
               SDASSIST_TIMEZONE="Europe/Berlin")
    assert json.loads(told.stdout)["local"].endswith("09:00 Europe/Berlin") and "machine's zone" not in told.stderr
    flag = run(tmp_path, "call", "resolve_time", "phrase=tomorrow 9am", "--zone", "America/New_York",
               SDASSIST_TIMEZONE="Europe/Berlin")
    assert json.loads(flag.stdout)["local"].endswith("09:00 America/New_York")


def test_env_file_found_in_the_data_dir_the_cwd_or_where_SDASSIST_ENV_FILE_points(tmp_path: Path) -> None:
    data, cwd, elsewhere = tmp_path / "data", tmp_path / "cwd", tmp_path / "elsewhere.env"
    data.mkdir(), cwd.mkdir()
    (data / ".env").write_text("SDASSIST_TIMEZONE=Asia/Tokyo\n")
    phrase = ("call", "resolve_time", "phrase=tomorrow 9am")
    assert json.loads(run(data, *phrase, cwd=cwd).stdout)["local"].endswith("Asia/Tokyo")
    (cwd / ".env").write_text("SDASSIST_TIMEZONE=Europe/Berlin\n")  # the current directory's wins
    assert json.loads(run(data, *phrase, cwd=cwd).stdout)["local"].endswith("Europe/Berlin")
    elsewhere.write_text("SDASSIST_TIMEZONE=America/Chicago\n")
    chosen = run(data, *phrase, cwd=cwd, SDASSIST_ENV_FILE=str(elsewhere))
    assert json.loads(chosen.stdout)["local"].endswith("America/Chicago")
    missing = run(data, *phrase, cwd=cwd, SDASSIST_ENV_FILE=str(tmp_path / "nope.env"))
    assert missing.returncode == 2 and "SDASSIST_ENV_FILE is" in missing.stderr and "not a file" in missing.stderr
    assert json.loads(run(data, *phrase, cwd=cwd, SDASSIST_TIMEZONE="UTC").stdout)["local"].endswith("UTC")


@pytest.mark.parametrize("args", [("tools",), ("tools", "--table"), ("call", "list_accounts", "--table")])
def test_a_closed_pipe_is_quiet(tmp_path: Path, args: tuple[str, ...]) -> None:
    """`| true` closes the pipe before sdassist writes: no traceback, no message, the status of other tools."""
    command = " ".join([f'"{sys.executable}"', "-m", "sdassist", *args])
    out = subprocess.run(["bash", "-c", f'{command} 2>err | true; echo "${{PIPESTATUS[0]}}"; cat err'],
                         capture_output=True, text=True, cwd=tmp_path, env=environment(tmp_path), timeout=60,
                         check=False)
    status, *said = out.stdout.splitlines()
    assert status in ("0", "141")  # 0 only if everything fitted in the pipe before it closed
    assert [line for line in said if not line.startswith("sdassist: no SOCIALDOCK_API_KEY")] == []


def test_json_flag_and_json_arguments(tmp_path: Path) -> None:
    as_flag = run(tmp_path, "call", "list_accounts", "--json", "platform=linkedin")
    assert json.loads(as_flag.stdout)["accounts"][0]["platform"] == "linkedin"
    as_object = run(tmp_path, "call", "list_accounts", "--json", '{"platform": "threads"}')
    assert json.loads(as_object.stdout)["accounts"][0]["platform"] == "threads"
    table = run(tmp_path, "call", "list_accounts", "platform=threads", "--table")
    assert "@demo_threads" in table.stdout and not table.stdout.lstrip().startswith("{")


def test_field_prints_one_value_for_the_shell(tmp_path: Path) -> None:
    out = run(tmp_path, "call", "resolve_time", "phrase=tomorrow 9am", "--zone", "UTC", "--field", "utc")
    assert out.returncode == 0 and out.stdout.strip().endswith("T09:00:00Z")
    missing = run(tmp_path, "call", "list_accounts", "--field", "nope")
    assert missing.returncode == 2 and "no field 'nope'" in missing.stderr


def test_mcp_started_at_a_terminal_says_what_it_waits_for(tmp_path: Path) -> None:
    controller, terminal = pty.openpty()
    proc = subprocess.Popen([sys.executable, "-m", "sdassist", "mcp"], stdin=terminal, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, env=environment(tmp_path))
    os.close(terminal)
    try:
        said = b""
        deadline = time.monotonic() + 30
        while b"--method tools/list" not in said and time.monotonic() < deadline:
            ready, _, _ = select.select([proc.stderr], [], [], 1)
            if ready:
                chunk = os.read(proc.stderr.fileno(), 4096)  # type: ignore[union-attr]
                if not chunk:
                    break
                said += chunk
        text = said.decode()
        assert "waiting for an MCP host" in text and '"mcpServers"' in text and '"args": ["mcp"]' in text
        assert "claude mcp add sdassist -- " in text and "@modelcontextprotocol/inspector" in text
        assert proc.poll() is None  # it still serves
    finally:
        proc.kill()
        proc.wait(timeout=10)
        os.close(controller)


def test_mcp_started_by_a_host_prints_no_hint(tmp_path: Path) -> None:
    proc = subprocess.run([sys.executable, "-m", "sdassist", "mcp"], input="", capture_output=True, text=True,
                          env=environment(tmp_path), timeout=60, check=False)
    assert "waiting for an MCP host" not in proc.stderr


@contextmanager
def served_sandbox(tmp_path: Path) -> Iterator[str]:
    """`sdassist sandbox` on a free loopback port, as a user starts it; yields its base URL."""
    port = free_loopback_port()
    sandbox = subprocess.Popen([sys.executable, "-m", "sdassist", "sandbox", "--port", str(port)],
                               stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, env=environment(tmp_path))
    try:
        assert sandbox.stdout is not None and "SocialDock sandbox on" in sandbox.stdout.readline().decode()
        yield f"http://127.0.0.1:{port}"
    finally:
        sandbox.kill()
        sandbox.wait(timeout=10)


def test_a_slow_socialdock_shows_progress_on_stderr(tmp_path: Path) -> None:
    with served_sandbox(tmp_path) as base:
        httpx.post(f"{base}/_sandbox/faults", json={"seed": 1, "rules": [
            {"path": "/api/v1/accounts*", "latency_rate": 1.0, "latency_ms": 2500}]}).raise_for_status()
        out = run(tmp_path, "call", "list_accounts", SOCIALDOCK_BASE_URL=base)
        assert out.returncode == 0, out.stderr
        assert "sdassist: still waiting for list_accounts" in out.stderr
        assert json.loads(out.stdout)["accounts"]  # stdout carries only the result
        quick = run(tmp_path, "call", "resolve_time", "phrase=tomorrow 9am", SOCIALDOCK_BASE_URL=base)
        assert "still waiting" not in quick.stderr


def test_a_zone_option_that_is_not_a_zone_is_a_usage_error_for_every_tool(tmp_path: Path) -> None:
    """--zone is part of the command line, like SDASSIST_TIMEZONE is a setting: a wrong one stops every call
    with exit 2 naming it, also for a tool that reads no time (it was silently ignored there)."""
    for args in (("call", "list_accounts"), ("call", "resolve_time", "phrase=tomorrow 9am")):
        for zone, why in (("Mars/Base", "unknown time zone 'Mars/Base'"), ("IST", "IST is ambiguous")):
            out = run(tmp_path, *args, "--zone", zone)
            assert out.returncode == 2, (args, zone, out.stderr)
            assert f"error: --zone: {why}" in out.stderr and out.stdout == ""
            assert "hint: try" in out.stderr and "Traceback" not in out.stderr
    assert run(tmp_path, "call", "list_accounts", "--zone", "Europe/Berlin").returncode == 0


def test_exit_codes_tell_a_refusal_from_socialdock_down_and_a_draft_that_did_not_go_out(tmp_path: Path) -> None:
    """docs/terminal.md's table, for scripts: SocialDock unreachable or failing is 3 (not a refusal of the input);
    an approval whose publishing failed is 1 and one whose outcome is unknown 3, the draft printed as always and
    the reason on stderr (it was 0, as if published); reading that draft is still 0."""
    down = run(tmp_path, "call", "list_accounts", SOCIALDOCK_BASE_URL=f"http://127.0.0.1:{free_loopback_port()}")
    assert down.returncode == 3 and "error: SocialDock could not be reached" in down.stderr
    assert "hint: Nothing was sent" in down.stderr and "Traceback" not in down.stderr
    with served_sandbox(tmp_path) as base:

        def approve(text: str) -> subprocess.CompletedProcess[str]:
            made = run(tmp_path, "call", "draft_post", f"text={text}", "targets=linkedin", "publish_now=true",
                       "--field", "draft_id", SOCIALDOCK_BASE_URL=base)
            assert made.returncode == 0, made.stderr
            return run(tmp_path, "call", "approve_draft", f"draft_id={made.stdout.strip()}", "version=1",
                       SOCIALDOCK_BASE_URL=base)

        httpx.post(f"{base}/_sandbox/failures", json={"platform": "linkedin", "reason": "token revoked"})
        failed = approve("one")
        assert failed.returncode == 1, failed.stderr
        assert json.loads(failed.stdout)["state"] == "failed"
        assert "publishing failed: linkedin failed: token revoked" in failed.stderr and "hint: " in failed.stderr
        draft_id = json.loads(failed.stdout)["draft_id"]
        assert run(tmp_path, "call", "get_draft", f"draft_id={draft_id}", SOCIALDOCK_BASE_URL=base).returncode == 0
        httpx.post(f"{base}/_sandbox/faults", json={"rules": [
            {"path": "/api/v1/posts", "method": "POST", "error_rate": 1.0, "status": 500}]}).raise_for_status()
        unknown = approve("two")
        assert unknown.returncode == 3, unknown.stderr
        assert json.loads(unknown.stdout)["state"] == "unknown" and "the outcome is not known yet" in unknown.stderr
        httpx.delete(f"{base}/_sandbox/faults").raise_for_status()
        assert approve("three").returncode == 0


@pytest.mark.parametrize(("args", "said"), [
    (("mcp", "--http", "--port", "99999"), "argument --port: 99999 is not a port number (0 to 65535)"),
    (("sandbox", "--port", "-1"), "argument --port: -1 is not a port number"),
    (("slack", "--port", "http"), "argument --port: 'http' is not a port number"),
    (("sandbox", "--window", "0"), "argument --window: '0' is not a number of seconds above 0"),
])
def test_a_server_option_out_of_range_is_a_usage_error_not_a_traceback(tmp_path: Path, args: tuple[str, ...],
                                                                         said: str) -> None:
    """`--port 99999` reached bind(): uvicorn's traceback and exit 3 (mcp, sandbox)."""
    out = subprocess.run([sys.executable, "-m", "sdassist", *args], capture_output=True, text=True, input="",
                         env=environment(tmp_path), timeout=60, check=False)
    assert out.returncode == 2 and said in out.stderr and "Traceback" not in out.stderr


def test_server_help_says_the_defaults(tmp_path: Path) -> None:
    for command, host, port in (("mcp", "127.0.0.1", 8000), ("slack", "0.0.0.0", 3000), ("sandbox", "127.0.0.1", 8787)):
        text = " ".join(run(tmp_path, command, "--help").stdout.split())
        assert f"(default {host})" in text and f"(default {port})" in text


def test_a_port_in_use_is_one_line_before_any_banner_for_every_server(tmp_path: Path) -> None:
    """As `sdassist slack` already did: one line, exit 2; not 'serving at …' and then uvicorn's error, exit 3."""
    import socket

    with socket.socket() as taken:
        taken.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = str(taken.getsockname()[1])
        for args in (("mcp", "--http", "--port", port), ("sandbox", "--port", port)):
            out = subprocess.run([sys.executable, "-m", "sdassist", *args], capture_output=True, text=True,
                                 input="", env=environment(tmp_path), timeout=60, check=False)
            assert out.returncode == 2, (args, out.stderr)
            assert f"cannot listen on 127.0.0.1:{port}: Address already in use" in out.stderr
            assert "serving" not in out.stderr and "sandbox on" not in out.stdout and "ERROR" not in out.stderr


def test_tokens_create_refuses_what_would_make_a_useless_or_broken_token(tmp_path: Path) -> None:
    """--expires-days -1 issued a token already expired (exit 0); 100000000 issued and printed one, then failed
    writing its date (exit 3); an empty --user made a token for nobody. All are usage errors now, issuing nothing."""
    for args, said in ((("--expires-days", "-1"), "argument --expires-days: '-1' is not a number of days"),
                       (("--expires-days", "100000000"), "from 0 (never expires) to 3,650"),
                       (("--user", " "), "argument --user: give the person's id")):
        out = run(tmp_path, "tokens", "create", "--user", "U0ALICE", "--name", "Alice", *args)
        assert out.returncode == 2 and said in out.stderr and "sda_pat_" not in out.stdout + out.stderr
    assert "no personal access tokens" in run(tmp_path, "tokens", "list").stdout
    made = run(tmp_path, "tokens", "create", "--user", "U0ALICE", "--name", "Alice", "--expires-days", "0")
    assert made.returncode == 0 and made.stdout.startswith("sda_pat_") and "expires never" in made.stderr


def test_the_terminal_reads_a_local_file_for_upload_media(tmp_path: Path) -> None:
    """The terminal runs on the operator's machine: `upload_media path=…` reads the file there (it was refused
    with "path works only when sdassist runs on your machine")."""
    out = run(tmp_path, "call", "upload_media", f"path={tmp_path / 'missing.jpg'}",
              SDASSIST_PUBLIC_URL="http://127.0.0.1:9")
    assert out.returncode == 1 and f"error: path: no file at {tmp_path / 'missing.jpg'}" in out.stderr
    assert "works only" not in out.stderr
