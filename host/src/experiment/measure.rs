//! Robustness measurements of a parameter set (docs/method.md §7.5–§7.6): the model is exported with its
//! sound certificate constants and every number comes from `lifted_core` (`infer`, `certify`) —
//! PGD accuracy through the deployed inference, certified accuracy through the stored
//! certificate, exactly what a device would report.

use std::collections::BTreeMap;

use anyhow::Result;
use indicatif::ProgressBar;
use lifted_core::write::ModelParams;
use lifted_core::Norm;

use super::spec::{column, ExportSpec, MeasureSpec};
use crate::data::Dataset;
use crate::eval::attack::PgdConfig;
use crate::eval::{self, Prediction, Target};
use crate::model::file::open;

/// The outcome of one measurement.
#[derive(Debug, Clone, PartialEq)]
pub struct Measured {
    /// Column → fraction of the measured samples: `clean` (accuracy of the exported model through
    /// `lifted_core::infer`), `pgd_linf_0.1`, `cert_l2_0.3`, ….
    pub values: BTreeMap<String, f64>,
    /// Samples measured.
    pub samples: usize,
    /// Samples certified at a PGD radius (same norm) and broken there by PGD: a soundness bug.
    pub violations: usize,
    /// Certified radii per sample (ℓ2, ℓ∞; 0 when refused or misclassified).
    pub radii: (Vec<f32>, Vec<f32>),
    /// The largest ℓ2 pair constant of the exported model.
    pub pair_l2_max: f64,
}

/// The smallest f32 ≥ `eps`: a sample counts as certified at ε only if its certificate covers a
/// radius of at least ε (f32(0.01) < 0.01, for instance).
#[must_use]
pub fn eps_up(eps: f64) -> f32 {
    let f = eps as f32;
    if f64::from(f) < eps {
        f.next_up()
    } else {
        f
    }
}

/// The first `spec.subset` samples of `data` (all of them for 0).
#[must_use]
pub fn subset(data: &Dataset, n: usize) -> Dataset {
    if n == 0 || n >= data.len() {
        data.clone()
    } else {
        data.slice(0..n, &format!("{}[..{n}]", data.name))
    }
}

/// Exports `params` with `export` limits and measures `spec` on `data` (already cut to the
/// subset), for data set `dataset` (which picks the ℓ∞ PGD radii). `seed` seeds the PGD starts.
///
/// # Errors
/// Parameters that cannot be exported.
pub fn measure(
    params: &ModelParams,
    export: &ExportSpec,
    spec: &MeasureSpec,
    dataset: &str,
    data: &Dataset,
    seed: u64,
) -> Result<Measured> {
    let blob = crate::model::export::build_blob(params, &export.limits())?;
    let model = open(&blob)?;
    let hidden = ProgressBar::hidden();
    let preds = eval::predict(&model, data, true, &hidden);
    let pgd = PgdConfig {
        steps: spec.pgd_steps,
        restarts: spec.pgd_restarts,
        seed,
        ..PgdConfig::default()
    };
    let mut values = BTreeMap::from([("clean".to_owned(), eval::accuracy(&preds))]);
    let mut violations = 0;
    let mut attack = |target: Target, norm: Norm, eps: f64, name: &str| {
        let r = eval::robust_accuracy(&model, data, &preds, target, eps, &pgd, &hidden);
        violations += preds
            .iter()
            .zip(&r.survived)
            .filter(|(p, &s)| !s && p.certified_at(norm, eps_up(eps)))
            .count();
        values.insert(column(name, eps), r.robust_accuracy);
    };
    for &e in spec.linf_radii(dataset) {
        attack(Target::InputLinf, Norm::Linf, e, "pgd_linf");
    }
    for &e in &spec.pgd_l2 {
        attack(Target::InputL2, Norm::L2, e, "pgd_l2");
    }
    let cert = |p: &[Prediction], norm: Norm, eps: f64| {
        eval::fraction(
            p.iter()
                .filter(|p| p.certified_at(norm, eps_up(eps)))
                .count(),
            p.len(),
        )
    };
    for &e in &spec.cert_l2 {
        values.insert(column("cert_l2", e), cert(&preds, Norm::L2, e));
    }
    for &e in &spec.cert_linf {
        values.insert(column("cert_linf", e), cert(&preds, Norm::Linf, e));
    }
    let radii = |norm: Norm| -> Vec<f32> {
        preds
            .iter()
            .map(|p| {
                if p.correct() {
                    p.robust_radius(norm)
                } else {
                    0.0
                }
            })
            .collect()
    };
    Ok(Measured {
        values,
        samples: data.len(),
        violations,
        radii: (radii(Norm::L2), radii(Norm::Linf)),
        pair_l2_max: model
            .pairs_l2()
            .iter()
            .fold(0.0f64, |m, &v| m.max(f64::from(v))),
    })
}
