#!/usr/bin/env bash
# Firmware size report and budget check (firmware/budgets.toml).
#
#   scripts/size-report.sh            # report and check firmware/budgets.toml (exit 1 on a violation)
#   SIZE_BUDGETS=other.toml scripts/size-report.sh
#
# For thumbv7em-none-eabihf (M4F/M7, run on mps2-an386), thumbv7m-none-eabi (M3, lm3s6965evb) and
# thumbv6m-none-eabi (M0, microbit), builds the `footprint` program in release with the digits
# benchmark model (64-32-10, K = 5, forward init) — and, on thumbv7em, once more with the
# 784-128-128-10 model to show the weights split — then reports:
#   flash        .vector_table + .text + .rodata + .data (what is flashed)
#   weights      the embedded model blob (symbol `lifted_firmware::MODEL::{{nested}}`)
#   code         flash without the weights
#   infer+cert   code of inference + certificate: the call-graph closure of `footprint::run`
#                (direct calls and branches in the disassembly; panic machinery not followed)
#   static RAM   .data + .bss + .uninit
#   stack        painted-stack high-water mark after one inference + both certificates (QEMU run)
#   heap         allocator symbols linked (__rust_alloc, __rg_alloc, __rdl_alloc, …, mangled or
#                not): must be none
# and checks them against firmware/budgets.toml. Tools: llvm-size, llvm-nm and llvm-objdump from
# the `llvm-tools` component; qemu-system-arm.
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
bin="$(rustc --print sysroot)/lib/rustlib/x86_64-unknown-linux-gnu/bin"
for t in llvm-size llvm-nm llvm-objdump; do
  [ -x "$bin/$t" ] || {
    echo "size-report.sh: $bin/$t missing — rustup component add llvm-tools" >&2
    exit 2
  }
done
command -v qemu-system-arm >/dev/null || {
  echo "size-report.sh: qemu-system-arm missing — run scripts/install-qemu.sh" >&2
  exit 2
}
budgets="${SIZE_BUDGETS:-$root/firmware/budgets.toml}" # SIZE_BUDGETS: another budget file
models="$root/firmware/target/bench-models"
out="$root/firmware/target/size"

# Always rewritten (seeded, a second's work): models left by an older format would not load.
echo "== models -> firmware/target/bench-models" >&2
(cd "$root" && cargo run -q -p lifted-core --example make_bench_models -- "$models" >/dev/null)
cd "$root/firmware" # cargo reads firmware/.cargo/config.toml from here

