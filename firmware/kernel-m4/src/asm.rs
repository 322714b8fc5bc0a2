//! The kernel itself (compiled for `thumbv7em-none-eabihf` only).

use core::hint::black_box;

use lifted_core::kernels::{dot_from, Kernels};

/// The Cortex-M4F/M7 kernels for [`lifted_core::infer_with`]: [`affine`] hand-written, `affine_t`
/// the portable one.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct M4f;

impl Kernels for M4f {
    #[inline]
    fn affine(&self, w: &[f32], b: &[f32], x: &[f32], y: &mut [f32]) {
        affine(w, b, x, y)
    }
}

/// [`dot_from`] out of line: the column tails and the remaining rows all call this one copy.
#[inline(never)]
fn dot_tail(acc: f32, a: &[f32], b: &[f32]) -> f32 {
    dot_from(acc, a, b)
}

/// Columns per loop iteration (one `vldmia` of eight registers per row and for `x`).
const COLS: usize = 8;

/// `acc[i] += W[row i][0..8·iters] · x[0..8·iters]` for the four rows, left to right.
///
/// The FPU registers are not asm operands: Rust accepts `s` registers only with the `vfp2`
/// target feature, which implies double precision and is therefore off on the M4F's
/// single-precision FPU. The asm saves the registers it uses (`vpush`/`vpop`, once per call) and
/// exchanges the accumulators through memory.
///
/// # Safety
/// `r[0]`..`r[3]` and `x` must each point to at least `8 · iters` readable f32 values; `iters ≥ 1`.
#[inline(always)]
unsafe fn block4x8(r: [*const f32; 4], x: *const f32, iters: usize, acc: &mut [f32; 4]) {
    // SAFETY: the caller guarantees the reads; the asm writes only `acc` and restores every FPU
    // register it touches.
    unsafe {
        core::arch::asm!(
            "vpush {{s0-s23}}",
            "vldmia {acc}, {{s0-s3}}",
            "2:",
            "vldmia {x}!, {{s8-s15}}",
            "vldmia {r0}!, {{s16-s23}}",
            "vmla.f32 s0, s16, s8",
            "vmla.f32 s0, s17, s9",
            "vmla.f32 s0, s18, s10",
            "vmla.f32 s0, s19, s11",
            "vmla.f32 s0, s20, s12",
            "vmla.f32 s0, s21, s13",
            "vmla.f32 s0, s22, s14",
            "vmla.f32 s0, s23, s15",
            "vldmia {r1}!, {{s16-s23}}",
            "vmla.f32 s1, s16, s8",
            "vmla.f32 s1, s17, s9",
            "vmla.f32 s1, s18, s10",
            "vmla.f32 s1, s19, s11",
            "vmla.f32 s1, s20, s12",
            "vmla.f32 s1, s21, s13",
            "vmla.f32 s1, s22, s14",
            "vmla.f32 s1, s23, s15",
            "vldmia {r2}!, {{s16-s23}}",
            "vmla.f32 s2, s16, s8",
            "vmla.f32 s2, s17, s9",
            "vmla.f32 s2, s18, s10",
            "vmla.f32 s2, s19, s11",
            "vmla.f32 s2, s20, s12",
            "vmla.f32 s2, s21, s13",
            "vmla.f32 s2, s22, s14",
            "vmla.f32 s2, s23, s15",
            "vldmia {r3}!, {{s16-s23}}",
            "vmla.f32 s3, s16, s8",
            "vmla.f32 s3, s17, s9",
            "vmla.f32 s3, s18, s10",
            "vmla.f32 s3, s19, s11",
            "vmla.f32 s3, s20, s12",
            "vmla.f32 s3, s21, s13",
            "vmla.f32 s3, s22, s14",
            "vmla.f32 s3, s23, s15",
            "subs {n}, {n}, #1",
            "bne 2b",
            "vstmia {acc}, {{s0-s3}}",
            "vpop {{s0-s23}}",
            acc = in(reg) acc.as_mut_ptr(),
            x = inout(reg) x => _,
            r0 = inout(reg) r[0] => _,
            r1 = inout(reg) r[1] => _,
            r2 = inout(reg) r[2] => _,
            r3 = inout(reg) r[3] => _,
            n = inout(reg) iters => _,
        );
    }
}

/// `y = W x + b` for row-major `W` (`y.len()` rows × `x.len()` columns), the same contract and
/// the same bits as `lifted_core::kernels::affine`. Shorter slices than the shapes imply are
/// treated as absent rows/columns (never panics).
pub fn affine(w: &[f32], b: &[f32], x: &[f32], y: &mut [f32]) {
    let n = x.len();
    if n == 0 {
        for (yi, bi) in y.iter_mut().zip(b) {
            *yi = *bi;
        }
        return;
    }
    let iters = n / COLS;
    let split = iters * COLS;
    let x_tail = x.get(split..).unwrap_or(&[]);
    let mut done = 0usize;
    let rows4 = w.chunks_exact(4 * n).zip(b.chunks_exact(4));
    for (y4, (wq, bq)) in y.chunks_exact_mut(4).zip(rows4) {
        let mut acc = [0.0f32; 4];
        acc.copy_from_slice(bq);
        if iters > 0 {
            let r = wq.as_ptr();
            // SAFETY: `wq` holds four rows of n ≥ 8 · iters values each (rows at offsets 0, n,
            // 2n, 3n, all inside `wq`), and `x` holds n ≥ 8 · iters values.
            unsafe {
                block4x8(
                    [r, r.add(n), r.add(2 * n), r.add(3 * n)],
                    x.as_ptr(),
                    iters,
                    &mut acc,
                )
            };
        }
        // Columns split.. continue the same accumulators, still left to right. (`black_box`
        // keeps this loop rolled: four calls in one copy.)
        for ((o, a), row) in y4.iter_mut().zip(acc).zip(wq.chunks_exact(n)) {
            black_box(());
            *o = if x_tail.is_empty() {
                a
            } else {
                dot_tail(a, row.get(split..).unwrap_or(&[]), x_tail)
            };
        }
        done += 4;
    }
    // Remaining rows (fewer than four), one at a time.
    let rows = w.chunks_exact(n).zip(b.iter()).zip(y.iter_mut());
    for ((row, &bi), yi) in rows.skip(done) {
        *yi = dot_tail(bi, row, x);
    }
}
