//! f32 kernels of the inference.
//!
//! The summation order is part of the model's definition, so that every target computes the same
//! bits: each output of [`affine`] is `((b_i + w_i0·x_0) + w_i1·x_1) + …` from left to right, and
//! each output of [`affine_t`] is `((0 + w_0j·d_0) + w_1j·d_1) + …`. Products and sums are separate,
//! correctly rounded operations: no fused multiply-add (Rust never contracts `a * b + c`). Faster
//! kernels must keep this order per output; they are tested bit for bit against the single-row
//! `reference` kernels of the tests.
//!
//! Both kernels work on blocks of 8 rows in steps of 8 columns: every value
//! loaded from `x` (or every `y_j` loaded and stored) serves eight rows, which brings the cost on a
//! Cortex-M4F to about 2.4 instructions per multiply-accumulate for a 784→128 layer, against 2.7
//! for the previous 4-row kernel (exact counts and the command: `docs/benchmarks.md`). The block
//! sizes only change which partial sums are held in registers, never the order in which each
//! output's terms are added.

/// The matrix products of [`crate::infer_with`]: a hook for hand-written kernels.
///
/// [`Portable`] is the implementation [`crate::infer()`] uses: the functions of this module. A
/// target-specific implementation (for instance assembly for the Cortex-M4F/M7, kept in its own
/// crate so that this one stays free of `unsafe`) must give **the same bits** for every input,
/// which means the same summation order per output as [`affine`] and [`affine_t`] (module
/// documentation), separate correctly rounded products and sums (no fused multiply-add), and the
/// same handling of short slices. Results that differ in any bit would break the bit-identical
/// goldens shared by the host and the firmware, and the float-error bound of the certificate
/// assumes this order.
pub trait Kernels {
    /// `y = W x + b`, with the contract of [`affine`].
    fn affine(&self, w: &[f32], b: &[f32], x: &[f32], y: &mut [f32]);

    /// `y = Wᵀ d`, with the contract of [`affine_t`]; the portable kernel unless overridden.
    #[inline]
    fn affine_t(&self, w: &[f32], d: &[f32], y: &mut [f32]) {
        affine_t(w, d, y)
    }
}

/// The portable kernels of this module ([`affine`], [`affine_t`]).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Portable;

impl Kernels for Portable {
    #[inline]
    fn affine(&self, w: &[f32], b: &[f32], x: &[f32], y: &mut [f32]) {
        affine(w, b, x, y)
    }
}

/// Rows per block (the block bodies below spell out eight accumulators / eight rows).
const ROWS: usize = 8;
/// Columns per step: each step reads eight consecutive values of every row of the block.
const COLS: usize = 8;

/// `y = W x + b` for row-major `W` (`y.len()` rows × `x.len()` columns).
///
/// Eight rows at a time (each loaded `x_j` is reused eight times), in steps of eight columns, each
/// row with its own accumulator summed left to right from `b_i`; the last `n mod 8` columns continue
/// the same accumulators; then any remaining rows one at a time. Shorter slices than the shapes
/// imply are treated as absent rows/columns (never panics).
pub fn affine(w: &[f32], b: &[f32], x: &[f32], y: &mut [f32]) {
    let n = x.len();
    if n == 0 {
        for (yi, bi) in y.iter_mut().zip(b) {
            *yi = *bi;
        }
        return;
    }
    let (x8, x_tail) = x.as_chunks::<COLS>();
    let split = n - x_tail.len();
    let mut done = 0usize;
    let blocks = w.chunks_exact(ROWS * n).zip(b.chunks_exact(ROWS));
    for (y8, (wq, bq)) in y.chunks_exact_mut(ROWS).zip(blocks) {
        let mut acc = [0.0f32; ROWS];
        for (a, &bi) in acc.iter_mut().zip(bq) {
            *a = bi;
        }
        let mut rows = wq.chunks_exact(n);
        let mut next = || rows.next().unwrap_or(&[]).as_chunks::<COLS>().0;
        let (c0, c1, c2, c3, c4, c5, c6, c7) = (
            next(),
            next(),
            next(),
            next(),
            next(),
            next(),
            next(),
            next(),
        );
        let cols = x8
            .iter()
            .zip(c0)
            .zip(c1)
            .zip(c2)
            .zip(c3)
            .zip(c4)
            .zip(c5)
            .zip(c6)
            .zip(c7);
        for ((((((((xc, w0), w1), w2), w3), w4), w5), w6), w7) in cols {
            for t in 0..COLS {
                acc[0] += w0[t] * xc[t];
                acc[1] += w1[t] * xc[t];
                acc[2] += w2[t] * xc[t];
                acc[3] += w3[t] * xc[t];
                acc[4] += w4[t] * xc[t];
                acc[5] += w5[t] * xc[t];
                acc[6] += w6[t] * xc[t];
                acc[7] += w7[t] * xc[t];
            }
        }
        if x_tail.is_empty() {
            y8.copy_from_slice(&acc);
        } else {
            for ((o, a), row) in y8.iter_mut().zip(acc).zip(wq.chunks_exact(n)) {
                *o = dot_tail(a, row.get(split..).unwrap_or(&[]), x_tail);
            }
        }
        done += ROWS;
    }
    let rows = w.chunks_exact(n).zip(b.iter()).zip(y.iter_mut());
    for ((row, &bi), yi) in rows.skip(done) {
        *yi = dot_tail(bi, row, x);
    }
}

