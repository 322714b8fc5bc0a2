//! Sound upper bounds on the spectral norm σ₁(W) = ‖W‖₂ of an f32 matrix (docs/method.md §8.5).
//!
//! [`spectral_upper`] returns the minimum of three rigorous upper bounds, each computed in f64 with
//! explicit rounding-error terms and upward rounding ([`super::norms`]):
//!
//! 1. the Frobenius norm ‖W‖_F;
//! 2. √(‖W‖₁‖W‖_∞);
//! 3. **Gram iteration** (Delattre et al., 2023): H₀ = W, H_{t+1} = H_tᵀH_t, and
//!    σ₁(W) ≤ ‖H_T‖_F^{1/2^T} = (Σᵢ σᵢ^{2^{T+1}})^{1/2^{T+1}} ≤ rank^{1/2^{T+1}} σ₁, which tends
//!    to σ₁ as T grows (H_T = (WᵀW)^{2^{T−1}} has singular values σᵢ^{2^T}).
//!
//! # Gram iteration under rounding
//!
//! Let n = min(rows, cols) and k = max(rows, cols). The first step forms the n × n Gram matrix of the
//! smaller side, Y₁ = fl(WWᵀ) if rows ≤ cols and fl(WᵀW) otherwise (σ₁(W)² is the top singular value
//! of either), so a 128 × 784 matrix costs one 128 × 128 product with 784-term dot products. The
//! f32 products are exact in f64, so |Y₁ − WWᵀ| ≤ γ_{k+1}|W||W|ᵀ entrywise and
//! ‖Y₁ − WWᵀ‖_F ≤ Δ₀ := γ_{k+1}‖W‖_F². By Weyl's inequality, σ₁(W)² ≤ σ₁(Y₁) + Δ₀.
//!
//! Every Y_t is then **rescaled by an exact power of two**, X_t = flush(2^{−e_t} Y_t), with e_t chosen
//! so that max|X_t| ∈ [½, 1); `flush` sets entries below 2⁻⁵¹¹ to zero. The scaling is exact for every
//! kept entry (it stays a normal number), so the only change is the flush, of Frobenius norm at most
//! φ := n·2⁻⁵¹¹: σ₁(Y_t) ≤ 2^{e_t}(σ₁(X_t) + φ). The flush also guarantees that every later product
//! of two nonzero entries is ≥ 2⁻¹⁰²² (a normal number: no underflow), and the scaling to [½, 1)
//! rules out overflow, so tiny (1e−30) and huge (1e30) weights behave like weights near 1.
//!
//! The next step is Y_{t+1} = fl(X_tX_tᵀ) with n-term dot products, so
//! ‖Y_{t+1} − X_tX_tᵀ‖_F ≤ Δ_t := γ_{n+1}‖X_t‖_F² and σ₁(X_t) ≤ √(σ₁(Y_{t+1}) + Δ_t).
//! After T steps, σ₁(X_T) ≤ ‖X_T‖_F, and the chain is unwound back to W, rounding every sum,
//! product and square root upward. With γ_m ≤ 2mu (u = 2⁻⁵³) the error terms are of relative size
//! ~ 10⁻¹³ per step, and each unwinding square root halves them.
//!
//! # Cost
//!
//! One n × n × k product for the first step, then one symmetric n × n × n product per further step
//! (n = min(rows, cols)). For 784 × 128 and 8 steps that is about 6.5 M + 7 × 1.1 M multiply-adds.

use alloc::vec;
use alloc::vec::Vec;

use super::norms::{
    add_up, all_finite, check_shape, count, div_down, frobenius_sq_upper, frobenius_upper,
    gamma_up, inflate, mul_down, mul_up, norm_inf_upper, norm_one_upper, sqrt_down, sqrt_up,
    sub_down, ETA,
};

/// A sound upper bound of the spectral norm σ₁(W), with an informational lower bound.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SpectralBound {
    /// Rigorous upper bound of σ₁(W) for the exact real matrix of the f32 values; `+∞` if any entry
    /// is NaN or infinite. The only value that may be used in a certificate.
    pub upper: f64,
    /// A lower bound of σ₁(W) from power iteration, computed with downward rounding and an error
    /// term, so `lower ≤ σ₁(W) ≤ upper`. **Informational only** (shows how loose `upper` is);
    /// never certify with it. NaN if any entry is NaN or infinite.
    pub lower: f64,
    /// Which bound gave `upper`.
    pub method: SpectralMethod,
}

/// Which sound bound gave [`SpectralBound::upper`] (the smallest of the three; on a tie the
/// earlier one in this list).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SpectralMethod {
    /// The Frobenius norm ‖W‖_F. Also reported for the zero matrix and for non-finite input.
    Frobenius,
    /// √(‖W‖₁‖W‖_∞), the geometric mean of the largest column and row absolute sums.
    OneInf,
    /// Gram iteration with rigorous rounding-error terms.
    Gram,
}

/// Gram steps beyond this are not taken: the Gram bound is at most rank^{1/2^{T+1}} σ₁ (plus
/// rounding), and for T = 64 and any rank below 2⁶⁴ that factor is below 1 + 2⁻⁵⁹, far smaller
/// than one f64 ulp.
pub const MAX_GRAM_STEPS: u32 = 64;

/// Entries of the rescaled Gram iterates below this are set to zero (2⁻⁵¹¹; its square is the
/// smallest normal f64, so no product of two kept entries underflows).
const FLUSH: f64 = f64::from_bits((1023 - 511) << 52);

/// Power-iteration steps after the start vector taken from the last Gram iterate.
const SEEDED_POWER_STEPS: u32 = 3;

/// Power-iteration steps for the lower estimate when no Gram step is taken.
const UNSEEDED_POWER_STEPS: u32 = 30;

/// A sound upper bound of σ₁(W) for the row-major `rows × cols` matrix `w`, with `gram_steps` steps
/// of Gram iteration (6–12 is typical; 0 skips it; more than [`MAX_GRAM_STEPS`] are clamped).
///
/// `upper` is the minimum of the Frobenius norm, √(‖W‖₁‖W‖_∞) and the Gram-iteration bound (module
/// docs), so it never exceeds [`frobenius_upper`]. It is sound for every step count. The zero and
/// the empty matrix give exactly 0. NaN or infinite entries give `upper = +∞`, `lower = NaN`.
///
/// # Panics
///
/// If `w.len() != rows · cols`.
pub fn spectral_upper(w: &[f32], rows: usize, cols: usize, gram_steps: u32) -> SpectralBound {
    spectral_upper_with(w, rows, cols, gram_steps, &mut gram_rows)
}

