#!/usr/bin/env bash
# Fuzzes the parsers of the host's domain and of the view model
# (fuzz/fuzz_targets: manifest, view, package, idcard, uscc, unique_json)
# with cargo-fuzz (libFuzzer) on nightly Rust, SECONDS each (default 60),
# one target after the other. Installs cargo-fuzz when missing.
#
#   scripts/fuzz.sh [SECONDS] [TARGET...]
#
# Each target starts from its seed corpus (fuzz/corpus/<target>, committed)
# and the inputs earlier runs found (kept beside the build, not
# committed). Built with debug assertions (overflow checks) and no
# sanitizer (the crates forbid unsafe code). Fails if a target crashes,
# printing the input that crashed it.
set -euo pipefail
cd "$(dirname "$0")/.."
root="$PWD"

seconds="${1:-60}"
shift || true

command -v rustup >/dev/null || { echo "fuzz.sh: rustup is needed for nightly Rust" >&2; exit 1; }
rustup toolchain list | grep -q '^nightly' || rustup toolchain install nightly --profile minimal
if ! cargo +nightly fuzz --version >/dev/null 2>&1; then
  echo "installing cargo-fuzz (cargo install --locked)"
  cargo +nightly install cargo-fuzz --locked
fi

# Outside the clone when CI keeps a target directory warm.
if [ -n "${CARGO_TARGET_DIR:-}" ]; then
  target_dir="$CARGO_TARGET_DIR/fuzz"
else
  target_dir="$root/fuzz/target"
fi
work="$target_dir/cityhost-fuzz"
mkdir -p "$work"
build=(--target-dir "$target_dir" --sanitizer none --debug-assertions)

if [ "$#" -gt 0 ]; then
  targets=("$@")
else
  mapfile -t targets < <(cd fuzz && cargo +nightly fuzz list)
fi

echo "building ${#targets[@]} fuzz targets"
(cd fuzz && cargo +nightly fuzz build "${build[@]}")

failed=()
printf '%-12s %8s %12s %10s %s\n' target seconds runs execs/s result > "$work/summary"
for t in "${targets[@]}"; do
  log="$work/$t.log"
  mkdir -p "$work/corpus/$t" "$work/artifacts/$t"
  echo "fuzzing $t for ${seconds}s"
  status=0
  (cd fuzz && cargo +nightly fuzz run "${build[@]}" "$t" \
    "$work/corpus/$t" "$root/fuzz/corpus/$t" -- \
    -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 \
    -print_final_stats=1 -artifact_prefix="$work/artifacts/$t/") >"$log" 2>&1 || status=$?
  runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)
  speed=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -n 1)
  if [ "$status" -eq 0 ]; then
    result=ok
  else
    result="CRASH (exit $status)"
    failed+=("$t")
    echo "---- $t: last lines of $log"
    tail -n 40 "$log"
    crash=$(sed -n 's/.*Test unit written to \(.*\)$/\1/p' "$log" | tail -n 1)
    if [ -n "$crash" ] && [ -f "$crash" ]; then
      echo "---- crash input: $crash ($(wc -c <"$crash") bytes), base64:"
      base64 "$crash"
      echo "---- reproduce: (cd fuzz && cargo +nightly fuzz run ${build[*]} $t $crash)"
    fi
  fi
  printf '%-12s %8s %12s %10s %s\n' "$t" "$seconds" "${runs:-?}" "${speed:-?}" "$result" >> "$work/summary"
done

cat "$work/summary"
if [ "${#failed[@]}" -gt 0 ]; then
  echo "fuzz.sh: crashed: ${failed[*]}" >&2
  exit 1
fi
