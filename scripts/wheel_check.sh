#!/usr/bin/env bash
# The package as a user installs it: build the wheel, then `uvx --from <wheel> sdassist mcp` in a throwaway
# environment that uv fills from the package index (dependencies included), driven by a real MCP client
# over stdio on the built-in sandbox. tests/test_wheel.py does the same offline; this one reaches the index.
# Needs `uv` (installed into the active environment when missing). Exits non-zero on any failure.
set -euo pipefail
cd "$(dirname "$0")/.."

if ! command -v uvx >/dev/null 2>&1; then
  python -m pip install --quiet uv
fi

DIST="$(mktemp -d)"
DATA_DIR="$(mktemp -d)"
trap 'rm -rf "$DIST" "$DATA_DIR"' EXIT
python -c "import sys, hatchling.build as b; b.build_wheel(sys.argv[1])" "$DIST"
WHEEL="$(ls "$DIST"/sdassist-*.whl)"
echo "built $(basename "$WHEEL")"

unset SOCIALDOCK_API_KEY SOCIALDOCK_BASE_URL SDASSIST_DATABASE_URL SDASSIST_ENV_FILE
export SDASSIST_DATA_DIR="$DATA_DIR"
uvx --quiet --isolated --from "$WHEEL" sdassist --version

python - "$WHEEL" <<'PY'
import asyncio
import os
import sys

from mcp import Client, StdioServerParameters


async def main(wheel: str) -> None:
    params = StdioServerParameters(command="uvx", args=["--quiet", "--isolated", "--from", wheel, "sdassist", "mcp"],
                                   env=dict(os.environ))
    async with Client(params) as client:
        names = sorted(t.name for t in (await client.list_tools()).tools)
        accounts = await client.call_tool("list_accounts", {})
        assert not accounts.is_error and accounts.structured_content["accounts"], accounts
    assert "draft_post" in names, names
    print(f"uvx --from {os.path.basename(wheel)} sdassist mcp: {len(names)} tools, list_accounts answered")


asyncio.run(main(sys.argv[1]))
PY
