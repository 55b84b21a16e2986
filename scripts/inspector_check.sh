#!/usr/bin/env bash
# A real MCP client this project did not write: the MCP Inspector CLI (npm) against `sdassist mcp` on the
# embedded sandbox. Lists the tools, calls a read tool (list_accounts) and a write tool (draft_post, which in
# the default confirm mode answers with a preview and a confirmation_token: the Inspector cannot elicit).
# Exits non-zero on any failure; says SKIPPED (never silently) when npx is missing.
set -euo pipefail
cd "$(dirname "$0")/.."

INSPECTOR="@modelcontextprotocol/inspector@0.15.0"

if ! command -v npx >/dev/null 2>&1; then
  echo "SKIPPED: npx not found, so the MCP Inspector CLI check did not run (install Node.js 20+ to run it)."
  exit 0
fi

if [ -x .venv/bin/python ]; then PY="$PWD/.venv/bin/python"; else PY="$(command -v python3)"; fi

DATA_DIR="$(mktemp -d)"
trap 'rm -rf "$DATA_DIR"' EXIT
unset SOCIALDOCK_API_KEY SOCIALDOCK_BASE_URL SDASSIST_APPROVAL SDASSIST_READ_ONLY SDASSIST_TOOLSETS SDASSIST_DATABASE_URL
export SDASSIST_DATA_DIR="$DATA_DIR" SDASSIST_TIMEZONE="Europe/Berlin"

inspect() {
  # The server's stderr (the sandbox notice) stays on this terminal; stdout is the Inspector's JSON.
  npx -y "$INSPECTOR" --cli \
    -e SDASSIST_DATA_DIR="$DATA_DIR" -e SDASSIST_TIMEZONE="Europe/Berlin" \
    "$PY" -m sdassist mcp "$@"
}

fail() { echo "FAIL: $*" >&2; exit 1; }

echo "-- tools/list"
inspect --method tools/list > "$DATA_DIR/tools.json" || fail "tools/list did not answer"
"$PY" - "$DATA_DIR/tools.json" <<'PY' || fail "tools/list answer is not what it should be"
import json, sys
tools = json.load(open(sys.argv[1]))["tools"]
names = {t["name"] for t in tools}
assert {"list_accounts", "draft_post", "get_draft"} <= names, names
assert not names & {"approve_draft", "reject_draft"}, "human-only tools must never be listed"
for t in tools:
    a = t.get("annotations") or {}
    # hints equal to the spec's defaults are left out; a tool that writes always says whether it destroys
    assert a.get("readOnlyHint") is True or isinstance(a.get("destructiveHint"), bool), t["name"]
    assert t.get("description") and t.get("title"), t["name"]
print(f"   {len(tools)} tools, all annotated and described")
PY

echo "-- tools/call list_accounts"
inspect --method tools/call --tool-name list_accounts > "$DATA_DIR/accounts.json" || fail "list_accounts failed"
grep -q '"acc_' "$DATA_DIR/accounts.json" || fail "list_accounts returned no account ids"
"$PY" - "$DATA_DIR/accounts.json" <<'PY' || fail "list_accounts answer is an error"
import json, sys
r = json.load(open(sys.argv[1]))
assert not r.get("isError"), r
print(f"   {len(r['structuredContent']['accounts'])} accounts")
PY

echo "-- tools/call draft_post (the Inspector cannot elicit: expect a preview and a confirmation_token)"
inspect --method tools/call --tool-name draft_post \
  --tool-arg 'text=Hello from the MCP Inspector' --tool-arg 'targets=["linkedin"]' --tool-arg 'when=tomorrow 9am' \
  > "$DATA_DIR/draft.json" || fail "draft_post failed"
"$PY" - "$DATA_DIR/draft.json" <<'PY' || fail "draft_post did not answer with a pending preview and a token"
import json, sys
r = json.load(open(sys.argv[1]))
assert not r.get("isError"), r
d = r["structuredContent"]
assert d["state"] == "pending" and d["confirmation_token"], d
assert d["scheduled_for"]["echo"].endswith("UTC"), d
print(f"   draft {d['draft_id']} pending, {d['scheduled_for']['echo']}, token issued")
PY

echo "OK: the MCP Inspector CLI listed the tools and called a read tool and a write tool"
