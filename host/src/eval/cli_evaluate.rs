//! `lifted evaluate`: clean accuracy and PGD robust accuracy (input ℓ∞, input ℓ2, hidden layers).

use std::fmt;
use std::path::PathBuf;

use anyhow::{bail, Result};
use clap::Args;
use lifted_core::Norm;
use serde::Serialize;

use crate::eval::args::{check_radii, show_progress, DataArgs, PgdArgs};
use crate::eval::attack::PgdConfig;
use crate::eval::report::ModelBrief;
use crate::eval::{
    accuracy, check_compatible, fraction, predict, progress_bar, robust_accuracy,
    robust_accuracy_relative, Prediction, RobustResult, Target,
};
use crate::model::file::{open, read_blob};

/// docs/method.md §7.6 ℓ∞ radii, used when no radius is given.
pub const DEFAULT_LINF: [f64; 3] = [0.05, 0.1, 0.2];
/// docs/method.md §7.6 ℓ2 radii, used when no radius is given.
pub const DEFAULT_L2: [f64; 3] = [0.5, 1.0, 1.5];

/// Arguments of `lifted evaluate`.
#[derive(Debug, Clone, Args)]
#[command(
    after_help = "PGD (docs/method.md §7.6) ascends the logit margin max_{j≠t} s_j − s_t, differentiating through the \
deployed K-sweep inference; every candidate is judged by lifted-core's infer. Without any --pgd-* flag the \
radii of docs/method.md §7.6 are used (ℓ∞ 0.05,0.1,0.2; ℓ2 0.5,1.0,1.5).\n\n\
Example: lifted evaluate --model model.lfm --dataset digits --pgd-linf 0.1 --pgd-l2 1.0 --restarts 10"
)]
pub struct EvaluateArgs {
    /// The exported model blob (.lfm).
    #[arg(long, value_name = "M.lfm")]
    pub model: PathBuf,
    #[command(flatten)]
    pub data: DataArgs,
    /// ℓ∞ PGD radii on the input.
    #[arg(
        long,
        value_delimiter = ',',
        action = clap::ArgAction::Set,
        value_name = "EPS,…"
    )]
    pub pgd_linf: Vec<f64>,
    /// ℓ2 PGD radii on the input.
    #[arg(
        long,
        value_delimiter = ',',
        action = clap::ArgAction::Set,
        value_name = "EPS,…"
    )]
    pub pgd_l2: Vec<f64>,
    /// ℓ2 PGD radii on every hidden block z_k (the later layers run forward).
    #[arg(
        long,
        value_delimiter = ',',
        action = clap::ArgAction::Set,
        value_name = "EPS,…"
    )]
    pub pgd_internal: Vec<f64>,
    /// ℓ2 PGD radii on every hidden block z_k as fractions of the sample's own ‖z_k(x)‖₂ (e.g.
    /// 0.05): unlike absolute radii these do not change when a ReLU layer is rescaled, so they
    /// compare models (docs/method.md §8.3).
    #[arg(
        long,
        value_delimiter = ',',
        action = clap::ArgAction::Set,
        value_name = "FRACTION,…"
    )]
    pub pgd_internal_rel: Vec<f64>,
    /// PGD restarts per sample and radius (1 to 1000).
    #[arg(long, default_value_t = 10)]
    pub restarts: usize,
    #[command(flatten)]
    pub pgd: PgdArgs,
    /// Print JSON instead of a table.
    #[arg(long)]
    pub json: bool,
}

/// One row of the report: PGD robust accuracy next to certified accuracy at the same radius.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Row {
    /// PGD result.
    #[serde(flatten)]
    pub pgd: RobustResult,
    /// Samples correctly classified and certified at the radius (a lower bound of robust
    /// accuracy; `None` where no certificate applies).
    pub certified: Option<usize>,
    /// `certified / samples`.
    pub certified_accuracy: Option<f64>,
    /// Samples certified at the radius that PGD nevertheless broke; must be 0.
    pub certified_broken: usize,
}

/// The report of `lifted evaluate`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct EvaluateReport {
    /// The tool that made the report (`lifted <version>`).
    pub generated_by: String,
    /// Model file.
    pub model_path: String,
    /// Model facts.
    pub model: ModelBrief,
    /// Data set and split.
    pub dataset: String,
    /// Samples.
    pub samples: usize,
    /// Correctly classified samples.
    pub correct: usize,
    /// Clean accuracy.
    pub clean_accuracy: f64,
    /// Attack settings.
    pub pgd: PgdConfig,
    /// One row per target and radius.
    pub rows: Vec<Row>,
}

/// Per sample: correctly classified and certified at `eps` for `target` (`None` where no
/// certificate applies: hidden layers of a model that does not deploy the forward pass).
fn certified_at(
    preds: &[Prediction],
    target: Target,
    eps: f64,
    relative: bool,
) -> Option<Vec<bool>> {
    let eps64 = eps;
    let eps = eps as f32;
    match target {
        Target::InputL2 => Some(
            preds
                .iter()
                .map(|p| p.certified_at(Norm::L2, eps))
                .collect(),
        ),
        Target::InputLinf => Some(
            preds
                .iter()
                .map(|p| p.certified_at(Norm::Linf, eps))
                .collect(),
        ),
        Target::Hidden(k) => {
            let radius =
                |p: &Prediction| p.l2.as_ref().and_then(|c| c.internal.get(k - 1).copied());
            if !preds.iter().any(|p| radius(p).is_some()) {
                return None;
            }
            Some(
                preds
                    .iter()
                    .map(|p| {
                        let covers = |r: f32| {
                            if relative {
                                // The attacked radius of this sample, as the attack computes it.
                                let n = p.hidden_l2.get(k - 1).copied().unwrap_or(0.0);
                                eps64 * f64::from(n) <= f64::from(r)
                            } else {
                                eps <= r
                            }
                        };
                        p.correct() && radius(p).is_some_and(|r| r > 0.0 && covers(r))
                    })
                    .collect(),
            )
        }
    }
}

