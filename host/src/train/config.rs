//! The training configuration: one flat, serde-friendly struct (TOML and JSON), its defaults
//! (docs/method.md §7.3 and §9) and the construction-time checks, including the well-posedness
//! conditions of docs/method.md §5.9.

use std::path::PathBuf;

use anyhow::{bail, ensure, Context, Result};
use serde::{Deserialize, Serialize};

use super::options::{
    Attack, Damping, HiddenActivation, InitKind, LossKind, LrSchedule, MarginLoss, MetaGamma,
    Objective, Potential, RelaxedDistance, ScheduleKind, Target,
};
use crate::data::DatasetKind;

/// Which data the CLI loads (recorded in `config.toml`; [`super::train`] takes the splits directly).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct DataSpec {
    /// `digits`, `mnist` or `fashion-mnist` (ignored when `own` is set).
    pub dataset: String,
    /// Folder of the data files (default: the loader's search path).
    pub data_dir: Option<PathBuf>,
    /// Training-split size (default: the whole pool).
    pub n_train: Option<usize>,
    /// Your own data file and its options (`--data`, `[data.own]`); replaces `dataset`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub own: Option<crate::data::OwnData>,
}

impl Default for DataSpec {
    fn default() -> Self {
        DataSpec {
            dataset: "digits".into(),
            data_dir: None,
            n_train: None,
            own: None,
        }
    }
}

impl DataSpec {
    /// The data-set kind.
    ///
    /// # Errors
    /// An unknown name.
    pub fn kind(&self) -> Result<DatasetKind> {
        self.dataset.parse()
    }

    /// The name of the data: the data set, or your own file's name.
    ///
    /// # Errors
    /// An unknown data-set name.
    pub fn name(&self) -> Result<String> {
        match &self.own {
            Some(o) => Ok(o.name()),
            None => Ok(self.kind()?.name().to_owned()),
        }
    }

    /// Loads and splits the data (one path for built-in sets and own files).
    ///
    /// # Errors
    /// As [`crate::data::load_any`].
    pub fn load(&self) -> Result<crate::data::Splits> {
        match &self.own {
            Some(o) => crate::data::load_any(None, None, o, self.n_train),
            None => crate::data::load_any(
                Some(self.kind()?),
                self.data_dir.as_deref(),
                &crate::data::OwnData::default(),
                self.n_train,
            ),
        }
    }
}

/// Every training setting. Field names are the TOML keys; each has a default, so a config file
/// lists only what differs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct TrainConfig {
    /// Widths n_1 … n_L; the last is the number of classes (identity output layer).
    pub widths: Vec<usize>,
    /// Activation of the hidden layers.
    pub activation: HiddenActivation,
    /// Potential family.
    pub potential: Potential,
    /// γ_1 … γ_L (empty: all 1).
    pub gamma: Vec<f64>,
    /// Number of sweeps K.
    pub sweeps: u16,
    /// State initialisation of the deployed inference (and of the family-B free phase).
    pub init: InitKind,
    /// Sweep schedule.
    pub schedule: ScheduleKind,
    /// Family-A damping rule (also the step of the d_γ block updates).
    pub damping: Damping,
    /// Target loss.
    pub loss: LossKind,
    /// Training objective.
    pub objective: Objective,
    /// β > 0.
    pub beta: f64,
    /// α of `mixed` (1 = ROVR, 0 = AROVR).
    pub alpha: f64,
    /// λ_u of `targeted`.
    pub lambda_u: f64,
    /// λ_t of `targeted`.
    pub lambda_t: f64,
    /// Target class g of `targeted`.
    pub target: Target,
    /// Perturbation placement of `relaxed`.
    pub relaxed_distance: RelaxedDistance,
    /// Step η of `input-at` with `attack = "step"`.
    pub eta: f64,
    /// Attack of `input-at`.
    pub attack: Attack,
    /// PGD ball radius.
    pub attack_eps: f64,
    /// PGD steps.
    pub attack_steps: u32,
    /// PGD step size (default 2.5·eps/steps).
    pub attack_step_size: Option<f64>,
    /// Clamp attacked inputs to [0, 1] (PGD always projects onto the box).
    pub attack_clamp: bool,
    /// γ meta-learning.
    pub meta_gamma: MetaGamma,
    /// Learning rate of the log-γ descent.
    pub gamma_lr: f64,
    /// Family B: after every step, rescale W_1 … W_{L−1} so that the sound lower bound of the
    /// strong-convexity modulus λ_min(T) (docs/method.md §3.3) stays ≥ this; a negative value disables the
    /// projection.
    pub hopfield_mu_min: f64,
    /// Lipschitz-margin training (see [`super::lipmargin`]): the output loss is taken at the
    /// logits with every non-true class j raised by ε·K_yj, K_yj = ‖w_y − w_j‖₂·Π_{k<L−1} σ_k.
    /// This is ε; 0 (the default) switches it off.
    pub lip_margin_eps: f64,
    /// Weight λ_E of the certificate's float-error term in the Lipschitz margin: every non-true
    /// logit is also raised by λ_E·Ê(x), the estimated float error bound of the sound certificate
    /// (docs/method.md §8.6), with its gradient through ‖W_k‖_∞ (see [`super::lipmargin`]); 0: off.
    pub lip_margin_float: f64,
    /// Warm-started power-iteration steps per minibatch for the σ_k of the Lipschitz margin.
    pub lip_margin_power_iters: u32,
    /// Epochs over which the Lipschitz-margin ε rises linearly (per minibatch) from 0 (GloRo's
    /// warm-up); 0: the full ε from the first step.
    pub lip_margin_warmup: usize,
    /// How the margin enters the loss: the shifted logits, or GloRo's ⊥ class (cross-entropy
    /// with `bp` or `input-at` only).
    pub lip_margin_loss: MarginLoss,
    /// Scale of the initial weights (docs/method.md §7.2 is 1).
    pub init_gain: f64,
    /// Number of epochs (epoch 0, the measurement pass, is extra).
    pub epochs: usize,
    /// Minibatch size.
    pub batch: usize,
    /// Adam learning rate.
    pub lr: f64,
    /// Learning-rate schedule over the update steps.
    pub lr_schedule: LrSchedule,
    /// Adam β₁.
    pub adam_beta1: f64,
    /// Adam β₂.
    pub adam_beta2: f64,
    /// Adam ε.
    pub adam_eps: f64,
    /// Seed of every random choice (ChaCha8).
    pub seed: u64,
    /// Worker threads (0: one per core).
    pub threads: usize,
    /// The data (used by the CLI; recorded with the run).
    pub data: DataSpec,
}

