//! Fast approximate helpers for display on the device (feature `approx`). **Nothing here feeds a
//! certificate.**
//!
//! They use `micromath`'s approximations (a few per cent of relative error), which are small and
//! cheap on every core, FPU or not: `libm`'s correctly rounded `expf` would add about a kilobyte of
//! code to a firmware that only wants a confidence figure in its log. Certificates use only
//! exactly rounded f32 operations (see [`crate::fp`]); the serial server (`lifted-proto`) uses
//! [`confidence_approx`] for the confidence in its answer log (`Sent::Answer::confidence`).

use micromath::F32Ext;

/// Approximate softmax probability of `class` (for a confidence display), in [0, 1], from the
/// logits in any iterable form (a slice's `iter().copied()`, little-endian frame bytes, …).
/// Returns 0 for an out-of-range class or a non-finite logit.
///
/// ```
/// use lifted_core::fast::confidence_approx;
/// let p = confidence_approx([0.3f32, 2.0, -1.0, 0.9].iter().copied(), 1);
/// assert!((p - 0.639).abs() < 0.02); // exact softmax: 0.6388
/// ```
pub fn confidence_approx<I>(logits: I, class: usize) -> f32
where
    I: IntoIterator<Item = f32>,
    I::IntoIter: Clone,
{
    let logits = logits.into_iter();
    let mut top = f32::NEG_INFINITY;
    let mut own = None;
    for (i, s) in logits.clone().enumerate() {
        if !s.is_finite() {
            return 0.0;
        }
        top = top.max(s);
        if i == class {
            own = Some(s);
        }
    }
    let Some(own) = own else {
        return 0.0;
    };
    let total: f32 = logits.map(|s| F32Ext::exp(s - top)).sum();
    let p = F32Ext::exp(own - top) / total;
    p.clamp(0.0, 1.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn confidence_is_close_to_exact_softmax() {
        let logits = [0.3f32, 2.0, -1.0, 0.9];
        let exact: f64 = {
            let e: std::vec::Vec<f64> =
                logits.iter().map(|&s| (f64::from(s) - 2.0).exp()).collect();
            e[1] / e.iter().sum::<f64>()
        };
        let got = f64::from(confidence_approx(logits.iter().copied(), 1));
        assert!((got - exact).abs() < 0.02, "{got} vs {exact}");
        assert_eq!(confidence_approx(logits.iter().copied(), 9), 0.0);
        assert_eq!(confidence_approx([f32::NAN, 1.0], 1), 0.0);
        assert_eq!(confidence_approx([1.0, f32::INFINITY], 0), 0.0);
        assert_eq!(confidence_approx(core::iter::empty(), 0), 0.0);
    }
}
