"""The terminal face, as a person runs it: a real `sdassist` process per command."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest


def run(data_dir: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    environment = {k: v for k, v in os.environ.items() if not k.startswith(("SDASSIST_", "SOCIALDOCK_", "SLACK_"))}
    environment.update(SDASSIST_DATA_DIR=str(data_dir), SDASSIST_TIMEZONE="America/New_York", COLUMNS="250")
    environment.update(env)
    return subprocess.run([sys.executable, "-m", "sdassist", *args], capture_output=True, text=True,
                          env=environment, timeout=60, check=False)


def test_tools_lists_every_tool_with_kind_toolset_and_one_line(tmp_path: Path) -> None:
    out = run(tmp_path, "tools", "--table")
    assert out.returncode == 0
    assert "draft_post" in out.stdout and "destructive" in out.stdout and "(people only)" in out.stdout
    assert "Draft a post" not in out.stdout and "nothing is published until a person approves" in out.stdout
    listing = json.loads(run(tmp_path, "tools").stdout)  # a pipe gets JSON
    assert {t["name"] for t in listing} >= {"list_accounts", "approve_draft", "resolve_time"}
    assert all(t["description"] and "\n" not in t["description"] for t in listing)
    assert json.loads(run(tmp_path, "tools", "--json").stdout) == listing


def test_call_runs_on_the_sandbox_and_says_so(tmp_path: Path) -> None:
    out = run(tmp_path, "call", "list_accounts", "platform=instagram")
    assert out.returncode == 0, out.stderr
    assert "built-in SocialDock sandbox" in out.stderr
    assert json.loads(out.stdout)["accounts"][0]["platform"] == "instagram"


def test_draft_survives_the_process_and_is_approved_by_the_next_one(tmp_path: Path) -> None:
    drafted = run(tmp_path, "call", "draft_post", "text=Launch day!", "targets=instagram,linkedin",
                  "when=tomorrow 9am")
    assert drafted.returncode == 0, drafted.stderr
    draft = json.loads(drafted.stdout)
    assert draft["state"] == "pending"
    assert draft["scheduled_for"]["local"].endswith("09:00 America/New_York")
    approved = run(tmp_path, "call", "approve_draft", "--json",
                   json.dumps({"draft_id": draft["draft_id"], "version": draft["version"]}))
    assert approved.returncode == 0, approved.stderr
    result = json.loads(approved.stdout)
    assert result["state"] == "scheduled" and result["post_id"].startswith("post_")
    post = run(tmp_path, "call", "get_post", f"post_id={result['post_id']}", "--table")
    assert re.search(r"status\s+scheduled", post.stdout) and "Launch day!" in post.stdout
    assert "instagram: scheduled" in post.stdout and not post.stdout.lstrip().startswith("{")


@pytest.mark.parametrize(
    ("args", "message", "status"),
    [
        (("call", "draft_post", "text=" + "x" * 3412, "targets=linkedin", "when=tomorrow 9am"),
         "linkedin: text is 3,412 characters", 1),
        (("call", "resolve_time", "phrase=03/04 9am"), 'try "3 Apr 9am" or "4 Mar 9am"', 1),
        (("call", "draft_post", "text=Hi"), "targets", 1),  # the tool's own validation: a refusal
        (("call", "nope"), "no tool named 'nope'", 2),  # the command line: a usage error
        (("call", "list_accounts", "platform"), "is not key=value", 2),
        (("call", "list_accounts", "platfrom=x"), "there is no field 'platfrom'", 2),
        (("call", "list_accounts", "--json", "[1]"), "is not key=value", 2),
    ],
)
def test_refusals_and_usage_errors_exit_non_zero_with_error_and_hint(tmp_path: Path, args: tuple[str, ...],
                                                                     message: str, status: int) -> None:
    out = run(tmp_path, *args)
    assert out.returncode == status
    assert message in out.stderr or message in out.stderr.replace("\n", " ")
    assert out.stderr.startswith("sdassist: no SOCIALDOCK_API_KEY") or "error:" in out.stderr
    assert "Traceback" not in out.stderr


def test_bad_json_is_a_usage_error(tmp_path: Path) -> None:
    out = run(tmp_path, "call", "list_accounts", "--json", "{nope")
    assert out.returncode == 2 and "not valid JSON" in out.stderr


def test_json_nested_too_deeply_is_a_usage_error_not_an_internal_one(tmp_path: Path) -> None:
    deep = "[" * 5000 + "]" * 5000
    out = run(tmp_path, "call", "draft_post", "--json", f'{{"text": "hi", "targets": {deep}}}')
    assert out.returncode == 2 and "--json" in out.stderr and "nested too deeply" in out.stderr
    assert "Recursion" not in out.stderr and "unexpectedly" not in out.stderr
    out = run(tmp_path, "call", "draft_post", "text=hi", f"targets={deep}")
    assert out.returncode == 2 and "targets: " in out.stderr and "nested too deeply" in out.stderr
    assert "Recursion" not in out.stderr and "unexpectedly" not in out.stderr


def test_an_unexpected_failure_is_one_line_and_status_3(tmp_path: Path) -> None:
    not_a_dir = tmp_path / "file"
    not_a_dir.write_text("")
    out = run(not_a_dir, "call", "list_accounts")
    assert out.returncode == 3
    assert "Traceback" not in out.stderr
    errors = [line for line in out.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and "list_accounts failed unexpectedly" in errors[0]


def test_a_time_refusal_has_the_reason_and_an_example_as_hint(tmp_path: Path) -> None:
    out = run(tmp_path, "call", "resolve_time", "phrase=next week")
    assert out.returncode == 1
    lines = out.stderr.splitlines()
    assert any(line.startswith("error: phrase: ") for line in lines)
    assert any(line.startswith('hint: try "') for line in lines)
