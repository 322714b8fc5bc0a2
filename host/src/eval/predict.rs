//! Evaluation of an exported model on a data set, through `lifted_core` only.
//!
//! Every prediction and certificate here is computed by `lifted_core::infer` and
//! `lifted_core::certify` on the checked blob — the code the firmware runs — so host numbers and
//! device numbers agree bit for bit. Samples are processed in parallel with rayon; every sample's
//! result depends only on the sample (and, for attacks, on the seed and its index), never on the
//! thread that ran it, so results do not depend on the thread count.

use anyhow::{ensure, Result};
use indicatif::{ParallelProgressIterator, ProgressBar, ProgressStyle};
use lifted_core::{
    certify, certify_with_internal, infer, Certificate, Error, ModelView, Norm, Workspace,
};
use rayon::prelude::*;
use serde::Serialize;

use crate::data::Dataset;
use crate::eval::attack::{Attacker, PgdConfig};
use crate::rng::mix;

/// The result of `infer` (and optionally `certify`) on one sample.
#[derive(Debug, Clone, PartialEq)]
pub struct Prediction {
    /// True label.
    pub label: u8,
    /// Predicted class; `None` if the inference failed.
    pub class: Option<usize>,
    /// Logit margin to the runner-up (f32, 0 on a tie or failure).
    pub margin: f32,
    /// Why the inference failed, if it did.
    pub error: Option<Error>,
    /// ℓ2 certificate (with the internal radii), if requested and the inference succeeded.
    pub l2: Option<Certificate>,
    /// ℓ∞ certificate, if requested and the inference succeeded.
    pub linf: Option<Certificate>,
    /// ‖z_k‖₂ of the hidden blocks k = 1 … L − 1 of the final state (empty if the inference
    /// failed or no certificates were requested): the scale of the internal radii.
    pub hidden_l2: Vec<f32>,
}

impl Prediction {
    /// Whether the prediction is the label.
    #[must_use]
    pub fn correct(&self) -> bool {
        self.class == Some(usize::from(self.label))
    }

    /// The certificate for `norm`, if any.
    #[must_use]
    pub fn certificate(&self, norm: Norm) -> Option<&Certificate> {
        match norm {
            Norm::L2 => self.l2.as_ref(),
            Norm::Linf => self.linf.as_ref(),
        }
    }

    /// Whether the sample is correctly classified **and** certified at `eps` in `norm`.
    #[must_use]
    pub fn certified_at(&self, norm: Norm, eps: f32) -> bool {
        self.correct() && self.certificate(norm).is_some_and(|c| c.certifies(eps))
    }

    /// The certified radius in `norm` if correctly classified and certified, else 0.
    #[must_use]
    pub fn robust_radius(&self, norm: Norm) -> f32 {
        match self.certificate(norm) {
            Some(c) if self.correct() && c.rejection.is_none() => c.radius,
            _ => 0.0,
        }
    }
}

/// A progress bar on stderr; indicatif hides it when stderr is not a terminal.
#[must_use]
pub fn progress_bar(len: usize, message: &str, show: bool) -> ProgressBar {
    if !show {
        return ProgressBar::hidden();
    }
    let pb = ProgressBar::new(len as u64);
    if let Ok(style) = ProgressStyle::with_template("{msg:>14} [{bar:40}] {pos}/{len} ({eta})") {
        pb.set_style(style.progress_chars("=> "));
    }
    pb.set_message(message.to_owned());
    pb
}

