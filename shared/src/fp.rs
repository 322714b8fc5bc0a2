//! Upward-rounded f32 arithmetic for the float error terms (docs/method.md §8.6).
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
    gamma_large(n)
}

/// [`gamma`] for n > 8192 (kept out of line).
#[cold]
#[inline(never)]
fn gamma_large(n: usize) -> f32 {
    // n < 2^23 is exact in f32; larger layers are far outside any supported model.
    if n >= 1 << 23 {
        return f32::INFINITY;
    }
    let nu = n as f32 * U;
    next_up(next_up(nu / (1.0 - nu)))
}

/// `a · b` rounded up (nonnegative operands).
#[inline]
pub fn mul_up(a: f32, b: f32) -> f32 {
    next_up(a * b)
}

/// `a + b` rounded up (nonnegative operands).
#[inline]
pub fn add_up(a: f32, b: f32) -> f32 {
    next_up(a + b)
}

/// [`f32::next_up`], bit for bit, with a branch-light path for the usual case: for +0 and every
/// finite positive `x` the next float up is the one whose bit pattern is one larger (the largest
/// finite value steps to +∞). Everything else (negative values, −0, ±∞, NaN) takes
/// `f32::next_up`.
#[inline]
pub fn next_up(x: f32) -> f32 {
    let bits = x.to_bits();
    if bits < f32::INFINITY.to_bits() {
        f32::from_bits(bits + 1)
    } else {
        next_up_other(x)
    }
}

/// `f32::next_up` for the operands [`next_up`] does not handle itself (kept out of line).
#[cold]
#[inline(never)]
fn next_up_other(x: f32) -> f32 {
    x.next_up()
}

/// [`f32::next_down`], bit for bit, with a branch-light path for finite positive `x` (the bit
/// pattern one smaller; the smallest subnormal steps to +0, as `f32::next_down` gives). Everything
/// else (±0, negative values, ±∞, NaN) takes `f32::next_down`.
#[inline]
pub fn next_down(x: f32) -> f32 {
    let bits = x.to_bits();
    if bits.wrapping_sub(1) < f32::INFINITY.to_bits() - 1 {
        f32::from_bits(bits - 1)
    } else {
        next_down_other(x)
    }
}

/// `f32::next_down` for the operands [`next_down`] does not handle itself (kept out of line).
#[cold]
#[inline(never)]
fn next_down_other(x: f32) -> f32 {
    x.next_down()
}

/// Largest absolute value of a slice, and whether every value is finite.
#[inline(never)]
pub fn max_abs(v: &[f32]) -> (f32, bool) {
    let mut m = 0.0f32;
    let mut finite = AllFinite::new();
    for &x in v {
        keep_rolled();
        let a = x.abs();
        finite.add(x);
        if a > m {
            m = a;
        }
    }
    (m, finite.ok())
}

/// A running check that every value seen is finite (NaN and ±∞ fail it).
///
/// With an FPU it keeps Σ x·0, one multiply-accumulate per value: ±0 while every x is finite, NaN
/// from the first other one on. Without an FPU (soft-float Arm targets) floating-point arithmetic
/// is a library call, and a flag fed by `is_finite`, integer work there, is cheaper.
#[derive(Clone, Copy)]
pub(crate) struct AllFinite(
    #[cfg(not(all(target_arch = "arm", not(target_abi = "eabihf"))))] f32,
    #[cfg(all(target_arch = "arm", not(target_abi = "eabihf")))] bool,
);

#[cfg(not(all(target_arch = "arm", not(target_abi = "eabihf"))))]
impl AllFinite {
    /// No value seen yet.
    #[inline(always)]
    pub(crate) fn new() -> Self {
        AllFinite(0.0)
    }
    /// Takes `x` into account.
    #[inline(always)]
    pub(crate) fn add(&mut self, x: f32) {
        self.0 += x * 0.0;
    }
    /// Whether every value seen was finite.
    #[inline(always)]
    pub(crate) fn ok(self) -> bool {
        self.0 == 0.0
    }
}

#[cfg(all(target_arch = "arm", not(target_abi = "eabihf")))]
impl AllFinite {
    /// No value seen yet.
    #[inline(always)]
    pub(crate) fn new() -> Self {
        AllFinite(true)
    }
    /// Takes `x` into account.
    #[inline(always)]
    pub(crate) fn add(&mut self, x: f32) {
        self.0 &= x.is_finite();
    }
    /// Whether every value seen was finite.
    #[inline(always)]
    pub(crate) fn ok(self) -> bool {
        self.0
    }
}

/// An empty barrier for the optimiser (`core::hint::black_box(())`, no instruction): a loop that
/// contains it is not unrolled. Used in the short element loops outside the kernels, where an
/// unrolled copy saves a compare and a branch per element at most but multiplies the code in
/// flash.
#[inline(always)]
pub(crate) fn keep_rolled() {
    core::hint::black_box(());
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Bit patterns around every boundary of the short paths, plus a sweep over all exponents.
    fn samples() -> impl Iterator<Item = u32> {
        let edges = [
            0u32,
            1,
            2,
            0x007f_ffff,
            0x0080_0000,
            0x0080_0001,
            0x3f80_0000,
            0x7f7f_fffe,
            0x7f7f_ffff,
            0x7f80_0000,
            0x7f80_0001,
            0x7fc0_0000,
            0x7fff_ffff,
        ];
        let signed = edges.into_iter().flat_map(|b| [b, b | 0x8000_0000]);
        let sweep = (0u32..=0xffff).map(|i| i.wrapping_mul(0x9e37_79b9) ^ (i << 16));
        signed.chain(sweep)
    }

    #[test]
    fn next_up_and_down_match_core_bit_for_bit() {
        for b in samples() {
            let x = f32::from_bits(b);
            assert_eq!(
                next_up(x).to_bits(),
                x.next_up().to_bits(),
                "next_up {b:#010x}"
            );
            assert_eq!(
                next_down(x).to_bits(),
                x.next_down().to_bits(),
                "next_down {b:#010x}"
            );
        }
    }
}
