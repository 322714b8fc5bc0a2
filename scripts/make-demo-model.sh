#!/usr/bin/env bash
# Makes firmware/models/demo.lfm, the firmware's default embedded model, with `lifted train` and
# `lifted export`: a 64-32-10 ReLU network for the 8x8 digits (family A, forward init, K = 3),
# trained with AROVR and the Lipschitz margin (docs/method.md §5.11), seed 0, one thread.
#
#   bash scripts/make-demo-model.sh            # writes firmware/models/demo.lfm
#   bash scripts/make-demo-model.sh OUT.lfm    # writes OUT.lfm instead
#
# Training is deterministic for a given thread count and CPU (the matrix kernels are chosen for the
# CPU at run time, so another CPU may round differently in the last bits); the committed blob
# records its training configuration in its metadata (`lifted inspect --model ...`), which
# host/tests/demo_model.rs checks against the flags below.
set -euo pipefail
cd "$(dirname "$0")/.."
out=${1:-firmware/models/demo.lfm}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
lifted() { cargo run -q --release --locked -p lifted -- "$@"; }
lifted train --dataset digits --widths 32,10 --sweeps 3 --objective arovr --epochs 30 \
  --lr 3e-3 --lip-margin-eps 0.3 --seed 0 --threads 1 --out "$work/run"
lifted export --params "$work/run/best.params.json" --out "$work/model.lfm"
cp "$work/model.lfm" "$out"
echo "wrote $out"