/// Checks that `data` can be fed to `model`: input dimension, class count and input range.
///
/// # Errors
/// A mismatch, with the fix.
pub fn check_compatible(model: &ModelView<'_>, data: &Dataset) -> Result<()> {
    ensure!(
        model.input_dim() == data.dim,
        "the model expects inputs of dimension {} but data set {} has dimension {} — use the data set \
         the model was trained on (digits: 64, mnist and fashion-mnist: 784)",
        model.input_dim(),
        data.name,
        data.dim
    );
    ensure!(
        model.classes() >= data.classes,
        "the model has {} classes but data set {} has {} — use the data set the model was trained on",
        model.classes(),
        data.name,
        data.classes
    );
    let h = model.header();
    let (lo, hi) = data.input_range();
    ensure!(
        h.input_min <= lo && hi <= h.input_max,
        "the model accepts inputs in [{}, {}] but data set {} spans [{lo}, {hi}] — re-export the model \
         with the data set's input range",
        h.input_min,
        h.input_max,
        data.name
    );
    Ok(())
}

/// ‖v‖₂ in f64, rounded to f32.
fn l2_norm(v: &[f32]) -> f32 {
    v.iter().map(|&x| f64::from(x).powi(2)).sum::<f64>().sqrt() as f32
}

/// Runs `infer` (and, if `with_certificates`, `certify` in ℓ2 and ℓ∞) on every sample.
#[must_use]
pub fn predict(
    model: &ModelView<'_>,
    data: &Dataset,
    with_certificates: bool,
    pb: &ProgressBar,
) -> Vec<Prediction> {
    let need = Workspace::required(model);
    (0..data.len())
        .into_par_iter()
        .progress_with(pb.clone())
        .map_init(
            || vec![0.0f32; need],
            |buf, i| {
                let x = data.input(i).unwrap_or(&[]);
                let label = data.labels.get(i).copied().unwrap_or(0);
                match infer(model, x, &mut Workspace::new(buf)) {
                    Ok(o) => Prediction {
                        label,
                        class: Some(o.class),
                        margin: o.margin,
                        error: None,
                        l2: with_certificates.then(|| certify_with_internal(model, &o)),
                        linf: with_certificates.then(|| certify(model, &o, Norm::Linf)),
                        hidden_l2: if with_certificates {
                            (1..model.layers())
                                .map(|k| l2_norm(o.block(model, k)))
                                .collect()
                        } else {
                            Vec::new()
                        },
                    },
                    Err(e) => Prediction {
                        label,
                        class: None,
                        margin: 0.0,
                        error: Some(e),
                        l2: None,
                        linf: None,
                        hidden_l2: Vec::new(),
                    },
                }
            },
        )
        .collect()
}

/// Fraction of correct predictions (0 for no samples).
#[must_use]
pub fn accuracy(preds: &[Prediction]) -> f64 {
    fraction(preds.iter().filter(|p| p.correct()).count(), preds.len())
}

/// `count / total`, 0 for an empty total.
#[must_use]
pub fn fraction(count: usize, total: usize) -> f64 {
    if total == 0 {
        0.0
    } else {
        count as f64 / total as f64
    }
}

/// Where a PGD attack perturbs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Target {
    /// The input, in ℓ2.
    InputL2,
    /// The input, in ℓ∞.
    InputLinf,
    /// Hidden block k (ℓ2), the remaining layers running forward.
    Hidden(usize),
}

impl Target {
    /// A stable number for seeding.
    fn tag(self) -> u64 {
        match self {
            Target::InputL2 => 1,
            Target::InputLinf => 2,
            Target::Hidden(k) => 16 + k as u64,
        }
    }

    /// A short label (`l2`, `linf`, `z1` …).
    #[must_use]
    pub fn label(self) -> String {
        match self {
            Target::InputL2 => "l2".to_owned(),
            Target::InputLinf => "linf".to_owned(),
            Target::Hidden(k) => format!("z{k}"),
        }
    }
}

/// The seed stream of sample `index` for `target`.
#[must_use]
pub fn stream(index: usize, target: Target) -> u64 {
    mix(index as u64 ^ (target.tag() << 48))
}

