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
#   scripts/postgres.sh standby DIR
#                                  a streaming replica of the cluster in DIR,
#                                  which from then on waits for it at each
#                                  commit (synchronous replication); prints
#                                  the replica's URL and directory as
#                                  `start` does
#   scripts/postgres.sh promote DIR
#                                  makes the replica in DIR a primary
#   scripts/postgres.sh stop DIR   stops that cluster at once (as a crash
#                                  would) and deletes DIR
#
#   eval "$(scripts/postgres.sh start)"
set -euo pipefail

# The directory holding initdb and pg_ctl: on PATH, else Debian's newest.
pg_bindir() {
  if command -v initdb >/dev/null && command -v pg_ctl >/dev/null; then
    dirname "$(readlink -f "$(command -v initdb)")"
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
  local dir
  dir="$(new_dir)"
  as_owner "$bin/initdb" -D "$dir/data" -U cityhost -A trust -E UTF8 --locale=C --no-sync >"$dir/initdb.log" 2>&1 \
    || { cat "$dir/initdb.log" >&2; exit 1; }
  run "$bin" "$dir" "$durability"
}

# A new directory for a cluster, owned by the cluster's owner.
new_dir() {
  local dir
  dir="$(mktemp -d "${TMPDIR:-/tmp}/cityhost-pg.XXXXXX")"
  [ "$(id -u)" = 0 ] && chown postgres: "$dir"
  echo "$dir"
}

# A free TCP port on 127.0.0.1.
free_port() {
  python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# The port the running cluster in DIR listens on (its postmaster.pid's
# fourth line).
port_of() {
  sed -n 4p "$1/data/postmaster.pid"
}

# Starts the cluster whose data directory is DIR/data at a free port, with
# extra server settings, and prints its `export` lines.
run() {
  local bin="$1" dir="$2" settings="$3" port
  port="$(free_port)"
  as_owner "$bin/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 \
    -o "-p $port -k $dir -c listen_addresses=127.0.0.1 $settings -c max_connections=400" \
    start >&2 || { cat "$dir/server.log" >&2; exit 1; }
  echo "export CITYHOST_TEST_POSTGRES=postgres://cityhost@127.0.0.1:$port/postgres"
  echo "export CITYHOST_TEST_POSTGRES_DIR=$dir"
}

standby() {
  local primary="$1" bin dir port
  bin="$(pg_bindir)"
  port="$(port_of "$primary")"
  dir="$(new_dir)"
  # -R writes standby.signal and the primary's address; -X stream copies
  # the WAL written meanwhile. (initdb's pg_hba.conf lets local
  # replication connections in.)
  as_owner "$bin/pg_basebackup" -h 127.0.0.1 -p "$port" -U cityhost -D "$dir/data" \
    -X stream -R --no-sync >"$dir/basebackup.log" 2>&1 \
    || { cat "$dir/basebackup.log" >&2; rm -rf "$dir"; exit 1; }
  run "$bin" "$dir" "-c fsync=off -c full_page_writes=off"
  # Only the primary waits for a standby: set there after the copy, so the
  # replica, once promoted, does not wait for one it does not have.
  as_owner "$bin/psql" -h 127.0.0.1 -p "$port" -U cityhost -d postgres -qAt \
    -c "ALTER SYSTEM SET synchronous_standby_names = '*'" -c "SELECT pg_reload_conf()" >/dev/null
  # Up once the primary sees it streaming, synchronously.
  local state
  for _ in $(seq 1 300); do
    state="$(as_owner "$bin/psql" -h 127.0.0.1 -p "$port" -U cityhost -d postgres -qAt \
      -c "SELECT sync_state FROM pg_stat_replication")"
    [ "$state" = sync ] && return
    sleep 0.1
  done
  echo "the standby in $dir did not start streaming (state: '$state')" >&2
  exit 1
}

promote() {
  as_owner "$(pg_bindir)/pg_ctl" -D "$1/data" -w -t 60 promote >&2
}

stop() {
  local dir="$1" bin
  bin="$(pg_bindir)"
  [ -d "$dir/data" ] && as_owner "$bin/pg_ctl" -D "$dir/data" -m immediate -w stop >/dev/null 2>&1 || true
  rm -rf "$dir"
}

case "${1:-}" in
  start) start "${2:-}" ;;
  standby) standby "${2:?usage: scripts/postgres.sh standby DIR}" ;;
  promote) promote "${2:?usage: scripts/postgres.sh promote DIR}" ;;
  stop) stop "${2:?usage: scripts/postgres.sh stop DIR}" ;;
  *) echo "usage: scripts/postgres.sh start [--durable] | standby DIR | promote DIR | stop DIR" >&2; exit 2 ;;
esac