/// The Gram products of [`spectral_upper_with`]: `gram(a, n, k, out)` sets the row-major
/// `n × n` matrix `out` to `A Aᵀ` for the row-major `n × k` matrix `a`.
///
/// **Contract** (what the rounding analysis of the module docs needs): every `out[i·n + j]` is a
/// floating-point (f64) evaluation of the k-term dot product Σ_t a[i, t]·a[j, t] in any order of
/// summation, with or without fused multiply-adds, and with no other rounding. `out` need not be
/// exactly symmetric: the bounds use singular values and Frobenius norms only, and
/// σ₁(XXᵀ) = σ₁(XᵀX) = σ₁(X)².
pub type GramProduct<'a> = dyn FnMut(&[f64], usize, usize, &mut [f64]) + 'a;

/// As [`spectral_upper`], with the Gram products of the iteration computed by `gram` (for
/// instance a multithreaded GEMM); sound for any `gram` that keeps the [`GramProduct`] contract.
///
/// # Panics
///
/// If `w.len() != rows · cols`.
pub fn spectral_upper_with(
    w: &[f32],
    rows: usize,
    cols: usize,
    gram_steps: u32,
    gram: &mut GramProduct<'_>,
) -> SpectralBound {
    check_shape(w.len(), rows, cols);
    if !all_finite(w) {
        return SpectralBound {
            upper: f64::INFINITY,
            lower: f64::NAN,
            method: SpectralMethod::Frobenius,
        };
    }
    let fro = frobenius_upper(w);
    if fro == 0.0 {
        return SpectralBound {
            upper: 0.0,
            lower: 0.0,
            method: SpectralMethod::Frobenius,
        };
    }
    let mut upper = fro;
    let mut method = SpectralMethod::Frobenius;
    let one_inf = sqrt_up(mul_up(
        norm_one_upper(w, rows, cols),
        norm_inf_upper(w, rows, cols),
    ));
    if one_inf < upper {
        upper = one_inf;
        method = SpectralMethod::OneInf;
    }
    let steps = gram_steps.min(MAX_GRAM_STEPS);
    let mut start = None;
    if steps > 0 {
        let gram = gram_upper_with(w, rows, cols, steps, gram);
        if gram.upper < upper {
            upper = gram.upper;
            method = SpectralMethod::Gram;
        }
        start = gram.start;
    }
    let lower = match start.filter(|v| v.iter().any(|&t| t != 0.0)) {
        Some(v) => power_lower_from(w, rows, cols, v, SEEDED_POWER_STEPS),
        None => power_iteration_lower(w, rows, cols, UNSEEDED_POWER_STEPS),
    };
    SpectralBound {
        upper,
        lower,
        method,
    }
}

/// A **lower** bound of σ₁(W) by `iters` steps of power iteration on WᵀW from a fixed
/// pseudo-random start vector: ‖Wv‖₂/‖v‖₂ ≤ σ₁(W) for any v ≠ 0.
///
/// The final quotient is evaluated with downward rounding and an explicit bound on the rounding
/// error of Wv, so the result is a lower bound in exact arithmetic too. It is informational only
/// (docs/method.md §8.5): never certify with it. 0 for a zero or empty matrix; NaN if an entry is NaN or
/// infinite.
///
/// # Panics
///
/// If `w.len() != rows · cols`.
pub fn power_iteration_lower(w: &[f32], rows: usize, cols: usize, iters: u32) -> f64 {
    check_shape(w.len(), rows, cols);
    if !all_finite(w) {
        return f64::NAN;
    }
    let mut state = 0x9E37_79B9_7F4A_7C15u64;
    let start = (0..cols)
        .map(|_| {
            // xorshift64; values in ±[1, 2), never zero.
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            let mag = 1.0 + (state >> 11) as f64 / (1u64 << 53) as f64;
            if state & 1 == 0 {
                mag
            } else {
                -mag
            }
        })
        .collect();
    power_lower_from(w, rows, cols, start, iters)
}

/// Result of the Gram iteration.
struct Gram {
    /// Rigorous upper bound of σ₁(W) (`+∞` if the iteration had to give up).
    upper: f64,
    /// A start vector for the power iteration (length `cols`), from the last iterate.
    start: Option<Vec<f64>>,
}

/// Gram-iteration bound with `steps ≥ 1` steps; `w` is finite, nonzero and `rows · cols` long.
#[cfg(test)]
fn gram_upper(w: &[f32], rows: usize, cols: usize, steps: u32) -> Gram {
    gram_upper_with(w, rows, cols, steps, &mut gram_rows)
}

/// As `gram_upper`, with the products computed by `gram` ([`GramProduct`]).
fn gram_upper_with(
    w: &[f32],
    rows: usize,
    cols: usize,
    steps: u32,
    gram: &mut GramProduct<'_>,
) -> Gram {
    let give_up = Gram {
        upper: f64::INFINITY,
        start: None,
    };
    let (n, k) = (rows.min(cols), rows.max(cols));
    // `long` is n × k: the rows of W (rows ≤ cols) or the columns of W. f32 → f64 is exact.
    let long: Vec<f64> = if rows <= cols {
        w.iter().map(|&x| f64::from(x)).collect()
    } else {
        let mut t = vec![0.0f64; n * k];
        for (r, row) in w.chunks_exact(cols).enumerate() {
            for (c, &x) in row.iter().enumerate() {
                if let Some(slot) = t.get_mut(c * k + r) {
                    *slot = f64::from(x);
                }
            }
        }
        t
    };
    let mut y = vec![0.0f64; n * n];
    gram(&long, n, k, &mut y);
    // σ₁(W)² ≤ σ₁(Y₁) + Δ₀, Δ₀ = γ_{k+1}‖W‖_F².
    let delta0 = mul_up(gamma_up(count(k).saturating_add(1)), frobenius_sq_upper(w));

    let mut x = vec![0.0f64; n * n];
    // exps[t] is the scaling exponent of step t + 1; deltas[t] the error term of the product that
    // produced Y_{t+1} (Δ₀ for the first step).
    let mut exps = Vec::with_capacity(steps as usize);
    let mut deltas = Vec::with_capacity(steps as usize);
    deltas.push(delta0);
    let Some(e) = rescale(&y, &mut x) else {
        return give_up;
    };
    exps.push(e);
    let gamma_n = gamma_up(count(n).saturating_add(1));
    for _ in 1..steps {
        // σ₁(X_t)² ≤ σ₁(Y_{t+1}) + Δ_t, Δ_t = γ_{n+1}‖X_t‖_F².
        deltas.push(mul_up(gamma_n, frobenius_sq_upper_f64(&x)));
        gram(&x, n, n, &mut y);
        let Some(e) = rescale(&y, &mut x) else {
            return give_up;
        };
        exps.push(e);
    }

    // Unwind from σ₁(X_T) ≤ ‖X_T‖_F: σ₁(Y_t) ≤ 2^{e_t}(σ₁(X_t) + φ), then
    // σ₁(X_{t−1}) ≤ √(σ₁(Y_t) + Δ_{t−1}) (with X₀ = W).
    let phi = mul_up(count(n) as f64, FLUSH);
    let mut beta = sqrt_up(frobenius_sq_upper_f64(&x));
    for (&e, &delta) in exps.iter().zip(&deltas).rev() {
        let Some(scale) = pow2(e) else {
            return give_up;
        };
        let y_bound = mul_up(add_up(beta, phi), scale);
        beta = sqrt_up(add_up(y_bound, delta));
    }
    if !(beta >= 0.0) {
        return give_up;
    }
    Gram {
        upper: beta,
        start: Some(start_vector(w, rows, cols, &x, n)),
    }
}

