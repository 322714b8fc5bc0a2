//! On-target tests of lifted-core (docs/toolchain.md §6): a table of tests run under QEMU
//! by `cargo test` from `firmware/`, ending with `N passed, M failed` and a semihosting exit status
//! (0 when all pass, 1 otherwise). Beside each human line it prints a JSON event (`{"type":"test",
//! "name":…,"event":"ok"|"failed"}`, then `{"type":"suite",…,"passed":N,"failed":M}`), which is
//! what `scripts/firmware-ci.sh` counts.
//!
//! The f32 expectations are exact bit patterns computed on the host (x86-64) with a plain
//! left-to-right loop and with `lifted_core::kernels` itself; both agreed. Passing here therefore
//! means the target computes the same bits as the host — with the hardware FPU (M4F/M7), and with
//! soft float (M3/M0), subnormals included.
#![no_std]
#![no_main]

use cortex_m_rt::entry;
use lifted_firmware::lifted_core::format::CRC32;
use lifted_firmware::lifted_core::kernels::Kernels;
use lifted_firmware::lifted_core::{
    self, kernels, Activation, Error, ModelView, Workspace, FORMAT_VERSION,
};
use lifted_firmware::{exit, hprintln, MODEL};
use lifted_firmware::{infer, TargetKernels};

/// 10×11 row-major, shaped for the blocks of `kernels::affine` and `kernels::affine_t` (8 rows ×
/// 8 columns per step): rows 0–7 go through one 8-row block, rows 8–9 through the single-row
/// remainder; columns 0–7 through one 8-column step, columns 8–10 through the column tail. Row 9 is
/// subnormal and its `affine` output stays subnormal; ±0 and a tiny weight are mixed in. The
/// hand-written M4F/M7 kernel (`lifted_firmware::TargetKernels` on thumbv7em, four rows per block)
/// sees two 4-row blocks, two remaining rows, one 8-column step and the same tail.
#[rustfmt::skip]
const W: [f32; 110] = [
    -2.359, 1.2155, 0.9123, 2.6421, -1.3733, -1.4653, 1.4044, 0.9507, -1.1821, 1.1054, -0.62,
    1.6651, -2.2896, -1.6604, 2.4088, -0.8518, -1.4376, 1.8257, 0.79, -2.1018, 0.308, 0.984,
    -2.0103, 0.9102, -2.2618, -0.9776, -2.5008, -0.0, 2.868, -0.5779, 2.9426, -0.3681, 0.6452,
    2.2356, 1.1213, -2.3308, 0.5345, 0.8024, -1.9128, -2.432, 2.2488, 0.0827, -1.837, -0.2844,
    -1.6909, 1.7895, 0.0029, -2.3854, 1.9088, -2.4628, -1.316, -2.832, 1e-07, -2.3168, 0.1546,
    -2.4421, -0.1174, 1.1122, 0.2091, -0.269, -0.0908, -0.3777, 0.5727, -2.4309, -0.1529, -1.5824,
    2.1927, 2.6341, -2.6013, -2.1402, 1.2208, 0.4287, -2.8854, 1.2294, 2.6636, -0.4613, -0.9151,
    0.4164, 2.6348, -1.4188, -1.1863, -1.8677, 0.7705, -0.1845, -1.4636, -0.6726, -2.7913, -1.1253,
    2.8974, 0.5163, -1.3045, 2.6168, -0.8503, -1.4908, -2.7892, -2.1228, -1.8058, -1.6198, 2.2379,
    1e-39, 2.5e-39, -3e-40, 0.0, 1.5e-39, -2e-39, 7e-40, -0.0, 1e-40, 3e-39, -1.2e-39,
];
const B: [f32; 10] = [0.01, -0.02, 0.5, -1.0, 1e-07, 0.0, 2.25, -0.75, 0.125, 0.0];
const X: [f32; 11] = [
    0.1, -1.7, 3.3, 0.25, -0.5, 1.0, 2.0, -2.5, 0.75, -0.125, 1.5,
];
const D: [f32; 10] = [0.5, -0.25, 1.5, 0.1, -3.0, 7.0, -1.25, 0.375, 2.0, -0.625];

/// `W X + B`, from the host.
const AFFINE_BITS: [u32; 10] = [
    0xbf6c27f8, // -9.224849e-1
    0xbe9ff824, // -3.1244004e-1
    0x402c7e34, // 2.6952028e0
    0xc1b967a8, // -2.3175613e1
    0xc00fb9df, // -2.2457197e0
    0xc0292a51, // -2.6432078e0
    0xc19bc547, // -1.9471327e1
    0xc0e07d1b, // -7.0152717e0
    0xc04fb978, // -3.245695e0
    0x805d896e, // -8.590002e-39
];
/// `Wᵀ D`, from the host.
const AFFINE_T_BITS: [u32; 11] = [
    0xc1533184, // -1.3199589e1
    0xc099c010, // -4.804695e0
    0x40a43f74, // 5.1327457e0
    0x41763c92, // 1.5389788e1
    0xc17ae590, // -1.5681046e1
    0x403d6c43, // 2.9597328e0
    0x40645776, // 3.5678382e0
    0x40b9e813, // 5.8095794e0
    0xc19ed310, // -1.9853058e1
    0x3ff482aa, // 1.9102376e0
    0xc0beb4a5, // -5.9595513e0
];
/// `0.25 + W[3..13] · D`, from the host.
const DOT_FROM_BITS: u32 = 0xc101_f7bf; // -8.122985e0