/// Robust accuracy under PGD at one radius.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RobustResult {
    /// Where the attack perturbs.
    pub target: Target,
    /// Radius (with `relative`, the fraction of each sample's ‖z_k(x)‖₂).
    pub eps: f64,
    /// Hidden targets only: the radius of sample i is `eps`·‖z_k(x_i)‖₂, which does not change
    /// when a ReLU layer is rescaled (docs/method.md §8.3).
    pub relative: bool,
    /// Samples.
    pub samples: usize,
    /// Correctly classified samples (the ones attacked).
    pub attacked: usize,
    /// Samples still correctly classified after the attack.
    pub robust: usize,
    /// `robust / samples`.
    pub robust_accuracy: f64,
    /// Per sample: still correctly classified after the attack.
    #[serde(skip)]
    pub survived: Vec<bool>,
}

impl RobustResult {
    /// The target's label, with `/‖z‖` for a relative radius (`z1/‖z‖`).
    #[must_use]
    pub fn label(&self) -> String {
        if self.relative {
            format!("{}/‖z‖", self.target.label())
        } else {
            self.target.label()
        }
    }
}

/// Attacks every correctly classified sample at `eps` (defending its label) and counts the
/// samples that survive. Misclassified samples count as not robust.
#[must_use]
pub fn robust_accuracy(
    model: &ModelView<'_>,
    data: &Dataset,
    preds: &[Prediction],
    target: Target,
    eps: f64,
    cfg: &PgdConfig,
    pb: &ProgressBar,
) -> RobustResult {
    robust_accuracy_with(model, data, preds, target, eps, false, cfg, pb)
}

/// [`robust_accuracy`] on hidden block k at radius `fraction`·‖z_k(x)‖₂ per sample (the same
/// attack and seed stream as [`Target::Hidden`], scaled to each sample's activity).
#[must_use]
pub fn robust_accuracy_relative(
    model: &ModelView<'_>,
    data: &Dataset,
    preds: &[Prediction],
    k: usize,
    fraction: f64,
    cfg: &PgdConfig,
    pb: &ProgressBar,
) -> RobustResult {
    robust_accuracy_with(
        model,
        data,
        preds,
        Target::Hidden(k),
        fraction,
        true,
        cfg,
        pb,
    )
}

#[allow(clippy::too_many_arguments)]
fn robust_accuracy_with(
    model: &ModelView<'_>,
    data: &Dataset,
    preds: &[Prediction],
    target: Target,
    eps: f64,
    relative: bool,
    cfg: &PgdConfig,
    pb: &ProgressBar,
) -> RobustResult {
    let attacker = Attacker::new(model, *cfg);
    let need = Workspace::required(model);
    let survived: Vec<bool> = (0..preds.len())
        .into_par_iter()
        .progress_with(pb.clone())
        .map_init(
            || vec![0.0f32; need],
            |buf, i| {
                let (Some(p), Some(x)) = (preds.get(i), data.input(i)) else {
                    return false;
                };
                if !p.correct() {
                    return false;
                }
                let t = usize::from(p.label);
                let s = stream(i, target);
                let hit = match target {
                    Target::InputL2 => attacker.input(x, t, Norm::L2, eps, s),
                    Target::InputLinf => attacker.input(x, t, Norm::Linf, eps, s),
                    Target::Hidden(k) => {
                        let mut ws = Workspace::new(buf);
                        let Ok(o) = infer(model, x, &mut ws) else {
                            return false;
                        };
                        let zk = o.block(model, k).to_vec();
                        let r = if relative {
                            eps * f64::from(l2_norm(&zk))
                        } else {
                            eps
                        };
                        attacker.internal(k, &zk, t, r, s)
                    }
                };
                !hit.success
            },
        )
        .collect();
    let robust = survived.iter().filter(|&&s| s).count();
    RobustResult {
        target,
        eps,
        relative,
        samples: preds.len(),
        attacked: preds.iter().filter(|p| p.correct()).count(),
        robust,
        robust_accuracy: fraction(robust, preds.len()),
        survived,
    }
}
