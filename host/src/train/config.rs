//! The training configuration: one flat, serde-friendly struct (TOML and JSON), its defaults
//! (docs/method.md §7.3 and §9) and the construction-time checks, including the well-posedness
//! conditions of docs/method.md §5.9.
//!
//! Files: this one holds [`DataSpec`], [`TrainConfig`] with its defaults and the TOML round trip;
//! `derived` the quantities computed from a configuration ([`PhaseTerm`], γ, the number of layers,
//! well-posedness of an output block); `validate` [`TrainConfig::validate`] and its parts.

mod derived;
#[cfg(test)]
mod tests;
mod validate;

pub use derived::PhaseTerm;

use std::path::PathBuf;

use anyhow::{Context, Result};
use serde::{Deserialize, Serialize};

use super::options::{
    Attack, Damping, HiddenActivation, InitKind, LossKind, LrSchedule, MarginLoss, MetaGamma,
    Objective, Potential, RelaxedDistance, ScheduleKind, Selection, Target,
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
    /// Learning rate of the log-γ descent (`validation`: the size of each log-γ step).
    pub gamma_lr: f64,
    /// `meta_gamma = validation`: one meta step every this many optimiser steps.
    pub meta_every: usize,
    /// `meta_gamma = validation`: the finite-difference offset δ on log γ_k.
    pub meta_delta: f64,
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
    /// Which epoch is kept as the best (measured on the validation split).
    pub select: Selection,
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
            meta_every: 10,
            meta_delta: 0.1,
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
            select: Selection::ValAccuracy,
            data: DataSpec::default(),
        }
    }
}

impl TrainConfig {
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
}
