//! The f32 kernels of `lifted-core` as they were before the chunked kernels (commit 46dbf79,
//! `shared/src/kernels.rs`), kept only so that `icount` can measure *before* and *after* side by
//! side in one run. Same results bit for bit; not used by the inference.

/// `y = W x + b`, four rows at a time, each row summed left to right from `b_i` (the old kernel).
pub fn affine(w: &[f32], b: &[f32], x: &[f32], y: &mut [f32]) {
    let n = x.len();
    if n == 0 {
        for (yi, bi) in y.iter_mut().zip(b) {
            *yi = *bi;
        }
        return;
    }
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
        let mut s = bi;
        for (&p, &q) in row.iter().zip(x) {
            s += p * q;
        }
        *yi = s;
    }
}

/// `y = Wᵀ d`, one axpy per row over `y` (the old kernel).
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
