//! The named tolerance policy for numeric comparisons.
//!
//! Every comparison of computed numbers states its mode; there are no ad-hoc `abs() < 1e-3` checks.

use std::fmt;

/// How close two numbers must be.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Tol {
    /// Bit-identical (`-0.0` and `+0.0` differ; NaN never matches).
    Exact,
    /// At most `n` units in the last place of f32 apart (same sign).
    Ulp(u32),
    /// `|a − b| ≤ atol + rtol·max(|a|, |b|)`.
    AbsRel {
        /// Absolute part.
        atol: f64,
        /// Relative part.
        rtol: f64,
    },
}

impl Tol {
    /// Whether `a` and `b` agree under this tolerance (f64 values; f32 inputs widen exactly).
    #[must_use]
    pub fn close(self, a: f64, b: f64) -> bool {
        match self {
            Tol::Exact => a.to_bits() == b.to_bits(),
            Tol::Ulp(n) => {
                let (fa, fb) = (a as f32, b as f32);
                if !(fa.is_finite() && fb.is_finite())
                    || fa.is_sign_negative() != fb.is_sign_negative()
                {
                    return fa.to_bits() == fb.to_bits() || (fa == 0.0 && fb == 0.0);
                }
                fa.to_bits().abs_diff(fb.to_bits()) <= n
            }
            Tol::AbsRel { atol, rtol } => (a - b).abs() <= atol + rtol * a.abs().max(b.abs()),
        }
    }

    /// The first index where `a` and `b` disagree (or differ in length), with both values.
    #[must_use]
    pub fn first_mismatch(self, a: &[f64], b: &[f64]) -> Option<(usize, f64, f64)> {
        if a.len() != b.len() {
            return Some((a.len().min(b.len()), f64::NAN, f64::NAN));
        }
        a.iter()
            .zip(b)
            .enumerate()
            .find(|(_, (x, y))| !self.close(**x, **y))
            .map(|(i, (x, y))| (i, *x, *y))
    }
}

impl fmt::Display for Tol {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Tol::Exact => f.write_str("exact"),
            Tol::Ulp(n) => write!(f, "{n} ulp"),
            Tol::AbsRel { atol, rtol } => write!(f, "atol {atol:e} + rtol {rtol:e}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn modes() {
        assert!(Tol::Exact.close(1.0, 1.0));
        assert!(!Tol::Exact.close(0.0, -0.0));
        let a = 1.0f32;
        assert!(Tol::Ulp(1).close(f64::from(a), f64::from(a.next_up())));
        assert!(!Tol::Ulp(1).close(f64::from(a), f64::from(a.next_up().next_up())));
        let t = Tol::AbsRel {
            atol: 1e-6,
            rtol: 1e-3,
        };
        assert!(t.close(1000.0, 1000.9));
        assert!(!t.close(1000.0, 1002.0));
        assert_eq!(
            t.first_mismatch(&[1.0, 2.0], &[1.0, 3.0]).map(|m| m.0),
            Some(1)
        );
        assert!(t.first_mismatch(&[1.0], &[1.0, 2.0]).is_some());
    }
}
