//! Batched dense linear algebra: a row-major matrix type and the three products the training
//! needs, on the `gemm` crate (one single-threaded call per chunk), split over the batch (or the
//! output rows) with rayon.
//!
//! **Reproducibility.** Large products are cut into `ceil(rows / threads)`-row chunks (of the
//! output, or of the weights for [`affine`]) of the *current rayon pool* (small ones run whole),
//! and every output element is one gemm dot product computed inside one chunk, so a result
//! depends only on the inputs and the thread count (no sum is ever split across chunks). Reductions over the batch are gemm reductions (weight gradients) or
//! sequential loops, never parallel folds.

// The GEMM calls go through raw pointers (the `gemm` crate's interface); each unsafe block
// states the bounds it relies on.
#![allow(unsafe_code)]

use rayon::prelude::*;

use super::real::Real;

/// A dense row-major `rows × cols` matrix; in a batch, row `i` is sample `i`.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Mat<T> {
    /// Number of rows.
    pub rows: usize,
    /// Number of columns.
    pub cols: usize,
    /// `rows · cols` values, row after row.
    pub data: Vec<T>,
}

impl<T: Real> Mat<T> {
    /// The zero matrix.
    pub fn zeros(rows: usize, cols: usize) -> Self {
        Mat {
            rows,
            cols,
            data: vec![T::ZERO; rows * cols],
        }
    }

    /// Wraps row-major data.
    ///
    /// # Panics
    /// If `data.len() != rows · cols` (a programmer error).
    pub fn from_vec(rows: usize, cols: usize, data: Vec<T>) -> Self {
        assert_eq!(data.len(), rows * cols, "Mat::from_vec: shape mismatch");
        Mat { rows, cols, data }
    }

    /// Row `i`.
    pub fn row(&self, i: usize) -> &[T] {
        &self.data[i * self.cols..(i + 1) * self.cols]
    }

    /// Row `i`, mutable.
    pub fn row_mut(&mut self, i: usize) -> &mut [T] {
        &mut self.data[i * self.cols..(i + 1) * self.cols]
    }

    /// Applies `f` to every element, giving a new matrix.
    pub fn map(&self, f: impl Fn(T) -> T) -> Self {
        Mat {
            rows: self.rows,
            cols: self.cols,
            data: self.data.iter().map(|&v| f(v)).collect(),
        }
    }

    /// Converts the element type.
    pub fn cast<U: Real>(&self) -> Mat<U> {
        Mat {
            rows: self.rows,
            cols: self.cols,
            data: self.data.iter().map(|v| U::from_f64(v.to_f64())).collect(),
        }
    }

    /// True if every element is finite.
    pub fn all_finite(&self) -> bool {
        self.data.iter().all(|v| v.is_finite())
    }
}

/// `C ← α·A·B + β·C` for `A: m×k` and `B: k×n` given by (row, column) strides, and a row-major
/// `C` with leading dimension `ldc ≥ n`. With `β = 0`, `C` is not read.
///
/// # Panics
/// If a stride addresses an element outside its buffer (a programmer error).
#[allow(clippy::too_many_arguments)]
pub fn gemm<T: Real>(
    (m, k, n): (usize, usize, usize),
    alpha: T,
    (a, rsa, csa): (&[T], usize, usize),
    (b, rsb, csb): (&[T], usize, usize),
    beta: T,
    (c, ldc): (&mut [T], usize),
) {
    if m == 0 || n == 0 {
        return;
    }
    let last = |rows: usize, cols: usize, rs: usize, cs: usize| {
        (rows.saturating_sub(1)) * rs + (cols.saturating_sub(1)) * cs
    };
    assert!(
        ldc >= n && last(m, n, ldc, 1) < c.len(),
        "gemm: C out of bounds"
    );
    if k > 0 {
        assert!(last(m, k, rsa, csa) < a.len(), "gemm: A out of bounds");
        assert!(last(k, n, rsb, csb) < b.len(), "gemm: B out of bounds");
    }
    let s = |v: usize| isize::try_from(v).expect("stride fits isize");
    // SAFETY: the asserts above keep every addressed element of A, B and C inside its slice;
    // `c` is a unique borrow, so it overlaps neither `a` nor `b`; C is row-major with ldc ≥ n, so
    // distinct (i, j) address distinct elements.
    unsafe {
        T::gemm_raw(
            m,
            k,
            n,
            alpha,
            a.as_ptr(),
            s(rsa),
            s(csa),
            b.as_ptr(),
            s(rsb),
            s(csb),
            beta,
            c.as_mut_ptr(),
            s(ldc),
            1,
        );
    }
}

