//! Certified accuracy, radius distributions, refusal counts and the attack self-check of an
//! exported model on a data set (the report of `lifted certify`).
mod self_check;
mod text;

pub use self_check::self_check;

use lifted_core::{ModelView, Norm, Rejection};
use serde::Serialize;

use crate::eval::attack::PgdConfig;
use crate::eval::forward_gap::ForwardGap;
use crate::eval::{accuracy, fraction, Prediction, Target};

/// The model facts a report repeats.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ModelBrief {
    /// Input dimension n₀.
    pub input_dim: usize,
    /// Widths n_1 … n_L.
    pub widths: Vec<usize>,
    /// Potential family (docs/method.md §9 name).
    pub family: &'static str,
    /// State initialisation.
    pub init: &'static str,
    /// Sweep schedule.
    pub schedule: &'static str,
    /// Sweeps K.
    pub sweeps: usize,
    /// Whether the deployed map is the plain forward pass.
    pub forward_deployment: bool,
    /// Whether the certificate constants are valid.
    pub constants_valid: bool,
    /// Largest certifiable ℓ2 radius.
    pub eps_l2_max: f32,
    /// Largest certifiable ℓ∞ radius.
    pub eps_inf_max: f32,
    /// Largest certifiable hidden-activity radius.
    pub eps_internal_max: f32,
}

impl ModelBrief {
    /// The brief of a checked model.
    #[must_use]
    pub fn of(model: &ModelView<'_>) -> Self {
        let c = &model.header().cert;
        ModelBrief {
            input_dim: model.input_dim(),
            widths: (1..=model.layers()).map(|k| model.width(k)).collect(),
            family: model.family().name(),
            init: model.init().name(),
            schedule: model.schedule().name(),
            sweeps: model.sweeps(),
            forward_deployment: model.is_forward_deployment(),
            constants_valid: c.valid,
            eps_l2_max: c.eps_l2_max,
            eps_inf_max: c.eps_inf_max,
            eps_internal_max: c.eps_internal_max,
        }
    }

    /// `64 → 32 → 10`.
    #[must_use]
    pub fn shape(&self) -> String {
        std::iter::once(self.input_dim)
            .chain(self.widths.iter().copied())
            .map(|w| w.to_string())
            .collect::<Vec<_>>()
            .join(" → ")
    }
}

/// Summary statistics of a distribution.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Quantiles {
    /// Mean.
    pub mean: f64,
    /// Minimum.
    pub min: f64,
    /// 10th percentile.
    pub p10: f64,
    /// 25th percentile.
    pub p25: f64,
    /// Median.
    pub median: f64,
    /// 75th percentile.
    pub p75: f64,
    /// 90th percentile.
    pub p90: f64,
    /// Maximum.
    pub max: f64,
}

impl Quantiles {
    /// Quantiles by linear interpolation between order statistics (all 0 for no values).
    #[must_use]
    pub fn of(values: &[f32]) -> Self {
        let mut v: Vec<f64> = values.iter().map(|&x| f64::from(x)).collect();
        v.sort_by(f64::total_cmp);
        let q = |p: f64| -> f64 {
            if v.is_empty() {
                return 0.0;
            }
            let pos = p * (v.len() - 1) as f64;
            let (lo, hi) = (pos.floor() as usize, pos.ceil() as usize);
            let (a, b) = (v[lo.min(v.len() - 1)], v[hi.min(v.len() - 1)]);
            a + (b - a) * (pos - lo as f64)
        };
        let mean = if v.is_empty() {
            0.0
        } else {
            v.iter().sum::<f64>() / v.len() as f64
        };
        Quantiles {
            mean,
            min: q(0.0),
            p10: q(0.1),
            p25: q(0.25),
            median: q(0.5),
            p75: q(0.75),
            p90: q(0.9),
            max: q(1.0),
        }
    }
}

