#!/usr/bin/env bash
# A throwaway PostgreSQL cluster for the tests: Debian's PostgreSQL (installed
# with apt-get when missing), a fresh cluster in a temporary directory,
# listening on 127.0.0.1 at a free port, trusting local logins, without
# fsync (its data is thrown away) unless started with --durable (for the
# benchmarks: fsync, full-page writes and synchronous commit as in
# production). PostgreSQL refuses to run as root, so as root the cluster
# runs as the `postgres` user the package creates.
#
#   scripts/postgres.sh start [--durable]
#                                  prints `export` lines for the shell:
#                                  CITYHOST_TEST_POSTGRES (URL, database
#                                  `postgres`, user `cityhost`) and
#                                  CITYHOST_TEST_POSTGRES_DIR
#   scripts/postgres.sh stop DIR   stops that cluster and deletes DIR
#
#   eval "$(scripts/postgres.sh start)"
set -euo pipefail

# The directory holding initdb and pg_ctl: on PATH, else Debian's newest.
pg_bindir() {
  if command -v initdb >/dev/null && command -v pg_ctl >/dev/null; then
    dirname "$(command -v initdb)"
    return
  fi
  ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1
}

# Runs a command as the cluster's owner.
as_owner() {
  if [ "$(id -u)" = 0 ]; then
    runuser -u postgres -- "$@"
  else
    "$@"
  fi
}

start() {
  local bin durability="-c fsync=off -c full_page_writes=off"
  case "${1:-}" in
    --durable) durability="" ;;
    "") ;;
    *) echo "usage: scripts/postgres.sh start [--durable]" >&2; exit 2 ;;
  esac
  bin="$(pg_bindir)"
  if [ -z "$bin" ] || [ ! -x "$bin/initdb" ]; then
    echo "installing postgresql (apt-get)" >&2
    local sudo=""
    [ "$(id -u)" = 0 ] || sudo="sudo"
    $sudo apt-get update -qq >&2
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends postgresql >&2
    bin="$(pg_bindir)"
  fi
  local dir port
  dir="$(mktemp -d "${TMPDIR:-/tmp}/cityhost-pg.XXXXXX")"
  port="$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
  [ "$(id -u)" = 0 ] && chown postgres: "$dir"
  as_owner "$bin/initdb" -D "$dir/data" -U cityhost -A trust -E UTF8 --locale=C --no-sync >"$dir/initdb.log" 2>&1 \
    || { cat "$dir/initdb.log" >&2; exit 1; }
  as_owner "$bin/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 \
    -o "-p $port -k $dir -c listen_addresses=127.0.0.1 $durability -c max_connections=400" \
    start >&2 || { cat "$dir/server.log" >&2; exit 1; }
  echo "export CITYHOST_TEST_POSTGRES=postgres://cityhost@127.0.0.1:$port/postgres"
  echo "export CITYHOST_TEST_POSTGRES_DIR=$dir"
}

stop() {
  local dir="$1" bin
  bin="$(pg_bindir)"
  [ -d "$dir/data" ] && as_owner "$bin/pg_ctl" -D "$dir/data" -m immediate -w stop >/dev/null 2>&1 || true
  rm -rf "$dir"
}

case "${1:-}" in
  start) start "${2:-}" ;;
  stop) stop "${2:?usage: scripts/postgres.sh stop DIR}" ;;
  *) echo "usage: scripts/postgres.sh start [--durable] | stop DIR" >&2; exit 2 ;;
esac
