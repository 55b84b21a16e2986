"""The package as users get it: a wheel, installed into a fresh environment, starts the MCP server.

The wheel is built with hatchling (the build backend, from the test extra) and installed with
`--no-index --no-deps` into a new virtual environment, so sdassist itself comes only from the wheel. Its
dependencies come from this test's own environment, through a `.pth` line (no package index is reached;
`scripts/wheel_check.sh` in CI does the full `uvx --from <wheel> sdassist mcp`, dependencies from the index).
A `.pth` line adds a directory to sys.path without processing the `.pth` files in it, so the editable
install of this checkout is not visible there: the test checks that `sdassist` is imported from the wheel.
"""

from __future__ import annotations

import email
import os
import subprocess
import sys
import sysconfig
import tomllib
import zipfile
from pathlib import Path

import pytest
from mcp import Client, StdioServerParameters

ROOT = Path(__file__).resolve().parent.parent
PROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("dist")
    subprocess.run([sys.executable, "-c", "import sys, hatchling.build as b; b.build_wheel(sys.argv[1])", str(out)],
                   cwd=ROOT, check=True, capture_output=True, timeout=300)
    (built,) = out.glob("sdassist-*.whl")
    return built


@pytest.fixture(scope="module")
def fresh(wheel: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A new virtual environment with the wheel installed, and this environment's packages for its dependencies."""
    venv = tmp_path_factory.mktemp("fresh") / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True, timeout=120)
    python = venv / "bin" / "python"
    subprocess.run([sys.executable, "-m", "pip", "--python", str(python), "install", "--quiet", "--no-index",
                    "--no-deps", str(wheel)], check=True, capture_output=True, timeout=300)
    site = subprocess.run([str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                          check=True, capture_output=True, text=True).stdout.strip()
    ours = {sysconfig.get_paths()["purelib"], sysconfig.get_paths()["platlib"]}
    (Path(site) / "zz_dependencies_from_the_test_environment.pth").write_text("\n".join(sorted(ours)) + "\n")
    return venv


def clean_env(tmp_path: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SOCIALDOCK_", "SDASSIST_", "SLACK_"))}
    env.update(SDASSIST_DATA_DIR=str(tmp_path), SDASSIST_TIMEZONE="Europe/Berlin")
    return env


def test_the_wheel_holds_the_package_its_command_and_lean_requirements(wheel: Path) -> None:
    with zipfile.ZipFile(wheel) as zf:
        names = zf.namelist()
        info = next(n for n in names if n.endswith(".dist-info/METADATA"))
        metadata = email.message_from_bytes(zf.read(info))
        entry_points = zf.read(next(n for n in names if n.endswith(".dist-info/entry_points.txt"))).decode()
    for module in ("sdassist/cli.py", "sdassist/mcp_server.py", "sdassist/sandbox/__init__.py",
                   "sdassist/terminal/render.py", "sdassist/py.typed"):
        assert module in names
    assert not any(n.startswith("tests/") for n in names)
    assert "sdassist = sdassist.cli:main" in entry_points
    assert metadata["Version"] == PROJECT["version"]
    requires = metadata.get_all("Requires-Dist") or []
    core = [r for r in requires if "extra ==" not in r]
    assert any(r.startswith("mcp") for r in core) and any(r.startswith("rich") for r in core)
    assert not any(r.startswith(("asyncpg", "ruff", "pytest")) for r in core)  # extras, not the core install
    assert any(r.startswith("asyncpg") and "extra == 'postgres'" in r.replace('"', "'") for r in requires)


async def test_sdassist_mcp_from_the_wheel_in_a_fresh_environment(fresh: Path, tmp_path: Path) -> None:
    command = fresh / "bin" / "sdassist"
    where = subprocess.run([str(fresh / "bin" / "python"), "-c", "import sdassist; print(sdassist.__file__)"],
                           capture_output=True, text=True, check=True, env=clean_env(tmp_path)).stdout.strip()
    assert where.startswith(str(fresh)), f"sdassist imported from {where}, not from the wheel"
    version = subprocess.run([str(command), "--version"], capture_output=True, text=True, check=True,
                             env=clean_env(tmp_path))
    assert version.stdout.strip() == f"sdassist {PROJECT['version']}"
    params = StdioServerParameters(command=str(command), args=["mcp"], env=clean_env(tmp_path), cwd=str(tmp_path))
    async with Client(params) as client:
        names = {t.name for t in (await client.list_tools()).tools}
        assert {"list_accounts", "draft_post"} <= names
        accounts = await client.call_tool("list_accounts", {})
        assert not accounts.is_error and accounts.structured_content["accounts"]