/// Why certificates were refused, over the samples whose inference succeeded.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Refusals {
    /// Certificates issued (any predicted class).
    pub certified: usize,
    /// Issued, but the prediction is wrong (not counted as certified accuracy).
    pub certified_misclassified: usize,
    /// The model's constants are marked invalid.
    pub constants_invalid: usize,
    /// A logit is NaN or infinite.
    pub non_finite: usize,
    /// The top two logits are equal.
    pub tie: usize,
    /// The margin does not exceed the float error bound.
    pub margin: usize,
    /// Any other reason.
    pub other: usize,
    /// Samples whose inference failed (no certificate at all).
    pub inference_errors: usize,
}

/// Certified accuracy at one radius.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct AccuracyAt {
    /// Radius.
    pub eps: f32,
    /// Samples correctly classified and certified at `eps`.
    pub certified: usize,
    /// `certified / samples`.
    pub certified_accuracy: f64,
    /// `eps` exceeds the model's radius limit, so nothing can be certified there.
    pub above_limit: bool,
}

/// Input-certificate results in one norm.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct NormReport {
    /// `l2` or `linf`.
    pub norm: &'static str,
    /// The model's radius limit in this norm.
    pub eps_max: f32,
    /// Certified accuracy per requested radius.
    pub certified_accuracy: Vec<AccuracyAt>,
    /// Distribution of the per-sample certified radius (0 if misclassified or refused).
    pub radius: Quantiles,
    /// Refusal counts.
    pub refusals: Refusals,
    /// The per-sample certified radii (0 if misclassified or refused), in sample order.
    pub radii: Vec<f32>,
}

/// Radii of hidden-activity perturbations of one layer (docs/method.md §8.3).
///
/// An absolute radius is not a property of the classifier: scaling a ReLU layer's weights and
/// bias by c > 0 and the next layer's weights by 1/c leaves the function unchanged and scales the
/// radius by c. `relative` divides each radius by the sample's own ‖z_k‖₂, which that rescaling
/// leaves unchanged, so it is the number to compare between models.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct InternalReport {
    /// Hidden block k.
    pub layer: usize,
    /// Distribution of the per-sample radius (0 if misclassified or refused).
    pub radius: Quantiles,
    /// Distribution of radius / ‖z_k(x)‖₂ per sample (0 if misclassified, refused or z_k = 0).
    pub relative: Quantiles,
    /// Distribution of ‖z_k(x)‖₂ over the correctly classified samples.
    pub activity_l2: Quantiles,
    /// Correctly classified samples with a positive radius.
    pub certified: usize,
}

/// One certificate the self-check broke (a bug, never a statistic).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Broken {
    /// Sample index.
    pub sample: usize,
    /// What was perturbed.
    pub target: Target,
    /// Radius attacked (the certified radius times the scale).
    pub radius: f64,
    /// The certified class.
    pub class: usize,
    /// Class `lifted_core` gave the adversarial point (`None`: inference failed).
    pub adversarial_class: Option<usize>,
    /// The adversarial point (input or hidden block).
    pub point: Vec<f32>,
}

/// Result of attacking every certificate at its own radius.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SelfCheck {
    /// Attack settings.
    pub pgd: PgdConfig,
    /// Multiple of the certified radius attacked (1 = the certified radius).
    pub radius_scale: f64,
    /// Certificates attacked per target (`l2`, `linf`, `z1`, …).
    pub attacked: Vec<(String, usize)>,
    /// Certificates broken per target.
    pub broken_by_target: Vec<(String, usize)>,
    /// Certificates broken in total; must be 0.
    pub broken: usize,
    /// The first broken certificates (at most 10).
    pub examples: Vec<Broken>,
}

/// The report of `lifted certify`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CertifyReport {
    /// The tool that made the report (`lifted <version>`).
    pub generated_by: String,
    /// Model file.
    pub model_path: String,
    /// Model facts.
    pub model: ModelBrief,
    /// Data set and split, e.g. `digits:test`.
    pub dataset: String,
    /// Samples evaluated.
    pub samples: usize,
    /// Correctly classified samples.
    pub correct: usize,
    /// `correct / samples`.
    pub clean_accuracy: f64,
    /// ℓ2 input certificates.
    pub l2: NormReport,
    /// ℓ∞ input certificates.
    pub linf: NormReport,
    /// Hidden-activity radii per hidden layer (forward-pass deployment only).
    pub internal: Vec<InternalReport>,
    /// An iterative deployment's distance from the forward pass of its own weights (`None` for
    /// a forward deployment).
    pub forward_gap: Option<ForwardGap>,
    /// The attack self-check, if run.
    pub self_check: Option<SelfCheck>,
}

