//! Upward-rounded f32 arithmetic for the float error terms (SPEC §8.6).
//!
//! Every error term is a sum of products of nonnegative numbers. Each such expression is evaluated
//! in ordinary f32 (a few dozen operations, relative error far below 2⁻¹⁸), then multiplied by
//! [`SAFETY`] = 1 + 2⁻¹⁰ and [`FLOOR`] is added to cover underflow (including flush-to-zero
//! FPUs). Overflow gives +∞, which the certificate rejects. Margins and radii, which are
//! differences and quotients, are rounded down with [`down_rel`].

/// Unit roundoff of f32 (round to nearest): 2⁻²⁴.
pub const U: f32 = 1.0 / 16_777_216.0;
/// Smallest normal f32, 2⁻¹²⁶: bound on the absolute error of one underflowing operation.
pub const NU: f32 = f32::MIN_POSITIVE;
/// Safety factor applied to every evaluated error expression.
pub const SAFETY: f32 = 1.0 + 1.0 / 1024.0;
/// Absolute floor added to every evaluated error expression (64 underflows' worth).
pub const FLOOR: f32 = 64.0 * NU;

/// Seals an evaluated nonnegative error expression: `v · SAFETY + FLOOR`.
///
/// The expression and this seal are a few dozen f32 operations on nonnegative values, so their
/// total relative rounding error is below 2⁻¹⁸, far inside the 2⁻¹⁰ of [`SAFETY`]; [`FLOOR`]
/// covers underflow. No directed rounding is needed.
#[inline]
pub fn seal(v: f32) -> f32 {
    v * SAFETY + FLOOR
}

/// Factor 1 − 2⁻²² used by [`down_rel`].
pub const LOW: f32 = 1.0 - 1.0 / 4_194_304.0;

/// Smallest value the certificate works with; anything below is treated as zero margin.
pub const TINY: f32 = 1.0 / (1u128 << 100) as f32;

/// Rounds a positive result of one correctly rounded operation down past its true value:
/// if `x = fl(t)` with t > 0 and x ≥ [`TINY`] (normal), then `down_rel(x) ≤ t`, because
/// fl(x·(1 − 2⁻²²)) ≤ x(1 − 2⁻²²)(1 + 2⁻²⁴) ≤ t(1 + 2⁻²⁴)²(1 − 2⁻²²) < t. One multiplication
/// instead of a `next_down`.
#[inline]
pub fn down_rel(x: f32) -> f32 {
    x * LOW
}

/// Higham's γ_n = n·u/(1 − n·u), rounded up; +∞ when n·u ≥ 1/2.
///
/// For n ≤ 8192, n·u ≤ 2⁻¹¹ and γ_n ≤ n·u(1 + 2n·u) ≤ n·u(1 + 2⁻¹⁰), so n·u·(1 + 2⁻⁹) is an upper
/// bound even after its one rounding (n·u is exact: a power-of-two scaling of an exact integer).
#[inline]
pub fn gamma(n: usize) -> f32 {
    if n <= 8192 {
        return n as f32 * U * (1.0 + 1.0 / 512.0);
    }
    // n < 2^23 is exact in f32; larger layers are far outside any supported model.
    if n >= 1 << 23 {
        return f32::INFINITY;
    }
    let nu = n as f32 * U;
    (nu / (1.0 - nu)).next_up().next_up()
}

/// `a · b` rounded up (nonnegative operands).
#[inline]
pub fn mul_up(a: f32, b: f32) -> f32 {
    (a * b).next_up()
}

/// `a + b` rounded up (nonnegative operands).
#[inline]
pub fn add_up(a: f32, b: f32) -> f32 {
    (a + b).next_up()
}

/// Largest absolute value of a slice, and whether every value is finite.
#[inline(never)]
pub fn max_abs(v: &[f32]) -> (f32, bool) {
    let mut m = 0.0f32;
    let mut finite = true;
    for &x in v {
        let a = x.abs();
        finite &= a.is_finite();
        if a > m {
            m = a;
        }
    }
    (m, finite)
}
