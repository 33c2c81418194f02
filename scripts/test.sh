#!/usr/bin/env bash
# The whole test suite, from a fresh machine: installs what the tests need
# (Debian's Chromium and CJK fonts for the browser tests, playwright-core from
# npm, Debian's PostgreSQL for a throwaway cluster, Debian's nginx, openssl
# and curl for the load-balancer test, which runs nginx as the user running
# the tests; the wasm32-wasip2 target is added by the test support through
# rustup),
# then runs every test of the workspace.
set -euo pipefail
cd "$(dirname "$0")/.."

apt_install() {
  local sudo=""
  [ "$(id -u)" = 0 ] || sudo="sudo"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "$@"
}

missing=()
command -v chromium >/dev/null || missing+=(chromium)
fc-list :lang=zh 2>/dev/null | grep -q . || missing+=(fonts-noto-cjk)
# (Debian's nginx package also enables its own server on port 80 where
# systemd runs; the test starts a separate nginx of its own.)
[ -x /usr/sbin/nginx ] || missing+=(nginx)
command -v openssl >/dev/null || missing+=(openssl)
command -v curl >/dev/null || missing+=(curl)
if [ "${#missing[@]}" -gt 0 ]; then
  echo "installing ${missing[*]} (apt-get)"
  apt_install "${missing[@]}"
fi

# playwright-core drives the installed Chromium; it never downloads a browser.
npm ci --prefix host/tests/browser --no-audit --no-fund --loglevel=error

# A throwaway PostgreSQL cluster (Debian's, installed when missing) for the
# PostgreSQL backend's tests; stopped and deleted when the run ends.
eval "$(scripts/postgres.sh start)"
trap 'scripts/postgres.sh stop "$CITYHOST_TEST_POSTGRES_DIR"' EXIT

cargo test --release --workspace "$@"

# Without arguments, the host suite once more with every test host on its
# own PostgreSQL schema (the browser journeys, which drive the shell rather
# than the store, run only above).
if [ "$#" -eq 0 ]; then
  echo "the host suite on PostgreSQL (CITYHOST_TEST_STORE=postgres)"
  CITYHOST_TEST_STORE=postgres cargo test --release --workspace --test all -- --skip browser
fi
