//! Fast approximate helpers for display on the device. **Nothing here feeds a certificate.**
//!
//! They use `micromath`'s approximations (a few per cent of relative error), which are cheap on
//! FPU-less cores. Certificates use only exactly rounded f32 operations (see [`crate::fp`]).

use micromath::F32Ext;

/// Approximate softmax probability of `class` (for a confidence display), in [0, 1].
/// Returns 0 for an out-of-range class or non-finite logits.
pub fn confidence_approx(logits: &[f32], class: usize) -> f32 {
    let Some(&top) = logits.iter().max_by(|a, b| a.total_cmp(b)) else {
        return 0.0;
    };
    let Some(&sc) = logits.get(class) else {
        return 0.0;
    };
    if !top.is_finite() || !sc.is_finite() {
        return 0.0;
    }
    let total: f32 = logits.iter().map(|&s| F32Ext::exp(s - top)).sum();
    let p = F32Ext::exp(sc - top) / total;
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
        let got = f64::from(confidence_approx(&logits, 1));
        assert!((got - exact).abs() < 0.02, "{got} vs {exact}");
        assert_eq!(confidence_approx(&logits, 9), 0.0);
        assert_eq!(confidence_approx(&[f32::NAN, 1.0], 1), 0.0);
    }
}
