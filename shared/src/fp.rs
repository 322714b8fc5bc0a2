//! Upward-rounded f32 arithmetic for the float error terms (SPEC §8.6).
//!
//! Every error term is a sum of products of nonnegative numbers. Each such expression is evaluated
//! in ordinary f32 (a few dozen operations, relative error far below 2⁻¹⁸), then multiplied by
//! [`SAFETY`] = 1 + 2⁻¹⁰ and rounded up with `next_up`, and [`FLOOR`] is added to cover
//! underflow (including flush-to-zero FPUs). Overflow gives +∞, which the certificate rejects.

/// Unit roundoff of f32 (round to nearest): 2⁻²⁴.
pub const U: f32 = 1.0 / 16_777_216.0;
/// Smallest normal f32, 2⁻¹²⁶: bound on the absolute error of one underflowing operation.
pub const NU: f32 = f32::MIN_POSITIVE;
/// Safety factor applied to every evaluated error expression.
pub const SAFETY: f32 = 1.0 + 1.0 / 1024.0;
/// Absolute floor added to every evaluated error expression (64 underflows' worth).
pub const FLOOR: f32 = 64.0 * NU;

/// Seals an evaluated nonnegative error expression: `next_up(v · SAFETY) + FLOOR`.
#[inline]
pub fn seal(v: f32) -> f32 {
    let s = (v * SAFETY).next_up();
    (s + FLOOR).next_up()
}

/// Higham's γ_n = n·u/(1 − n·u), rounded up; +∞ when n·u ≥ 1/2.
#[inline]
pub fn gamma(n: usize) -> f32 {
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

/// `a − b` rounded down.
#[inline]
pub fn sub_down(a: f32, b: f32) -> f32 {
    (a - b).next_down()
}

/// `a / b` rounded down (nonnegative operands, `b > 0`).
#[inline]
pub fn div_down(a: f32, b: f32) -> f32 {
    (a / b).next_down()
}

/// Largest absolute value of a slice, and whether every value is finite.
#[inline]
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
