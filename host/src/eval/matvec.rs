//! The f64 matrix–vector products of the attack mirror ([`crate::eval::grad`]).
//!
//! Every output is computed with exactly the arithmetic of the plain one-row-at-a-time loops
//! ([`dot`], and `out[j] += f·w[j]` row after row for the transposed product): the same operations
//! on the same values in the same order, so the results are bit for bit those of the plain loops.
//! Only the scheduling differs: four rows are processed together, which gives the processor four
//! independent dependency chains (the plain `dot` waits on its own additions) and, for the
//! transposed product, loads and stores each output once per four rows instead of once per row.
//! The loops are compiled a second time for the wider vector units of newer x86 processors and
//! picked at run time (`pulp::Arch`); vector width changes no result, since Rust never fuses a
//! multiplication and an addition on its own.

/// Rows processed together.
const ROWS: usize = 4;

/// `Σ a_i b_i` over the common length, with four independent partial sums (so the loop vectorises):
/// `(p₀ + p₁) + (p₂ + p₃) + tail`, where `p_i` sums the products at positions ≡ i (mod 4) in order
/// and `tail` the last `n mod 4` products.
#[must_use]
#[inline(always)]
pub fn dot(a: &[f64], b: &[f64]) -> f64 {
    let n = a.len().min(b.len());
    let (a, b) = (&a[..n], &b[..n]);
    let mut acc = [0.0f64; 4];
    let (ac, bc) = (a.chunks_exact(4), b.chunks_exact(4));
    let tail: f64 = ac
        .remainder()
        .iter()
        .zip(bc.remainder())
        .map(|(x, y)| x * y)
        .sum();
    for (x, y) in ac.zip(bc) {
        for i in 0..4 {
            acc[i] += x[i] * y[i];
        }
    }
    (acc[0] + acc[1]) + (acc[2] + acc[3]) + tail
}

/// [`dot`] of `f64::from(row)` (exact) with `x`, without the widened copy.
#[inline(always)]
fn dot_w(row: &[f32], x: &[f64]) -> f64 {
    let n = row.len().min(x.len());
    let (a, b) = (&row[..n], &x[..n]);
    let mut acc = [0.0f64; 4];
    let (ac, bc) = (a.chunks_exact(4), b.chunks_exact(4));
    let tail: f64 = ac
        .remainder()
        .iter()
        .zip(bc.remainder())
        .map(|(&w, y)| f64::from(w) * y)
        .sum();
    for (w, y) in ac.zip(bc) {
        for i in 0..4 {
            acc[i] += f64::from(w[i]) * y[i];
        }
    }
    (acc[0] + acc[1]) + (acc[2] + acc[3]) + tail
}

/// [`dot`] of four rows of length `x.len()` with `x`, interleaved.
#[inline(always)]
fn dot4(r: [&[f32]; ROWS], x: &[f64]) -> [f64; ROWS] {
    let n = x.len();
    let mut acc = [[0.0f64; 4]; ROWS];
    let xc = x.chunks_exact(4);
    let split = n - xc.remainder().len();
    let cols = xc
        .zip(r[0].chunks_exact(4))
        .zip(r[1].chunks_exact(4))
        .zip(r[2].chunks_exact(4))
        .zip(r[3].chunks_exact(4));
    let [a0, a1, a2, a3] = &mut acc;
    for ((((xv, w0), w1), w2), w3) in cols {
        for i in 0..4 {
            a0[i] += f64::from(w0[i]) * xv[i];
        }
        for i in 0..4 {
            a1[i] += f64::from(w1[i]) * xv[i];
        }
        for i in 0..4 {
            a2[i] += f64::from(w2[i]) * xv[i];
        }
        for i in 0..4 {
            a3[i] += f64::from(w3[i]) * xv[i];
        }
    }
    let x_tail = x.get(split..).unwrap_or(&[]);
    let mut out = [0.0f64; ROWS];
    for ((o, a), row) in out.iter_mut().zip(acc).zip(r) {
        let tail: f64 = row
            .get(split..)
            .unwrap_or(&[])
            .iter()
            .zip(x_tail)
            .map(|(&w, v)| f64::from(w) * v)
            .sum();
        *o = (a[0] + a[1]) + (a[2] + a[3]) + tail;
    }
    out
}

