#!/usr/bin/env bash
# Firmware CI: installs QEMU, builds every firmware target, runs the QEMU programs and the on-target
# tests on four machines, and ends with `firmware: N passed, M failed` (exit 0 only when M = 0).
#
#   scripts/firmware-ci.sh            # from anywhere in the repository
#
# Then the host <-> firmware golden comparisons and the serial test (`cargo test -p lifted-tests`,
# 0 mismatches bit for bit, see the end of this file).
#
# Machines: mps2-an386 (M4F, default), mps2-an500 (M7, same ELF, machine swapped through the runner),
# lm3s6965evb (M3, --features lm3s), microbit (M0, --features microbit). The nRF52840-DK board is
# built only (it needs a probe to run). Every QEMU run is under `timeout` (firmware/qemu-run.sh).
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
start=$SECONDS
step() { printf '\n== %s (%ds)\n' "$*" $((SECONDS - start)); }

step "install QEMU"
"$root/scripts/install-qemu.sh"

cd "$root/firmware" # cargo reads firmware/.cargo/config.toml relative to the current directory

M4=()
M3=(--target thumbv7m-none-eabi --features lm3s)
M0=(--target thumbv6m-none-eabi --features microbit)

step "format"
cargo fmt --check # the firmware workspace only (no --all: that would also format ../shared)

step "build: M4F/M7 (thumbv7em-none-eabihf)"
cargo build -q --release "${M4[@]}"
step "build: M3 lm3s6965evb (thumbv7m-none-eabi)"
cargo build -q --release "${M3[@]}"
step "build: M0 microbit (thumbv6m-none-eabi)"
cargo build -q --release "${M0[@]}"
step "build: nRF52840-DK (probe-rs, defmt-rtt)"
cargo build -q --release -p lifted-nrf52840dk
test -f target/thumbv7em-none-eabihf/release/lifted-nrf52840dk
step "test: nRF52840-DK serve loop on the host (in-memory UART, answers checked against lifted-core)"
cargo test -q -p lifted-nrf52840dk --lib --target "$(rustc -vV | sed -n 's/^host: //p')"

passed=0
failed=0
pass() {
  passed=$((passed + 1))
  echo "ok: $*"
}
fail() {
  failed=$((failed + 1))
  echo "FAILED: $*"
}

# models/demo.lfm is a real model (the 64-32-10 digits model of scripts/make-demo-model.sh, made by
# `lifted train`): `check` must load it on every machine.
check_rc=0 check_out="model ok:"

# run_program <machine> <triple> <bin> <expected status> <expected output prefix>
# Runs the release ELF through the cargo runner script directly (cargo itself adds ~1-2 s per call).
run_program() {
  local machine=$1 triple=$2 bin=$3 want_rc=$4 want_out=$5
  local out rc=0
  out=$(QEMU_MACHINE=$machine ./qemu-run.sh "$machine" "target/$triple/release/$bin" 2>&1) || rc=$?
  printf '%s\n' "$out" | sed "s/^/  [$machine $bin] /"
  if [ "$rc" -eq "$want_rc" ] && grep -q "^$want_out" <<<"$out"; then
    pass "$machine $bin (exit $rc)"
  else
    fail "$machine $bin: exit $rc, expected $want_rc and a line starting with '$want_out'"
  fi
}

# run_tests <machine> <triple> <cargo args...>: on-target tests through `cargo test`, the machine
# swapped through CARGO_TARGET_<TRIPLE>_RUNNER (docs/toolchain.md §4); counts come from the
# harness's JSON test events (firmware/tests/on_target.rs), read by scripts/test-events.py.
run_tests() {
  local machine=$1 triple=$2
  shift 2
  local out rc=0 counts p f var
  var=CARGO_TARGET_$(tr 'a-z-' 'A-Z_' <<<"$triple")_RUNNER
  out=$(env "$var=./qemu-run.sh $machine" cargo test -q "$@" 2>&1) || rc=$?
  grep -v '^{"type"' <<<"$out" | sed "s/^/  [$machine on_target] /"
  if ! grep -q '^{"type":"suite"' <<<"$out"; then
    fail "$machine on_target: no suite event (exit $rc)"
    return
  fi
  if ! counts=$(python3 "$root/scripts/test-events.py" <<<"$out"); then
    fail "$machine on_target: malformed or inconsistent test events"
    return
  fi
  read -r p f <<<"$counts"
  passed=$((passed + p))
  failed=$((failed + f))
  if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then
    fail "$machine on_target: exit $rc despite $p passed, 0 failed"
  fi
}

