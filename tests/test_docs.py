"""The docs cannot drift from the code: every ```sh block of README.md and docs/*.md runs, offline.

Each block runs as one bash script (`set -eo pipefail`, so shell variables carry from one command to the
next, as a reader would type them) in an empty directory, with a fresh `SDASSIST_DATA_DIR` and no
SocialDock or Slack settings: everything runs on the built-in sandbox. A block preceded by the line
`<!-- docs-test: skip -->` is not run; commands of the kinds in `EXCLUDED` are left out of a block, each
for the reason given there.
"""

from __future__ import annotations

import itertools
import os
import re
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SKIP_MARKER = "<!-- docs-test: skip -->"

#: Command kinds the test does not run, matched at the start of each `&&`/`||`/`;`/`|` segment of a line.
EXCLUDED: dict[str, str] = {
    r"sdassist\s+(mcp|slack|sandbox)\b(?!.*--help)": "starts a server that runs until it is stopped",
    r"(npx|npm)\b": "fetches a Node package from a registry (the Inspector check runs in .ci/run instead)",
    r"claude\b": "registers the server with Claude Code, which is not installed here",
    r"(uvx|pipx|uv)\b": "installs from a package index (tests/test_wheel.py starts the server from the wheel)",
    r"(python3?\s+-m\s+)?pip\s+install\b": "installs packages into the environment this test runs in",
    r"python3?\s+-m\s+venv\b": "creates a virtual environment (the test already runs in one)",
    r"(\.|source)\s+\S*activate\b": "activates a virtual environment (the test already runs in one)",
    r"pytest\b": "runs the test suite, which includes this test",
    r"(bash\s+)?scripts/with_postgres\.sh\b": "needs PostgreSQL and runs the suite (.ci/run does)",
    r"(bash\s+)?\.ci/run\b": "is CI itself, which includes this test",
    r"python3?\s+bench/": "a benchmark: runs for minutes and measures speed, run on its own",
    r"git\s+clone\b": "needs the network",
}
_EXCLUDED = [(re.compile(pattern), reason) for pattern, reason in EXCLUDED.items()]
_SEGMENTS = re.compile(r"&&|\|\||;|\|")


@dataclass
class Block:
    path: Path
    line: int
    skipped: bool
    commands: list[str] = field(default_factory=list)

    @property
    def name(self) -> str:
        return f"{self.path.relative_to(ROOT)}:{self.line}"


def excluded_because(command: str) -> str | None:
    """Why this command is not run, or None when it is."""
    for segment in _SEGMENTS.split(command):
        words = segment.strip()
        while (assignment := re.match(r"^[A-Za-z_][A-Za-z0-9_]*=\S*\s+", words)) is not None:
            words = words[assignment.end():]
        words = re.sub(r"^(export|exec|time)\s+", "", words)
        for pattern, reason in _EXCLUDED:
            if pattern.match(words):
                return reason
    return None


def doc_files() -> list[Path]:
    return [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]


def parse_blocks(path: Path) -> list[Block]:
    """Every ```sh block of one Markdown file, its commands with continuation lines joined."""
    blocks: list[Block] = []
    lines = path.read_text(encoding="utf-8").splitlines()
    previous = ""
    i = 0
    while i < len(lines):
        stripped = lines[i].strip()
        if stripped in ("```sh", "```bash", "```shell"):
            block = Block(path, i + 1, skipped=previous == SKIP_MARKER)
            i += 1
            pending = ""
            while i < len(lines) and lines[i].strip() != "```":
                text = lines[i]
                if text.rstrip().endswith("\\"):
                    pending += text.rstrip()[:-1] + " "
                else:
                    command = (pending + text).strip()
                    pending = ""
                    if command and not command.startswith("#"):
                        block.commands.append(command)
                i += 1
            blocks.append(block)
        elif stripped.startswith("```"):  # another language: skip to its end
            i += 1
            while i < len(lines) and not lines[i].strip().startswith("```"):
                i += 1
        if stripped:
            previous = stripped
        i += 1
    return blocks


ALL_BLOCKS = [block for path in doc_files() for block in parse_blocks(path)]


def offline_environment(data_dir: Path) -> dict[str, str]:
    environment = {k: v for k, v in os.environ.items() if not k.startswith(("SDASSIST_", "SOCIALDOCK_", "SLACK_"))}
    bin_dir = str(Path(sys.executable).parent)
    environment.update(SDASSIST_DATA_DIR=str(data_dir), PATH=f"{bin_dir}{os.pathsep}{environment.get('PATH', '')}",
                       SDASSIST_TIMEZONE="UTC")
    return environment


@pytest.mark.parametrize("block", ALL_BLOCKS, ids=[b.name for b in ALL_BLOCKS])
def test_every_shell_block_runs_offline(block: Block, tmp_path: Path) -> None:
    if block.skipped:
        pytest.skip(f"{block.name} is marked {SKIP_MARKER}")
    runnable = [c for c in block.commands if excluded_because(c) is None]
    if not runnable:
        reasons = {excluded_because(c) for c in block.commands}
        pytest.skip(f"{block.name}: nothing to run offline ({'; '.join(sorted(r for r in reasons if r))})")
    workdir = tmp_path / "cwd"
    workdir.mkdir()
    script = "set -eo pipefail\n" + "\n".join(runnable) + "\n"
    out = subprocess.run(["bash", "-c", script], cwd=workdir, env=offline_environment(tmp_path / "data"),
                         capture_output=True, text=True, timeout=300, check=False)
    assert out.returncode == 0, f"{block.name} failed ({out.returncode}):\n{script}\n{out.stdout}\n{out.stderr}"
    assert "Traceback" not in out.stderr, out.stderr


