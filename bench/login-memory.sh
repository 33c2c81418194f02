#!/usr/bin/env bash
# Resident memory of a host across many failed logins (each one argon2 run
# on an unknown number): starts `cityhost serve` on a fresh data directory,
# warms up, then sends LOGINS failed logins with curl, CONCURRENCY at a
# time, each for a different number (so no lockout cuts the work short),
# and prints the host's resident set (VmRSS) every STEP logins.
#
#   bench/login-memory.sh [LOGINS=10000] [CONCURRENCY=4] [STEP=2000]
set -euo pipefail
cd "$(dirname "$0")/.."
logins="${1:-10000}"
concurrency="${2:-4}"
step="${3:-2000}"
port="${PORT:-18391}"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-${HOME}/.cache/cityhost-ci/target}"

cargo build --release -q --workspace --bins
work="$(mktemp -d)"
trap 'kill "$host" 2>/dev/null; rm -rf "$work"' EXIT
# No apps are needed to sign in.
mkdir "$work/apps"
"$CARGO_TARGET_DIR/release/cityhost" serve --bind "127.0.0.1:$port" \
  --data "$work/data" --apps "$work/apps" --components "$work/apps" \
  >"$work/host.log" 2>&1 &
host=$!
until curl -sf "http://127.0.0.1:$port/healthz" >/dev/null; do sleep 0.2; done

rss() { awk '/^VmRSS/ {printf "%.1f MiB", $2 / 1024}' "/proc/$host/status"; }

# One curl config per batch: a POST per number, all numbers unregistered.
batch() {
  local from="$1" count="$2" cfg="$work/batch.cfg"
  : >"$cfg"
  for ((i = from; i < from + count; i++)); do
    ((i == from)) || echo next >>"$cfg"
    printf 'url = "http://127.0.0.1:%s/api/login"\nrequest = "POST"\nheader = "content-type: application/json"\nheader = "origin: http://127.0.0.1:%s"\ndata = "{\\"phone\\": \\"139%08d\\", \\"password\\": \\"not the password\\"}"\noutput = "/dev/null"\nsilent\nwrite-out = "%%{http_code}\\n"\n' \
      "$port" "$port" "$i" >>"$cfg"
  done
  curl -s --no-progress-meter --parallel --parallel-max "$concurrency" -K "$cfg" | sort | uniq -c | tr '\n' ' '
}

echo "warm-up (200 logins): $(batch 0 200)"
echo "after warm-up: $(rss)"
started=$SECONDS
for ((done = 0; done < logins; done += step)); do
  codes="$(batch $((1000 + done)) "$step")"
  echo "after $((done + step)) failed logins ($codes): $(rss)"
done
echo "$logins failed logins in $((SECONDS - started)) s at concurrency $concurrency"
