//! The per-epoch logs `lifted plot` draws: [`RunLog`], read from CSV or JSON lines with every
//! plotted cell checked, and the validation-selected epoch.

use std::collections::BTreeMap;
use std::fs;
use std::path::Path;

use anyhow::{bail, ensure, Context, Result};
use serde::Serialize;

/// One training run's per-epoch log (docs/method.md §7.5 columns).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RunLog {
    /// Run name (the folder of `log.csv`, else the file stem).
    pub name: String,
    /// Epochs.
    pub epoch: Vec<f64>,
    /// ‖W_{L−1}⋯W_0‖₂ per epoch.
    pub lip_estimate: Vec<f64>,
    /// Π_k σ̄_k per epoch.
    pub lip_bound: Vec<f64>,
    /// Validation accuracy per epoch.
    pub val_acc: Vec<f64>,
    /// Test accuracy per epoch.
    pub test_acc: Vec<f64>,
}

/// The columns `lifted plot` needs.
pub const LOG_COLUMNS: [&str; 5] = ["epoch", "lip_estimate", "lip_bound", "val_acc", "test_acc"];

fn run_name(path: &Path) -> String {
    let stem = path
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default();
    if stem == "log" {
        if let Some(dir) = path.parent().and_then(Path::file_name) {
            return dir.to_string_lossy().into_owned();
        }
    }
    stem
}

/// The columns `lifted plot` draws on a logarithmic axis: their values must be > 0.
pub const LOG_AXIS_COLUMNS: [&str; 2] = ["lip_estimate", "lip_bound"];

/// Checks one cell of a plotted column: a finite number, > 0 on a log axis, within [0, 1] for an
/// accuracy and ≥ 0 for the epoch. `raw` is the cell as written, for the message.
fn check_cell(
    path: &Path,
    line: usize,
    column: &str,
    raw: &str,
    value: Option<f64>,
) -> Result<f64> {
    let at = || format!("{}, line {line}, column `{column}`", path.display());
    let fix = "— plot the log.csv or log.jsonl a training run wrote, or correct the value";
    let Some(v) = value else {
        bail!("{}: `{raw}` is not a number {fix}", at());
    };
    ensure!(
        v.is_finite(),
        "{}: `{raw}` is not a finite number {fix}",
        at()
    );
    if LOG_AXIS_COLUMNS.contains(&column) {
        ensure!(
            v > 0.0,
            "{}: {v} is not positive, but the column is drawn on a log scale {fix}",
            at()
        );
    } else if column.ends_with("_acc") {
        ensure!(
            (0.0..=1.0).contains(&v),
            "{}: accuracy {v} is outside [0, 1] {fix}",
            at()
        );
    } else {
        ensure!(v >= 0.0, "{}: {v} is negative {fix}", at());
    }
    Ok(v)
}

/// Reads a per-epoch log: CSV with a header row, or JSON lines (`.jsonl`), with at least the
/// columns [`LOG_COLUMNS`]; other columns are ignored.
///
/// Every cell of these columns must be a finite number; `lip_estimate` and `lip_bound` (drawn on
/// a log scale) must be > 0, the accuracies within [0, 1] and the epoch ≥ 0.
///
/// # Errors
/// Missing file, missing column, a row that does not parse, or a cell that is not a valid value
/// of its column; the message names the file, the line and the column.
pub fn read_log(path: &Path) -> Result<RunLog> {
    let text = fs::read_to_string(path).with_context(|| {
        format!(
            "reading {} — pass the log.csv of a training run directory",
            path.display()
        )
    })?;
    let mut cols: BTreeMap<&str, Vec<f64>> = LOG_COLUMNS.iter().map(|&c| (c, Vec::new())).collect();
    let jsonl = path.extension().is_some_and(|e| e == "jsonl");
    if jsonl {
        for (n, line) in text
            .lines()
            .enumerate()
            .filter(|(_, l)| !l.trim().is_empty())
        {
            let v: serde_json::Value = serde_json::from_str(line)
                .with_context(|| format!("{} line {}: not JSON", path.display(), n + 1))?;
            for (name, col) in &mut cols {
                let x = v.get(*name).with_context(|| {
                    format!("{} line {}: no field `{name}`", path.display(), n + 1)
                })?;
                col.push(check_cell(path, n + 1, name, &x.to_string(), x.as_f64())?);
            }
        }
    } else {
        let mut lines = text
            .lines()
            .enumerate()
            .filter(|(_, l)| !l.trim().is_empty());
        let (_, header) = lines
            .next()
            .with_context(|| format!("{} is empty", path.display()))?;
        let names: Vec<&str> = header.split(',').map(str::trim).collect();
        let mut index = Vec::new();
        for c in LOG_COLUMNS {
            let i = names.iter().position(|&n| n == c).with_context(|| {
                format!(
                    "{}: no column `{c}` in the header (need {})",
                    path.display(),
                    LOG_COLUMNS.join(", ")
                )
            })?;
            index.push((c, i));
        }
        for (n, line) in lines {
            let fields: Vec<&str> = line.split(',').collect();
            ensure!(
                fields.len() == names.len(),
                "{} line {}: {} fields, the header has {}",
                path.display(),
                n + 1,
                fields.len(),
                names.len()
            );
            for &(c, i) in &index {
                if let Some(col) = cols.get_mut(c) {
                    let raw = fields[i].trim();
                    col.push(check_cell(path, n + 1, c, raw, raw.parse::<f64>().ok())?);
                }
            }
        }
    }
    let mut take = |c: &str| cols.remove(c).unwrap_or_default();
    let log = RunLog {
        name: run_name(path),
        epoch: take("epoch"),
        lip_estimate: take("lip_estimate"),
        lip_bound: take("lip_bound"),
        val_acc: take("val_acc"),
        test_acc: take("test_acc"),
    };
    ensure!(!log.epoch.is_empty(), "{} has no rows", path.display());
    Ok(log)
}

/// The validation-selected epoch (docs/method.md §7.5): the row with the best `val_acc`, ties to the earlier
/// epoch. Returns the row index.
#[must_use]
pub fn selected_row(log: &RunLog) -> Option<usize> {
    let mut best: Option<usize> = None;
    for (i, &v) in log.val_acc.iter().enumerate() {
        if v.is_finite() && best.is_none_or(|b| v > log.val_acc[b]) {
            best = Some(i);
        }
    }
    best
}
