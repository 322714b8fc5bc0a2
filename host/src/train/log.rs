//! The per-epoch log (docs/method.md §7.5, the columns this trainer measures): CSV and JSON lines.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::Path;

use anyhow::{Context, Result};
use serde::{Deserialize, Serialize};

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

/// Writes `log.csv` and `log.jsonl` side by side, flushing after every row.
pub struct LogWriter {
    csv: BufWriter<File>,
    jsonl: BufWriter<File>,
    extra: Vec<String>,
}

impl LogWriter {
    /// Creates both files in `dir` (truncating) and writes `history` (e.g. restored from a
    /// checkpoint). `extra` names the [`EpochRecord::robust`] columns of the CSV, in order.
    ///
    /// # Errors
    /// I/O.
    pub fn create(dir: &Path, history: &[EpochRecord], extra: &[String]) -> Result<Self> {
        let open = |name: &str| -> Result<BufWriter<File>> {
            let p = dir.join(name);
            Ok(BufWriter::new(
                File::create(&p).with_context(|| format!("creating {}", p.display()))?,
            ))
        };
        let mut w = LogWriter {
            csv: open("log.csv")?,
            jsonl: open("log.jsonl")?,
            extra: extra.to_vec(),
        };
        write!(w.csv, "{CSV_HEADER}")?;
        for k in extra {
            write!(w.csv, ",{k}")?;
        }
        writeln!(w.csv)?;
        for r in history {
            w.append(r)?;
        }
        Ok(w)
    }

    /// Appends one row to both files.
    ///
    /// # Errors
    /// I/O.
    pub fn append(&mut self, r: &EpochRecord) -> Result<()> {
        writeln!(self.csv, "{}", r.csv_line(&self.extra))?;
        writeln!(self.jsonl, "{}", serde_json::to_string(r)?)?;
        self.csv.flush()?;
        self.jsonl.flush()?;
        Ok(())
    }
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