# budget <triple> <key>: the value from budgets.toml (empty if absent).
budget() {
  awk -v sec="[$1]" -v key="$2" '
    { sub(/#.*/, "") }
    /^\[/ { insec = ($1 == sec); next }
    insec && $1 == key && $2 == "=" { print $3; exit }' "$budgets"
}

# section <elf> <name>: size of an output section (0 if absent).
section() { "$bin/llvm-size" -A "$1" | awk -v s="$2" '$1==s {print $2; f=1} END {if (!f) print 0}'; }

# infer_cert <elf>: writes the call-graph closure of footprint::run to $out/closure.txt.
infer_cert() {
  local elf=$1 root_sym
  root_sym=$("$bin/llvm-nm" "$elf" | awk '$3 ~ /9footprint3run/ && !f {print $3; f = 1}')
  [ -n "$root_sym" ] || {
    echo "size-report.sh: footprint::run not found in $elf" >&2
    exit 1
  }
  "$bin/llvm-objdump" -d --no-show-raw-insn "$elf" | awk -v root="$root_sym" -v stop="panic|rust_begin_unwind" '
    /^[0-9a-f]+ <[^>]+>:$/ { cur = $0; sub(/^[0-9a-f]+ </, "", cur); sub(/>:$/, "", cur); next }
    cur != "" && $0 ~ /\tb[a-z.]*\t/ && match($0, /<[^>+]+>/) {
      t = substr($0, RSTART + 1, RLENGTH - 2)
      if (t != cur) edges[cur] = edges[cur] " " t
    }
    END {
      q[1] = root; seen[root] = 1; n = 1
      for (i = 1; i <= n; i++) {
        f = q[i]; print f
        if (f ~ stop) continue
        m = split(edges[f], e, " ")
        for (j = 1; j <= m; j++) if (!(e[j] in seen)) { seen[e[j]] = 1; q[++n] = e[j] }
      }
    }' >"$out/closure.txt"
}

# closure_bytes <elf>: bytes of the call-graph closure of footprint::run (mawk has no strtonum).
closure_bytes() {
  local elf=$1
  infer_cert "$elf"
  "$bin/llvm-nm" -S "$elf" | awk 'NR == FNR { want[$1] = 1; next } NF == 4 && ($4 in want) { print $2 }' "$out/closure.txt" - |
    while read -r h; do echo $((16#$h)); done | awk '{ s += $1 } END { print s + 0 }'
}

check() { # check <triple> <key> <value>; violations go to $out/violations.txt
  local b
  b=$(budget "$1" "$2")
  if [ -z "$b" ]; then
    printf '%s' "-"
  elif [ "$3" -le "$b" ]; then
    printf '%s' "ok ≤ $b"
  else
    printf '%s' "OVER $b"
    echo "budget: $1 $2 = $3 > $b" >>"$out/violations.txt"
  fi
}

mkdir -p "$out"
: >"$out/violations.txt"
printf '%-22s %-7s %-11s %8s %8s %8s %10s %8s %7s %5s\n' target model machine flash weights code infer+cert "static" stack heap
rows=""
# target:features:machine:model
for spec in thumbv7em-none-eabihf::mps2-an386:digits-k5 thumbv7em-none-eabihf::mps2-an386:mnist-k5 \
  thumbv7m-none-eabi:lm3s:lm3s6965evb:digits-k5 thumbv6m-none-eabi:microbit:microbit:digits-k5; do
  IFS=: read -r triple features machine model <<<"$spec"
  CARGO_TARGET_DIR="$out" LIFTED_MODEL="$models/$model.lfm" \
    cargo build -q --release --bin footprint --target "$triple" ${features:+--features "$features"}
  elf="$out/$triple/release/footprint"
  vt=$(section "$elf" .vector_table)
  text=$(section "$elf" .text)
  ro=$(section "$elf" .rodata)
  data=$(section "$elf" .data)
  bss=$(section "$elf" .bss)
  uninit=$(section "$elf" .uninit)
  flash=$((vt + text + ro + data))
  wsym=$("$bin/llvm-nm" -S "$elf" | awk '$4 ~ /15lifted_firmware5MODEL/ && NF == 4 && !f {print $2; f = 1}')
  weights=$((16#${wsym:-0}))
  blob=$(stat -c %s "$models/$model.lfm")
  if [ "$weights" -lt "$blob" ]; then
    echo "size-report.sh: model symbol ($weights B) smaller than the blob ($blob B) in $elf" >&2
    exit 1
  fi
  code=$((flash - weights))
  ic=$(closure_bytes "$elf")
  ram=$((data + bss + uninit))
  # Since Rust 1.88 these shims are mangled (`_RNv…7___rustc12___rust_alloc`): match inside names.
  heap=$("$bin/llvm-nm" "$elf" | grep -cE '(__rust_alloc|__rust_realloc|__rust_dealloc|__rg_alloc|__rdl_alloc|__rust_no_alloc_shim)' || true)
  run=$(QEMU_TIMEOUT=120 ./qemu-run.sh "$machine" "$elf" 2>&1) || {
    echo "$run" >&2
    echo "size-report.sh: footprint failed on $machine" >&2
    exit 1
  }
  stack=$(awk '/^footprint: stack/ {print $3}' <<<"$run")
  [ -n "$stack" ] || {
    echo "$run" >&2
    exit 1
  }
  printf '%-22s %-7s %-11s %8d %8d %8d %10d %8d %7d %5d\n' "$triple" "${model%-k5}" "$machine" \
    "$flash" "$weights" "$code" "$ic" "$ram" "$stack" "$heap"
  # Budgets are for the digits build (the code does not depend on the model).
  if [ "$model" = digits-k5 ]; then
    rows+="$triple infer_cert_code $ic"$'\n'
    rows+="$triple flash_without_weights $code"$'\n'
    rows+="$triple static_ram $ram"$'\n'
    rows+="$triple stack $stack"$'\n'
    rows+="$triple heap $heap"$'\n'
  fi
done

echo
echo "Budgets (firmware/budgets.toml):"
while read -r triple key value; do
  [ -n "$triple" ] || continue
  printf '  %-22s %-22s %8d  %s\n' "$triple" "$key" "$value" "$(check "$triple" "$key" "$value")"
done <<<"$rows"
violations=$(wc -l <"$out/violations.txt")
if [ "$violations" -ne 0 ]; then
  echo "size-report: $violations budget violation(s):" >&2
  cat "$out/violations.txt" >&2
  exit 1
fi
echo "size-report: all budgets met"
