//! Rigorous f64 upper bounds of norms of f32 vectors and matrices, and directed-rounding helpers.
//!
//! Every bound here is **at least** the exact real value for the exact real numbers that the f32
//! inputs denote (docs/method.md §8.5, §8.6). Nothing depends on the FPU rounding mode: f64 arithmetic is
//! assumed to round to nearest (IEEE 754 binary64), and each computed value is made an upper bound
//! by an explicit error term and by [`up`] (`next_up`).
//!
//! # Rounding model
//!
//! With u = 2⁻⁵³, a rounded f64 operation satisfies fl(a ∘ b) = (a ∘ b)(1 + δ), |δ| ≤ u, as long
//! as the result is a normal number; additions are exact when the result is subnormal. Two facts
//! are used throughout:
//!
//! - An f32 value converts to f64 exactly, and the product of two f32 values is exact in f64
//!   (24 + 24 significand bits ≤ 53, exponents within [−298, 256]).
//! - The *difference* of two f32 values is **not** always exact in f64: 1e38 − 1e−38 needs about 250
//!   significand bits. Differences are therefore treated as one rounded operation.
//!
//! If N nonnegative terms are summed in any order, each term goes through at most N − 1 inexact
//! additions (an addition of an exact zero is exact), so with m = (roundings per term) + (N − 1)
//! the computed sum ŝ satisfies ŝ ≥ (1 − u)^m s, hence s ≤ ŝ / (1 − u)^m ≤ ŝ (1 + 2mu) when
//! mu ≤ ½ (Bernoulli). The factor 1 + 2mu and the product are both rounded up.
//!
//! Matrices are row-major `&[f32]` with explicit `rows`, `cols`. Any NaN or infinite entry makes a
//! matrix bound `+∞`, so that a bound is never a finite wrong number.

use alloc::vec;

/// Unit roundoff of f64 with rounding to nearest: u = 2⁻⁵³ (exact).
pub(crate) const U: f64 = 1.0 / 9_007_199_254_740_992.0;

/// The smallest positive subnormal f64, 2⁻¹⁰⁷⁴. It bounds the absolute error of one rounded product
/// that underflows (the exact bound is half of it).
pub(crate) const ETA: f64 = f64::from_bits(1);

/// Above this many roundings per term, 1 + 2mu no longer bounds 1/(1 − u)^m; bounds become `+∞`.
const MAX_ROUNDINGS: u64 = 1 << 50;

/// The smallest f64 strictly greater than `x` (`x.next_up()`).
///
/// For any real `r` and `x = fl(r)` rounded to nearest (or faithfully), `up(x) ≥ r`. NaN stays NaN,
/// `+∞` stays `+∞`.
#[inline]
pub fn up(x: f64) -> f64 {
    x.next_up()
}

/// The largest f64 strictly smaller than `x` (`x.next_down()`); the mirror of [`up`].
#[inline]
pub(crate) fn down(x: f64) -> f64 {
    x.next_down()
}

/// The smallest f32 that is `>= x`: rounds `x` to f32 towards +∞.
///
/// Computed as `let v = x as f32; if (v as f64) < x { v.next_up() } else { v }` (docs/method.md §8.6).
/// NaN gives NaN, `+∞` gives `+∞`, and values above `f32::MAX` give `+∞`.
#[inline]
pub fn to_f32_up(x: f64) -> f32 {
    let v = x as f32;
    if f64::from(v) < x {
        v.next_up()
    } else {
        v
    }
}

/// Upper bound of `a · b`: one correctly rounded product, then [`up`].
///
/// Valid for operands of any sign; the intended use is nonnegative operands. NaN propagates.
#[inline]
pub fn mul_up(a: f64, b: f64) -> f64 {
    up(a * b)
}

/// Upper bound of `a + b`: one correctly rounded sum, then [`up`].
#[inline]
pub fn add_up(a: f64, b: f64) -> f64 {
    up(a + b)
}

/// Upper bound of `√a` for `a ≥ 0`: `libm::sqrt` (correctly rounded, the same on every target),
/// then [`up`]. A negative `a` gives NaN.
#[inline]
pub fn sqrt_up(a: f64) -> f64 {
    up(libm::sqrt(a))
}

/// Upper bound of `a / b`: one correctly rounded quotient, then [`up`].
#[inline]
pub fn div_up(a: f64, b: f64) -> f64 {
    up(a / b)
}

