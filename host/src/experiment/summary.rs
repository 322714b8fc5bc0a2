//! What a finished run leaves behind (`summary.json` in its folder) and the grid-wide summary
//! (`summary.json` and `summary.csv` in the results folder).

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::Path;

use anyhow::{Context, Result};
use serde::{Deserialize, Serialize};

use crate::train::TrainConfig;

/// Version of the run summary layout.
pub const SUMMARY_VERSION: u32 = 1;

/// The result of one finished run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunSummary {
    /// Layout version ([`SUMMARY_VERSION`]).
    pub version: u32,
    /// Job id (`mnist-5000/bp-s0`).
    pub id: String,
    /// Row id.
    pub row: String,
    /// Data set name.
    pub dataset: String,
    /// Training-set size.
    pub n_train: usize,
    /// Seed.
    pub seed: u64,
    /// The training configuration.
    pub config: TrainConfig,
    /// Validation-selected epoch (docs/method.md §7.5; ties go to the earlier epoch).
    pub best_epoch: usize,
    /// Validation accuracy at that epoch.
    pub val_acc: f64,
    /// Test accuracy at that epoch (the reported clean accuracy).
    pub test_acc: f64,
    /// ‖W_{L−1}⋯W_0‖₂ at that epoch.
    pub lip_estimate: f64,
    /// Π σ̄_k (sound) at that epoch.
    pub lip_bound: f64,
    /// Largest stored ℓ2 pair constant of the exported model (sound, float-aware).
    pub cert_pair_l2_max: f64,
    /// Mean wall-clock seconds of the training epochs 1 … E (excluding the extra measurements).
    pub seconds_per_epoch: f64,
    /// Epochs trained.
    pub epochs: usize,
    /// Set if training stopped on a NaN/Inf.
    pub diverged: Option<String>,
    /// Final measurement at the selected epoch: test samples used.
    pub final_samples: usize,
    /// PGD steps × restarts of the final measurement.
    pub final_pgd: (usize, usize),
    /// Final measurement: column → fraction (`pgd_linf_0.1`, `cert_l2_0.3`, …).
    pub final_: BTreeMap<String, f64>,
    /// Quantiles (10 %, 50 %, 90 %) of the certified ℓ2 and ℓ∞ radii over the final samples
    /// (0 for refused or misclassified samples).
    pub radius_quantiles: BTreeMap<String, [f64; 3]>,
    /// Samples certified at a PGD radius and broken by PGD there (must be 0: the soundness gate
    /// of docs/method.md §7.6).
    pub soundness_violations: usize,
    /// Fingerprint of the `[measure]`, `[final]` and `[export]` settings the run was measured
    /// with; when the experiment file's differ, `experiment run` re-measures the run from its
    /// saved parameters (absent in summaries written before it was recorded).
    #[serde(default)]
    pub settings: Option<String>,
}

impl RunSummary {
    /// Reads a run's `summary.json`.
    ///
    /// # Errors
    /// An unreadable or malformed file.
    pub fn load(path: &Path) -> Result<Self> {
        let text =
            std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
        serde_json::from_str(&text).with_context(|| format!("parsing {}", path.display()))
    }
}

/// The fixed columns of `summary.csv`; the measurement columns follow, sorted.
pub const CSV_FIXED: &str = "id,row,dataset,n_train,seed,objective,best_epoch,val_acc,test_acc,lip_estimate,lip_bound,cert_pair_l2_max,seconds_per_epoch,epochs,diverged,final_samples,soundness_violations";

/// The grid summary as CSV (one line per run).
#[must_use]
pub fn to_csv(runs: &[RunSummary]) -> String {
    let mut extra: Vec<&String> = runs.iter().flat_map(|r| r.final_.keys()).collect();
    extra.sort();
    extra.dedup();
    let mut s = String::from(CSV_FIXED);
    for k in &extra {
        let _ = write!(s, ",{k}");
    }
    s.push('\n');
    for r in runs {
        let _ = write!(
            s,
            "{},{},{},{},{},{},{},{:.6},{:.6},{:.6},{:.6},{:.6},{:.3},{},{},{},{}",
            r.id,
            r.row,
            r.dataset,
            r.n_train,
            r.seed,
            r.config.objective,
            r.best_epoch,
            r.val_acc,
            r.test_acc,
            r.lip_estimate,
            r.lip_bound,
            r.cert_pair_l2_max,
            r.seconds_per_epoch,
            r.epochs,
            r.diverged.is_some(),
            r.final_samples,
            r.soundness_violations
        );
        for k in &extra {
            s.push(',');
            if let Some(v) = r.final_.get(*k) {
                let _ = write!(s, "{v:.6}");
            }
        }
        s.push('\n');
    }
    s
}
