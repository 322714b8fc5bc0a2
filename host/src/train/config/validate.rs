//! [`TrainConfig::validate`]: the construction-time checks of a configuration against the data,
//! split by topic (counts, Lipschitz margin, baselines, lifted objectives with the
//! well-posedness conditions of docs/method.md §5.9).

use anyhow::{bail, ensure, Result};

use super::super::options::{
    Attack, Damping, LossKind, MarginLoss, MetaGamma, Objective, Potential, Target,
};
use super::TrainConfig;

impl TrainConfig {
    /// Checks the configuration against the data (`input_dim`, `classes`) and docs/method.md §5.9.
    ///
    /// # Errors
    /// The first violated condition, with the fix.
    pub fn validate(&self, input_dim: usize, classes: usize) -> Result<()> {
        let l = self.layers();
        ensure!(
            l >= 1,
            "widths is empty — give at least the output width, e.g. --widths 64,10"
        );
        ensure!(
            l <= lifted_core::MAX_LAYERS,
            "{l} layers requested; the model format allows at most {}",
            lifted_core::MAX_LAYERS
        );
        ensure!(
            self.widths.iter().all(|&w| w > 0),
            "every width must be positive, got {:?}",
            self.widths
        );
        ensure!(input_dim > 0, "the data has input dimension 0");
        ensure!(
            self.widths[l - 1] == classes,
            "the last width is {} but the data has {classes} classes — end --widths with {classes}",
            self.widths[l - 1]
        );
        ensure!(
            self.sweeps <= lifted_core::MAX_SWEEPS,
            "sweeps = {} exceeds the format's maximum {}",
            self.sweeps,
            lifted_core::MAX_SWEEPS
        );
        let g = self.gammas();
        ensure!(
            g.len() == l,
            "gamma has {} values but there are {l} layers — give one γ per layer",
            g.len()
        );
        ensure!(
            g.iter().all(|v| v.is_finite() && *v > 0.0),
            "every γ_k must be finite and > 0, got {g:?}"
        );
        ensure!(self.batch >= 1, "batch must be ≥ 1");
        self.validate_counts()?;
        ensure!(
            self.lr.is_finite() && self.lr > 0.0,
            "lr must be finite and > 0"
        );
        ensure!(
            (0.0..1.0).contains(&self.adam_beta1) && (0.0..1.0).contains(&self.adam_beta2),
            "Adam decays must lie in [0, 1)"
        );
        ensure!(
            self.adam_eps.is_finite() && self.adam_eps > 0.0,
            "adam_eps must be > 0"
        );
        ensure!(
            self.init_gain.is_finite() && self.init_gain > 0.0,
            "init_gain must be > 0"
        );
        ensure!(
            self.hopfield_mu_min.is_finite(),
            "hopfield_mu_min must be finite"
        );
        if self.potential == Potential::Hopfield && self.hopfield_mu_min >= 0.0 {
            let gmin = self.gammas().into_iter().fold(f64::INFINITY, f64::min);
            ensure!(
                self.hopfield_mu_min < gmin,
                "hopfield_mu_min = {} cannot be reached: λ_min(T) ≤ min γ_k = {gmin}",
                self.hopfield_mu_min
            );
        }
        match self.objective {
            Objective::Bp | Objective::InputAt => self.validate_baseline()?,
            _ => self.validate_lifted(&g, classes)?,
        }
        self.validate_lip_margin()?;
        if self.meta_gamma != MetaGamma::Off {
            ensure!(
                self.objective.is_lifted(),
                "meta_gamma needs a lifted objective (γ does not enter {})",
                self.objective
            );
            ensure!(
                l >= 2,
                "meta_gamma = {} learns the hidden γ_k; the network has no hidden layer",
                self.meta_gamma
            );
            ensure!(
                self.gamma_lr.is_finite() && self.gamma_lr > 0.0,
                "gamma_lr must be > 0"
            );
        }
        if self.meta_gamma == MetaGamma::Validation {
            ensure!(self.meta_every >= 1, "meta_every must be ≥ 1");
            ensure!(
                self.meta_delta.is_finite() && self.meta_delta > 0.0 && self.meta_delta <= 1.0,
                "meta_delta must be in (0, 1], got {}",
                self.meta_delta
            );
        }
        Ok(())
    }

    /// The upper bounds of the counts (see [`crate::limits`]).
    fn validate_counts(&self) -> Result<()> {
        use crate::limits::{
            check_max, MAX_EPOCHS, MAX_GRAM_STEPS, MAX_PGD_STEPS, MAX_POWER_ITERS, MAX_THREADS,
            MAX_WIDTH,
        };
        for &w in &self.widths {
            check_max("width (--widths)", w, MAX_WIDTH)?;
        }
        check_max("epochs (--epochs)", self.epochs, MAX_EPOCHS)?;
        check_max("threads (--threads)", self.threads, MAX_THREADS)?;
        match self.damping {
            Damping::SoundGram(s) => check_max(
                &format!("damping (--damping) {}: STEPS", self.damping),
                s,
                MAX_GRAM_STEPS,
            )?,
            Damping::Power(i, _) => check_max(
                &format!("damping (--damping) {}: ITERS", self.damping),
                i,
                MAX_POWER_ITERS,
            )?,
            Damping::DpFormula => {}
        }
        check_max(
            "attack_steps (--attack-steps)",
            self.attack_steps as usize,
            MAX_PGD_STEPS,
        )?;
        check_max(
            "lip_margin_power_iters (--lip-margin-power-iters)",
            self.lip_margin_power_iters,
            MAX_POWER_ITERS,
        )?;
        check_max(
            "lip_margin_warmup (--lip-margin-warmup)",
            self.lip_margin_warmup,
            MAX_EPOCHS,
        )
    }

