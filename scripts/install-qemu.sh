#!/usr/bin/env bash
# Installs qemu-system-arm 10.0.2 from bookworm-backports (docs: docs/toolchain.md §2).
#
# - Idempotent: does nothing when `qemu-system-arm` is already on PATH.
# - Uses bookworm-backports, not plain bookworm: plain bookworm only has QEMU 7.2 and would remove a
#   backports `qemu-utils` 10.0.2 already on the image.
# - `--no-install-recommends` keeps it at ~19 packages instead of ~100 (GUI/audio).
# - Reuses the Debian URI already configured in /etc/apt, so no mirror host name is written here.
# Needs root (or passwordless sudo).
set -euo pipefail

if command -v qemu-system-arm >/dev/null 2>&1; then
  qemu-system-arm --version | head -n 1
  exit 0
fi

SUDO=""
if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null 2>&1; then
    SUDO="sudo"
  else
    echo "install-qemu.sh: qemu-system-arm is missing and installing it needs root (or sudo)" >&2
    exit 1
  fi
fi

src=/etc/apt/sources.list.d/debian.sources
uri=$(awk '/^URIs:/{print $2; exit}' "$src" 2>/dev/null || true)
if [ -z "$uri" ]; then
  echo "install-qemu.sh: no Debian URI found in $src" >&2
  exit 1
fi
echo "deb $uri bookworm-backports main" | $SUDO tee /etc/apt/sources.list.d/backports.list >/dev/null
$SUDO apt-get update -qq
$SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
  -t bookworm-backports qemu-system-arm
qemu-system-arm --version | head -n 1
