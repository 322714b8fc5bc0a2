//! Golden run: `infer` and both certificates (ℓ2 and ℓ∞, with the internal radii) on every input
//! of the embedded golden file, one line per input with the f32 bit patterns
//! (`lifted_proto::golden::write_result`), then a summary line; exits 0.
//!
//! The golden file is chosen at build time like the model: `LIFTED_GOLDEN` (default
//! `golden/digits.lgi`, relative to `firmware/`) is copied by `build.rs` to
//! `$OUT_DIR/golden.lgi` and embedded here. `tests/tests/golden.rs` (root workspace) runs this
//! program on every QEMU machine and compares its lines with the host's, bit for bit.
//!
//! Exit status: 0 after the summary (also when some inference failed: that is part of the
//! compared output), 1 if the model or the golden file cannot be used.
#![no_std]
#![no_main]

use core::fmt::{self, Write};

use cortex_m_rt::entry;
use cortex_m_semihosting::hio;
use lifted_firmware::infer_and_certify;
use lifted_firmware::lifted_core::{ModelView, Workspace};
use lifted_firmware::{exit, hprintln, MODEL};
use lifted_proto::golden::{self, Golden, Tally};

static GOLDEN: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/golden.lgi"));

/// Largest input dimension and workspace (f32 values) this build holds: the microbit has 16 KB of
/// RAM, lm3s6965evb 64 KB, the MPS2 boards 4 MB.
#[cfg(feature = "microbit")]
const LIMITS: (usize, usize) = (256, 1024);
#[cfg(feature = "lm3s")]
const LIMITS: (usize, usize) = (1024, 2048);
#[cfg(not(any(feature = "microbit", feature = "lm3s")))]
const LIMITS: (usize, usize) = (1024, 8192);
const MAX_DIM: usize = LIMITS.0;
const MAX_WORKSPACE: usize = LIMITS.1;

static mut PIXELS: [u8; MAX_DIM] = [0; MAX_DIM];
static mut INPUT: [f32; MAX_DIM] = [0.0; MAX_DIM];
static mut WORKSPACE: [f32; MAX_WORKSPACE] = [0.0; MAX_WORKSPACE];

/// One output line, written to semihosting stdout with a single call.
struct Line {
    buf: [u8; 1024],
    len: usize,
}

impl Write for Line {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        let end = self.len + s.len();
        let dst = self.buf.get_mut(self.len..end).ok_or(fmt::Error)?;
        dst.copy_from_slice(s.as_bytes());
        self.len = end;
        Ok(())
    }
}

impl Line {
    fn emit(&mut self, out: &mut hio::HostStream, body: impl FnOnce(&mut Line) -> fmt::Result) {
        self.len = 0;
        if body(self).is_err() {
            // Never silently truncated: a cut line would not compare equal to the host's anyway.
            self.len = self.len.min(self.buf.len() - 17);
            let _ = self.write_str(" <line too long>");
        }
        let _ = self.write_str("\n");
        if out
            .write_all(self.buf.get(..self.len).unwrap_or(&[]))
            .is_err()
        {
            exit(1);
        }
    }
}

#[entry]
fn main() -> ! {
    let model = match ModelView::new_checked(&MODEL.0) {
        Ok(m) => m,
        Err(e) => {
            hprintln!("golden: model error: {}", e);
            exit(1)
        }
    };
    let file = match Golden::new(GOLDEN) {
        Ok(g) => g,
        Err(e) => {
            hprintln!("golden: input file error: {}", e);
            exit(1)
        }
    };
    let n0 = model.input_dim();
    if file.dim() != n0 {
        hprintln!(
            "golden: the golden file has {} inputs per sample, the model {}",
            file.dim(),
            n0
        );
        exit(1);
    }
    if n0 > MAX_DIM || Workspace::required(&model) > MAX_WORKSPACE {
        hprintln!(
            "golden: model too large for this build ({} inputs, workspace {} f32; limits {} and {})",
            n0,
            Workspace::required(&model),
            MAX_DIM,
            MAX_WORKSPACE
        );
        exit(1);
    }
    // SAFETY: `main` runs once and is the only user of these buffers (no interrupts).
    let (pixels, x, ws) = unsafe {
        (
            &mut *core::ptr::addr_of_mut!(PIXELS),
            &mut *core::ptr::addr_of_mut!(INPUT),
            &mut *core::ptr::addr_of_mut!(WORKSPACE),
        )
    };
    let x = &mut x[..n0];
    let Ok(mut out) = hio::hstdout() else { exit(1) };
    let mut line = Line {
        buf: [0; 1024],
        len: 0,
    };
    line.emit(&mut out, |w| golden::write_header(w, &model, &file));

    let mut tally = Tally::default();
    let mut samples = file.samples();
    let mut index = 0usize;
    while let Some(next) = samples.next_input(pixels, x) {
        let label = match next {
            Ok(label) => label,
            Err(e) => {
                hprintln!("golden: input file error at sample {}: {}", index, e);
                exit(1)
            }
        };
        let mut workspace = Workspace::new(&mut ws[..]);
        let result = infer_and_certify(&model, x, &mut workspace);
        tally.add(label, &result);
        line.emit(&mut out, |w| golden::write_result(w, index, label, &result));
        index += 1;
    }
    line.emit(&mut out, |w| tally.write(w));
    exit(0)
}
