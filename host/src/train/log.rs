//! The per-epoch log (docs/method.md §7.5, the columns this trainer measures): CSV and JSON lines.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::Path;

use anyhow::Result;
use serde::{Deserialize, Serialize};

use super::checkpoint::write_atomic;
use super::files::{LOG_CSV, LOG_JSONL};

/// One row of the log. Epoch 0 is the measurement pass before any update.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EpochRecord {
    /// Epoch number (0 = before training).
    pub epoch: usize,
    /// Mean objective value J over the epoch's minibatches (ℓ for `bp`; ℓ at the attacked inputs
    /// for `input-at`), each evaluated before that minibatch's update.
    pub train_loss: f64,
    /// Training accuracy of the free state (forward pass under family A) over the same minibatches.
    pub train_acc: f64,
    /// Validation accuracy at the end of the epoch.
    pub val_acc: f64,
    /// Test accuracy at the end of the epoch.
    pub test_acc: f64,
    /// ‖W_{L−1}⋯W_0‖₂ (f64, via the C × C Gram matrix).
    pub lip_estimate: f64,
    /// Π_k σ̄_k with sound upper bounds σ̄_k ≥ ‖W_k‖₂.
    pub lip_bound: f64,
    /// Wall-clock seconds of the epoch (training and evaluation).
    pub seconds: f64,
    /// Family B: λ_min(T), a lower bound of the strong-convexity modulus (docs/method.md §3.3).
    pub mu_lower: Option<f64>,
    /// γ_1 … γ_L at the end of the epoch.
    pub gamma: Vec<f64>,
    /// Extra per-epoch measurements (docs/method.md §7.5 `pgd_acc[norm, ε]`, `cert_acc[norm, ε]`), keyed
    /// by column name (e.g. `pgd_linf_0.1`, `cert_l2_0.3`); empty unless a measurement was
    /// attached (see [`super::train_in_dir_measured`]).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub robust: BTreeMap<String, f64>,
}

/// The CSV header line (without newline).
pub const CSV_HEADER: &str =
    "epoch,train_loss,train_acc,val_acc,test_acc,lip_estimate,lip_bound,seconds,mu_lower,gamma";

impl EpochRecord {
    /// The CSV line (without newline); γ values are joined with `;`; then one column per `extra`
    /// key of [`EpochRecord::robust`] (empty when missing).
    pub fn csv_line(&self, extra: &[String]) -> String {
        let mut s = String::new();
        let _ = write!(
            s,
            "{},{:.6},{:.6},{:.6},{:.6},{:.6},{:.6},{:.3},",
            self.epoch,
            self.train_loss,
            self.train_acc,
            self.val_acc,
            self.test_acc,
            self.lip_estimate,
            self.lip_bound,
            self.seconds
        );
        if let Some(m) = self.mu_lower {
            let _ = write!(s, "{m:.6}");
        }
        s.push(',');
        s.push_str(
            &self
                .gamma
                .iter()
                .map(|g| format!("{g}"))
                .collect::<Vec<_>>()
                .join(";"),
        );
        for k in extra {
            s.push(',');
            if let Some(v) = self.robust.get(k) {
                let _ = write!(s, "{v:.6}");
            }
        }
        s
    }
}

/// The text of `log.csv` for `history`: the header (with one column per `extra` key) and one line
/// per row.
pub fn csv_text(history: &[EpochRecord], extra: &[String]) -> String {
    let mut s = String::from(CSV_HEADER);
    for k in extra {
        s.push(',');
        s.push_str(k);
    }
    s.push('\n');
    for r in history {
        s.push_str(&r.csv_line(extra));
        s.push('\n');
    }
    s
}

/// The text of `log.jsonl` for `history`: one JSON object per row.
///
/// # Errors
/// A row that cannot be serialised.
pub fn jsonl_text(history: &[EpochRecord]) -> Result<String> {
    let mut s = String::new();
    for r in history {
        s.push_str(&serde_json::to_string(r)?);
        s.push('\n');
    }
    Ok(s)
}

/// Rewrites `log.csv` and `log.jsonl` in `dir` with `history`, each atomically (temporary file +
/// rename): a kill never leaves a truncated or empty log. `extra` names the
/// [`EpochRecord::robust`] columns of the CSV, in order.
///
/// # Errors
/// I/O.
pub fn write_logs(dir: &Path, history: &[EpochRecord], extra: &[String]) -> Result<()> {
    write_atomic(&dir.join(LOG_CSV), csv_text(history, extra).as_bytes())?;
    write_atomic(&dir.join(LOG_JSONL), jsonl_text(history)?.as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_columns_match_the_header() {
        let r = EpochRecord {
            epoch: 3,
            train_loss: 0.25,
            train_acc: 0.9,
            val_acc: 0.8,
            test_acc: 0.85,
            lip_estimate: 2.0,
            lip_bound: 9.5,
            seconds: 1.25,
            mu_lower: None,
            gamma: vec![1.0, 0.5],
            robust: BTreeMap::from([("cert_l2_0.3".to_owned(), 0.5)]),
        };
        let extra = ["cert_l2_0.3".to_owned(), "pgd_l2_1".to_owned()];
        let line = r.csv_line(&extra);
        assert!(line.ends_with(",0.500000,"), "{line}");
        let line = r.csv_line(&[]);
        assert_eq!(line.split(',').count(), CSV_HEADER.split(',').count());
        assert!(
            line.starts_with(
                "3,0.250000,0.900000,0.800000,0.850000,2.000000,9.500000,1.250,,1;0.5"
            ),
            "{line}"
        );
        let back: EpochRecord = serde_json::from_str(&serde_json::to_string(&r).unwrap()).unwrap();
        assert_eq!(back, r);
    }
}