/// Lower bound of `a · b`.
#[inline]
pub(crate) fn mul_down(a: f64, b: f64) -> f64 {
    down(a * b)
}

/// Lower bound of `a − b`.
#[inline]
pub(crate) fn sub_down(a: f64, b: f64) -> f64 {
    down(a - b)
}

/// Lower bound of `√a` for `a ≥ 0` (0 stays 0 so that the result is never negative).
#[inline]
pub(crate) fn sqrt_down(a: f64) -> f64 {
    let r = libm::sqrt(a);
    if r > 0.0 {
        down(r)
    } else {
        r
    }
}

/// Lower bound of `a / b`.
#[inline]
pub(crate) fn div_down(a: f64, b: f64) -> f64 {
    down(a / b)
}

/// An upper bound of γ_m = mu / (1 − mu): 2mu for mu ≤ 2⁻³, else `+∞`. Exact (integer times 2⁻⁵³).
#[inline]
pub(crate) fn gamma_up(m: u64) -> f64 {
    if m > MAX_ROUNDINGS {
        f64::INFINITY
    } else {
        (2 * m) as f64 * U
    }
}

/// Turns a computed sum `s_hat` of nonnegative terms, each of which went through at most `m`
/// roundings (products and additions, no underflow), into an upper bound of the exact sum:
/// `ŝ (1 + 2mu)`, rounded up. A zero sum stays zero: without underflow, a computed sum of
/// nonnegative terms is zero only if every exact term is zero.
#[inline]
pub(crate) fn inflate(s_hat: f64, m: u64) -> f64 {
    if s_hat == 0.0 {
        0.0
    } else {
        mul_up(s_hat, add_up(1.0, gamma_up(m)))
    }
}

/// `m` as a rounding count (saturating; huge counts make the bounds `+∞` anyway).
#[inline]
pub(crate) fn count(m: usize) -> u64 {
    u64::try_from(m).unwrap_or(u64::MAX)
}

/// Rigorous upper bound on the exact real sum of the f64 `terms`, which should be nonnegative.
///
/// The terms are summed in iteration order and the result is inflated by (1 + 2nu), u = 2⁻⁵³, and
/// rounded up (module docs). A negative term is still handled soundly, with the general bound
/// s ≤ ŝ + γ_{n} Σ|tᵢ|. An empty sum, or a sum of zeros, is exactly 0. A NaN term gives NaN, a
/// `+∞` term gives `+∞`.
pub fn sum_upper(terms: impl IntoIterator<Item = f64>) -> f64 {
    let mut s = 0.0f64;
    let mut abs = 0.0f64;
    let mut n = 0u64;
    let mut negative = false;
    for t in terms {
        s += t;
        abs += t.abs();
        n = n.saturating_add(1);
        negative |= t < 0.0;
    }
    if negative {
        // |ŝ − s| ≤ γ_{n−1} Σ|tᵢ| and Σ|tᵢ| ≤ inflate(Σ̂|tᵢ|).
        add_up(s, mul_up(gamma_up(n), inflate(abs, n)))
    } else {
        inflate(s, n)
    }
}

/// Panics unless `len == rows · cols`.
#[inline]
#[track_caller]
pub(crate) fn check_shape(len: usize, rows: usize, cols: usize) {
    assert!(
        rows.checked_mul(cols) == Some(len),
        "matrix of {len} values is not {rows}×{cols}"
    );
}

/// `true` if every value is finite (no NaN, no ±∞).
#[inline]
pub(crate) fn all_finite(v: &[f32]) -> bool {
    v.iter().all(|x| x.is_finite())
}

/// Upper bound of ‖W‖_∞ = maxᵢ Σⱼ |wᵢⱼ| (maximum row absolute sum) of the row-major
/// `rows × cols` matrix `w`. `+∞` if an entry is not finite; 0 for an empty or zero matrix.
///
/// # Panics
///
/// If `w.len() != rows · cols`.
pub fn norm_inf_upper(w: &[f32], rows: usize, cols: usize) -> f64 {
    check_shape(w.len(), rows, cols);
    if !all_finite(w) {
        return f64::INFINITY;
    }
    if cols == 0 {
        return 0.0;
    }
    // |wᵢⱼ| is exact in f64; each term sees at most cols − 1 additions. `inflate` is monotone, so
    // inflating the largest computed row sum bounds every row.
    let best = w
        .chunks_exact(cols)
        .map(|row| row.iter().fold(0.0f64, |a, &x| a + f64::from(x.abs())))
        .fold(0.0f64, f64::max);
    inflate(best, count(cols))
}