/// `out = A Aᵀ` for the row-major `n × k` matrix `a`, computing the upper triangle and mirroring
/// it. Each entry is one k-term dot product; four of them share each load of row i.
fn gram_rows(a: &[f64], n: usize, k: usize, out: &mut [f64]) {
    if k == 0 {
        out.fill(0.0);
        return;
    }
    let mut put = |i: usize, j: usize, d: f64| {
        if let Some(o) = out.get_mut(i * n + j) {
            *o = d;
        }
        if let Some(o) = out.get_mut(j * n + i) {
            *o = d;
        }
    };
    for (i, ai) in a.chunks_exact(k).enumerate() {
        let rest = a.get(i * k..).unwrap_or(&[]);
        let mut quads = rest.chunks_exact(4 * k);
        let mut j = i;
        for quad in &mut quads {
            let d = dot4(ai, quad, k);
            for (t, &dt) in d.iter().enumerate() {
                put(i, j + t, dt);
            }
            j += 4;
        }
        for aj in quads.remainder().chunks_exact(k) {
            put(i, j, dot(ai, aj));
            j += 1;
        }
    }
}

/// The four dot products of `a` (length k) with the rows of the 4 × k block `b`, each with four
/// independent accumulators (vectorisable; no FMA).
#[inline]
fn dot4(a: &[f64], b: &[f64], k: usize) -> [f64; 4] {
    let (b0, rest) = b.split_at(k);
    let (b1, rest) = rest.split_at(k);
    let (b2, b3) = rest.split_at(k);
    let mut acc = [[0.0f64; 4]; 4];
    let chunks = a
        .chunks_exact(4)
        .zip(b0.chunks_exact(4))
        .zip(b1.chunks_exact(4))
        .zip(b2.chunks_exact(4))
        .zip(b3.chunks_exact(4));
    for ((((x, y0), y1), y2), y3) in chunks {
        for (acc_j, y) in acc.iter_mut().zip([y0, y1, y2, y3]) {
            for ((s, &p), &q) in acc_j.iter_mut().zip(x).zip(y) {
                *s += p * q;
            }
        }
    }
    let tail = k - k % 4;
    let mut out = [0.0f64; 4];
    for ((o, acc_j), y) in out.iter_mut().zip(acc).zip([b0, b1, b2, b3]) {
        let [s0, s1, s2, s3] = acc_j;
        let mut s = (s0 + s2) + (s1 + s3);
        for (&p, &q) in a
            .get(tail..)
            .unwrap_or(&[])
            .iter()
            .zip(y.get(tail..).unwrap_or(&[]))
        {
            s += p * q;
        }
        *o = s;
    }
    out
}

/// Dot product with eight independent accumulators (vectorisable; no FMA). Any summation order has
/// the same error bound γ_{len+1} Σ|aᵢbᵢ| (module docs of [`super::norms`]).
#[inline]
fn dot(a: &[f64], b: &[f64]) -> f64 {
    let mut acc = [0.0f64; 8];
    let ca = a.chunks_exact(8);
    let cb = b.chunks_exact(8);
    let (ra, rb) = (ca.remainder(), cb.remainder());
    for (x, y) in ca.zip(cb) {
        for ((s, &p), &q) in acc.iter_mut().zip(x).zip(y) {
            *s += p * q;
        }
    }
    let [a0, a1, a2, a3, a4, a5, a6, a7] = acc;
    let mut s = ((a0 + a4) + (a1 + a5)) + ((a2 + a6) + (a3 + a7));
    for (&p, &q) in ra.iter().zip(rb) {
        s += p * q;
    }
    s
}

/// `x = flush(2^{−e} y)` with e such that max|x| ∈ [½, 1); returns e. `None` if `y` is zero or not
/// finite, or if 2^{−e} is not a normal f64.
fn rescale(y: &[f64], x: &mut [f64]) -> Option<i32> {
    let max = y.iter().fold(0.0f64, |m, &v| m.max(v.abs()));
    if !(max > 0.0 && max.is_finite()) || y.iter().any(|v| v.is_nan()) {
        return None;
    }
    let (_, e) = libm::frexp(max);
    let s = pow2(-e)?;
    for (xo, &yi) in x.iter_mut().zip(y) {
        // Exact whenever the exact value is ≥ 2⁻⁵¹¹ (a normal number); otherwise flushed, with an
        // error below 2⁻⁵¹¹.
        let z = yi * s;
        *xo = if z.abs() >= FLUSH { z } else { 0.0 };
    }
    Some(e)
}

/// 2^e as an f64 for a normal exponent e ∈ [−1022, 1023].
fn pow2(e: i32) -> Option<f64> {
    if (-1022..=1023).contains(&e) {
        let biased = u64::try_from(e + 1023).ok()?;
        Some(f64::from_bits(biased << 52))
    } else {
        None
    }
}

/// Upper bound of Σ xᵢ² for a rescaled iterate (entries 0 or ≥ 2⁻⁵¹¹, so no square underflows).
fn frobenius_sq_upper_f64(x: &[f64]) -> f64 {
    let s = x.iter().fold(0.0f64, |a, &v| a + v * v);
    inflate(s, count(x.len()))
}

