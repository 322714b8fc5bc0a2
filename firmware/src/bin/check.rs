//! Validates the embedded model at boot: prints `model ok: <dims>` and exits 0, or prints
//! `model error: <reason>` and exits 1.
//!
//! `cargo run --release` (from `firmware/`) runs it under QEMU `mps2-an386`.
#![no_std]
#![no_main]

use cortex_m_rt::entry;
use lifted_firmware::lifted_core::ModelView;
use lifted_firmware::{exit, hprint, hprintln, MODEL};

#[entry]
fn main() -> ! {
    match ModelView::new_checked(&MODEL.0) {
        Ok(view) => {
            // Dimensions n0-n1-…-nL, e.g. `784-128-10`.
            hprint!("model ok: {}", view.input_dim());
            for k in 1..=view.layers() {
                hprint!("-{}", view.width(k));
            }
            hprintln!(
                " ({} layers, K = {}, {} parameter bytes, {} blob bytes)",
                view.layers(),
                view.sweeps(),
                view.parameter_bytes(),
                MODEL.0.len()
            );
            exit(0)
        }
        Err(e) => {
            hprintln!("model error: {}", e);
            exit(1)
        }
    }
}
