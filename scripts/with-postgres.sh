#!/usr/bin/env bash
# with-postgres.sh CMD [ARGS...]
#
# Run CMD with a throwaway PostgreSQL server on 127.0.0.1 and
# SHEETSYNC_TEST_PG_URL pointing at an empty database in it:
#
#   scripts/with-postgres.sh .venv/bin/python -m pytest -q
#
# Installs PostgreSQL from Debian's packages when it is missing (needs root or
# sudo), initialises a data directory in a fresh temporary directory with
# trust authentication, starts the server on a free port (unix socket in the
# same temporary directory, so it never collides with a system server), runs
# CMD, then stops the server and deletes the directory, whatever happens.
# Exits with CMD's exit code. Set PG_KEEP=1 to keep the directory for
# debugging (its path is printed).
set -euo pipefail

log() { printf 'with-postgres: %s\n' "$*" >&2; }

if [ "$#" -eq 0 ]; then
  echo "usage: $0 CMD [ARGS...]" >&2
  exit 64
fi

as_root() {
  if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi
}

find_pgbin() {
  local d
  for d in $(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -t/ -k5 -V -r); do
    if [ -x "$d/initdb" ] && [ -x "$d/pg_ctl" ]; then echo "$d"; return 0; fi
  done
  return 1
}

PGBIN="$(find_pgbin || true)"
if [ -z "$PGBIN" ]; then
  log "PostgreSQL is not installed; installing it from Debian's packages"
  export DEBIAN_FRONTEND=noninteractive
  as_root apt-get update -qq
  as_root apt-get install -y -qq postgresql >/dev/null
  PGBIN="$(find_pgbin)" || { log "postgresql installed but no initdb found under /usr/lib/postgresql"; exit 70; }
fi

# postgres refuses to run as root: run the server as the 'postgres' user
# (created by the Debian package) or a dedicated system user.
if [ "$(id -u)" -eq 0 ]; then
  PGUSER_OS=postgres
  if ! id "$PGUSER_OS" >/dev/null 2>&1; then
    PGUSER_OS=sheetsync-pg
    id "$PGUSER_OS" >/dev/null 2>&1 || useradd --system --no-create-home --shell /usr/sbin/nologin "$PGUSER_OS"
  fi
  as_pg() {
    if command -v runuser >/dev/null 2>&1; then
      runuser -u "$PGUSER_OS" -- "$@"
    else
      su -s /bin/sh "$PGUSER_OS" -c "$(printf '%q ' "$@")"
    fi
  }
else
  PGUSER_OS="$(id -un)"
  as_pg() { "$@"; }
fi

TMP="$(mktemp -d "${TMPDIR:-/tmp}/sheetsync-pg.XXXXXX")"
DATA="$TMP/data"
STARTED=0
cleanup() {
  local rc=$?
  if [ "$STARTED" -eq 1 ]; then
    (cd "$TMP" && as_pg "$PGBIN/pg_ctl" -D "$DATA" -m immediate -w stop >/dev/null 2>&1) || true
  fi
  if [ "${PG_KEEP:-0}" = 1 ]; then log "kept $TMP"; else rm -rf "$TMP"; fi
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

chmod 700 "$TMP"
[ "$(id -u)" -eq 0 ] && chown "$PGUSER_OS" "$TMP"
cd "$TMP"  # the server user must be able to read its working directory
as_pg "$PGBIN/initdb" -D "$DATA" -U postgres --auth=trust --encoding=UTF8 --no-locale --no-sync >"$TMP/initdb.log" 2>&1 \
  || { cat "$TMP/initdb.log" >&2; exit 70; }

port_in_use() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

PORT=""
for _ in $(seq 1 20); do
  candidate=$(( 20000 + RANDOM % 40000 ))
  port_in_use "$candidate" && continue
  if as_pg "$PGBIN/pg_ctl" -D "$DATA" -l "$TMP/server.log" -w -t 60 \
      -o "-h 127.0.0.1 -p $candidate -k $TMP -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=200" \
      start >/dev/null 2>&1; then
    PORT=$candidate
    STARTED=1
    break
  fi
  tail -n 5 "$TMP/server.log" >&2 || true
done
cd "$OLDPWD"
if [ -z "$PORT" ]; then
  log "could not start PostgreSQL on a free port; server log:"
  cat "$TMP/server.log" >&2 || true
  exit 70
fi

"$PGBIN/psql" -X -q -h 127.0.0.1 -p "$PORT" -U postgres -d postgres \
  -c "CREATE DATABASE sheetsync_test" >/dev/null

export SHEETSYNC_TEST_PG_URL="postgresql://postgres@127.0.0.1:$PORT/sheetsync_test"
log "PostgreSQL $("$PGBIN/pg_ctl" --version | awk '{print $3}') on 127.0.0.1:$PORT ($TMP); SHEETSYNC_TEST_PG_URL=$SHEETSYNC_TEST_PG_URL"

set +e
"$@"
rc=$?
set -e
exit "$rc"