/// A power-iteration start vector of length `cols` from the last Gram iterate `x` (n × n), which is
/// proportional to (WWᵀ)^p or (WᵀW)^p: its row with the largest diagonal entry.
fn start_vector(w: &[f32], rows: usize, cols: usize, x: &[f64], n: usize) -> Vec<f64> {
    let r = (0..n)
        .max_by(|&a, &b| {
            let da = x.get(a * n + a).copied().unwrap_or(0.0);
            let db = x.get(b * n + b).copied().unwrap_or(0.0);
            da.total_cmp(&db)
        })
        .unwrap_or(0);
    let u = x.get(r * n..(r + 1) * n).unwrap_or(&[]);
    if rows <= cols {
        // u lives in the row space (length rows): map it to the column space with Wᵀu.
        let mut v = vec![0.0f64; cols];
        for (row, &ui) in w.chunks_exact(cols).zip(u) {
            for (vj, &wij) in v.iter_mut().zip(row) {
                *vj += f64::from(wij) * ui;
            }
        }
        v
    } else {
        u.to_vec()
    }
}

/// `iters` power steps v ← Wᵀ(Wv) from `v` (length `cols`), then the rigorous lower bound of
/// ‖Wv‖/‖v‖. `w` must be finite and `rows · cols` long.
fn power_lower_from(w: &[f32], rows: usize, cols: usize, mut v: Vec<f64>, iters: u32) -> f64 {
    if rows == 0 || cols == 0 || v.len() != cols {
        return 0.0;
    }
    let w64: Vec<f64> = w.iter().map(|&x| f64::from(x)).collect();
    let mut y = vec![0.0f64; rows];
    let mut next = vec![0.0f64; cols];
    for _ in 0..iters {
        mat_vec(&w64, cols, &v, &mut y);
        next.fill(0.0);
        for (row, &yi) in w64.chunks_exact(cols).zip(&y) {
            for (nj, &wij) in next.iter_mut().zip(row) {
                *nj += wij * yi;
            }
        }
        let max = next.iter().fold(0.0f64, |m, &t| m.max(t.abs()));
        if !(max > 0.0 && max.is_finite()) {
            break; // v is in the null space (or the iteration broke down): keep the last v.
        }
        for (vj, &t) in v.iter_mut().zip(&next) {
            *vj = t / max;
        }
    }
    rayleigh_lower(&w64, w, rows, cols, &v, &mut y)
}

/// y = fl(Wv) for the row-major `w` with `cols` columns (k-term dot products, any order).
fn mat_vec(w: &[f64], cols: usize, v: &[f64], y: &mut [f64]) {
    for (yi, row) in y.iter_mut().zip(w.chunks_exact(cols)) {
        *yi = dot(row, v);
    }
}

