#!/usr/bin/env bash
# The Python environment of the ONNX export test (host/tests/onnx_export.rs): a virtual
# environment with pinned onnxruntime, onnx (for its model checker) and numpy, created on first
# use and reused while the pins are unchanged. Prints the environment's python on its last line
# of standard output.
#   bash scripts/onnx-env.sh [VENV_DIR]      (default: target/onnx-venv at the repository root)
# Needs python3 with the venv module (Debian: python3-venv) and pip access to the package
# registry; it fails with a message saying so otherwise, never silently.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
venv="${1:-$root/target/onnx-venv}"
# Pins: all three install from binary wheels (checked on CPython 3.11, the machine's python3).
pins=(onnxruntime==1.31.1 onnx==1.23.2 numpy==2.2.6)
stamp="$venv/.lifted-pins"
if [[ -x "$venv/bin/python" && -f "$stamp" && "$(cat "$stamp")" == "${pins[*]}" ]]; then
  echo "$venv/bin/python"
  exit 0
fi
py="${PYTHON:-python3}"
command -v "$py" >/dev/null || { echo "onnx-env: $py not found; install Python 3 with venv and pip" >&2; exit 1; }
rm -rf "$venv"
"$py" -m venv "$venv" >&2 || { echo "onnx-env: '$py -m venv' failed; install the venv module (Debian: apt-get install python3-venv)" >&2; exit 1; }
"$venv/bin/python" -m pip install --quiet --disable-pip-version-check "${pins[@]}" >&2 \
  || { echo "onnx-env: pip could not install ${pins[*]}" >&2; exit 1; }
"$venv/bin/python" -c 'import onnxruntime, onnx, numpy' >&2
echo "${pins[*]}" >"$stamp"
echo "$venv/bin/python"
