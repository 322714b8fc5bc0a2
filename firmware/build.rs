//! Build script of `lifted-firmware`:
//! 1. picks the memory map for the QEMU machine from the Cargo features (docs/toolchain.md §3);
//! 2. copies the model blob named by `LIFTED_MODEL` (default `models/demo.lfm`; relative paths are
//!    relative to `firmware/`) to `$OUT_DIR/model.lfm`, where `src/lib.rs` embeds it;
//! 3. copies the golden input file named by `LIFTED_GOLDEN` (default `golden/digits.lgi`) to
//!    `$OUT_DIR/golden.lgi`, where `src/bin/golden.rs` embeds it;
//! 4. links with cortex-m-rt's `link.x`.
use std::{env, fs, path::PathBuf};

fn main() {
    let manifest = PathBuf::from(
        env::var_os("CARGO_MANIFEST_DIR").expect("CARGO_MANIFEST_DIR is set by cargo"),
    );
    let out = PathBuf::from(env::var_os("OUT_DIR").expect("OUT_DIR is set by cargo"));
    let target = env::var("TARGET").unwrap_or_default();

    // 1. Memory map.
    let lm3s = env::var_os("CARGO_FEATURE_LM3S").is_some();
    let microbit = env::var_os("CARGO_FEATURE_MICROBIT").is_some();
    let map = match (lm3s, microbit) {
        (true, true) => panic!(
            "features `lm3s` and `microbit` select different memory maps; enable at most one"
        ),
        (true, false) => "mem/lm3s6965evb.x",
        (false, true) => "mem/microbit.x",
        (false, false) => "mem/mps2.x",
    };
    if target.starts_with("thumbv6m") && !microbit {
        println!("cargo:warning=thumbv6m-none-eabi with the {map} memory map: QEMU `microbit` needs `--features microbit`");
    }
    if target.starts_with("thumbv7m-") && !lm3s {
        println!("cargo:warning=thumbv7m-none-eabi with the {map} memory map: QEMU `lm3s6965evb` needs `--features lm3s` (mps2-an385 works)");
    }
    fs::copy(manifest.join(map), out.join("memory.x")).expect("copy memory map");
    println!("cargo:rustc-link-search={}", out.display());
    println!("cargo:rerun-if-changed=mem");

    // 2. Model blob.
    let model =
        env::var_os("LIFTED_MODEL").map_or_else(|| PathBuf::from("models/demo.lfm"), PathBuf::from);
    let model = manifest.join(model); // no-op for absolute paths
    if let Err(e) = fs::copy(&model, out.join("model.lfm")) {
        panic!(
            "cannot copy the model blob {} (LIFTED_MODEL): {e}",
            model.display()
        );
    }
    println!("cargo:rerun-if-env-changed=LIFTED_MODEL");
    println!("cargo:rerun-if-changed={}", model.display());

    // 2b. Golden input file of the `golden` program (tests/tests/golden.rs in the root workspace).
    let golden = env::var_os("LIFTED_GOLDEN")
        .map_or_else(|| PathBuf::from("golden/digits.lgi"), PathBuf::from);
    let golden = manifest.join(golden);
    if let Err(e) = fs::copy(&golden, out.join("golden.lgi")) {
        panic!(
            "cannot copy the golden input file {} (LIFTED_GOLDEN): {e}",
            golden.display()
        );
    }
    println!("cargo:rerun-if-env-changed=LIFTED_GOLDEN");
    println!("cargo:rerun-if-changed={}", golden.display());

    // 4. Linker script (bins and tests only; rlibs ignore link args).
    if target.starts_with("thumb") {
        println!("cargo:rustc-link-arg=--nmagic");
        println!("cargo:rustc-link-arg=-Tlink.x");
    }
}
