//! On-target tests of lifted-core (docs/toolchain.md §6): a table of tests run under QEMU
//! by `cargo test` from `firmware/`, ending with `N passed, M failed` and a semihosting exit status
//! (0 when all pass, 1 otherwise).
//!
//! The f32 expectations are exact bit patterns computed on the host (x86-64) with a plain
//! left-to-right loop and with `lifted_core::kernels` itself; both agreed. Passing here therefore
//! means the target computes the same bits as the host — with the hardware FPU (M4F/M7), and with
//! soft float (M3/M0), subnormals included.
#![no_std]
#![no_main]

use cortex_m_rt::entry;
use lifted_firmware::lifted_core::format::CRC32;
use lifted_firmware::lifted_core::{kernels, Activation, Error, ModelView, FORMAT_VERSION};
use lifted_firmware::{exit, hprintln, MODEL};

/// 6×3 row-major: rows 0–3 go through the 4-row block of `kernels::affine`, rows 4–5 through the
/// single-row remainder; row 5 is subnormal and its outputs stay subnormal.
#[rustfmt::skip]
const W: [f32; 18] = [
    0.3, 0.7, -0.2,
    1.1, -0.45, 0.9,
    -2.5, 0.125, 1.0e-3,
    3.0417, 2.5183, -1.6021,
    0.333333, -0.666667, 0.999999,
    1.0e-39, 2.5e-39, -3.0e-40,
];
const B: [f32; 6] = [0.01, -0.02, 0.5, -1.0, 1.0e-7, 0.0];
const X: [f32; 3] = [0.1, -1.7, 3.3];
const D: [f32; 6] = [0.5, -0.25, 1.5, 0.1, -3.0, 7.0];

/// `W X + B`, from the host.
const AFFINE_BITS: [u32; 6] = [
    0xbfe7_ae16, // -1.8100002
    0x4074_cccc, // 3.8249998
    0x3d27_1de5, // 4.0799994e-2
    0xc124_38d0, // -10.26387
    0x408e_eee9, // 4.466664
    0x8037_f83b, // -5.14e-39 (subnormal)
];
/// `Wᵀ D`, from the host.
const AFFINE_T_BITS: [u32; 3] = [
    0xc092_443b, // -4.570829
    0x4039_b799, // 2.901831
    0xc05e_f50e, // -3.483707
];
/// `0.25 + W[3..9] · D`, from the host.
const DOT_FROM_BITS: u32 = 0x3fd2_7ef8; // 1.6444998

fn affine_bits() -> bool {
    let mut y = [f32::NAN; 6];
    kernels::affine(&W, &B, &X, &mut y);
    y.map(f32::to_bits) == AFFINE_BITS
}

fn affine_t_bits() -> bool {
    let mut y = [f32::NAN; 3];
    kernels::affine_t(&W, &D, &mut y);
    y.map(f32::to_bits) == AFFINE_T_BITS
}

fn dot_from_bits() -> bool {
    kernels::dot_from(0.25, &W[3..9], &D).to_bits() == DOT_FROM_BITS
}

fn affine_short_slices_do_not_panic() -> bool {
    // Documented: shorter slices than the shapes imply are treated as absent rows (no panic).
    let mut y = [7.0f32; 6];
    kernels::affine(&W[..7], &B, &X, &mut y);
    y[0].to_bits() == AFFINE_BITS[0] && y[1].to_bits() == AFFINE_BITS[1] && y[2] == 7.0
}

fn relu_negative_zero_is_positive_zero() -> bool {
    Activation::Relu.apply(-0.0).to_bits() == 0
}

fn relu_keeps_nan_and_positives() -> bool {
    Activation::Relu.apply(f32::NAN).is_nan()
        && Activation::Relu.apply(2.5) == 2.5
        && Activation::Relu.apply(-1.0).to_bits() == 0
}

fn clipped_relu_clips() -> bool {
    let a = Activation::ClippedRelu { bound: 1.5 };
    a.apply(3.0) == 1.5 && a.apply(0.75) == 0.75 && a.apply(-0.0).to_bits() == 0
}

fn bad_magic() -> bool {
    ModelView::new_checked(b"XXXX............................").err() == Some(Error::BadMagic)
}

fn truncated_prefix() -> bool {
    matches!(
        ModelView::new_checked(b"LIFT"),
        Err(Error::Truncated { got: 4, .. })
    )
}

/// Writes the trailing CRC-32, which the loader checks before any other field.
fn seal(blob: &mut [u8; 20]) {
    let crc = CRC32.checksum(&blob[..16]);
    blob[16..].copy_from_slice(&crc.to_le_bytes());
}

/// A good prefix whose header length points past the end of the blob.
fn truncated_header() -> bool {
    let mut blob = [0u8; 20];
    blob[..4].copy_from_slice(b"LIFT");
    blob[4..6].copy_from_slice(&FORMAT_VERSION.to_le_bytes());
    blob[8..12].copy_from_slice(&1000u32.to_le_bytes());
    seal(&mut blob);
    matches!(ModelView::new_checked(&blob), Err(Error::Truncated { needed, got: 20 }) if needed > 1000)
}

fn unsupported_version() -> bool {
    let mut blob = [0u8; 20];
    blob[..4].copy_from_slice(b"LIFT");
    blob[4..6].copy_from_slice(&FORMAT_VERSION.wrapping_add(1).to_le_bytes());
    seal(&mut blob);
    ModelView::new_checked(&blob).err()
        == Some(Error::UnsupportedVersion {
            found: FORMAT_VERSION.wrapping_add(1),
            expected: FORMAT_VERSION,
        })
}

fn embedded_model_is_aligned() -> bool {
    (MODEL.0.as_ptr() as usize).is_multiple_of(4) && !MODEL.0.is_empty()
}

/// A named test: `true` means pass.
type Test = (&'static str, fn() -> bool);

const TESTS: &[Test] = &[
    ("affine_bits", affine_bits),
    ("affine_t_bits", affine_t_bits),
    ("dot_from_bits", dot_from_bits),
    (
        "affine_short_slices_do_not_panic",
        affine_short_slices_do_not_panic,
    ),
    (
        "relu_negative_zero_is_positive_zero",
        relu_negative_zero_is_positive_zero,
    ),
    ("relu_keeps_nan_and_positives", relu_keeps_nan_and_positives),
    ("clipped_relu_clips", clipped_relu_clips),
    ("bad_magic", bad_magic),
    ("truncated_prefix", truncated_prefix),
    ("truncated_header", truncated_header),
    ("unsupported_version", unsupported_version),
    ("embedded_model_is_aligned", embedded_model_is_aligned),
];

#[entry]
fn main() -> ! {
    let mut failed = 0usize;
    for (name, test) in TESTS {
        let ok = test();
        hprintln!("test {} ... {}", name, if ok { "ok" } else { "FAILED" });
        if !ok {
            failed += 1;
        }
    }
    hprintln!("{} passed, {} failed", TESTS.len() - failed, failed);
    exit(if failed == 0 { 0 } else { 1 })
}
