#!/usr/bin/env bash
# Set up the independent JAX/NumPy reference trainer that lives beside the repository
# (../shared/bench/jax_ref) in its own virtual environment, for scripts/make-jax-fixture.sh and
# scripts/bench-vs-jax.sh.
#
#   scripts/jax-ref-env.sh            prints the venv's python on the last line of stdout
#
# - The venv lives in the git-ignored target/jax-ref/.venv (override with JAX_REF_VENV); the
#   reference's pinned requirements.txt is installed with pip, and nothing is installed again
#   when the venv already has exactly those pins (a stamp file holds the requirements' hash).
# - The reference folder can be moved with JAX_REF_DIR (default ../shared/bench/jax_ref relative
#   to the repository root). The reference folder itself is only read, never written.
# - MNIST for the reference: scripts/fetch-data.sh mnist (the same verified IDX files lifted
#   uses), passed to the reference with --data-dir data/mnist.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)

JAX_REF_DIR="${JAX_REF_DIR:-$ROOT/../shared/bench/jax_ref}"
VENV="${JAX_REF_VENV:-$ROOT/target/jax-ref/.venv}"
PYTHON3="${PYTHON3:-python3}"

die() { echo "jax-ref-env: error: $*" >&2; exit 1; }
say() { echo "jax-ref-env: $*" >&2; }

[ -f "$JAX_REF_DIR/requirements.txt" ] ||
  die "no reference at $JAX_REF_DIR (set JAX_REF_DIR to the jax_ref folder)"
command -v "$PYTHON3" >/dev/null 2>&1 || die "\`$PYTHON3\` not found (Python ≥ 3.10 with venv)"

req="$JAX_REF_DIR/requirements.txt"
want=$(sha256sum "$req" | cut -d' ' -f1)
stamp="$VENV/.lifted-requirements.sha256"
if [ -x "$VENV/bin/python" ] && [ "$(cat "$stamp" 2>/dev/null)" = "$want" ]; then
  say "venv up to date: $VENV"
else
  say "creating $VENV from $req"
  mkdir -p "$(dirname "$VENV")"
  "$PYTHON3" -m venv "$VENV"
  "$VENV/bin/python" -m pip install --quiet --upgrade pip >&2
  "$VENV/bin/python" -m pip install --quiet -r "$req" >&2
  echo "$want" >"$stamp"
fi
"$VENV/bin/python" -c 'import jax, numpy; print("jax-ref-env: jax", jax.__version__, "numpy", numpy.__version__)' >&2
echo "$VENV/bin/python"