/// Runs `lifted evaluate`; returns the report (already printed).
///
/// # Errors
/// Bad inputs, or a sample that is certified at a radius and broken by PGD there (a soundness bug).
pub fn run(args: &EvaluateArgs) -> Result<EvaluateReport> {
    let cfg = args.pgd.config(args.restarts)?;
    // (target, radius, relative to ‖z_k‖)
    let mut targets: Vec<(Target, f64, bool)> = Vec::new();
    let none = args.pgd_linf.is_empty()
        && args.pgd_l2.is_empty()
        && args.pgd_internal.is_empty()
        && args.pgd_internal_rel.is_empty();
    let (linf, l2) = if none {
        (DEFAULT_LINF.to_vec(), DEFAULT_L2.to_vec())
    } else {
        (args.pgd_linf.clone(), args.pgd_l2.clone())
    };
    for (flag, list) in [
        ("--pgd-linf", &linf),
        ("--pgd-l2", &l2),
        ("--pgd-internal", &args.pgd_internal),
        ("--pgd-internal-rel", &args.pgd_internal_rel),
    ] {
        check_radii(flag, &list.iter().map(|&v| v as f32).collect::<Vec<_>>())?;
    }
    targets.extend(linf.iter().map(|&e| (Target::InputLinf, e, false)));
    targets.extend(l2.iter().map(|&e| (Target::InputL2, e, false)));
    let blob = read_blob(&args.model)?;
    let model = open(&blob)?;
    let data = args.data.load()?;
    check_compatible(&model, &data)?;
    for k in 1..model.layers() {
        targets.extend(
            args.pgd_internal
                .iter()
                .map(|&e| (Target::Hidden(k), e, false)),
        );
        targets.extend(
            args.pgd_internal_rel
                .iter()
                .map(|&e| (Target::Hidden(k), e, true)),
        );
    }
    let show = show_progress() && !args.json;
    let (preds, rows) = args.data.run_in_pool(|| {
        let pb = progress_bar(data.len(), "clean", show);
        let preds = predict(&model, &data, true, &pb);
        pb.finish_and_clear();
        let mut rows = Vec::new();
        for &(target, eps, relative) in &targets {
            let pb = progress_bar(data.len(), &format!("pgd {} {eps}", target.label()), show);
            let pgd = match target {
                Target::Hidden(k) if relative => {
                    robust_accuracy_relative(&model, &data, &preds, k, eps, &cfg, &pb)
                }
                _ => robust_accuracy(&model, &data, &preds, target, eps, &cfg, &pb),
            };
            pb.finish_and_clear();
            let cert = certified_at(&preds, target, eps, relative);
            let certified = cert.as_ref().map(|c| c.iter().filter(|&&b| b).count());
            let certified_broken = cert.as_ref().map_or(0, |c| {
                c.iter()
                    .zip(&pgd.survived)
                    .filter(|&(&c, &s)| c && !s)
                    .count()
            });
            rows.push(Row {
                certified_accuracy: certified.map(|c| fraction(c, preds.len())),
                certified,
                certified_broken,
                pgd,
            });
        }
        Ok((preds, rows))
    })?;
    let report = EvaluateReport {
        generated_by: format!("lifted {}", env!("CARGO_PKG_VERSION")),
        model_path: args.model.display().to_string(),
        model: ModelBrief::of(&model),
        dataset: data.name.clone(),
        samples: preds.len(),
        correct: preds.iter().filter(|p| p.correct()).count(),
        clean_accuracy: accuracy(&preds),
        pgd: cfg,
        rows,
    };
    if args.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        print!("{report}");
    }
    // Soundness gate (docs/method.md §7.6): a point certified at ε and broken at ε is a bug, never a statistic.
    let broken: usize = report.rows.iter().map(|r| r.certified_broken).sum();
    if broken > 0 {
        bail!(
            "{broken} sample(s) certified at a radius were broken by PGD at that radius — a soundness bug in \
             the certificate; run `lifted certify --self-check` and report it with the model"
        );
    }
    Ok(report)
}

impl fmt::Display for EvaluateReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "model      {}: {}, {}, K = {}",
            self.model_path,
            self.model.shape(),
            self.model.family,
            self.model.sweeps
        )?;
        writeln!(f, "data       {}, {} samples", self.dataset, self.samples)?;
        writeln!(
            f,
            "clean      {:6.2} %  ({}/{})",
            100.0 * self.clean_accuracy,
            self.correct,
            self.samples
        )?;
        writeln!(
            f,
            "PGD        {} steps, {} restart(s), step {}·ε, {:?} schedule, seed {}",
            self.pgd.steps, self.pgd.restarts, self.pgd.rel_step, self.pgd.schedule, self.pgd.seed
        )?;
        writeln!(f)?;
        writeln!(
            f,
            "  {:<8} {:>8} {:>10} {:>12} {:>12}",
            "target", "ε", "robust", "PGD acc.", "certified"
        )?;
        for r in &self.rows {
            let cert = r
                .certified_accuracy
                .map_or_else(|| "—".to_owned(), |c| format!("{:.2} %", 100.0 * c));
            writeln!(
                f,
                "  {:<8} {:>8} {:>10} {:>10.2} % {:>12}",
                r.pgd.label(),
                r.pgd.eps,
                r.pgd.robust,
                100.0 * r.pgd.robust_accuracy,
                cert
            )?;
        }
        Ok(())
    }
}
