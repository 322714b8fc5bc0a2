//! Build script of `lifted-nrf52840dk`:
//! 1. puts `memory.x` (nRF52840 without SoftDevice) on the linker search path;
//! 2. copies the model blob named by `LIFTED_MODEL` (default `models/demo.lfm`; relative paths are
//!    relative to `firmware/`, as for the QEMU package) to `$OUT_DIR/model.lfm`;
//! 3. links with cortex-m-rt's `link.x` and defmt's `defmt.x`.
use std::{env, fs, path::PathBuf};

fn main() {
    let manifest = PathBuf::from(
        env::var_os("CARGO_MANIFEST_DIR").expect("CARGO_MANIFEST_DIR is set by cargo"),
    );
    let firmware = manifest.join("../..");
    let out = PathBuf::from(env::var_os("OUT_DIR").expect("OUT_DIR is set by cargo"));

    fs::copy(manifest.join("memory.x"), out.join("memory.x")).expect("copy memory.x");
    println!("cargo:rustc-link-search={}", out.display());
    println!("cargo:rerun-if-changed=memory.x");

    let model =
        env::var_os("LIFTED_MODEL").map_or_else(|| PathBuf::from("models/demo.lfm"), PathBuf::from);
    let model = firmware.join(model); // no-op for absolute paths
    if let Err(e) = fs::copy(&model, out.join("model.lfm")) {
        panic!(
            "cannot copy the model blob {} (LIFTED_MODEL): {e}",
            model.display()
        );
    }
    println!("cargo:rerun-if-env-changed=LIFTED_MODEL");
    println!("cargo:rerun-if-changed={}", model.display());

    println!("cargo:rustc-link-arg-bins=--nmagic");
    println!("cargo:rustc-link-arg-bins=-Tlink.x");
    println!("cargo:rustc-link-arg-bins=-Tdefmt.x");
}
