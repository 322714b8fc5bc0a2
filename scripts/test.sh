#!/usr/bin/env bash
# Runs every test of the repository: this is the README's test command.
#   1. the pinned toolchain's thumb targets and QEMU are installed first when missing (the
#      host <-> firmware tests need both);
#   2. the host workspace (lifted-core, lifted-proto, lifted), and
#   3. the firmware under QEMU on four Cortex-M machines, then the `lifted-tests` package (golden
#      runs bit for bit against the host, serial streaming with `lifted remote`): all in
#      scripts/firmware-ci.sh, so that they run once and count in its summary.
# It ends on the firmware's `firmware: N passed, M failed` line and fails on any mismatch.
set -euo pipefail
cd "$(dirname "$0")/.."
# The pinned toolchain with its components and thumb targets (rust-toolchain.toml). Idempotent:
# a toolchain that is present without the targets gets them added.
rustup toolchain install
bash scripts/install-qemu.sh
# The statistics behind docs/results.md: the Student-t p-values against known values.
python3 scripts/results-stats.py --self-test >/dev/null
cargo test --workspace --locked --exclude lifted-tests
bash scripts/firmware-ci.sh
