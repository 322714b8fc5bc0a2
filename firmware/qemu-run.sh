#!/usr/bin/env bash
# Cargo runner for the QEMU programs and on-target tests (docs/toolchain.md §4–5).
#
#   qemu-run.sh <default-machine> <elf> [args ignored]
#
# - The machine is $QEMU_MACHINE if set, else <default-machine> (set per target in
#   .cargo/config.toml: mps2-an386, lm3s6965evb, microbit).
# - QEMU's exit status is the program's semihosting exit status (0 ok, 1 failure, 101 panic,
#   102 HardFault, 103 other exception) and is passed through, so `cargo run`/`cargo test` fail
#   when the firmware fails.
# - Every run is wrapped in `timeout ${QEMU_TIMEOUT:-60}` (exit 124), so nothing can hang CI.
set -uo pipefail

if [ $# -lt 2 ]; then
  echo "usage: $0 <default-machine> <elf>" >&2
  exit 2
fi
machine=${QEMU_MACHINE:-$1}
elf=$2

# Refuse machine/target pairs that can only hang or fault (the ELF path names the target).
case "$elf" in
  */thumbv7em-none-eabihf/*) ok="mps2-an386 mps2-an500" ;;
  */thumbv7m-none-eabi/*) ok="lm3s6965evb mps2-an385" ;;
  */thumbv6m-none-eabi/*) ok="microbit" ;;
  *) ok="" ;;
esac
if [ -n "$ok" ] && [[ " $ok " != *" $machine "* ]]; then
  echo "qemu-run: $elf cannot run on QEMU machine '$machine' (use one of: $ok)" >&2
  exit 2
fi

# stdin from /dev/null: QEMU never touches the terminal, and --foreground keeps it out of a
# background process group (no SIGTTIN stop when run from an interactive shell).
timeout --foreground "${QEMU_TIMEOUT:-60}" \
  qemu-system-arm -machine "$machine" -nographic \
  -semihosting-config enable=on,target=native -kernel "$elf" </dev/null
rc=$?
if [ "$rc" -eq 124 ]; then
  echo "qemu-run: timed out after ${QEMU_TIMEOUT:-60}s on $machine (wrong memory map? lm3s6965evb needs --features lm3s, microbit needs --features microbit)" >&2
fi
exit "$rc"