/// Products below this many multiply-adds run in one piece (splitting them costs more than it
/// saves: every chunk packs the whole weight matrix again).
const PARALLEL_MIN_WORK: usize = 1 << 21;

/// Rows per parallel chunk: the rows split evenly over the current pool's threads, or all rows
/// in one chunk when the product is small. Depends only on the shape and the thread count.
fn chunk_rows(rows: usize, work: usize) -> usize {
    if work < PARALLEL_MIN_WORK {
        return rows.max(1);
    }
    rows.div_ceil(rayon::current_num_threads().max(1)).max(1)
}

/// `out = x·Wᵀ + 1·bᵀ` for a batch `x: B×n` and `W: m×n` (row-major), i.e. the pre-activations
/// `a = W z + b` of every sample. Large products are split over the rows of `W` (the output
/// columns), so each thread reads only its share of the weights; each share is computed into
/// its own buffer and copied into place.
pub fn affine<T: Real>(x: &Mat<T>, w: &[T], b: &[T], out: &mut Mat<T>) {
    let (n, m) = (x.cols, b.len());
    assert_eq!(w.len(), m * n, "affine: weight shape");
    *out = Mat::zeros(x.rows, m);
    let rows = x.rows;
    if rows == 0 || m == 0 {
        return;
    }
    let bias_rows = |o: &mut [T], b: &[T]| {
        for r in o.chunks_exact_mut(b.len()) {
            r.copy_from_slice(b);
        }
    };
    let ch = chunk_rows(m, rows * n * m);
    if ch >= m {
        bias_rows(&mut out.data, b);
        gemm(
            (rows, n, m),
            T::ONE,
            (&x.data, n, 1),
            (w, 1, n),
            T::ONE,
            (&mut out.data, m),
        );
        return;
    }
    let parts: Vec<Vec<T>> = w
        .par_chunks(ch * n)
        .zip(b.par_chunks(ch))
        .map(|(wc, bc)| {
            let mc = bc.len();
            let mut o = vec![T::ZERO; rows * mc];
            bias_rows(&mut o, bc);
            gemm(
                (rows, n, mc),
                T::ONE,
                (&x.data, n, 1),
                (wc, 1, n),
                T::ONE,
                (&mut o, mc),
            );
            o
        })
        .collect();
    for (c, part) in parts.iter().enumerate() {
        let (j0, mc) = (c * ch, part.len() / rows);
        for (dst, src) in out.data.chunks_exact_mut(m).zip(part.chunks_exact(mc)) {
            dst[j0..j0 + mc].copy_from_slice(src);
        }
    }
}

/// `out = d·W` for a batch `d: B×m` and `W: m×n`: the transposed product `Wᵀ d` of every sample.
/// Parallel over the batch.
pub fn times<T: Real>(d: &Mat<T>, w: &[T], n: usize, out: &mut Mat<T>) {
    let m = d.cols;
    assert_eq!(w.len(), m * n, "times: weight shape");
    *out = Mat::zeros(d.rows, n);
    if d.rows == 0 || n == 0 {
        return;
    }
    let ch = chunk_rows(d.rows, d.rows * m * n);
    out.data
        .par_chunks_mut(ch * n)
        .zip(d.data.par_chunks(ch * m))
        .for_each(|(o, di)| {
            let rows = o.len() / n;
            gemm((rows, m, n), T::ONE, (di, m, 1), (w, n, 1), T::ZERO, (o, n));
        });
}

/// `g += s·rᵀ·z` for batches `r: B×m`, `z: B×n` and a row-major `g: m×n`: the batch sum of the
/// outer products `r_i z_iᵀ` (a weight gradient). Parallel over the rows of `g`; each element is
/// one gemm reduction over the whole batch.
pub fn outer_acc<T: Real>(r: &Mat<T>, z: &Mat<T>, s: T, g: &mut [T]) {
    let (m, n, bsz) = (r.cols, z.cols, r.rows);
    assert_eq!(z.rows, bsz, "outer_acc: batch sizes differ");
    assert_eq!(g.len(), m * n, "outer_acc: gradient shape");
    if m == 0 || n == 0 || bsz == 0 {
        return;
    }
    let ch = chunk_rows(m, m * n * bsz);
    g.par_chunks_mut(ch * n).enumerate().for_each(|(c, gi)| {
        let rows = gi.len() / n;
        let a = &r.data[c * ch..];
        gemm(
            (rows, bsz, n),
            s,
            (a, 1, m),
            (&z.data, n, 1),
            T::ONE,
            (gi, n),
        );
    });
}

