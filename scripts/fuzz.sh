#!/usr/bin/env bash
# Fuzzes every parser of the repository with cargo-fuzz (libFuzzer): `bash scripts/fuzz.sh
# [SECONDS] [TARGET...]` runs each target of fuzz/fuzz_targets/ (or the ones named) for SECONDS
# seconds (default 60), starting from its committed seed corpus in fuzz/corpus/<target>/.
#
# Installs what it needs when missing: a nightly toolchain (`rustup toolchain install nightly
# --profile minimal`; libFuzzer's instrumentation needs it) and cargo-fuzz (`cargo install
# cargo-fuzz --locked`). Targets are built with debug assertions and overflow checks, so an
# arithmetic overflow reachable from input is a crash, as in the test profile.
#
# New inputs found while fuzzing go to fuzz/target/corpus-work/<target>/ (not committed); a crash
# is saved in fuzz/artifacts/<target>/ with the command that replays it. Ends on a line
# `fuzz: N targets passed, M failed` and exits 1 if any target crashed, leaked, ran out of memory
# or timed out (an input taking over FUZZ_TIMEOUT seconds, default 25).
set -euo pipefail
cd "$(dirname "$0")/../fuzz"

seconds="${1:-60}"
shift || true
[[ "$seconds" =~ ^[0-9]+$ && "$seconds" -ge 1 ]] || {
  echo "usage: scripts/fuzz.sh [SECONDS] [TARGET...] (SECONDS a whole number >= 1)" >&2
  exit 2
}

if ! rustup run nightly rustc --version >/dev/null 2>&1; then
  echo "installing a nightly toolchain for cargo-fuzz"
  rustup toolchain install nightly --profile minimal
fi
if ! command -v cargo-fuzz >/dev/null 2>&1; then
  echo "installing cargo-fuzz"
  cargo install cargo-fuzz --locked
fi

if [[ $# -gt 0 ]]; then
  targets=("$@")
else
  mapfile -t targets < <(cargo +nightly fuzz list)
fi

# One build for every target (same flags as the runs below, so `fuzz run` does not rebuild).
cargo +nightly fuzz build --debug-assertions

passed=0
failed=()
for t in "${targets[@]}"; do
  work="target/corpus-work/$t"
  mkdir -p "$work" "corpus/$t"
  log="target/fuzz-$t.log"
  printf '\n== fuzz %s for %s s\n' "$t" "$seconds"
  if cargo +nightly fuzz run --debug-assertions "$t" "$work" "corpus/$t" -- \
    -max_total_time="$seconds" -timeout="${FUZZ_TIMEOUT:-25}" -print_final_stats=1 \
    >"$log" 2>&1; then
    runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
    cov=$(grep -oE 'cov: [0-9]+' "$log" | tail -1)
    echo "$t: ${runs:-?} executions in $seconds s ($((${runs:-0} / seconds))/s), $cov, no crash"
    passed=$((passed + 1))
  else
    grep -E '^(==[0-9]+==ERROR|SUMMARY|thread .* panicked|ERROR|artifact_prefix|Test unit written)' "$log" | head -20 || true
    echo "$t: FAILED (full log: fuzz/$log)"
    failed+=("$t")
  fi
done

echo
echo "fuzz: $passed targets passed, ${#failed[@]} failed${failed:+ (${failed[*]})}"
[[ ${#failed[@]} -eq 0 ]]