def test_the_readme_demo_runs_and_shows_the_published_post(tmp_path: Path) -> None:
    demo = next(b for b in parse_blocks(ROOT / "README.md") if any("approve_draft" in c for c in b.commands))
    assert not demo.skipped and all(excluded_because(c) is None for c in demo.commands)
    script = "set -eo pipefail\n" + "\n".join(demo.commands) + "\n"
    out = subprocess.run(["bash", "-c", script], cwd=tmp_path, env=offline_environment(tmp_path / "data"),
                         capture_output=True, text=True, timeout=300, check=False)
    assert out.returncode == 0, out.stderr
    assert '"status": "published"' in out.stdout and "Hello from sdassist" in out.stdout


def test_the_readme_starts_with_the_two_commands_a_newcomer_runs() -> None:
    blocks = parse_blocks(ROOT / "README.md")
    first, second = blocks[0].commands, blocks[1].commands
    assert first[0].endswith("sdassist mcp") and "pip install" in first[0]
    assert second[0].endswith("pytest") and "'.[test]'" in second[0]
    ci = (ROOT / ".ci" / "run").read_text()
    assert re.search(r"^pytest$", ci, re.MULTILINE), ".ci/run must run the README's test command, `pytest`"
    assert (ROOT / "README.md").stat().st_size <= 12 * 1024


@pytest.mark.parametrize(
    ("command", "runs"),
    [
        ("sdassist call list_accounts", True),
        ("sdassist mcp --help", True),
        ("sdassist mcp", False),
        ("sdassist slack --host 0.0.0.0 --port 3000", False),
        ("SDASSIST_APPROVAL=none sdassist mcp --http", False),
        ("python3 -m venv .venv && . .venv/bin/activate && pip install -e . && sdassist mcp", False),
        ('export SDASSIST_MCP_TOKEN="$(python -c \'import secrets; print(secrets.token_urlsafe(32))\')"', True),
        ("npx -y @modelcontextprotocol/inspector --cli sdassist mcp --method tools/list", False),
        ("python bench/faults.py", False),
    ],
)
def test_the_exclusions_are_the_ones_meant(command: str, runs: bool) -> None:
    assert (excluded_because(command) is None) is runs


def test_configuration_md_has_one_row_for_every_setting() -> None:
    from sdassist.config import ENV_FILE_VARIABLE, Settings

    table = (ROOT / "docs" / "configuration.md").read_text(encoding="utf-8")
    rows = re.findall(r"^\| `([A-Z][A-Z0-9_]+)`", table, re.MULTILINE)
    settings = {field.validation_alias for field in Settings.model_fields.values()}
    environment_only = {ENV_FILE_VARIABLE, "SDASSIST_LOG"}  # read before Settings, or per call (client/logs.py)
    assert len(rows) == len(set(rows)), "a setting has two rows"
    assert settings - set(rows) == set(), "settings without a row in docs/configuration.md"
    assert set(rows) - settings - environment_only == set(), "rows for settings sdassist does not read"


def test_every_relative_link_in_the_docs_points_at_a_file() -> None:
    for path in doc_files():
        for target in re.findall(r"\]\(([^)#\s]+)(?:#[^)]*)?\)", path.read_text(encoding="utf-8")):
            if "://" in target or target.startswith("mailto:"):
                continue
            assert (path.parent / target).exists(), f"{path.relative_to(ROOT)} links to {target}, which is missing"


def _readme_headings() -> set[str]:
    text = re.sub(r"```.*?```", "", (ROOT / "README.md").read_text(encoding="utf-8"), flags=re.DOTALL)
    return {h.strip() for h in re.findall(r"^#+\s+(.+)$", text, re.MULTILINE)}


def test_every_pointer_to_the_docs_from_the_code_and_the_manifests_exists() -> None:
    """What people read outside the docs (a refusal on stderr, the comment atop a manifest they paste into
    Slack, server.json) sends them to a docs file or a README section: that place must exist."""
    sources = [*sorted((ROOT / "src").rglob("*.py")), *sorted(ROOT.glob("manifest*.yml")), ROOT / "server.json"]
    headings = _readme_headings()
    for path in sources:
        text = path.read_text(encoding="utf-8")
        where = path.relative_to(ROOT)
        for doc in re.findall(r"\bdocs/([a-z_]+\.md)\b", text):
            assert (ROOT / "docs" / doc).exists(), f"{where} points at docs/{doc}, which is missing"
        for section in re.findall(r"README(?:,? section)?\s*[(\"“]([^)\"”]+)[)\"”]", text):
            assert section in headings, f"{where} points at the README section {section!r}, which does not exist"


def test_no_section_of_the_docs_is_empty() -> None:
    """A heading followed at once by one of the same or a higher level promises text that is not there."""
    for path in doc_files():
        text = re.sub(r"```.*?```", "```", path.read_text(encoding="utf-8"), flags=re.DOTALL)
        lines = text.splitlines()
        heads = [(i, len(m.group(1)), line) for i, line in enumerate(lines)
                 if (m := re.match(r"^(#+)\s", line))]
        for (i, level, line), (j, next_level, _) in itertools.pairwise(heads):
            if next_level <= level:
                assert any(x.strip() for x in lines[i + 1:j]), f"{path.relative_to(ROOT)}: '{line}' is empty"