/// `out_i = bias_i + dot(row_i, z)` (or `dot(row_i, z)` without a bias) for the rows of the
/// row-major f32 `w` with `cols` columns, each weight widened to f64 (exactly) where it is used; as many outputs as rows (and bias entries, if any).
#[must_use]
pub fn mul_rows(w: &[f32], cols: usize, bias: Option<&[f64]>, z: &[f64]) -> Vec<f64> {
    struct Op<'a>(&'a [f32], usize, Option<&'a [f64]>, &'a [f64]);
    impl pulp::WithSimd for Op<'_> {
        type Output = Vec<f64>;
        #[inline(always)]
        fn with_simd<S: pulp::Simd>(self, _: S) -> Vec<f64> {
            mul_rows_plain(self.0, self.1, self.2, self.3)
        }
    }
    pulp::Arch::new().dispatch(Op(w, cols, bias, z))
}

#[inline(always)]
fn mul_rows_plain(w: &[f32], cols: usize, bias: Option<&[f64]>, z: &[f64]) -> Vec<f64> {
    let rows: Vec<&[f32]> = w.chunks_exact(cols.max(1)).collect();
    let count = bias.map_or(rows.len(), |b| b.len().min(rows.len()));
    let mut out = Vec::with_capacity(count);
    // dot4 needs every row at least as long as z; otherwise dot's common length applies.
    let zn = if cols >= z.len() { z } else { &z[..0] };
    let mut i = 0;
    while i + ROWS <= count && !zn.is_empty() {
        let d = dot4([rows[i], rows[i + 1], rows[i + 2], rows[i + 3]], zn);
        for (r, v) in d.into_iter().enumerate() {
            out.push(bias.map_or(v, |b| b[i + r] + v));
        }
        i += ROWS;
    }
    for (r, row) in rows.iter().enumerate().take(count).skip(i) {
        let v = dot_w(row, z);
        out.push(bias.map_or(v, |b| b[r] + v));
    }
    out
}

/// `out += s · Wᵀ d` for the row-major f32 `w` (widened exactly) with `cols` columns: row i adds
/// `(s·d_i)·w_ij` to
/// `out_j`, rows in order, rows with `s·d_i = 0` skipped.
pub fn add_mul_t(w: &[f32], cols: usize, d: &[f64], s: f64, out: &mut [f64]) {
    struct Op<'a>(&'a [f32], usize, &'a [f64], f64, &'a mut [f64]);
    impl pulp::WithSimd for Op<'_> {
        type Output = ();
        #[inline(always)]
        fn with_simd<S: pulp::Simd>(self, _: S) {
            add_mul_t_plain(self.0, self.1, self.2, self.3, self.4);
        }
    }
    pulp::Arch::new().dispatch(Op(w, cols, d, s, out));
}