/// The matrix really reaches the block paths: at least one full 8-row block plus remaining rows,
/// and one full 8-column step plus a column tail.
const _: () =
    assert!(B.len() > 8 && !B.len().is_multiple_of(8) && X.len() > 8 && !X.len().is_multiple_of(8));

fn affine_bits() -> bool {
    let mut y = [f32::NAN; 10];
    kernels::affine(&W, &B, &X, &mut y);
    y.map(f32::to_bits) == AFFINE_BITS
}

/// The kernel `lifted_firmware::infer` uses on this target (hand-written on the M4F/M7).
fn target_kernel_affine_bits() -> bool {
    let mut y = [f32::NAN; 10];
    TargetKernels::default().affine(&W, &B, &X, &mut y);
    y.map(f32::to_bits) == AFFINE_BITS
}

fn affine_t_bits() -> bool {
    let mut y = [f32::NAN; 11];
    kernels::affine_t(&W, &D, &mut y);
    y.map(f32::to_bits) == AFFINE_T_BITS
}

fn dot_from_bits() -> bool {
    kernels::dot_from(0.25, &W[3..13], &D).to_bits() == DOT_FROM_BITS
}

fn affine_short_slices_do_not_panic() -> bool {
    // Documented: shorter slices than the shapes imply are treated as absent rows (no panic):
    // 2 complete rows of 11 in W[..23], so only y[0] and y[1] are written.
    let mut y = [7.0f32; 10];
    kernels::affine(&W[..23], &B, &X, &mut y);
    let mut z = [7.0f32; 10];
    TargetKernels::default().affine(&W[..23], &B, &X, &mut z);
    y[0].to_bits() == AFFINE_BITS[0]
        && y[1].to_bits() == AFFINE_BITS[1]
        && y[2..].iter().all(|&v| v == 7.0)
        && y.map(f32::to_bits) == z.map(f32::to_bits)
}

/// `lifted_firmware::infer` (this target's kernels) gives the same bits as the portable
/// `lifted_core::infer` on the embedded model.
fn target_infer_matches_portable() -> bool {
    let Ok(model) = ModelView::new_checked(&MODEL.0) else {
        return false;
    };
    let (mut a, mut b) = ([0.0f32; 192], [0.0f32; 192]);
    if Workspace::required(&model) > a.len() || model.input_dim() > 64 {
        return false;
    }
    let h = model.header();
    let mut x = [0.0f32; 64];
    for (i, v) in x.iter_mut().enumerate() {
        let t = (i * 37 % 64) as f32 / 63.0;
        *v = h.input_min + t * (h.input_max - h.input_min);
    }
    let x = &x[..model.input_dim()];
    let (mut wa, mut wb) = (Workspace::new(&mut a), Workspace::new(&mut b));
    match (
        infer(&model, x, &mut wa),
        lifted_core::infer(&model, x, &mut wb),
    ) {
        (Ok(p), Ok(q)) => {
            p.class == q.class
                && p.margin.to_bits() == q.margin.to_bits()
                && p.logits.len() == q.logits.len()
                && p.logits
                    .iter()
                    .zip(q.logits)
                    .all(|(u, v)| u.to_bits() == v.to_bits())
        }
        _ => false,
    }
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
    ("target_kernel_affine_bits", target_kernel_affine_bits),
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
    (
        "target_infer_matches_portable",
        target_infer_matches_portable,
    ),
];

#[entry]
fn main() -> ! {
    let mut failed = 0usize;
    for (name, test) in TESTS {
        let ok = test();
        hprintln!("test {} ... {}", name, if ok { "ok" } else { "FAILED" });
        // The machine-readable event scripts/firmware-ci.sh counts (scripts/test-events.py).
        hprintln!(
            "{{\"type\":\"test\",\"name\":\"{}\",\"event\":\"{}\"}}",
            name,
            if ok { "ok" } else { "failed" }
        );
        if !ok {
            failed += 1;
        }
    }
    hprintln!("{} passed, {} failed", TESTS.len() - failed, failed);
    hprintln!(
        "{{\"type\":\"suite\",\"event\":\"{}\",\"passed\":{},\"failed\":{}}}",
        if failed == 0 { "ok" } else { "failed" },
        TESTS.len() - failed,
        failed
    );
    exit(if failed == 0 { 0 } else { 1 })
}