fn norm_report(preds: &[Prediction], norm: Norm, eps_max: f32, radii_asked: &[f32]) -> NormReport {
    let mut refusals = Refusals::default();
    for p in preds {
        match p.certificate(norm) {
            None => refusals.inference_errors += 1,
            Some(c) => match c.rejection {
                None => {
                    refusals.certified += 1;
                    if !p.correct() {
                        refusals.certified_misclassified += 1;
                    }
                }
                Some(Rejection::ConstantsInvalid) => refusals.constants_invalid += 1,
                Some(Rejection::NonFinite) => refusals.non_finite += 1,
                Some(Rejection::Tie) => refusals.tie += 1,
                Some(Rejection::Margin { .. }) => refusals.margin += 1,
                Some(_) => refusals.other += 1,
            },
        }
    }
    let radii: Vec<f32> = preds.iter().map(|p| p.robust_radius(norm)).collect();
    let certified_accuracy = radii_asked
        .iter()
        .map(|&eps| {
            let certified = preds.iter().filter(|p| p.certified_at(norm, eps)).count();
            AccuracyAt {
                eps,
                certified,
                certified_accuracy: fraction(certified, preds.len()),
                above_limit: eps > eps_max,
            }
        })
        .collect();
    NormReport {
        norm: match norm {
            Norm::L2 => "l2",
            Norm::Linf => "linf",
        },
        eps_max,
        certified_accuracy,
        radius: Quantiles::of(&radii),
        refusals,
        radii,
    }
}

/// Builds the report from predictions made with certificates (see [`crate::eval::predict()`]).
#[must_use]
pub fn build(
    model_path: &str,
    model: &ModelView<'_>,
    dataset: &str,
    preds: &[Prediction],
    l2: &[f32],
    linf: &[f32],
) -> CertifyReport {
    let brief = ModelBrief::of(model);
    let internal = if model.is_forward_deployment() {
        (1..model.layers())
            .map(|k| {
                let radii: Vec<f32> = preds
                    .iter()
                    .map(|p| match &p.l2 {
                        Some(c) if p.correct() => c.internal.get(k - 1).copied().unwrap_or(0.0),
                        _ => 0.0,
                    })
                    .collect();
                let norms: Vec<f32> = preds
                    .iter()
                    .map(|p| p.hidden_l2.get(k - 1).copied().unwrap_or(0.0))
                    .collect();
                let relative: Vec<f32> = radii
                    .iter()
                    .zip(&norms)
                    .map(|(&r, &n)| if r > 0.0 && n > 0.0 { r / n } else { 0.0 })
                    .collect();
                let activity: Vec<f32> = preds
                    .iter()
                    .zip(&norms)
                    .filter(|(p, _)| p.correct())
                    .map(|(_, &n)| n)
                    .collect();
                InternalReport {
                    layer: k,
                    relative: Quantiles::of(&relative),
                    activity_l2: Quantiles::of(&activity),
                    radius: Quantiles::of(&radii),
                    certified: radii.iter().filter(|&&r| r > 0.0).count(),
                }
            })
            .collect()
    } else {
        Vec::new()
    };
    CertifyReport {
        generated_by: format!("lifted {}", env!("CARGO_PKG_VERSION")),
        model_path: model_path.to_owned(),
        dataset: dataset.to_owned(),
        samples: preds.len(),
        correct: preds.iter().filter(|p| p.correct()).count(),
        clean_accuracy: accuracy(preds),
        l2: norm_report(preds, Norm::L2, brief.eps_l2_max, l2),
        linf: norm_report(preds, Norm::Linf, brief.eps_inf_max, linf),
        internal,
        model: brief,
        forward_gap: None,
        self_check: None,
    }
}

#[cfg(test)]
mod tests;
