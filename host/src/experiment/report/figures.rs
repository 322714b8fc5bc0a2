//! The figure grids: Figure 1 (Lipschitz estimate and bound, test accuracy per epoch) and the
//! per-epoch robustness curves, one row of panels per N_train.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use anyhow::{Context, Result};
use plotters::coord::Shift;
use plotters::prelude::*;

use super::load::Loaded;
use crate::data::DatasetKind;
use crate::experiment::spec::column;
use crate::experiment::Experiment;
use crate::plot::{accuracy_panel, epoch_range, lipschitz_panel, pe, render, RunLog};
use crate::train::EpochRecord;

/// One panel of a figure grid.
pub(super) struct Panel {
    /// `None`: the Lipschitz panel; `Some(y label)`: an accuracy panel of `test_acc`.
    pub(super) accuracy: Option<String>,
    pub(super) caption: String,
    pub(super) runs: Vec<RunLog>,
    pub(super) colours: Vec<usize>,
}

/// The mean of `y` over `logs` at every epoch any of them has (NaN where none has a value).
pub(super) fn mean_by_epoch(
    epochs: &BTreeSet<usize>,
    logs: &[&[EpochRecord]],
    y: &dyn Fn(&EpochRecord) -> Option<f64>,
) -> Vec<f64> {
    let mut acc: BTreeMap<usize, (f64, usize)> = BTreeMap::new();
    for r in logs.iter().flat_map(|l| l.iter()) {
        if let Some(v) = y(r).filter(|v| v.is_finite()) {
            let e = acc.entry(r.epoch).or_insert((0.0, 0));
            e.0 += v;
            e.1 += 1;
        }
    }
    epochs
        .iter()
        .map(|e| acc.get(e).map_or(f64::NAN, |&(s, n)| s / n as f64))
        .collect()
}

/// The mean curve of `logs` (one per seed) as a [`RunLog`] named `label`, with `y` in `test_acc`.
pub(super) fn mean_curve(
    label: &str,
    logs: &[&[EpochRecord]],
    y: &dyn Fn(&EpochRecord) -> Option<f64>,
) -> RunLog {
    let epochs: BTreeSet<usize> = logs
        .iter()
        .flat_map(|l| l.iter().map(|r| r.epoch))
        .collect();
    RunLog {
        name: label.to_owned(),
        epoch: epochs.iter().map(|&e| e as f64).collect(),
        lip_estimate: mean_by_epoch(&epochs, logs, &|r| Some(r.lip_estimate)),
        lip_bound: mean_by_epoch(&epochs, logs, &|r| Some(r.lip_bound)),
        val_acc: mean_by_epoch(&epochs, logs, &|r| Some(r.val_acc)),
        test_acc: mean_by_epoch(&epochs, logs, y),
    }
}

/// The mean curves of every experiment row with a log, on `ds` at `n`, and their colours (the
/// row's index); rows without any finite `y` are left out.
pub(super) fn curves(
    exp: &Experiment,
    loaded: &[Loaded],
    ds: DatasetKind,
    n: usize,
    y: &dyn Fn(&EpochRecord) -> Option<f64>,
) -> (Vec<RunLog>, Vec<usize>) {
    let mut runs = Vec::new();
    let mut colours = Vec::new();
    for (i, row) in exp.rows.iter().enumerate() {
        let logs: Vec<&[EpochRecord]> = loaded
            .iter()
            .filter(|l| l.is(ds, n, &row.id) && !l.log.is_empty())
            .map(|l| l.log.as_slice())
            .collect();
        if logs.is_empty() {
            continue;
        }
        let c = mean_curve(&row.label, &logs, y);
        if c.test_acc.iter().any(|v| v.is_finite()) {
            runs.push(c);
            colours.push(i);
        }
    }
    (runs, colours)
}

pub(super) fn figure1_panels(
    exp: &Experiment,
    loaded: &[Loaded],
    ds: DatasetKind,
) -> Vec<Vec<Panel>> {
    exp.n_train
        .iter()
        .map(|&n| {
            let (runs, colours) = curves(exp, loaded, ds, n, &|r| Some(r.test_acc));
            vec![
                Panel {
                    accuracy: None,
                    caption: format!("N_train = {n}: Lipschitz estimate (solid), bound (dashed)"),
                    runs: runs.clone(),
                    colours: colours.clone(),
                },
                Panel {
                    accuracy: Some("test accuracy".to_owned()),
                    caption: format!("N_train = {n}: test accuracy (● selected epoch)"),
                    runs,
                    colours,
                },
            ]
        })
        .collect()
}