/// [`dot_from`] kept out of line: the column tails and the remaining rows of [`affine`] all call
/// this one copy instead of inlining (and unrolling) it at every site, which saves about a
/// kilobyte of flash for a few instructions per row.
#[inline(never)]
fn dot_tail(acc: f32, a: &[f32], b: &[f32]) -> f32 {
    dot_from(acc, a, b)
}

/// `y += d · row`, term by term (the remaining rows of [`affine_t`]); out of line like
/// [`dot_tail`].
#[inline(never)]
fn axpy(y: &mut [f32], row: &[f32], d: f32) {
    for (yj, &wij) in y.iter_mut().zip(row) {
        *yj += wij * d;
    }
}

/// `acc + Σ_j a_j·b_j`, accumulated left to right.
#[inline]
pub fn dot_from(acc: f32, a: &[f32], b: &[f32]) -> f32 {
    let mut s = acc;
    for (&p, &q) in a.iter().zip(b) {
        s += p * q;
    }
    s
}

/// `y = Wᵀ d` for row-major `W` (`d.len()` rows × `y.len()` columns), each output summed over the
/// rows in order, starting from `0.0`.
///
/// Eight rows per pass over `y`, in steps of eight columns: each `y_j` is loaded once, receives the
/// eight rows' terms in row order and is stored once; then any remaining rows one at a time.
/// Rows without a `d` entry, and a partial last row, are treated as absent (never panics).
pub fn affine_t(w: &[f32], d: &[f32], y: &mut [f32]) {
    let n = y.len();
    for v in y.iter_mut() {
        *v = 0.0;
    }
    if n == 0 {
        return;
    }
    let mut done = 0usize;
    for (wq, dq) in w.chunks_exact(ROWS * n).zip(d.chunks_exact(ROWS)) {
        let mut dv = [0.0f32; ROWS];
        for (a, &di) in dv.iter_mut().zip(dq) {
            *a = di;
        }
        let mut rows = wq.chunks_exact(n);
        let mut next = || rows.next().unwrap_or(&[]);
        let (r0, r1, r2, r3, r4, r5, r6, r7) = (
            next(),
            next(),
            next(),
            next(),
            next(),
            next(),
            next(),
            next(),
        );
        let (y8, y_tail) = y.as_chunks_mut::<COLS>();
        let split = n - y_tail.len();
        let cols = y8
            .iter_mut()
            .zip(ch(r0))
            .zip(ch(r1))
            .zip(ch(r2))
            .zip(ch(r3))
            .zip(ch(r4))
            .zip(ch(r5))
            .zip(ch(r6))
            .zip(ch(r7));
        for ((((((((yc, w0), w1), w2), w3), w4), w5), w6), w7) in cols {
            for t in 0..COLS {
                let mut s = yc[t];
                s += w0[t] * dv[0];
                s += w1[t] * dv[1];
                s += w2[t] * dv[2];
                s += w3[t] * dv[3];
                s += w4[t] * dv[4];
                s += w5[t] * dv[5];
                s += w6[t] * dv[6];
                s += w7[t] * dv[7];
                yc[t] = s;
            }
        }
        for (yj, col) in y_tail.iter_mut().zip(split..) {
            let mut s = *yj;
            for (row, &dr) in [r0, r1, r2, r3, r4, r5, r6, r7].iter().zip(&dv) {
                s += row.get(col).copied().unwrap_or(0.0) * dr;
            }
            *yj = s;
        }
        done += ROWS;
    }
    for (row, &di) in w.chunks_exact(n).zip(d).skip(done) {
        axpy(y, row, di);
    }
}