#[inline(always)]
fn add_mul_t_plain(w: &[f32], cols: usize, d: &[f64], s: f64, out: &mut [f64]) {
    let terms: Vec<(f64, &[f32])> = w
        .chunks_exact(cols.max(1))
        .zip(d)
        .map(|(row, &di)| (s * di, row))
        .filter(|&(f, _)| f != 0.0)
        .collect();
    let mut groups = terms.chunks_exact(ROWS);
    for g in groups.by_ref() {
        let ([f0, f1, f2, f3], [r0, r1, r2, r3]) = (
            [g[0].0, g[1].0, g[2].0, g[3].0],
            [g[0].1, g[1].1, g[2].1, g[3].1],
        );
        let cols = out.iter_mut().zip(r0).zip(r1).zip(r2).zip(r3);
        for ((((o, &w0), &w1), &w2), &w3) in cols {
            let mut v = *o;
            v += f0 * f64::from(w0);
            v += f1 * f64::from(w1);
            v += f2 * f64::from(w2);
            v += f3 * f64::from(w3);
            *o = v;
        }
    }
    for &(f, row) in groups.remainder() {
        for (o, &w) in out.iter_mut().zip(row) {
            *o += f * f64::from(w);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Values with every bit pattern class that matters: varied magnitudes and signs.
    fn values(n: usize, seed: u64) -> Vec<f64> {
        let mut s = seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1;
        (0..n)
            .map(|_| {
                s ^= s << 13;
                s ^= s >> 7;
                s ^= s << 17;
                let u = (s >> 11) as f64 / (1u64 << 53) as f64;
                (u - 0.5) * 10f64.powi((s % 7) as i32 - 3)
            })
            .collect()
    }

    fn weights(n: usize, seed: u64) -> Vec<f32> {
        values(n, seed).into_iter().map(|v| v as f32).collect()
    }

    fn plain_add_mul_t(w: &[f64], cols: usize, d: &[f64], s: f64, out: &mut [f64]) {
        for (row, &di) in w.chunks_exact(cols.max(1)).zip(d) {
            let f = s * di;
            if f != 0.0 {
                for (o, &wv) in out.iter_mut().zip(row) {
                    *o += f * wv;
                }
            }
        }
    }

    #[test]
    fn products_are_bit_identical_to_the_plain_loops() {
        for (rows, cols) in [
            (1, 1),
            (3, 5),
            (4, 4),
            (7, 9),
            (10, 128),
            (13, 784),
            (128, 10),
        ] {
            let w32 = weights(rows * cols, (rows * 31 + cols) as u64);
            let w: Vec<f64> = w32.iter().map(|&v| f64::from(v)).collect();
            let b = values(rows, 7);
            let z = values(cols, 11);
            let mut d = values(rows, 13);
            if rows > 2 {
                d[1] = 0.0;
                d[rows - 1] = -0.0;
            }
            let plain: Vec<f64> = w
                .chunks_exact(cols)
                .zip(&b)
                .map(|(r, &bi)| bi + dot(r, &z))
                .collect();
            let fast = mul_rows(&w32, cols, Some(&b), &z);
            assert_eq!(bits(&plain), bits(&fast), "{rows}×{cols}");
            let plain: Vec<f64> = w.chunks_exact(cols).map(|r| dot(r, &z)).collect();
            assert_eq!(bits(&plain), bits(&mul_rows(&w32, cols, None, &z)));
            let (mut p, mut f) = (values(cols, 17), values(cols, 17));
            plain_add_mul_t(&w, cols, &d, 0.37, &mut p);
            add_mul_t(&w32, cols, &d, 0.37, &mut f);
            assert_eq!(bits(&p), bits(&f), "{rows}×{cols} transposed");
        }
    }

    #[test]
    fn short_inputs_follow_the_common_length() {
        let w32 = weights(8 * 6, 3);
        let w: Vec<f64> = w32.iter().map(|&v| f64::from(v)).collect();
        let z = values(4, 5);
        let plain: Vec<f64> = w.chunks_exact(6).map(|r| dot(r, &z)).collect();
        assert_eq!(bits(&plain), bits(&mul_rows(&w32, 6, None, &z)));
        let long = values(9, 5);
        let plain: Vec<f64> = w.chunks_exact(6).map(|r| dot(r, &long)).collect();
        assert_eq!(bits(&plain), bits(&mul_rows(&w32, 6, None, &long)));
        let d = values(8, 9);
        let (mut p, mut f) = (values(10, 1), values(10, 1));
        plain_add_mul_t(&w, 6, &d, 1.0, &mut p);
        add_mul_t(&w32, 6, &d, 1.0, &mut f);
        assert_eq!(bits(&p), bits(&f));
    }

    fn bits(v: &[f64]) -> Vec<u64> {
        v.iter().map(|x| x.to_bits()).collect()
    }
}
