#!/usr/bin/env bash
# Training throughput of `lifted train` against the independent JAX reference trainer beside the
# repository (issue 12, point 1), in one sitting on this machine:
#
#   784-128-128-10, batch 50, K = 5, the first 10 000 MNIST training samples, 1 epoch,
#   2 threads, seed 43; objectives arovr and bp.
#
#   scripts/bench-vs-jax.sh          (env: REPEATS=5, THREADS=2, JAX_LOOP=scan, WARMUP=20,
#                                     TRAIN_SIZE=10000, LIFTED=target/release/lifted)
#
# - Sets up the reference's venv (scripts/jax-ref-env.sh) and MNIST (scripts/fetch-data.sh
#   mnist), builds `lifted` in release.
# - Runs, REPEATS times, for each objective: lifted, then the reference — alternating, each a
#   fresh process.
# - lifted: the training time of epoch 1 alone, from its "epoch 1 trained N samples in S s" line
#   (the per-epoch measurement — validation/test accuracy, Lipschitz estimates — is excluded;
#   batch gathering is included). Reference: its own samples/s of epoch 1, timed over the jitted
#   training loop only (JAX_LOOP=scan: one lax.scan per epoch; `step`: one jitted call per
#   batch), after WARMUP untimed steps on a throw-away copy; compilation excluded.
# - Prints every raw value, then the medians and the ratio lifted/reference per objective.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)
JAX_REF_DIR="${JAX_REF_DIR:-$ROOT/../shared/bench/jax_ref}"
export JAX_REF_DIR
REPEATS="${REPEATS:-5}"
THREADS="${THREADS:-2}"
JAX_LOOP="${JAX_LOOP:-scan}"
WARMUP="${WARMUP:-20}"
TRAIN_SIZE="${TRAIN_SIZE:-10000}"
SEED=43
LIFTED="${LIFTED:-$ROOT/target/release/lifted}"

PY=$(bash scripts/jax-ref-env.sh | tail -n 1)
bash scripts/fetch-data.sh mnist >&2
cargo build --release -p lifted --locked >&2

out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT

echo "# date: $(date -u +%Y-%m-%dT%H:%MZ)  cpu: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)  nproc: $(nproc)"
echo "# 784-128-128-10 batch 50 K 5, $TRAIN_SIZE MNIST samples, 1 epoch, threads $THREADS, seed $SEED; repeats $REPEATS"
echo "# lifted: $("$LIFTED" --version 2>/dev/null || echo '?') (git $(git describe --always --dirty 2>/dev/null || echo "?"))"
echo "# reference: jax loop $JAX_LOOP, warm-up $WARMUP steps; $("$PY" -c 'import jax, numpy; print("jax", jax.__version__, "numpy", numpy.__version__)')"
echo "# loadavg before: $(cut -d' ' -f1-3 /proc/loadavg)"

run_lifted() { # objective rep
  local log="$out/lifted.$1.$2.log"
  "$LIFTED" train --dataset mnist --data-dir "$ROOT/data" --n-train "$TRAIN_SIZE" \
    --widths 128,128,10 --batch 50 --sweeps 5 --epochs 1 --threads "$THREADS" --seed "$SEED" \
    --objective "$1" --out "$out/run.$1.$2" --force >"$log" 2>&1
  local sps
  sps=$(sed -n 's/^epoch *1  trained [0-9]* samples in [0-9.]*s (\([0-9]*\) samples\/s.*/\1/p' "$log")
  [ -n "$sps" ] || { cat "$log" >&2; echo "bench-vs-jax: no training time in lifted's output" >&2; exit 1; }
  echo "$sps" >>"$out/lifted.$1"
}

run_ref() { # objective rep
  local json="$out/ref.$1.$2.jsonl"
  "$PY" "$JAX_REF_DIR/train.py" --objective "$1" --impl jax --jax-loop "$JAX_LOOP" \
    --train-size "$TRAIN_SIZE" --epochs 1 --batch 50 --seed "$SEED" --threads "$THREADS" \
    --warmup-steps "$WARMUP" --data-dir "$ROOT/data/mnist" --json "$json" >"$out/ref.$1.$2.log" 2>&1 ||
    { cat "$out/ref.$1.$2.log" >&2; exit 1; }
  "$PY" -c 'import json, sys
for l in open(sys.argv[1]):
    r = json.loads(l)
    if r.get("kind") == "epoch" and r.get("epoch") == 1:
        print(round(r["samples_per_s"]))' "$json" >>"$out/ref.$1"
}

for rep in $(seq "$REPEATS"); do
  for obj in arovr bp; do
    run_lifted "$obj" "$rep"
    run_ref "$obj" "$rep"
  done
done
echo "# loadavg after: $(cut -d' ' -f1-3 /proc/loadavg)"

"$PY" - "$out" <<'PYEOF'
import statistics, sys, os
out = sys.argv[1]
rows = []
for obj in ("arovr", "bp"):
    l = [float(x) for x in open(os.path.join(out, f"lifted.{obj}"))]
    r = [float(x) for x in open(os.path.join(out, f"ref.{obj}"))]
    print(f"# raw {obj:5s} lifted    " + " ".join(f"{x:.0f}" for x in l))
    print(f"# raw {obj:5s} reference " + " ".join(f"{x:.0f}" for x in r))
    rows.append((obj, statistics.median(l), statistics.median(r)))
print()
print("| objective | lifted (median samples/s) | JAX reference (median samples/s) | lifted / JAX |")
print("|---|---|---|---|")
for obj, ml, mr in rows:
    print(f"| {obj} | {ml:,.0f} | {mr:,.0f} | {ml / mr:.2f} |")
PYEOF
