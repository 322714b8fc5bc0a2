#!/usr/bin/env bash
# Runs every test of the repository: this is the README's test command.
#   1. the host workspace (lifted-core, lifted, lifted-tests), and
#   2. the firmware under QEMU on four Cortex-M machines (installs QEMU when missing).
# It ends on the firmware's `firmware: N passed, M failed` line.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo test --workspace --locked
bash scripts/firmware-ci.sh