/// `g += s·Σ_i r_i` (a bias gradient), summed sample by sample in order.
pub fn col_sum_acc<T: Real>(r: &Mat<T>, s: T, g: &mut [T]) {
    let mut acc = vec![T::ZERO; r.cols];
    for i in 0..r.rows {
        for (a, &v) in acc.iter_mut().zip(r.row(i)) {
            *a += v;
        }
    }
    for (gi, a) in g.iter_mut().zip(acc) {
        *gi += s * a;
    }
}

/// `out = A·Aᵀ` for a row-major `n × k` matrix `a` (the Gram products of the spectral bounds,
/// [`lifted_core::bounds::spectral::spectral_upper_with`]), split over the rows of `out` in the
/// current pool when large. Every entry is one k-term gemm dot product (no other rounding), as
/// that function's contract asks.
pub fn gram<T: Real>(a: &[T], n: usize, k: usize, out: &mut [T]) {
    assert_eq!(a.len(), n * k, "gram: shape");
    assert_eq!(out.len(), n * n, "gram: output shape");
    if n == 0 {
        return;
    }
    if k == 0 {
        out.fill(T::ZERO);
        return;
    }
    let ch = chunk_rows(n, n * n * k);
    out.par_chunks_mut(ch * n).enumerate().for_each(|(c, o)| {
        let rows = o.len() / n;
        gemm(
            (rows, k, n),
            T::ONE,
            (&a[c * ch * k..], k, 1),
            (a, 1, k),
            T::ZERO,
            (o, n),
        );
    });
}

/// Plain product `A·B` of row-major matrices (single-threaded; small host-side products).
pub fn matmul<T: Real>(a: &Mat<T>, b: &Mat<T>) -> Mat<T> {
    assert_eq!(a.cols, b.rows, "matmul: inner dimensions differ");
    let mut c = Mat::zeros(a.rows, b.cols);
    gemm(
        (a.rows, a.cols, b.cols),
        T::ONE,
        (&a.data, a.cols, 1),
        (&b.data, b.cols, 1),
        T::ZERO,
        (&mut c.data, b.cols),
    );
    c
}

#[cfg(test)]
mod tests {
    use super::*;

    fn naive(a: &Mat<f64>, b: &Mat<f64>) -> Mat<f64> {
        let mut c = Mat::zeros(a.rows, b.cols);
        for i in 0..a.rows {
            for j in 0..b.cols {
                c.data[i * b.cols + j] = (0..a.cols)
                    .map(|k| a.data[i * a.cols + k] * b.data[k * b.cols + j])
                    .sum();
            }
        }
        c
    }

    fn m(rows: usize, cols: usize, seed: u64) -> Mat<f64> {
        let data = (0..rows * cols)
            .map(|i| (((i as u64 + 1) * 2654435761 + seed) % 1000) as f64 / 500.0 - 1.0)
            .collect();
        Mat::from_vec(rows, cols, data)
    }

    fn transpose(a: &Mat<f64>) -> Mat<f64> {
        let mut t = Mat::zeros(a.cols, a.rows);
        for i in 0..a.rows {
            for j in 0..a.cols {
                t.data[j * a.rows + i] = a.data[i * a.cols + j];
            }
        }
        t
    }

    fn close(a: &Mat<f64>, b: &Mat<f64>) {
        assert_eq!((a.rows, a.cols), (b.rows, b.cols));
        for (x, y) in a.data.iter().zip(&b.data) {
            assert!((x - y).abs() <= 1e-12 * (1.0 + y.abs()), "{x} vs {y}");
        }
    }

    #[test]
    fn products_match_naive_loops() {
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(3)
            .build()
            .unwrap();
        pool.install(|| {
            let x = m(7, 5, 1);
            let w = m(4, 5, 2);
            let b = vec![0.5, -1.0, 2.0, 0.0];
            let mut out = Mat::zeros(0, 0);
            affine(&x, &w.data, &b, &mut out);
            let mut want = naive(&x, &transpose(&w));
            for row in want.data.chunks_exact_mut(4) {
                for (v, bj) in row.iter_mut().zip(&b) {
                    *v += bj;
                }
            }
            close(&out, &want);

            let d = m(7, 4, 3);
            times(&d, &w.data, 5, &mut out);
            close(&out, &naive(&d, &w));

            let mut g = vec![1.0; 4 * 5];
            outer_acc(&d, &x, 0.5, &mut g);
            let want = naive(&transpose(&d), &x).map(|v| 1.0 + 0.5 * v);
            close(&Mat::from_vec(4, 5, g), &want);

            close(&matmul(&d, &w), &naive(&d, &w));
        });
    }
}
