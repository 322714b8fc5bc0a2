//! Quantities derived from a [`TrainConfig`]: the number of layers, whether the deployment is a
//! forward pass, the expanded γ, the phases of a lifted objective ([`PhaseTerm`]) and the
//! well-posedness of an output block.

use super::super::options::{LossKind, Objective};
use super::TrainConfig;

/// One K-sweep phase of a lifted objective: the phase minimises
/// Φ(z) = μ_y ℓ(z_L; y) + μ_g ℓ(z_L; g) + (1/β)·potential(z), and contributes `sign`·Φ(ẑ) to J.
/// An adversarial phase (max_z λ_u ℓ(y) − λ_t ℓ(g) − potential/β) is the minimisation of
/// Φ with μ_y = −λ_u, μ_g = λ_t and `sign` = −1.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PhaseTerm {
    /// Weight of ℓ(z_L; y) in Φ.
    pub mu_y: f64,
    /// Weight of ℓ(z_L; g) in Φ.
    pub mu_g: f64,
    /// +1 for a nudged (min) phase, −1 for an adversarial (max) phase.
    pub sign: f64,
}

impl TrainConfig {
    /// Number of weight layers L.
    pub fn layers(&self) -> usize {
        self.widths.len()
    }

    /// Whether the model this configuration deploys runs the plain forward pass: the core's
    /// single predicate ([`lifted_core::schedule::deploys_forward_pass`]) on the update list.
    pub fn deploys_forward_pass(&self) -> bool {
        lifted_core::schedule::deploys_forward_pass(
            self.layers(),
            self.potential.family(),
            self.init.core(),
            usize::from(self.sweeps),
            self.schedule.core(),
        )
    }

    /// γ_1 … γ_L with the empty default expanded to ones.
    pub fn gammas(&self) -> Vec<f64> {
        if self.gamma.is_empty() {
            vec![1.0; self.layers()]
        } else {
            self.gamma.clone()
        }
    }

    /// The phases of a lifted objective (empty for `bp` and `input-at`).
    pub fn phase_terms(&self) -> Vec<PhaseTerm> {
        let nudged = |l: f64| PhaseTerm {
            mu_y: l,
            mu_g: 0.0,
            sign: 1.0,
        };
        let adversarial = |lu: f64, lt: f64| PhaseTerm {
            mu_y: -lu,
            mu_g: lt,
            sign: -1.0,
        };
        match self.objective {
            Objective::Bp | Objective::InputAt => vec![],
            Objective::Rovr => vec![nudged(1.0)],
            Objective::Arovr | Objective::Relaxed => vec![adversarial(1.0, 0.0)],
            Objective::Targeted => vec![adversarial(self.lambda_u, self.lambda_t)],
            Objective::Mixed => {
                let mut v = Vec::new();
                if self.alpha > 0.0 {
                    v.push(nudged(self.alpha));
                }
                if self.alpha < 1.0 {
                    v.push(adversarial(1.0 - self.alpha, 0.0));
                }
                v
            }
        }
    }

    /// Whether the output block of phase `t` is well posed for γ_L = `gamma_l` (docs/method.md §4.1):
    /// κ + μ_y + μ_g > 0 with κ = γ_L/β, and for cross-entropy also |μ_y + μ_g| < 2κ.
    pub fn output_block_ok(&self, t: &PhaseTerm, gamma_l: f64) -> bool {
        let kappa = gamma_l / self.beta;
        let ce_ok = self.loss != LossKind::CrossEntropy || (t.mu_y + t.mu_g).abs() < 2.0 * kappa;
        kappa + t.mu_y + t.mu_g > 0.0 && ce_ok
    }

    /// True if Lipschitz-margin training is on.
    pub fn lip_margin(&self) -> bool {
        self.lip_margin_eps > 0.0
    }
}