/// The per-epoch robustness columns to draw on `ds`: certified ℓ2 at 0.3 (else the first
/// `cert_l2_` column) and the first `pgd_linf_` column, among those some log of `ds` has.
pub(super) fn robust_columns(exp: &Experiment, loaded: &[Loaded], ds: DatasetKind) -> Vec<String> {
    let logged: BTreeSet<&String> = loaded
        .iter()
        .filter(|l| l.job.dataset == ds)
        .flat_map(|l| l.log.iter().flat_map(|r| r.robust.keys()))
        .collect();
    let mut candidates = vec![column("cert_l2", 0.3)];
    candidates.extend(exp.measure.columns(ds.name()));
    candidates.extend(logged.iter().map(|c| (*c).clone()));
    let pick = |prefix: &str| {
        candidates
            .iter()
            .find(|c| c.starts_with(prefix) && logged.contains(c))
            .cloned()
    };
    pick("cert_l2_")
        .into_iter()
        .chain(pick("pgd_linf_"))
        .collect()
}

pub(super) fn robust_panels(
    exp: &Experiment,
    loaded: &[Loaded],
    ds: DatasetKind,
) -> Option<Vec<Vec<Panel>>> {
    let cols = robust_columns(exp, loaded, ds);
    if cols.is_empty() {
        return None;
    }
    let panels = exp
        .n_train
        .iter()
        .map(|&n| {
            cols.iter()
                .map(|c| {
                    let (runs, colours) = curves(exp, loaded, ds, n, &|r| r.robust.get(c).copied());
                    let (what, y) = if c.starts_with("cert_") {
                        ("certified", "certified accuracy")
                    } else {
                        ("PGD", "PGD accuracy")
                    };
                    let eps = c.rsplit('_').next().unwrap_or_default();
                    let norm = if c.contains("_linf_") {
                        "ℓ∞"
                    } else {
                        "ℓ2"
                    };
                    Panel {
                        accuracy: Some(y.to_owned()),
                        caption: format!("N_train = {n}: {what} {norm} accuracy, ε = {eps}"),
                        runs,
                        colours,
                    }
                })
                .collect()
        })
        .collect();
    Some(panels)
}

/// Writes a grid of panels (one inner vector per row) under `title`.
pub(super) fn write_grid(path: &Path, title: &str, panels: &[Vec<Panel>]) -> Result<()> {
    let cols = panels.iter().map(Vec::len).max().unwrap_or(1).max(1);
    let rows = panels.len().max(1);
    let size = (700 * cols as u32, 50 + 500 * rows as u32);
    render(
        path,
        size,
        |root| draw_grid(root, title, panels, cols),
        |root| draw_grid(root, title, panels, cols),
    )
    .with_context(|| format!("drawing {}", path.display()))
}

pub(super) fn draw_grid<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    title: &str,
    panels: &[Vec<Panel>],
    cols: usize,
) -> Result<()> {
    let root = pe(root.titled(title, ("sans-serif", 22)))?;
    let areas = root.split_evenly((panels.len().max(1), cols));
    // One epoch axis for every panel, so that the rows line up.
    let (mut x_min, mut x_max) = (0.0f64, 1.0f64);
    for p in panels.iter().flatten() {
        let (a, b) = epoch_range(&p.runs);
        x_min = x_min.min(a);
        x_max = x_max.max(b);
    }
    for (i, row) in panels.iter().enumerate() {
        for (j, p) in row.iter().enumerate() {
            let Some(area) = areas.get(i * cols + j) else {
                continue;
            };
            match &p.accuracy {
                None => lipschitz_panel(area, &p.caption, &p.runs, &p.colours, (x_min, x_max))?,
                Some(y) => {
                    accuracy_panel(area, &p.caption, y, &p.runs, &p.colours, (x_min, x_max))?;
                }
            }
        }
    }
    Ok(())
}