/// Rigorous lower bound of ‖Wv‖₂/‖v‖₂ (0 when it cannot be shown positive).
///
/// With ŷ = fl(Wv): ‖Wv‖ ≥ ‖ŷ‖ − ‖ŷ − Wv‖, where |ŷᵢ − (Wv)ᵢ| ≤ γ_{cols+1}(|W||v|)ᵢ + cols·2⁻¹⁰⁷⁴
/// (the last term covers underflow), so ‖ŷ − Wv‖ ≤ γ_{cols+1}‖W‖_F‖v‖ + rows·cols·2⁻¹⁰⁷⁴.
/// Sums of squares are bounded below by ŝ(1 − 2mu) minus the underflow terms, above by
/// [`inflate`] plus them.
fn rayleigh_lower(
    w64: &[f64],
    w: &[f32],
    rows: usize,
    cols: usize,
    v: &[f64],
    y: &mut [f64],
) -> f64 {
    mat_vec(w64, cols, v, y);
    let (rows_c, cols_c) = (count(rows), count(cols));
    let y_sq = y.iter().fold(0.0f64, |a, &t| a + t * t);
    let y_sq_lo = sub_down(
        mul_down(y_sq, sub_down(1.0, gamma_up(rows_c))),
        mul_up(rows as f64, ETA),
    );
    let v_sq = v.iter().fold(0.0f64, |a, &t| a + t * t);
    let v_norm_up = sqrt_up(add_up(inflate(v_sq, cols_c), mul_up(cols as f64, ETA)));
    let err_up = add_up(
        mul_up(
            mul_up(gamma_up(cols_c.saturating_add(1)), frobenius_upper(w)),
            v_norm_up,
        ),
        mul_up(mul_up(rows as f64, cols as f64), ETA),
    );
    if !(y_sq_lo > 0.0) {
        return 0.0;
    }
    let num = sub_down(sqrt_down(y_sq_lo), err_up);
    if !(num > 0.0) || !(v_norm_up > 0.0) {
        return 0.0;
    }
    let r = div_down(num, v_norm_up);
    if r > 0.0 {
        r
    } else {
        0.0
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]
mod tests {
    use super::super::norms::tests::{ge_int, sq_ge_int};
    use super::super::norms::U;
    use super::*;
    use nalgebra::DMatrix;
    use proptest::prelude::*;
    use std::vec::Vec;

    /// Relative accuracy assumed of nalgebra's f64 SVD for σ₁ (backward stable: a few hundred ulps at
    /// most for these sizes; observed ~1e−15). Comparisons with the SVD oracle allow this much.
    const SVD_RTOL: f64 = 1e-12;

    /// σ₁ of the exact matrix of the f32 values, by an f64 SVD.
    fn sigma1(w: &[f32], rows: usize, cols: usize) -> f64 {
        if rows == 0 || cols == 0 {
            return 0.0;
        }
        let m = DMatrix::from_row_slice(
            rows,
            cols,
            &w.iter().map(|&x| f64::from(x)).collect::<Vec<_>>(),
        );
        m.singular_values().max()
    }

    /// Plain-f64 twin of the Gram iteration (no error terms): ‖(WWᵀ)^{2^{T−1}}‖_F^{1/2^T}, with the
    /// scale tracked in logarithms.
    fn reference_gram(w: &[f32], rows: usize, cols: usize, steps: u32) -> f64 {
        let m = DMatrix::from_row_slice(
            rows,
            cols,
            &w.iter().map(|&x| f64::from(x)).collect::<Vec<_>>(),
        );
        let mut h = if rows <= cols {
            &m * m.transpose()
        } else {
            m.transpose() * &m
        };
        let mut log_c = 0.0f64;
        for _ in 1..steps {
            let f = h.norm();
            h /= f;
            log_c += f.ln();
            h = &h * &h;
            log_c *= 2.0;
        }
        ((log_c + h.norm().ln()) / 2f64.powi(steps as i32)).exp()
    }

    /// xorshift64 for reproducible test matrices.
    struct Rng(u64);
    impl Rng {
        fn next_u64(&mut self) -> u64 {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            self.0
        }
        /// Uniform in [0, 1).
        fn uniform(&mut self) -> f64 {
            (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
        }
        /// Standard normal (Box–Muller).
        fn gauss(&mut self) -> f64 {
            let u1 = 1.0 - self.uniform();
            let u2 = self.uniform();
            (-2.0 * u1.ln()).sqrt() * (2.0 * std::f64::consts::PI * u2).cos()
        }
    }

    fn gaussian(rows: usize, cols: usize, seed: u64) -> Vec<f32> {
        let mut rng = Rng(seed);
        (0..rows * cols).map(|_| rng.gauss() as f32).collect()
    }

    fn transpose(w: &[f32], rows: usize, cols: usize) -> Vec<f32> {
        (0..cols * rows)
            .map(|i| w[(i % rows) * cols + i / rows])
            .collect()
    }

    /// The checks every case must pass. Returns σ₁ (SVD) for further assertions.
    fn check_sound(w: &[f32], rows: usize, cols: usize, steps: u32) -> (SpectralBound, f64) {
        let b = spectral_upper(w, rows, cols, steps);
        let s = sigma1(w, rows, cols);
        assert!(
            b.upper >= s * (1.0 - SVD_RTOL),
            "{rows}×{cols}, {steps} steps: upper {} < σ₁ {s}",
            b.upper
        );
        assert!(b.upper <= frobenius_upper(w), "upper above Frobenius");
        assert!(
            b.lower <= s * (1.0 + SVD_RTOL),
            "lower {} > σ₁ {s}",
            b.lower
        );
        assert!(b.lower >= 0.0 && b.lower <= b.upper);
        if steps >= 1 && s > 0.0 {
            // Gram bound ≤ (Σσᵢ^{2^{T+1}})^{1/2^{T+1}} ≤ rank^{1/2^{T+1}} σ₁, plus rounding ≪ 1e−9.
            let n = rows.min(cols) as f64;
            let cap =
                s * n.powf(1.0 / 2f64.powi(steps.min(MAX_GRAM_STEPS) as i32 + 1)) * (1.0 + 1e-9);
            assert!(
                b.upper <= cap,
                "{rows}×{cols}, {steps} steps: upper {} > {cap} (σ₁ {s})",
                b.upper
            );
        }
        (b, s)
    }

    /// Entries of very different kinds: uniform, zero, and arbitrary magnitudes 2^[−140, 120].
    fn entry() -> impl Strategy<Value = f32> {
        prop_oneof![
            4 => -1.0f32..1.0,
            1 => Just(0.0f32),
            2 => (-1.0f32..1.0, -140i32..=120).prop_map(|(m, e)| (f64::from(m) * 2f64.powi(e)) as f32),
        ]
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 192, ..ProptestConfig::default() })]

        #[test]
        fn upper_is_sound_tight_and_below_frobenius(
            (rows, cols, w) in (1usize..=20, 1usize..=20)
                .prop_flat_map(|(r, c)| (Just(r), Just(c), proptest::collection::vec(entry(), r * c))),
            scale in -100i32..=100,
            steps in 0u32..=12,
        ) {
            let w: Vec<f32> = w.iter().map(|&x| (f64::from(x) * 2f64.powi(scale)) as f32).collect();
            prop_assume!(w.iter().all(|x| x.is_finite()));
            check_sound(&w, rows, cols, steps);
        }

        #[test]
        fn gram_matches_plain_reference(
            (rows, cols, w) in (1usize..=16, 1usize..=16)
                .prop_flat_map(|(r, c)| (Just(r), Just(c), proptest::collection::vec(-1.0f32..1.0, r * c))),
            steps in 1u32..=10,
        ) {
            prop_assume!(w.iter().any(|&x| x != 0.0));
            let got = gram_upper(&w, rows, cols, steps).upper;
            let want = reference_gram(&w, rows, cols, steps);
            // Error terms are ~1e−13 relative; the reference itself is accurate to ~1e−14.
            prop_assert!(got >= want * (1.0 - 1e-12), "{got} < reference {want}");
            prop_assert!(got <= want * (1.0 + 1e-10), "{got} ≫ reference {want}");
        }
    }

    /// The Gram matrix of w = (1, 2⁻²⁷, …, 2⁻²⁷) is computed as exactly 1 (every 2⁻⁵⁴ is absorbed),
    /// while σ₁² = 1 + n·2⁻⁵⁴. Without the error term Δ₀ the Gram bound would be ≈ 1 + 2⁻⁵², below
    /// σ₁ ≈ 1 + n·2⁻⁵⁵ (and it would win the minimum).
    #[test]
    fn gram_error_term_covers_absorbed_products() {
        let n = 1000usize;
        let mut w = vec![1.0f32];
        w.extend(core::iter::repeat_n(2f32.powi(-27), n));
        let exact_sq = (1u128 << 54) + n as u128; // σ₁² · 2⁵⁴
        for steps in [1, 2, 8, 12] {
            for (rows, cols) in [(1, n + 1), (n + 1, 1)] {
                let b = spectral_upper(&w, rows, cols, steps);
                assert!(
                    sq_ge_int(b.upper, exact_sq, 54),
                    "{rows}×{cols}, {steps}: {}",
                    b.upper
                );
                assert!(sq_ge_int(
                    gram_upper(&w, rows, cols, steps).upper,
                    exact_sq,
                    54
                ));
            }
            // Two such rows (σ₁² = 2 + 2n·2⁻⁵⁴ for two equal rows).
            let two: Vec<f32> = w.iter().chain(&w).copied().collect();
            let b = gram_upper(&two, 2, n + 1, steps).upper;
            assert!(sq_ge_int(b, 2 * exact_sq, 54), "{b}");
            let b = gram_upper(&transpose(&two, 2, n + 1), n + 1, 2, steps).upper;
            assert!(sq_ge_int(b, 2 * exact_sq, 54), "{b}");
        }
    }

    #[test]
    fn zero_and_empty_matrices_give_zero() {
        for (r, c) in [(0, 0), (0, 5), (5, 0), (1, 1), (3, 7), (7, 3)] {
            let w = vec![0.0f32; r * c];
            for steps in [0, 1, 8] {
                let b = spectral_upper(&w, r, c, steps);
                assert_eq!((b.upper, b.lower), (0.0, 0.0), "{r}×{c}");
            }
            assert_eq!(power_iteration_lower(&w, r, c, 5), 0.0);
        }
        // Negative zeros too.
        assert_eq!(spectral_upper(&[-0.0; 6], 2, 3, 8).upper, 0.0);
    }

    #[test]
    fn non_finite_input_gives_infinite_upper() {
        for bad in [f32::NAN, f32::INFINITY, f32::NEG_INFINITY] {
            for pos in [0, 5, 11] {
                let mut w = vec![0.5f32; 12];
                w[pos] = bad;
                for steps in [0, 8] {
                    let b = spectral_upper(&w, 3, 4, steps);
                    assert_eq!(b.upper, f64::INFINITY);
                    assert!(b.lower.is_nan());
                }
                assert!(power_iteration_lower(&w, 4, 3, 5).is_nan());
            }
        }
    }

    #[test]
    #[should_panic(expected = "is not 3×4")]
    fn shape_mismatch_panics() {
        let _ = spectral_upper(&[1.0; 11], 3, 4, 8);
    }

    #[test]
    fn identity_is_exactly_bounded() {
        for n in [1usize, 2, 7, 64] {
            let mut w = vec![0.0f32; n * n];
            for i in 0..n {
                w[i * n + i] = 1.0;
            }
            for steps in [0, 1, 8, 12] {
                let b = spectral_upper(&w, n, n, steps);
                assert!(b.upper >= 1.0);
                // Each row sum carries the factor 1 + 2nu of its error term, and every rounded-up
                // operation adds an ulp.
                assert!(
                    b.upper <= 1.0 + 4.0 * n as f64 * U + 8.0 * f64::EPSILON,
                    "n = {n}: {}",
                    b.upper
                );
                assert!(b.lower <= 1.0 && b.lower >= 1.0 - 1e-12);
            }
            if n > 1 {
                // ‖I‖₁ = ‖I‖_∞ = 1 is tighter than Gram (n^{1/2^T}) here.
                assert_eq!(spectral_upper(&w, n, n, 8).method, SpectralMethod::OneInf);
            }
        }
    }

    #[test]
    fn single_entry_is_exactly_bounded() {
        let values = [
            f32::from_bits(1), // smallest subnormal, 1.4e−45
            -1e-38,            // subnormal
            1e-30,
            -1.0,
            3.0e7,
            1e30,
            -f32::MAX,
        ];
        for &x in &values {
            let exact = f64::from(x).abs();
            for (rows, cols, at) in [(1, 1, 0), (5, 7, 17), (7, 5, 34), (1, 9, 4), (9, 1, 8)] {
                let mut w = vec![0.0f32; rows * cols];
                w[at] = x;
                for steps in [0, 1, 2, 8, 30] {
                    let b = spectral_upper(&w, rows, cols, steps);
                    assert!(b.upper >= exact, "{x} in {rows}×{cols}: {}", b.upper);
                    assert!(
                        b.upper <= exact * (1.0 + 1e-14),
                        "{x} in {rows}×{cols}: {}",
                        b.upper
                    );
                    assert!(b.lower <= exact && b.lower >= exact * (1.0 - 1e-12));
                }
            }
        }
    }

    /// W = u vᵀ with small integers, so W is exactly rank 1 in f32 and σ₁ = ‖u‖‖v‖ exactly.
    #[test]
    fn rank_one_exact() {
        let cases: [(&[f32], &[f32], f64); 3] = [
            (&[1.0, 2.0, 2.0], &[2.0, 3.0, 6.0], 21.0),
            (&[1.0, 1.0, 3.0, 5.0], &[2.0, -3.0, 6.0], 42.0),
            (&[2.0, -6.0, 9.0], &[1.0, -1.0, 3.0, 5.0, 0.0], 66.0),
        ];
        for (u, v, sigma) in cases {
            for scale in [-135i32, -100, 0, 60, 100] {
                let s = 2f64.powi(scale);
                let w: Vec<f32> = u
                    .iter()
                    .flat_map(|&a| v.iter().map(move |&b| (f64::from(a * b) * s) as f32))
                    .collect();
                for (i, &x) in w.iter().enumerate() {
                    assert_eq!(
                        f64::from(x),
                        f64::from(u[i / v.len()] * v[i % v.len()]) * s,
                        "exact f32"
                    );
                }
                let exact = sigma * s;
                let wt = transpose(&w, u.len(), v.len());
                for steps in [1, 4, 8, 12] {
                    for b in [
                        spectral_upper(&w, u.len(), v.len(), steps),
                        spectral_upper(&wt, v.len(), u.len(), steps),
                    ] {
                        assert!(
                            b.upper >= exact,
                            "scale 2^{scale}, {steps} steps: {} < {exact}",
                            b.upper
                        );
                        assert!(b.upper <= exact * (1.0 + 1e-12), "{} vs {exact}", b.upper);
                        assert!(b.lower <= exact && b.lower >= exact * (1.0 - 1e-12));
                    }
                }
            }
        }
    }

    /// W = H diag(d) Hᵀ / 4 with the 4 × 4 Sylvester–Hadamard H: the all-ones vector (column 0 of H)
    /// is an eigenvector with eigenvalue 4, orthogonal to the top one (eigenvalue 40), so power
    /// iteration from the all-ones vector never leaves 4.
    #[test]
    fn power_iteration_from_ones_is_blind_but_bounds_are_not() {
        let h = [
            [1.0f64, 1.0, 1.0, 1.0],
            [1.0, -1.0, 1.0, -1.0],
            [1.0, 1.0, -1.0, -1.0],
            [1.0, -1.0, -1.0, 1.0],
        ];
        let d = [4.0f64, 40.0, 8.0, 12.0];
        let mut w = vec![0.0f32; 16];
        for i in 0..4 {
            for j in 0..4 {
                let x: f64 = (0..4).map(|k| h[i][k] * d[k] * h[j][k]).sum::<f64>() / 4.0;
                w[i * 4 + j] = x as f32;
                assert_eq!(f64::from(w[i * 4 + j]), x);
            }
        }
        let from_ones = power_lower_from(&w, 4, 4, vec![1.0; 4], 50);
        assert!((4.0 - 1e-9..=4.0).contains(&from_ones), "{from_ones}");
        for steps in [0, 1, 8, 12] {
            let b = spectral_upper(&w, 4, 4, steps);
            assert!(b.upper >= 40.0);
            assert!(
                b.lower >= 40.0 * (1.0 - 1e-6),
                "steps {steps}: lower {}",
                b.lower
            );
            if steps >= 8 {
                assert!(b.upper <= 40.0 * (1.0 + 1e-9), "{}", b.upper);
            }
        }
        let lower = power_iteration_lower(&w, 4, 4, 50);
        assert!((40.0 * (1.0 - 1e-9)..=40.0).contains(&lower), "{lower}");
        // The same blind spot inside a larger matrix, embedded block-diagonally with a small block.
        let n = 12;
        let mut big = vec![0.0f32; n * n];
        for i in 0..4 {
            for j in 0..4 {
                big[i * n + j] = w[i * 4 + j];
            }
        }
        for i in 4..n {
            big[i * n + i] = 3.0;
        }
        let b = spectral_upper(&big, n, n, 10);
        assert!(b.upper >= 40.0 && b.upper <= 40.0 * (1.0 + 1e-9));
    }

    /// c · 11ᵀ (4 × 16): σ₁ = 8|c| exactly, for tiny, subnormal and huge c.
    #[test]
    fn constant_matrices_of_extreme_magnitude() {
        for c in [
            f32::from_bits(1),
            1e-45,
            1e-38,
            -1e-38,
            1e-30,
            1.0,
            1e30,
            -1e30,
            f32::MAX,
        ] {
            let exact = 8.0 * f64::from(c).abs();
            for (rows, cols) in [(4, 16), (16, 4)] {
                let w = vec![c; 64];
                for steps in [1, 8, 12] {
                    let b = spectral_upper(&w, rows, cols, steps);
                    assert!(b.upper >= exact, "c = {c:e}: {} < {exact:e}", b.upper);
                    assert!(
                        b.upper <= exact * (1.0 + 1e-12),
                        "c = {c:e}: {:e} vs {exact:e}",
                        b.upper
                    );
                    assert!(b.lower <= exact && b.lower >= exact * (1.0 - 1e-12));
                }
            }
        }
    }

    /// Random signs and values at tiny, subnormal and huge scales, against the SVD of the exact
    /// f32 values.
    #[test]
    fn random_matrices_at_extreme_scales() {
        for (k, &scale) in [1e-30f64, 1e-38, 1e-42, 1e30, 1e36].iter().enumerate() {
            for (rows, cols) in [(9, 13), (13, 9), (1, 20), (20, 1), (16, 16)] {
                let w: Vec<f32> = gaussian(rows, cols, 7 + k as u64)
                    .iter()
                    .map(|&x| (f64::from(x) * scale) as f32)
                    .collect();
                assert!(w.iter().all(|x| x.is_finite()));
                for steps in [0, 1, 8] {
                    let (b, s) = check_sound(&w, rows, cols, steps);
                    assert!(s > 0.0 && b.upper > 0.0);
                }
            }
        }
    }

    /// Mixed magnitudes in one matrix: entries spread over 2^[−149, 127].
    #[test]
    fn mixed_magnitudes() {
        let diag = [1e30f32, 1.0, 1e-30, 1e-38, f32::from_bits(1)];
        let mut w = vec![0.0f32; 25];
        for (i, &d) in diag.iter().enumerate() {
            w[i * 5 + i] = d;
        }
        for steps in [0, 1, 8, 12] {
            let b = spectral_upper(&w, 5, 5, steps);
            assert!(b.upper >= 1e30f32 as f64 && b.upper <= f64::from(1e30f32) * (1.0 + 1e-12));
        }
        let mut rng = Rng(99);
        for (rows, cols) in [(12, 30), (30, 12), (25, 25)] {
            let w: Vec<f32> = (0..rows * cols)
                .map(|_| {
                    let e = (rng.uniform() * 276.0) as i32 - 149;
                    ((rng.uniform() - 0.5) * 2f64.powi(e)) as f32
                })
                .collect();
            for steps in [0, 1, 6, 10] {
                check_sound(&w, rows, cols, steps);
            }
        }
    }

    /// Exact powers of two commute with every step, so the bound scales with the matrix (up to the
    /// absolute flush terms, which are far below 1e−12 relative).
    #[test]
    fn scaling_by_powers_of_two() {
        let w = gaussian(10, 14, 3);
        let base = spectral_upper(&w, 10, 14, 8).upper;
        for k in [-100i32, -60, -1, 1, 60, 100] {
            let s = 2f64.powi(k);
            let ws: Vec<f32> = w.iter().map(|&x| (f64::from(x) * s) as f32).collect();
            let b = spectral_upper(&ws, 10, 14, 8).upper;
            assert!(
                (b / (base * s) - 1.0).abs() <= 1e-12,
                "2^{k}: {b:e} vs {:e}",
                base * s
            );
        }
    }

    #[test]
    fn every_step_count_is_sound() {
        let w = gaussian(10, 6, 11);
        let s = sigma1(&w, 10, 6);
        let mut last = f64::INFINITY;
        for steps in [0u32, 1, 2, 3, 5, 8, 16, 40, 64, 65, 1000, u32::MAX] {
            let b = spectral_upper(&w, 10, 6, steps);
            assert!(b.upper >= s * (1.0 - SVD_RTOL));
            if steps <= 16 {
                // More steps never hurt noticeably (the bound decreases up to rounding).
                assert!(b.upper <= last * (1.0 + 1e-12));
            }
            last = b.upper;
        }
        assert_eq!(
            spectral_upper(&w, 10, 6, 1000).upper,
            spectral_upper(&w, 10, 6, MAX_GRAM_STEPS).upper
        );
        // Gram alone, at 64 steps, is within rounding of σ₁.
        let g = gram_upper(&w, 10, 6, 64).upper;
        assert!(
            g >= s * (1.0 - SVD_RTOL) && g <= s * (1.0 + 1e-12),
            "{g} vs {s}"
        );
    }

    #[test]
    fn one_by_n_and_n_by_one() {
        // (2, 3, 6) has norm 7.
        for (rows, cols) in [(1, 3), (3, 1)] {
            let b = spectral_upper(&[2.0, -3.0, 6.0], rows, cols, 8);
            assert!(b.upper >= 7.0 && b.upper <= 7.0 * (1.0 + 1e-14));
        }
        for n in [1usize, 2, 17, 784] {
            let w = gaussian(1, n, n as u64);
            let exact: f64 = w.iter().map(|&x| f64::from(x).powi(2)).sum::<f64>().sqrt();
            for (rows, cols) in [(1, n), (n, 1)] {
                for steps in [0, 1, 8] {
                    let b = spectral_upper(&w, rows, cols, steps);
                    assert!(b.upper >= exact * (1.0 - 1e-14) && b.upper <= exact * (1.0 + 1e-12));
                }
            }
        }
    }

    /// Random Gaussian 128 × 784 (and its transpose) at 8 steps, 13 seeds.
    ///
    /// Measured: upper/σ₁ − 1 is 4e−7 for seed 2023 and at most 1.2e−3 over seeds 1–12 (median
    /// ~2e−6); the lower bound is within 2e−4 of σ₁. The asserted 1.005 leaves 4× margin over the
    /// worst seed. Reason: the 8-step Gram factor is (Σᵢ(σᵢ/σ₁)^512)^{1/512}, and reaching 1.005 would
    /// take about 13 singular values within a hair of σ₁ (13^{1/512} ≈ 1.005); the worst seed (3)
    /// has one near-tie, worth 1.2e−3.
    #[test]
    fn gram_is_tight_on_gaussian_128_by_784() {
        let (rows, cols) = (128, 784);
        let mut worst = 0.0f64;
        for seed in [2023u64, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12] {
            let w = gaussian(rows, cols, seed);
            let s = sigma1(&w, rows, cols);
            let b = spectral_upper(&w, rows, cols, 8);
            let bt = spectral_upper(&transpose(&w, rows, cols), cols, rows, 8);
            std::println!(
                "seed {seed:4}: σ₁ = {s:.6}, upper/σ₁ − 1 = {:.2e}, 1 − lower/σ₁ = {:.2e}, transposed upper/σ₁ − 1 = {:.2e}",
                b.upper / s - 1.0,
                1.0 - b.lower / s,
                bt.upper / s - 1.0
            );
            assert_eq!(b.method, SpectralMethod::Gram);
            for u in [b.upper, bt.upper] {
                assert!(u >= s * (1.0 - SVD_RTOL), "seed {seed}: {u} < σ₁ {s}");
                assert!(u <= 1.005 * s, "seed {seed}: ratio {}", u / s);
            }
            // Both orientations compute the same 128 × 128 Gram matrix (up to summation order).
            assert!((b.upper / bt.upper - 1.0).abs() < 1e-9);
            // The lower bound from the Gram-seeded power iteration is close too.
            assert!(
                b.lower <= s * (1.0 + SVD_RTOL) && b.lower >= 0.999 * s,
                "seed {seed}: lower ratio {}",
                b.lower / s
            );
            // Frobenius and √(‖W‖₁‖W‖_∞) are far looser here.
            assert!(frobenius_upper(&w) > 1.5 * s);
            worst = worst.max(b.upper / s);
        }
        std::println!("worst upper/σ₁ = {worst:.6}");
    }

    #[test]
    fn power_iteration_lower_is_a_lower_bound() {
        for (rows, cols, seed) in [(5, 9, 1u64), (9, 5, 2), (30, 30, 3), (1, 7, 4), (7, 1, 5)] {
            let w = gaussian(rows, cols, seed);
            let s = sigma1(&w, rows, cols);
            let mut last = 0.0;
            for iters in [0u32, 1, 5, 50, 500] {
                let l = power_iteration_lower(&w, rows, cols, iters);
                assert!(
                    l > 0.0 && l <= s * (1.0 + SVD_RTOL),
                    "{rows}×{cols}, {iters}: {l} vs {s}"
                );
                last = l;
            }
            assert!(last >= 0.99 * s, "{rows}×{cols}: {last} vs {s}");
        }
        // Rank one plus a small perturbation: a clear gap, fast convergence.
        let u: Vec<f32> = gaussian(1, 20, 8);
        let mut w: Vec<f32> = u
            .iter()
            .flat_map(|&a| u.iter().map(move |&b| a * b))
            .collect();
        for (x, e) in w.iter_mut().zip(gaussian(20, 20, 9)) {
            *x += 1e-3 * e;
        }
        let s = sigma1(&w, 20, 20);
        let l = power_iteration_lower(&w, 20, 20, 20);
        assert!(
            l <= s * (1.0 + SVD_RTOL) && l >= s * (1.0 - 1e-9),
            "{l} vs {s}"
        );
    }

    #[test]
    fn rescale_is_exact_or_flushes() {
        let y = [
            3.0,
            -1e-150,
            2f64.powi(-509),
            1e-200,
            0.0,
            -0.75,
            2f64.powi(-509).next_down(),
        ];
        let mut x = [9.0; 7];
        let e = rescale(&y, &mut x).unwrap();
        assert_eq!(e, 2); // max 3 = 0.75 · 2²
                          // Kept entries are scaled exactly; entries below 2⁻⁵¹¹ after scaling are flushed.
        assert_eq!(
            x,
            [0.75, -0.25e-150, 2f64.powi(-511), 0.0, 0.0, -0.1875, 0.0]
        );
        assert!(rescale(&[0.0, -0.0], &mut x[..2]).is_none());
        assert!(rescale(&[1.0, f64::NAN], &mut x[..2]).is_none());
        assert_eq!(pow2(-1022), Some(f64::MIN_POSITIVE));
        assert_eq!(pow2(1023), Some(2f64.powi(1023)));
        assert_eq!(pow2(-1023), None);
        assert_eq!(FLUSH, 2f64.powi(-511));
    }

    #[test]
    fn bounds_are_sound_in_exact_arithmetic_for_integer_matrices() {
        // Integer matrices with a known σ₁²: [[2, 1], [1, 2]] has σ₁ = 3; [[1, 1], [0, 1]] has
        // σ₁² = (3 + √5)/2, which is irrational; check b² ≥ σ₁² via 4b² ≥ 6 + 2√5 ⇔ (2b² − 3)² ≥ 5.
        let b = spectral_upper(&[2.0, 1.0, 1.0, 2.0], 2, 2, 10).upper;
        assert!(ge_int(b, 3, 0) && b <= 3.0 * (1.0 + 1e-12));
        let b = spectral_upper(&[1.0, 1.0, 0.0, 1.0], 2, 2, 10).upper;
        let golden = (1.0 + 5f64.sqrt()) / 2.0;
        assert!(b <= golden * (1.0 + 1e-12));
        assert!(sq_ge_int(b, 2, 0)); // σ₁² ≈ 2.618 ≥ 2: the bound is not absurdly low
        let t = 2.0 * b * b - 3.0;
        assert!(t > 0.0 && t * t * (1.0 - 8.0 * U) >= 5.0, "{b}");
    }
}