/// The full steps of eight columns of a row (the tail is handled separately).
#[inline(always)]
fn ch(r: &[f32]) -> &[[f32; COLS]] {
    r.as_chunks::<COLS>().0
}

/// Plain single-row reference kernels; the fast kernels above must match them bit for bit.
#[cfg(test)]
pub mod reference {
    /// `y_i = b_i + Σ_j w_ij x_j`, one row at a time.
    pub fn affine(w: &[f32], b: &[f32], x: &[f32], y: &mut [f32]) {
        for (i, yi) in y.iter_mut().enumerate() {
            let mut s = b[i];
            for (j, xj) in x.iter().enumerate() {
                s += w[i * x.len() + j] * xj;
            }
            *yi = s;
        }
    }

    /// `y_j = Σ_i w_ij d_i`, one column at a time.
    pub fn affine_t(w: &[f32], d: &[f32], y: &mut [f32]) {
        let n = y.len();
        for (j, yj) in y.iter_mut().enumerate() {
            let mut s = 0.0f32;
            for (i, di) in d.iter().enumerate() {
                s += w[i * n + j] * di;
            }
            *yj = s;
        }
    }
}

#[cfg(test)]
mod tests {
    extern crate std;
    use super::*;
    use proptest::prelude::*;
    use std::vec;
    use std::vec::Vec;

    fn value() -> impl Strategy<Value = f32> {
        prop_oneof![
            4 => -4.0f32..4.0,
            1 => Just(0.0f32),
            1 => Just(-0.0f32),
            1 => -1e-30f32..1e-30,
            1 => Just(f32::MIN_POSITIVE / 8.0),
            1 => -1e30f32..1e30,
        ]
    }

    fn case() -> impl Strategy<Value = (usize, usize, Vec<f32>, Vec<f32>, Vec<f32>)> {
        (1usize..13, 0usize..11).prop_flat_map(|(m, n)| {
            (
                Just(m),
                Just(n),
                proptest::collection::vec(value(), m * n),
                proptest::collection::vec(value(), m),
                proptest::collection::vec(value(), n.max(m)),
            )
        })
    }

    /// Shapes that exercise the blocked kernels: several 8-row blocks plus 1–7 remaining rows,
    /// several 8-column steps plus a 1–7 column tail, and everything below one block or step.
    fn wide_case() -> impl Strategy<Value = (usize, usize, Vec<f32>, Vec<f32>, Vec<f32>)> {
        (1usize..=26, 0usize..=41).prop_flat_map(|(m, n)| {
            (
                Just(m),
                Just(n),
                proptest::collection::vec(value(), m * n),
                proptest::collection::vec(value(), m),
                proptest::collection::vec(value(), n.max(m)),
            )
        })
    }

    fn bits(v: &[f32]) -> Vec<u32> {
        v.iter().map(|x| x.to_bits()).collect()
    }

    /// Deterministic values with the awkward cases mixed in: ±0, subnormals, huge, negative.
    fn fill(len: usize, seed: u32) -> Vec<f32> {
        let special = [
            0.0,
            -0.0,
            f32::MIN_POSITIVE / 8.0,
            -1e-39,
            3e37,
            -2.5,
            1e-30,
        ];
        let mut s = seed.wrapping_mul(2_654_435_761).wrapping_add(1);
        (0..len)
            .map(|i| {
                s ^= s << 13;
                s ^= s >> 17;
                s ^= s << 5;
                if i % 5 == 3 {
                    special[(s as usize) % special.len()]
                } else {
                    (s >> 8) as f32 / (1u32 << 23) as f32 - 1.0
                }
            })
            .collect()
    }

    /// Edge shapes named in the kernels' contract: one row, zero columns, rows and columns that
    /// are not multiples of the 8-row block and 8-column step, and exact multiples.
    #[test]
    fn edge_shapes_match_reference_bit_for_bit() {
        let rows = [1usize, 2, 3, 4, 5, 7, 8, 9, 10, 15, 16, 17, 24, 31];
        let cols = [0usize, 1, 2, 7, 8, 9, 15, 16, 17, 23, 64, 65];
        for (k, (&m, &n)) in rows
            .iter()
            .flat_map(|m| cols.iter().map(move |n| (m, n)))
            .enumerate()
        {
            let k = k as u32;
            let (w, b, x, d) = (
                fill(m * n, k),
                fill(m, k + 1),
                fill(n, k + 2),
                fill(m, k + 3),
            );
            let (mut got, mut want) = (vec![f32::NAN; m], vec![f32::NAN; m]);
            affine(&w, &b, &x, &mut got);
            reference::affine(&w, &b, &x, &mut want);
            assert_eq!(bits(&got), bits(&want), "affine {m}x{n}");
            let (mut got, mut want) = (vec![f32::NAN; n], vec![f32::NAN; n]);
            affine_t(&w, &d, &mut got);
            reference::affine_t(&w, &d, &mut want);
            assert_eq!(bits(&got), bits(&want), "affine_t {m}x{n}");
        }
    }