/// Upper bound of ‖W‖₁ = maxⱼ Σᵢ |wᵢⱼ| (maximum column absolute sum) of the row-major
/// `rows × cols` matrix `w`. `+∞` if an entry is not finite; 0 for an empty or zero matrix.
///
/// # Panics
///
/// If `w.len() != rows · cols`.
pub fn norm_one_upper(w: &[f32], rows: usize, cols: usize) -> f64 {
    check_shape(w.len(), rows, cols);
    if !all_finite(w) {
        return f64::INFINITY;
    }
    if cols == 0 {
        return 0.0;
    }
    let mut sums = vec![0.0f64; cols];
    for row in w.chunks_exact(cols) {
        for (s, &x) in sums.iter_mut().zip(row) {
            *s += f64::from(x.abs());
        }
    }
    let best = sums.iter().copied().fold(0.0f64, f64::max);
    inflate(best, count(rows))
}

/// Upper bound of Σ wᵢ² (the squared Frobenius norm). Squares of f32 values are exact in f64.
pub(crate) fn frobenius_sq_upper(w: &[f32]) -> f64 {
    if !all_finite(w) {
        return f64::INFINITY;
    }
    let s = w.iter().fold(0.0f64, |a, &x| {
        let x = f64::from(x);
        a + x * x
    });
    inflate(s, count(w.len()))
}

/// Upper bound of the Frobenius norm √(Σ wᵢ²) of `w` (any shape). `+∞` if an entry is not
/// finite; 0 for an empty or zero slice.
pub fn frobenius_upper(w: &[f32]) -> f64 {
    let s = frobenius_sq_upper(w);
    if s == 0.0 {
        0.0
    } else {
        sqrt_up(s)
    }
}

/// The exact maximum absolute value maxᵢ |vᵢ| (as f64), 0 for an empty slice.
///
/// A NaN entry gives `+∞` (never a finite wrong bound).
pub fn max_abs(v: &[f32]) -> f64 {
    if v.iter().any(|x| x.is_nan()) {
        return f64::INFINITY;
    }
    v.iter().fold(0.0f64, |m, &x| m.max(f64::from(x.abs())))
}

/// Row `i` of a row-major matrix with `cols` columns.
#[track_caller]
fn row(w: &[f32], cols: usize, i: usize) -> &[f32] {
    let r = i
        .checked_mul(cols)
        .and_then(|a| Some(a..a.checked_add(cols)?))
        .and_then(|range| w.get(range));
    match r {
        Some(r) => r,
        None => panic!(
            "row {i} is outside a matrix of {} values with {cols} columns",
            w.len()
        ),
    }
}

/// Upper bound of ‖rowᵢ − rowⱼ‖₂ for the row-major matrix `w` with `cols` columns, in exact real
/// arithmetic on the f32 values. `+∞` if an entry of either row is not finite.
///
/// Each difference is one rounded f64 operation (differences of f32 values with very different
/// exponents, such as 1e38 − 1e−38, are not exact in f64), then squared (rounded; no underflow,
/// since a nonzero difference of f32 values is at least 2⁻¹⁴⁹): m = cols + 2 roundings per term.
///
/// # Panics
///
/// If row `i` or row `j` does not lie inside `w`.
pub fn row_diff_l2_upper(w: &[f32], cols: usize, i: usize, j: usize) -> f64 {
    let (a, b) = (row(w, cols, i), row(w, cols, j));
    if !all_finite(a) || !all_finite(b) {
        return f64::INFINITY;
    }
    let s = a.iter().zip(b).fold(0.0f64, |acc, (&x, &y)| {
        let d = f64::from(x) - f64::from(y);
        acc + d * d
    });
    // (x − y)² ≤ fl(d)²/(1 − u)² ≤ fl(fl(d)²)/(1 − u)³, then cols − 1 additions.
    let s = inflate(s, count(cols).saturating_add(2));
    if s == 0.0 {
        0.0
    } else {
        sqrt_up(s)
    }
}

