#!/usr/bin/env bash
# Run a command with a throwaway PostgreSQL server on loopback.
#
#   bash scripts/with_postgres.sh pytest tests/publishing tests/tools -q
#
# Finds initdb/pg_ctl (PATH, then /usr/lib/postgresql/*/bin), installing Debian's `postgresql` package
# when there are none (needs root). Creates a cluster in a temporary directory (owned by the `postgres`
# system user when running as root: the server refuses to run as root), starts it on 127.0.0.1 on a
# free port, creates a database, exports SDASSIST_TEST_DATABASE_URL (postgresql+asyncpg://…), runs the
# command, and always stops the server and removes the cluster. Exits with the command's status.
set -euo pipefail

if [ "$#" -eq 0 ]; then
  echo "usage: $0 COMMAND [ARGS…]" >&2
  exit 2
fi

find_bindir() {
  local dir
  if command -v initdb >/dev/null 2>&1 && command -v pg_ctl >/dev/null 2>&1; then
    dirname "$(readlink -f "$(command -v pg_ctl)")"
    return 0
  fi
  for dir in $(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V -r); do
    if [ -x "$dir/initdb" ] && [ -x "$dir/pg_ctl" ]; then
      echo "$dir"
      return 0
    fi
  done
  return 1
}

if ! BINDIR="$(find_bindir)"; then
  if [ "$(id -u)" -ne 0 ]; then
    echo "with_postgres: no PostgreSQL server binaries found and not root: install the postgresql package" >&2
    exit 1
  fi
  echo "with_postgres: installing PostgreSQL from Debian's packages" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq postgresql >/dev/null
  BINDIR="$(find_bindir)" || { echo "with_postgres: PostgreSQL binaries still not found" >&2; exit 1; }
fi

PGUSER_NAME="sdassist"
PGDB_NAME="sdassist_test"
WORKDIR="$(mktemp -d "${TMPDIR:-/tmp}/sdassist-pg.XXXXXX")"
DATADIR="$WORKDIR/data"

# As root, run the server as an unprivileged system user.
as_owner() { "$@"; }
if [ "$(id -u)" -eq 0 ]; then
  RUNAS="postgres"
  if ! id "$RUNAS" >/dev/null 2>&1; then
    useradd --system --no-create-home --shell /usr/sbin/nologin "$RUNAS" 2>/dev/null \
      || adduser --system --no-create-home "$RUNAS" >/dev/null
  fi
  chown "$RUNAS" "$WORKDIR"
  chmod 755 "$WORKDIR"
  if command -v runuser >/dev/null 2>&1; then
    as_owner() { runuser -u "$RUNAS" -- "$@"; }
  else
    as_owner() { su -s /bin/sh "$RUNAS" -c "$(printf '%q ' "$@")"; }
  fi
fi

free_port() {
  python3 - <<'PY'
import socket
s = socket.socket()
s.bind(("127.0.0.1", 0))
print(s.getsockname()[1])
s.close()
PY
}
PORT="${SDASSIST_PG_PORT:-$(free_port)}"

cleanup() {
  local status=$?
  if [ -f "$DATADIR/postmaster.pid" ]; then
    as_owner "$BINDIR/pg_ctl" -D "$DATADIR" -m immediate -w stop >/dev/null 2>&1 || true
  fi
  rm -rf "$WORKDIR"
  exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

as_owner "$BINDIR/initdb" -D "$DATADIR" -U "$PGUSER_NAME" --auth=trust -E UTF8 --no-locale >"$WORKDIR/initdb.log" 2>&1 \
  || { cat "$WORKDIR/initdb.log" >&2; exit 1; }

# SDASSIST_PG_XID_EPOCH=N: start the cluster's transaction ids in epoch N, so every 64-bit id (xid8) is past
# 2^32, as on a server that has wrapped its 32-bit ids N times (what the drafts' change cursor must survive).
if [ -n "${SDASSIST_PG_XID_EPOCH:-}" ]; then
  as_owner "$BINDIR/pg_resetwal" -e "$SDASSIST_PG_XID_EPOCH" -D "$DATADIR" >/dev/null
fi

# Loopback only, no Unix socket in system directories, fast and throwaway.
as_owner "$BINDIR/pg_ctl" -D "$DATADIR" -l "$WORKDIR/server.log" -w -t 60 \
  -o "-h 127.0.0.1 -p $PORT -k $WORKDIR -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=200" \
  start >/dev/null || { cat "$WORKDIR/server.log" >&2; exit 1; }

"$BINDIR/createdb" -h 127.0.0.1 -p "$PORT" -U "$PGUSER_NAME" "$PGDB_NAME"

export SDASSIST_TEST_DATABASE_URL="postgresql+asyncpg://$PGUSER_NAME@127.0.0.1:$PORT/$PGDB_NAME"
echo "with_postgres: PostgreSQL $("$BINDIR/postgres" --version | awk "{print \$3}") on 127.0.0.1:$PORT" >&2

set +e
"$@"
status=$?
set -e
exit "$status"
