//! f32 kernels of the inference.
//!
//! The summation order is part of the model's definition, so that every target computes the same
//! bits: each output of [`affine`] is `((b_i + w_i0·x_0) + w_i1·x_1) + …` from left to right, and
//! each output of [`affine_t`] is `((0 + w_0j·d_0) + w_1j·d_1) + …`. Products and sums are separate,
//! correctly rounded operations: no fused multiply-add (Rust never contracts `a * b + c`). Faster
//! kernels must keep this order per output; they are tested bit for bit against these.

/// `y = W x + b` for row-major `W` (`y.len()` rows × `x.len()` columns).
///
/// Processes four rows at a time, each with its own left-to-right accumulator.
/// Shorter slices than the shapes imply are treated as absent rows/columns (never panics).
pub fn affine(w: &[f32], b: &[f32], x: &[f32], y: &mut [f32]) {
    let n = x.len();
    if n == 0 {
        for (yi, bi) in y.iter_mut().zip(b) {
            *yi = *bi;
        }
        return;
    }
    // Four rows at once: each loaded x_j is reused four times.
    let mut w4 = w.chunks_exact(4 * n);
    let mut b4 = b.chunks_exact(4);
    let mut done = 0usize;
    for (y4, (wq, bq)) in y.chunks_exact_mut(4).zip((&mut w4).zip(&mut b4)) {
        let (r0, rest) = wq.split_at(n);
        let (r1, rest) = rest.split_at(n);
        let (r2, r3) = rest.split_at(n);
        let (mut a0, mut a1, mut a2, mut a3) = match *bq {
            [p, q, r, s] => (p, q, r, s),
            _ => (0.0, 0.0, 0.0, 0.0),
        };
        for ((((&xj, &w0), &w1), &w2), &w3) in x.iter().zip(r0).zip(r1).zip(r2).zip(r3) {
            a0 += w0 * xj;
            a1 += w1 * xj;
            a2 += w2 * xj;
            a3 += w3 * xj;
        }
        if let [o0, o1, o2, o3] = y4 {
            *o0 = a0;
            *o1 = a1;
            *o2 = a2;
            *o3 = a3;
        }
        done += 4;
    }
    let rows = w.chunks_exact(n).zip(b.iter()).zip(y.iter_mut());
    for ((row, &bi), yi) in rows.skip(done) {
        *yi = dot_from(bi, row, x);
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
pub fn affine_t(w: &[f32], d: &[f32], y: &mut [f32]) {
    let n = y.len();
    for v in y.iter_mut() {
        *v = 0.0;
    }
    if n == 0 {
        return;
    }
    for (row, &di) in w.chunks_exact(n).zip(d) {
        for (yj, &wij) in y.iter_mut().zip(row) {
            *yj += wij * di;
        }
    }
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
    }
}