impl Default for TrainConfig {
    fn default() -> Self {
        TrainConfig {
            widths: vec![128, 128, 10],
            activation: HiddenActivation::Relu,
            potential: Potential::FenchelYoung,
            gamma: Vec::new(),
            sweeps: 5,
            init: InitKind::Forward,
            schedule: ScheduleKind::BwdFwd,
            damping: Damping::SoundGram(6),
            loss: LossKind::Squared,
            objective: Objective::Arovr,
            beta: 0.5,
            alpha: 0.5,
            lambda_u: 0.5,
            lambda_t: 0.5,
            target: Target::RunnerUp,
            relaxed_distance: RelaxedDistance::PostActivation,
            eta: 0.5,
            attack: Attack::Step,
            attack_eps: 0.1,
            attack_steps: 10,
            attack_step_size: None,
            attack_clamp: false,
            meta_gamma: MetaGamma::Off,
            gamma_lr: 0.01,
            hopfield_mu_min: 0.05,
            lip_margin_eps: 0.0,
            lip_margin_float: 0.0,
            lip_margin_power_iters: 2,
            lip_margin_warmup: 0,
            lip_margin_loss: MarginLoss::Shift,
            init_gain: 1.0,
            epochs: 20,
            batch: 50,
            lr: 1e-3,
            lr_schedule: LrSchedule::Constant,
            adam_beta1: 0.9,
            adam_beta2: 0.999,
            adam_eps: 1e-8,
            seed: 0,
            threads: 0,
            data: DataSpec::default(),
        }
    }
}

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

    /// Parses a TOML configuration.
    ///
    /// # Errors
    /// Malformed TOML, an unknown key or an invalid value.
    pub fn from_toml(text: &str) -> Result<Self> {
        toml::from_str(text).context("parsing the training configuration (TOML)")
    }

    /// Renders the configuration as TOML.
    ///
    /// # Errors
    /// Never for a valid configuration.
    pub fn to_toml(&self) -> Result<String> {
        toml::to_string(self).context("writing the training configuration as TOML")
    }

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
        if self.meta_gamma == MetaGamma::Constrained {
            ensure!(
                self.objective.is_lifted(),
                "meta_gamma needs a lifted objective (γ does not enter {})",
                self.objective
            );
            ensure!(
                l >= 2,
                "meta_gamma = constrained learns the hidden γ_k; the network has no hidden layer"
            );
            ensure!(
                self.gamma_lr.is_finite() && self.gamma_lr > 0.0,
                "gamma_lr must be > 0"
            );
        }
        Ok(())
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn toml_round_trip_and_defaults() {
        let c = TrainConfig {
            widths: vec![64, 10],
            gamma: vec![0.5, 1.0],
            ..TrainConfig::default()
        };
        let t = c.to_toml().unwrap();
        assert_eq!(TrainConfig::from_toml(&t).unwrap(), c);
        let d = TrainConfig::from_toml(
            "objective = \"mixed\"\nalpha = 0.25\n[data]\ndataset = \"mnist\"\n",
        )
        .unwrap();
        assert_eq!(d.objective, Objective::Mixed);
        assert_eq!(d.data.dataset, "mnist");
        assert_eq!(d.sweeps, 5);
        assert!(TrainConfig::from_toml("bogus = 1").is_err());
    }

    #[test]
    fn counts_have_upper_bounds_that_name_the_flag() {
        let ok = TrainConfig {
            widths: vec![16, 10],
            ..TrainConfig::default()
        };
        let cases = [
            (
                TrainConfig {
                    damping: "power:4294967295:1".parse().unwrap(),
                    ..ok.clone()
                },
                ["--damping", "4294967295", "1000"],
            ),
            (
                TrainConfig {
                    damping: "sound-gram:31".parse().unwrap(),
                    ..ok.clone()
                },
                ["--damping", "31", "30"],
            ),
            (
                TrainConfig {
                    epochs: 1_000_000_000,
                    ..ok.clone()
                },
                ["--epochs", "1000000000", "10000"],
            ),
            (
                TrainConfig {
                    objective: Objective::InputAt,
                    attack: Attack::PgdL2,
                    attack_steps: 1_000_000_000,
                    ..ok.clone()
                },
                ["--attack-steps", "1000000000", "10000"],
            ),
            (
                TrainConfig {
                    lip_margin_power_iters: 100_000,
                    ..ok.clone()
                },
                ["--lip-margin-power-iters", "100000", "1000"],
            ),
            (
                TrainConfig {
                    threads: 1_000_000,
                    ..ok.clone()
                },
                ["--threads", "1000000", "1024"],
            ),
            (
                TrainConfig {
                    widths: vec![1 << 20, 10],
                    ..ok.clone()
                },
                ["--widths", "1048576", "65536"],
            ),
        ];
        for (cfg, words) in cases {
            let e = cfg.validate(64, 10).unwrap_err().to_string();
            for w in words {
                assert!(e.contains(w), "{w} missing in: {e}");
            }
        }
        TrainConfig {
            epochs: crate::limits::MAX_EPOCHS,
            damping: "power:1000:1".parse().unwrap(),
            ..ok
        }
        .validate(64, 10)
        .unwrap();
    }

    #[test]
    fn well_posedness_is_checked() {
        let ok = TrainConfig {
            widths: vec![16, 10],
            ..TrainConfig::default()
        };
        ok.validate(64, 10).unwrap();
        let bad = TrainConfig {
            beta: 1.0,
            ..ok.clone()
        };
        let e = bad.validate(64, 10).unwrap_err().to_string();
        assert!(e.contains("β·(λ_u − λ_t) < γ_L"), "{e}");
        // A larger γ_L makes β = 1 admissible.
        TrainConfig {
            gamma: vec![1.0, 2.0],
            ..bad.clone()
        }
        .validate(64, 10)
        .unwrap();
        // Targeted with λ_u ≤ λ_t is well posed for every β.
        TrainConfig {
            objective: Objective::Targeted,
            beta: 10.0,
            ..ok.clone()
        }
        .validate(64, 10)
        .unwrap();
        let mixed = TrainConfig {
            objective: Objective::Mixed,
            alpha: 0.0,
            beta: 1.5,
            ..ok.clone()
        };
        assert!(mixed.validate(64, 10).is_err());
        TrainConfig {
            alpha: 0.5,
            ..mixed
        }
        .validate(64, 10)
        .unwrap();
        assert!(TrainConfig {
            widths: vec![16, 9],
            ..ok.clone()
        }
        .validate(64, 10)
        .is_err());
        assert!(TrainConfig {
            gamma: vec![1.0],
            ..ok.clone()
        }
        .validate(64, 10)
        .is_err());
        let bp_b = TrainConfig {
            objective: Objective::Bp,
            potential: Potential::Hopfield,
            ..ok
        };
        assert!(bp_b
            .validate(64, 10)
            .unwrap_err()
            .to_string()
            .contains("fenchel-young"));
    }
}