for spec in mps2-an386:thumbv7em-none-eabihf:M4 mps2-an500:thumbv7em-none-eabihf:M4 \
  lm3s6965evb:thumbv7m-none-eabi:M3 microbit:thumbv6m-none-eabi:M0; do
  IFS=: read -r machine triple cargs <<<"$spec"
  declare -n args=$cargs
  step "QEMU $machine"
  run_program "$machine" "$triple" check "$check_rc" "$check_out"
  run_program "$machine" "$triple" fault 102 "HardFault at"
  run_program "$machine" "$triple" expected_panic 0 "panicked (expected)"
  run_tests "$machine" "$triple" "${args[@]}"
  unset -n args
done

step "size report and budgets (firmware/budgets.toml)"
if "$root/scripts/size-report.sh"; then
  pass "size budgets"
else
  fail "size budgets (scripts/size-report.sh)"
fi

# Host ↔ firmware agreement and serial streaming: the `lifted-tests` package of the root workspace
# builds its own firmware configurations (LIFTED_MODEL / LIFTED_GOLDEN), runs `golden` on
# mps2-an386, mps2-an500, lm3s6965evb and microbit (demo model, 1797 digits) and on mps2-an386 with
# the 784-128-128-10 model (200 MNIST images), runs `serve` with `lifted remote` over a TCP serial
# port, and compares everything with the host's lifted-core results bit for bit. Every test counts
# as one passed/failed check, and any mismatch line fails the step.
run_host_tests() {
  local out rc=0 counts p f bad expected events
  events=$(mktemp)
  # The tests to expect, from libtest's list (`name: test` lines); each reports a JSON event
  # into $events when it ends (tests/src/events.rs), and one that never reports counts as failed.
  expected=$(cd "$root" && cargo test -q --locked -p lifted-tests -- --list --format terse 2>/dev/null |
    grep -c ': test$' || true)
  out=$(cd "$root" && LIFTED_TEST_EVENTS=$events cargo test -q --locked -p lifted-tests -- --nocapture 2>&1) || rc=$?
  out=$(sed -E 's/^\.+//' <<<"$out") # `-q` prints a dot per finished test, before other lines
  grep -E '^(golden |  device: |remote |remote: |skipped )' <<<"$out" |
    sed 's/^/  [lifted-tests] /'
  if ! counts=$(python3 "$root/scripts/test-events.py" --expect "$expected" "$events"); then
    counts="0 $expected"
  fi
  rm -f "$events"
  read -r p f <<<"$counts"
  echo "  [lifted-tests] test events: $p passed, $f failed of $expected tests"
  passed=$((passed + p))
  failed=$((failed + f))
  bad=$(grep -cE '(^golden .*: [0-9]+ inputs, [1-9][0-9]* mismatches|^remote: [1-9][0-9]* mismatches)' <<<"$out" || true)
  if [ "$rc" -ne 0 ] || [ "$bad" -ne 0 ] || [ "$expected" -eq 0 ]; then
    printf '%s\n' "$out" | tail -n 80 | sed 's/^/  [lifted-tests] /'
    fail "lifted-tests: exit $rc, $bad golden/remote runs with mismatches, $expected tests listed"
  fi
}

step "host <-> firmware: golden runs and serial streaming (cargo test -p lifted-tests)"
run_host_tests

step "done"
echo "firmware: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