/// Upper bound of ‖rowᵢ − rowⱼ‖₁ for the row-major matrix `w` with `cols` columns, in exact real
/// arithmetic on the f32 values. `+∞` if an entry of either row is not finite.
///
/// # Panics
///
/// If row `i` or row `j` does not lie inside `w`.
pub fn row_diff_l1_upper(w: &[f32], cols: usize, i: usize, j: usize) -> f64 {
    let (a, b) = (row(w, cols, i), row(w, cols, j));
    if !all_finite(a) || !all_finite(b) {
        return f64::INFINITY;
    }
    let s = a.iter().zip(b).fold(0.0f64, |acc, (&x, &y)| {
        acc + (f64::from(x) - f64::from(y)).abs()
    });
    // |x − y| ≤ |fl(x − y)|/(1 − u), then cols − 1 additions.
    inflate(s, count(cols))
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]
pub(crate) mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::vec;
    use std::vec::Vec;

    // ---- Exact dyadic comparisons (test oracle) ----------------------------------------------

    /// `b = m · 2^e` with an integer significand (b finite, nonnegative).
    pub(crate) fn decompose(b: f64) -> (u128, i32) {
        assert!(b.is_finite() && b >= 0.0, "decompose({b})");
        let bits = b.to_bits();
        let exp = ((bits >> 52) & 0x7ff) as i32;
        let frac = u128::from(bits & ((1u64 << 52) - 1));
        if exp == 0 {
            (frac, -1074)
        } else {
            (frac | (1u128 << 52), exp - 1075)
        }
    }

    /// Exactly: `a · 2^e ≥ s`.
    fn scaled_ge(a: u128, e: i32, s: u128) -> bool {
        if e >= 0 {
            let e = e.unsigned_abs();
            if a == 0 {
                s == 0
            } else if e >= 128 || a.leading_zeros() < e {
                true // a · 2^e ≥ 2^128 > s
            } else {
                (a << e) >= s
            }
        } else {
            let k = e.unsigned_abs();
            if s == 0 {
                true
            } else if k >= 128 || s.leading_zeros() < k {
                false // s · 2^k ≥ 2^128 > a
            } else {
                a >= (s << k)
            }
        }
    }

    /// Exactly: `m1 · 2^e1 ≥ m2 · 2^e2`.
    pub(crate) fn dyadic_ge(m1: u128, e1: i32, m2: u128, e2: i32) -> bool {
        scaled_ge(m1, e1 - e2, m2)
    }

    /// Exactly: `b ≥ s · 2^−shift` (`b ≥ 0` or `+∞`).
    pub(crate) fn ge_int(b: f64, s: u128, shift: i32) -> bool {
        if b == f64::INFINITY {
            return true;
        }
        let (m, e) = decompose(b);
        dyadic_ge(m, e, s, -shift)
    }

    /// Exactly: `b² ≥ s · 2^−shift`.
    pub(crate) fn sq_ge_int(b: f64, s: u128, shift: i32) -> bool {
        if b == f64::INFINITY {
            return true;
        }
        let (m, e) = decompose(b);
        dyadic_ge(m * m, 2 * e, s, -shift)
    }

    /// An f32 `k · 2⁻³¹` with |k| < 2⁴⁰ (24 significand bits, exponents over 16 binades), and its
    /// exact integer `k`.
    pub(crate) fn dyadic_f32() -> impl Strategy<Value = (f32, i128)> {
        (-(1i64 << 24) + 1..(1i64 << 24), 0u32..=16).prop_map(|(m, p)| {
            let k = i128::from(m) << p;
            let v = (m as f64) * 2f64.powi(p as i32 - 31);
            let f = v as f32;
            assert_eq!(f64::from(f), v, "dyadic value must be an exact f32");
            (f, k)
        })
    }

    fn dyadic_matrix(max: usize) -> impl Strategy<Value = (usize, usize, Vec<(f32, i128)>)> {
        (1..=max, 1..=max).prop_flat_map(|(r, c)| {
            (
                Just(r),
                Just(c),
                proptest::collection::vec(dyadic_f32(), r * c),
            )
        })
    }

    /// Relative slack allowed for tightness checks of an m-rounding bound: 4mu + 1e-15.
    fn slack(m: usize) -> f64 {
        1.0 + 4.0 * m as f64 * U + 1e-15
    }

    // ---- Helpers: up / to_f32_up / directed ops -----------------------------------------------

    #[test]
    fn up_and_down_edges() {
        assert!(up(f64::NAN).is_nan());
        assert_eq!(up(f64::INFINITY), f64::INFINITY);
        assert_eq!(up(0.0), f64::from_bits(1));
        assert_eq!(up(1.0), 1.0 + f64::EPSILON);
        assert_eq!(down(1.0), 1.0 - f64::EPSILON / 2.0);
        assert_eq!(U, 2.0f64.powi(-53));
        assert_eq!(ETA, 2.0f64.powi(-1074));
    }

    #[test]
    fn to_f32_up_special_values() {
        assert!(to_f32_up(f64::NAN).is_nan());
        assert_eq!(to_f32_up(f64::INFINITY), f32::INFINITY);
        assert_eq!(to_f32_up(f64::NEG_INFINITY), f32::NEG_INFINITY);
        assert_eq!(to_f32_up(0.0), 0.0);
        assert_eq!(to_f32_up(1.0), 1.0);
        // Just above 1: the next f32, although round-to-nearest gives 1.
        assert_eq!(to_f32_up(1.0 + f64::EPSILON), 1.0f32.next_up());
        // 0.1f32 lies above 0.1, 0.7f32 below 0.7.
        assert_eq!(to_f32_up(0.1), 0.1f32);
        assert!(f64::from(0.7f32) < 0.7);
        assert_eq!(to_f32_up(0.7), 0.7f32.next_up());
        let max = f64::from(f32::MAX);
        assert_eq!(to_f32_up(max), f32::MAX);
        assert_eq!(to_f32_up(up(max)), f32::INFINITY);
        assert_eq!(to_f32_up(1e300), f32::INFINITY);
        assert_eq!(to_f32_up(-1e300), -f32::MAX);
        // Below the smallest subnormal f32: rounds up to it, never to 0.
        assert_eq!(to_f32_up(1e-300), f32::from_bits(1));
        assert_eq!(to_f32_up(-1e-300), -0.0);
    }

    proptest! {
        #[test]
        fn to_f32_up_is_the_smallest_f32_above(bits in any::<u64>()) {
            let x = f64::from_bits(bits);
            prop_assume!(x.is_finite());
            let r = to_f32_up(x);
            prop_assert!(f64::from(r) >= x, "{r} < {x}");
            prop_assert!(f64::from(r.next_down()) < x, "{r} is not tight for {x}");
        }

        #[test]
        fn to_f32_up_in_f32_range(x in -3.5e38f64..3.5e38f64) {
            let r = to_f32_up(x);
            prop_assert!(f64::from(r) >= x);
            prop_assert!(f64::from(r.next_down()) < x);
        }

        #[test]
        fn directed_ops_bound_the_exact_result(a in 1e-100f64..1e100, b in 1e-100f64..1e100) {
            let (ma, ea) = decompose(a);
            let (mb, eb) = decompose(b);
            // a·b exactly.
            let (mr, er) = decompose(mul_up(a, b));
            prop_assert!(dyadic_ge(mr, er, ma * mb, ea + eb));
            // (a/b): r·b ≥ a exactly.
            let (mr, er) = decompose(div_up(a, b));
            prop_assert!(dyadic_ge(mr * mb, er + eb, ma, ea));
            // √a: r² ≥ a exactly.
            let (mr, er) = decompose(sqrt_up(a));
            prop_assert!(dyadic_ge(mr * mr, 2 * er, ma, ea));
            // a + b: with s = fl(a + b) and the exact TwoSum error e, a + b = s + e.
            let s = a + b;
            let bb = s - a;
            let e = (a - (s - bb)) + (b - bb);
            prop_assert!(add_up(a, b) - s >= e);
            // Lower-bound twins.
            let (mr, er) = decompose(mul_down(a, b));
            prop_assert!(dyadic_ge(ma * mb, ea + eb, mr, er));
            let (mr, er) = decompose(div_down(a, b));
            prop_assert!(dyadic_ge(ma, ea, mr * mb, er + eb));
            let (mr, er) = decompose(sqrt_down(a));
            prop_assert!(dyadic_ge(ma, ea, mr * mr, 2 * er));
        }
    }

    // ---- sum_upper -----------------------------------------------------------------------------

    #[test]
    fn sum_upper_edges() {
        assert_eq!(sum_upper([]), 0.0);
        assert_eq!(sum_upper([0.0, 0.0]), 0.0);
        assert_eq!(sum_upper([3.0]), up(3.0 * up(1.0 + 2.0 * U)));
        assert!(sum_upper([1.0, f64::NAN]).is_nan());
        assert_eq!(sum_upper([1.0, f64::INFINITY]), f64::INFINITY);
        assert!(sum_upper([2.0, -1.0]) >= 1.0);
    }

    /// 1 + u + u + … rounds to 1 at every step (ties to even), so the computed sum loses n·u. A
    /// bound that only rounds the final sum up once would fail here.
    #[test]
    fn sum_upper_survives_absorbed_terms() {
        for n in [1usize, 2, 3, 10, 1000, 100_000] {
            let terms = core::iter::once(1.0).chain(core::iter::repeat_n(U, n));
            let computed = terms.clone().fold(0.0, |a, t| a + t);
            assert_eq!(computed, 1.0);
            let b = sum_upper(terms);
            // exact = 1 + n·2⁻⁵³ = (2⁵³ + n) · 2⁻⁵³.
            assert!(ge_int(b, (1u128 << 53) + n as u128, 53), "n = {n}: {b}");
            assert!(b <= 1.0 + 4.0 * (n + 1) as f64 * U);
        }
    }

    proptest! {
        #[test]
        fn sum_upper_bounds_the_exact_sum(
            terms in proptest::collection::vec((0u64..(1 << 53), -20i32..=20), 0..64),
        ) {
            // term = m · 2^e; exact sum in units of 2⁻²⁰ (m · 2^(e+20) < 2⁹³).
            let exact: u128 = terms.iter().map(|&(m, e)| u128::from(m) << (e + 20)).sum();
            let vals: Vec<f64> = terms.iter().map(|&(m, e)| m as f64 * 2f64.powi(e)).collect();
            let b = sum_upper(vals.iter().copied());
            prop_assert!(ge_int(b, exact, 20), "{b} below the exact sum");
            let approx = exact as f64 * 2f64.powi(-20);
            prop_assert!(b <= approx * slack(terms.len() + 1) + f64::from_bits(1));
        }

        #[test]
        fn sum_upper_with_negative_terms(
            terms in proptest::collection::vec((-(1i64 << 52)..(1i64 << 52), -20i32..=20), 1..64),
        ) {
            let exact: i128 = terms.iter().map(|&(m, e)| i128::from(m) << (e + 20)).sum();
            let b = sum_upper(terms.iter().map(|&(m, e)| m as f64 * 2f64.powi(e)));
            if exact >= 0 && b >= 0.0 {
                prop_assert!(ge_int(b, exact as u128, 20));
            } else if exact >= 0 {
                prop_assert!(false, "bound {b} negative, exact sum {exact} ≥ 0");
            } else if b < 0.0 {
                // Both negative: |b| ≤ |exact|.
                let (m, e) = decompose(-b);
                prop_assert!(dyadic_ge(exact.unsigned_abs(), -20, m, e));
            }
        }
    }

    // ---- Matrix norms against exact brute force ----------------------------------------------

    #[test]
    fn norms_of_empty_zero_and_special() {
        assert_eq!(norm_inf_upper(&[], 0, 0), 0.0);
        assert_eq!(norm_inf_upper(&[], 0, 3), 0.0);
        assert_eq!(norm_one_upper(&[], 3, 0), 0.0);
        assert_eq!(frobenius_upper(&[]), 0.0);
        assert_eq!(max_abs(&[]), 0.0);
        let z = [0.0f32; 12];
        assert_eq!(norm_inf_upper(&z, 3, 4), 0.0);
        assert_eq!(norm_one_upper(&z, 3, 4), 0.0);
        assert_eq!(frobenius_upper(&z), 0.0);
        assert_eq!(row_diff_l2_upper(&z, 4, 0, 2), 0.0);
        assert_eq!(row_diff_l1_upper(&z, 4, 0, 2), 0.0);
        for bad in [f32::NAN, f32::INFINITY, f32::NEG_INFINITY] {
            let w = [1.0, 2.0, bad, 4.0];
            assert_eq!(norm_inf_upper(&w, 2, 2), f64::INFINITY);
            assert_eq!(norm_one_upper(&w, 2, 2), f64::INFINITY);
            assert_eq!(frobenius_upper(&w), f64::INFINITY);
            assert_eq!(max_abs(&w), f64::INFINITY);
            assert_eq!(row_diff_l2_upper(&w, 2, 0, 1), f64::INFINITY);
            assert_eq!(row_diff_l1_upper(&w, 2, 1, 0), f64::INFINITY);
            // A non-finite entry in another row does not matter.
            assert_eq!(
                row_diff_l1_upper(&[1.0, 2.0, bad, 4.0, 0.0, 0.0], 2, 0, 2),
                up(3.0 * up(1.0 + 4.0 * U))
            );
        }
        assert_eq!(max_abs(&[-3.5, 2.0, -0.0]), 3.5);
        assert_eq!(max_abs(&[f32::from_bits(1)]), 2f64.powi(-149));
        assert_eq!(max_abs(&[f32::MAX, -f32::MAX]), f64::from(f32::MAX));
    }

    #[test]
    #[should_panic(expected = "is not 2×3")]
    fn shape_mismatch_panics() {
        let _ = norm_inf_upper(&[0.0; 5], 2, 3);
    }

    #[test]
    #[should_panic(expected = "row 3 is outside")]
    fn row_out_of_range_panics() {
        let _ = row_diff_l2_upper(&[0.0; 6], 2, 0, 3);
    }

    /// 1e38 − (−1e−38) is not representable in f64 (it needs ~250 significand bits) and rounds down
    /// to 1e38, so treating f32 differences as exact would give a bound below the true norm.
    #[test]
    fn row_differences_with_extreme_exponents() {
        let a = 1e38f32;
        for b in [-1e-38f32, -f32::from_bits(1), -1e-30] {
            let w = [a, b];
            let (fa, fb) = (f64::from(a), f64::from(b));
            assert_eq!(fa - fb, fa, "the f64 difference rounds");
            // Exact |a − b| > a: the bound must be strictly above a.
            assert!(row_diff_l1_upper(&w, 1, 0, 1) > fa);
            assert!(row_diff_l2_upper(&w, 1, 0, 1) > fa);
            assert!(row_diff_l1_upper(&w, 1, 1, 0) > fa);
            // Tight nevertheless.
            assert!(row_diff_l2_upper(&w, 1, 0, 1) <= fa * (1.0 + 1e-14));
        }
        // Largest possible difference: f32::MAX − (−f32::MAX) = 2·MAX, exact in f64.
        let w = [f32::MAX, -f32::MAX];
        let two_max = 2.0 * f64::from(f32::MAX);
        assert!(row_diff_l1_upper(&w, 1, 0, 1) >= two_max);
        assert!(row_diff_l2_upper(&w, 1, 0, 1) >= two_max);
        assert!(row_diff_l2_upper(&w, 1, 0, 1).is_finite());
    }

    /// Terms absorbed by a large one (1 + 2⁻⁵⁴ rounds to 1): the computed sums equal the largest
    /// term, the exact sums are larger by n·2⁻⁵⁴. Rounding only the final result up would fail.
    #[test]
    fn norms_survive_absorbed_terms() {
        let n = 1000usize;
        let tiny = 2f32.powi(-54); // |x| terms
        let tiny_sq = 2f32.powi(-27); // x² terms
                                      // Σ|x| = 1 + n·2⁻⁵⁴ = (2⁵⁴ + n)·2⁻⁵⁴.
        let mut row: Vec<f32> = vec![1.0];
        row.extend(core::iter::repeat_n(tiny, n));
        let exact_l1 = (1u128 << 54) + n as u128;
        assert!(ge_int(norm_inf_upper(&row, 1, n + 1), exact_l1, 54));
        assert!(ge_int(norm_one_upper(&row, n + 1, 1), exact_l1, 54));
        let zeros = vec![0.0f32; n + 1];
        let two_rows: Vec<f32> = row.iter().chain(&zeros).copied().collect();
        assert!(ge_int(
            row_diff_l1_upper(&two_rows, n + 1, 0, 1),
            exact_l1,
            54
        ));
        assert!(ge_int(
            row_diff_l1_upper(&two_rows, n + 1, 1, 0),
            exact_l1,
            54
        ));
        // Σx² = 1 + n·2⁻⁵⁴ as well.
        let mut row: Vec<f32> = vec![-1.0];
        row.extend(core::iter::repeat_n(tiny_sq, n));
        assert!(sq_ge_int(frobenius_upper(&row), exact_l1, 54));
        let two_rows: Vec<f32> = row.iter().chain(&zeros).copied().collect();
        assert!(sq_ge_int(
            row_diff_l2_upper(&two_rows, n + 1, 0, 1),
            exact_l1,
            54
        ));
        assert!(sq_ge_int(
            row_diff_l2_upper(&two_rows, n + 1, 1, 0),
            exact_l1,
            54
        ));
    }

    proptest! {
        #[test]
        fn norms_bound_exact_brute_force((rows, cols, m) in dyadic_matrix(12)) {
            let w: Vec<f32> = m.iter().map(|p| p.0).collect();
            let k: Vec<i128> = m.iter().map(|p| p.1).collect();
            let exact_inf = (0..rows)
                .map(|i| (0..cols).map(|j| k[i * cols + j].unsigned_abs()).sum::<u128>())
                .max()
                .unwrap();
            let exact_one = (0..cols)
                .map(|j| (0..rows).map(|i| k[i * cols + j].unsigned_abs()).sum::<u128>())
                .max()
                .unwrap();
            let exact_fro: u128 = k.iter().map(|&x| x.unsigned_abs().pow(2)).sum();
            let exact_max = k.iter().map(|x| x.unsigned_abs()).max().unwrap();

            let b = norm_inf_upper(&w, rows, cols);
            prop_assert!(ge_int(b, exact_inf, 31));
            prop_assert!(b <= exact_inf as f64 * 2f64.powi(-31) * slack(cols));
            let b = norm_one_upper(&w, rows, cols);
            prop_assert!(ge_int(b, exact_one, 31));
            prop_assert!(b <= exact_one as f64 * 2f64.powi(-31) * slack(rows));
            let b = frobenius_upper(&w);
            prop_assert!(sq_ge_int(b, exact_fro, 62));
            prop_assert!(b <= (exact_fro as f64).sqrt() * 2f64.powi(-31) * slack(rows * cols));
            prop_assert_eq!(max_abs(&w), exact_max as f64 * 2f64.powi(-31));

            for i in 0..rows {
                for j in 0..rows {
                    let d: Vec<u128> =
                        (0..cols).map(|c| (k[i * cols + c] - k[j * cols + c]).unsigned_abs()).collect();
                    let l1: u128 = d.iter().sum();
                    let l2: u128 = d.iter().map(|x| x * x).sum();
                    let b1 = row_diff_l1_upper(&w, cols, i, j);
                    let b2 = row_diff_l2_upper(&w, cols, i, j);
                    prop_assert!(ge_int(b1, l1, 31));
                    prop_assert!(sq_ge_int(b2, l2, 62));
                    prop_assert!(b1 <= l1 as f64 * 2f64.powi(-31) * slack(cols + 2));
                    prop_assert!(b2 <= (l2 as f64).sqrt() * 2f64.powi(-31) * slack(cols + 3));
                    if i == j {
                        prop_assert_eq!(b1, 0.0);
                        prop_assert_eq!(b2, 0.0);
                    }
                }
            }
        }

        /// Arbitrary finite f32 values: the bounds are at least the f64 brute force computed in a
        /// different order (with its own small error), and never NaN.
        #[test]
        fn norms_on_arbitrary_f32(
            (rows, cols) in (1usize..8, 1usize..8),
            seed in proptest::collection::vec(any::<u32>(), 64),
        ) {
            let w: Vec<f32> = seed
                .iter()
                .take(rows * cols)
                .map(|&b| f32::from_bits(b))
                .map(|x| if x.is_finite() { x } else { 1.0 })
                .collect();
            prop_assume!(w.len() == rows * cols);
            let fro = frobenius_upper(&w);
            let rev: f64 = w.iter().rev().map(|&x| f64::from(x) * f64::from(x)).sum::<f64>().sqrt();
            prop_assert!(fro >= rev * (1.0 - 1e-15));
            prop_assert!(fro.is_finite());
            let ninf = norm_inf_upper(&w, rows, cols);
            let none = norm_one_upper(&w, rows, cols);
            prop_assert!(ninf.is_finite() && none.is_finite());
            prop_assert!(ninf >= max_abs(&w) && none >= max_abs(&w));
            prop_assert!(fro >= max_abs(&w));
        }
    }
}
