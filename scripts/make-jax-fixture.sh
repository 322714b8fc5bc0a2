#!/usr/bin/env bash
# Regenerate tests/fixtures/jax-ref-step/: one AROVR and one back-prop training step (plus a second
# step) of the independent JAX/NumPy reference trainer beside the repository, for the Rust
# cross-check host/tests/jax_ref_step.rs. See tests/fixtures/jax-ref-step/README.md.
#
#   scripts/make-jax-fixture.sh [OUT_DIR]      (default tests/fixtures/jax-ref-step)
#
# - Sets up the reference's venv with scripts/jax-ref-env.sh and MNIST with
#   scripts/fetch-data.sh mnist (verified IDX files in data/mnist).
# - Runs the reference's fixture.py with seed 43, 2 steps, the first 10 000 training images
#   (the configuration of scripts/bench-vs-jax.sh), and keeps its float32 set without the
#   784×128 W0 arrays after Adam steps (and back-prop's W0 gradient): they are 400 KB each and
#   exercise nothing that the smaller layers do not (the Adam update is elementwise; back-prop's
#   layer-1 delta is checked through grad_b0). The whole fixture stays under 2 MB.
# - Adds batch2_X.npy / batch2_Y.npy, the second mini-batch of epoch 1 (rows perm_e1[50:100]
#   of the same data, built by the reference's own loader), which fixture.py uses for its second
#   step but does not write; the script checks that the same rule reproduces fixture.py's X.npy.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)
OUT="${1:-$ROOT/tests/fixtures/jax-ref-step}"
JAX_REF_DIR="${JAX_REF_DIR:-$ROOT/../shared/bench/jax_ref}"
export JAX_REF_DIR

SEED=43
STEPS=2
TRAIN_SIZE=10000

PY=$(bash scripts/jax-ref-env.sh | tail -n 1)
bash scripts/fetch-data.sh mnist >&2
DATA="$ROOT/data/mnist"

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
"$PY" "$JAX_REF_DIR/fixture.py" --out "$tmp" --seed "$SEED" --steps "$STEPS" \
  --train-size "$TRAIN_SIZE" --data-dir "$DATA"

src="$tmp/f32"
"$PY" - "$JAX_REF_DIR" "$DATA" "$TRAIN_SIZE" "$src" <<'PYEOF'
import os, sys
import numpy as np
ref, data, n, src = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
sys.path.insert(0, ref)
import common
xtr, Ytr, _, _, _, _ = common.load_mnist(data, n, np.float32)
perm = np.load(os.path.join(src, "perm_e1.npy"))
B = 50
assert np.array_equal(xtr[perm[:B]], np.load(os.path.join(src, "X.npy")))
assert np.array_equal(Ytr[perm[:B]], np.load(os.path.join(src, "Y.npy")))
np.save(os.path.join(src, "batch2_X.npy"), xtr[perm[B:2 * B]])
np.save(os.path.join(src, "batch2_Y.npy"), Ytr[perm[B:2 * B]])
PYEOF

rm -f "$src/perm_e1.npy" "$src"/arovr/step*_W0.npy "$src"/bp/step*_W0.npy "$src/bp/grad_W0.npy"
mkdir -p "$OUT"
find "$OUT" -name '*.npy' -delete
rm -f "$OUT/manifest.json"
cp -r "$src"/. "$OUT"/
du -sh "$OUT" >&2
echo "make-jax-fixture: wrote $(find "$OUT" -name '*.npy' | wc -l) arrays to $OUT" >&2
