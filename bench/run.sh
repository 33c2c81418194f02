#!/usr/bin/env bash
# CityHost's benchmark suite: in-process runtime costs, capability calls,
# HTTP load against `wasmtime serve` and a native handler, scale (12,000
# apps on the embedded store and on a throwaway PostgreSQL cluster), a
# noisy neighbour and several hosts on one PostgreSQL database, written to
# docs/benchmarks.md. Takes up to 25 minutes
# (the first run also compiles oha and wasmtime-cli from crates.io into
# ~/.cache/cityhost-bench). Not part of the test command.
#
# Extra arguments go to `cityhost-bench suite` (e.g. `--seconds 5`).
set -euo pipefail
cd "$(dirname "$0")/.."

TOOLS="${CITYHOST_BENCH_TOOLS:-${HOME}/.cache/cityhost-bench}"
TARGET="${CARGO_TARGET_DIR:-${PWD}/target}"

# install BINARY CRATE VERSION: `cargo install` unless that version is there.
install() {
  if ! "${TOOLS}/bin/$1" --version 2>/dev/null | grep -qF "$3"; then
    echo "installing $2 $3 from crates.io into ${TOOLS}"
    cargo install --quiet --locked --root "${TOOLS}" "$2@$3"
  fi
}
install oha oha 1.16.0
# The same wasmtime release the host embeds.
install wasmtime wasmtime-cli 48.0.8

cargo build --release -p cityhost -p cityhost-bench
CARGO_TARGET_DIR="${TARGET}" "${TARGET}/release/cityhost" build-apps \
  --apps examples/hello-http --apps bench/guests

# PostgreSQL for the scale and several-hosts measurements on the shared
# store (installed with apt-get when missing; durable, as in production:
# fsync and synchronous commit on; thrown away at exit).
eval "$(scripts/postgres.sh start --durable)"
trap 'scripts/postgres.sh stop "${CITYHOST_TEST_POSTGRES_DIR}"' EXIT

# Thousands of sockets in the load runs.
ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)"

"${TARGET}/release/cityhost-bench" suite \
  --workspace . \
  --components "${TARGET}/guest/wasm32-wasip2/guest" \
  --cityhost "${TARGET}/release/cityhost" \
  --tools "${TOOLS}" \
  --postgres "${CITYHOST_TEST_POSTGRES}" \
  --out docs/benchmarks.md "$@"