    /// Shorter slices than the shapes imply: only complete rows (with a bias / a `d` entry) are
    /// computed, other outputs of `affine` are left alone, and nothing panics.
    #[test]
    fn short_slices_mean_absent_rows() {
        for (m, n) in [(9usize, 8usize), (17, 9), (12, 16), (3, 5), (8, 1)] {
            let (w, b, x, d) = (fill(m * n, 7), fill(m, 8), fill(n, 9), fill(m, 10));
            let full_rows = |cut: usize| (cut / n.max(1)).min(m);
            for cut in [0, n, 3 * n + 1, 8 * n - 1, 8 * n, m * n - 1] {
                let cut = cut.min(m * n);
                let mut got = vec![7.0f32; m];
                affine(&w[..cut], &b, &x, &mut got);
                let r = full_rows(cut);
                let mut want = vec![7.0f32; m];
                reference::affine(&w[..r * n], &b[..r], &x, &mut want[..r]);
                assert_eq!(bits(&got), bits(&want), "affine {m}x{n} w[..{cut}]");
            }
            for nb in [0, 1, 7, 8, m - 1] {
                let nb = nb.min(m);
                let mut got = vec![7.0f32; m];
                affine(&w, &b[..nb], &x, &mut got);
                let mut want = vec![7.0f32; m];
                reference::affine(&w[..nb * n], &b[..nb], &x, &mut want[..nb]);
                assert_eq!(bits(&got), bits(&want), "affine {m}x{n} b[..{nb}]");
                let mut got = vec![f32::NAN; n];
                affine_t(&w, &d[..nb], &mut got);
                let mut want = vec![f32::NAN; n];
                reference::affine_t(&w[..nb * n], &d[..nb], &mut want);
                assert_eq!(bits(&got), bits(&want), "affine_t {m}x{n} d[..{nb}]");
            }
        }
    }

    proptest! {
        #[test]
        fn affine_matches_reference_bit_for_bit((m, n, w, b, x) in case()) {
            let x = &x[..n];
            let mut got = vec![0.0; m];
            let mut want = vec![0.0; m];
            affine(&w, &b, x, &mut got);
            reference::affine(&w, &b, x, &mut want);
            let gb: Vec<u32> = got.iter().map(|v| v.to_bits()).collect();
            let wb: Vec<u32> = want.iter().map(|v| v.to_bits()).collect();
            prop_assert_eq!(gb, wb);
        }

        #[test]
        fn affine_t_matches_reference_bit_for_bit((m, n, w, _b, d) in case()) {
            let d = &d[..m];
            let mut got = vec![0.0; n];
            let mut want = vec![0.0; n];
            affine_t(&w, d, &mut got);
            reference::affine_t(&w, d, &mut want);
            let gb: Vec<u32> = got.iter().map(|v| v.to_bits()).collect();
            let wb: Vec<u32> = want.iter().map(|v| v.to_bits()).collect();
            prop_assert_eq!(gb, wb);
        }

        #[test]
        fn affine_wide_matches_reference_bit_for_bit((m, n, w, b, x) in wide_case()) {
            let x = &x[..n];
            let (mut got, mut want) = (vec![0.0; m], vec![0.0; m]);
            affine(&w, &b, x, &mut got);
            reference::affine(&w, &b, x, &mut want);
            prop_assert_eq!(bits(&got), bits(&want));
        }

        #[test]
        fn affine_t_wide_matches_reference_bit_for_bit((m, n, w, _b, d) in wide_case()) {
            let d = &d[..m];
            let (mut got, mut want) = (vec![0.0; n], vec![0.0; n]);
            affine_t(&w, d, &mut got);
            reference::affine_t(&w, d, &mut want);
            prop_assert_eq!(bits(&got), bits(&want));
        }
    }
}