    fn validate_lip_margin(&self) -> Result<()> {
        ensure!(
            self.lip_margin_eps.is_finite() && self.lip_margin_eps >= 0.0,
            "lip_margin_eps must be finite and ≥ 0 (0 switches the Lipschitz margin off), got {}",
            self.lip_margin_eps
        );
        ensure!(
            self.lip_margin_float.is_finite() && self.lip_margin_float >= 0.0,
            "lip_margin_float must be finite and ≥ 0, got {}",
            self.lip_margin_float
        );
        if !self.lip_margin() {
            ensure!(
                self.lip_margin_float == 0.0,
                "lip_margin_float needs the Lipschitz margin on — set lip_margin_eps > 0"
            );
            ensure!(
                self.lip_margin_loss == MarginLoss::Shift,
                "lip_margin_loss = bottom needs the Lipschitz margin on — set lip_margin_eps > 0"
            );
            return Ok(());
        }
        if self.lip_margin_loss == MarginLoss::Bottom {
            ensure!(
                self.loss == LossKind::CrossEntropy && !self.objective.is_lifted(),
                "lip_margin_loss = bottom (GloRo's ⊥ class) is a cross-entropy on the forward pass — \
                 use --loss cross-entropy with --objective bp or input-at (got {} with {})",
                self.loss,
                self.objective
            );
        }
        ensure!(
            self.lip_margin_power_iters >= 1,
            "lip_margin_power_iters must be ≥ 1 when the Lipschitz margin is on"
        );
        // K_yj bounds the forward map. For a forward deployment it is the certificate's own
        // constant; for an iterative one (family B, zero init, …) it is a training surrogate: the
        // certificate uses the deployed update list's sweep constants, computed at export
        // (docs/method.md §8), so soundness never rests on this choice.
        Ok(())
    }

    fn validate_baseline(&self) -> Result<()> {
        ensure!(
            self.potential == Potential::FenchelYoung,
            "{} trains the feed-forward map, the predictor of the fenchel-young potential — use --potential fenchel-young",
            self.objective
        );
        if self.objective == Objective::InputAt {
            ensure!(self.eta.is_finite() && self.eta >= 0.0, "eta must be ≥ 0");
            if self.attack != Attack::Step {
                ensure!(
                    self.attack_eps.is_finite() && self.attack_eps > 0.0,
                    "attack_eps must be > 0"
                );
                ensure!(self.attack_steps >= 1, "attack_steps must be ≥ 1");
                if let Some(s) = self.attack_step_size {
                    ensure!(s.is_finite() && s > 0.0, "attack_step_size must be > 0");
                }
            }
        }
        Ok(())
    }

    fn validate_lifted(&self, g: &[f64], classes: usize) -> Result<()> {
        let beta = self.beta;
        ensure!(
            beta.is_finite() && beta > 0.0,
            "beta must be finite and > 0, got {beta}"
        );
        match self.objective {
            Objective::Mixed => ensure!((0.0..=1.0).contains(&self.alpha), "alpha must lie in [0, 1], got {}", self.alpha),
            Objective::Targeted => {
                ensure!(
                    self.lambda_u.is_finite() && self.lambda_t.is_finite() && self.lambda_u >= 0.0 && self.lambda_t >= 0.0,
                    "lambda_u and lambda_t must be finite and ≥ 0"
                );
                ensure!(classes >= 2, "targeted needs at least two classes");
                if let Target::Fixed(c) = self.target {
                    ensure!(usize::from(c) < classes, "target fixed:{c} is not a class (0..{classes})");
                }
            }
            Objective::Relaxed => ensure!(
                self.potential == Potential::FenchelYoung,
                "relaxed uses the layer distance d_γ around the forward pass (docs/method.md §5.7) — use --potential fenchel-young"
            ),
            _ => {}
        }
        // docs/method.md §4.1/§5.9: the output block of every phase must be well posed.
        let gl = g[g.len() - 1];
        for t in self.phase_terms() {
            if t.sign < 0.0 && gl / beta + t.mu_y + t.mu_g <= 0.0 {
                let (lu, lt) = (-t.mu_y, t.mu_g);
                bail!(
                    "ill-posed {}: the adversarial output block needs β·(λ_u − λ_t) < γ_L (docs/method.md §5.9), \
                     but β = {beta}, λ_u = {lu}, λ_t = {lt}, γ_L = {gl} — lower --beta below {} or raise γ_L",
                    self.objective,
                    if lu > lt { gl / (lu - lt) } else { f64::INFINITY }
                );
            }
            if !self.output_block_ok(&t, gl) {
                bail!(
                    "cross-entropy output updates of {} need |μ_y + μ_g| < 2γ_L/β for the fixed-point \
                     iteration to contract — lower --beta",
                    self.objective
                );
            }
        }
        Ok(())
    }
}
