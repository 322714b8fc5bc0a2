//! The figure grids: Figure 1 (Lipschitz estimate and bound, test accuracy per epoch) and the
//! per-epoch robustness curves, one row of panels per N_train, one legend below.
//!
//! Every curve is the mean over the seeds logged at that epoch, with a band of ± one sample
//! standard deviation over those seeds where there are two or more. Rows that diverged
//! ([`crate::plot::axes::diverged`]: last Lipschitz estimate above 100× the median of the rows of
//! the same data set and N_train, or not finite) get a Lipschitz panel of their own in Figure 1
//! (the main one leaves them out) and are left out of its test-accuracy axis range, cut off at
//! the edge with a marker; the robustness panels keep them in their range (their values are
//! accuracies in 0 … 1 and the diverged rows hold the only non-zero certified accuracies of the
//! paper's rows). Accuracy axes are fitted to the data, not 0 … 1: Figure 1's test accuracy to the
//! second half of each row's epochs (where validation selects) and its selected epoch, the
//! robustness curves to every trained epoch (≥ 1); what lies below is cut off at the edge and the
//! axis title gives the range.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use anyhow::{Context, Result};

use super::load::Loaded;
use super::Stat;
use crate::data::DatasetKind;
use crate::experiment::spec::column;
use crate::experiment::Experiment;
use crate::plot::axes::{diverged, DIVERGED_FACTOR};
use crate::plot::panel::{Figure, Fit, LegendEntry, Line, Panel, Row, Scale};
use crate::plot::render;
use crate::train::EpochRecord;

/// Mean and spread of `y` over `logs` at every epoch of `epochs` (`None` where no log has a
/// finite value).
pub(super) fn stats_by_epoch(
    epochs: &BTreeSet<usize>,
    logs: &[&[EpochRecord]],
    y: &dyn Fn(&EpochRecord) -> Option<f64>,
) -> Vec<Option<Stat>> {
    let mut by: BTreeMap<usize, Vec<f64>> = BTreeMap::new();
    for r in logs.iter().flat_map(|l| l.iter()) {
        if let Some(v) = y(r) {
            by.entry(r.epoch).or_default().push(v);
        }
    }
    epochs
        .iter()
        .map(|e| by.get(e).and_then(|v| Stat::of(v.iter().copied())))
        .collect()
}

/// The curve of `y` over `logs` (one per seed) at `epochs`: mean, and sample std where two or
/// more seeds have a value (NaN elsewhere).
pub(super) fn mean_line(
    epochs: &BTreeSet<usize>,
    logs: &[&[EpochRecord]],
    y: &dyn Fn(&EpochRecord) -> Option<f64>,
    dashed: bool,
) -> Line {
    let stats = stats_by_epoch(epochs, logs, y);
    Line {
        x: epochs.iter().map(|&e| e as f64).collect(),
        mean: stats
            .iter()
            .map(|s| s.map_or(f64::NAN, |s| s.mean))
            .collect(),
        std: stats
            .iter()
            .map(|s| s.and_then(|s| s.std).unwrap_or(f64::NAN))
            .collect(),
        dashed,
    }
}

/// The last finite value of a curve's mean (NaN if none).
fn last_mean(l: &Line) -> f64 {
    l.mean
        .iter()
        .rev()
        .copied()
        .find(|v| !v.is_nan())
        .unwrap_or(f64::NAN)
}

/// One experiment row with a log, on one data set and N_train.
pub(super) struct RowCurves<'a> {
    /// Index of the row in the experiment (its style).
    pub(super) index: usize,
    pub(super) id: String,
    pub(super) label: String,
    /// Seeds with a log.
    pub(super) seeds: usize,
    pub(super) logs: Vec<&'a [EpochRecord]>,
    pub(super) epochs: BTreeSet<usize>,
    pub(super) lip_estimate: Line,
    pub(super) lip_bound: Line,
    /// Mean validation accuracy per epoch.
    pub(super) val_acc: Vec<f64>,
    /// [`diverged`] among the rows of the group, or a run stopped as diverged.
    pub(super) diverged: bool,
}

impl RowCurves<'_> {
    /// (epoch, mean of `y`) at the epoch of the best mean validation accuracy (ties to the earlier).
    fn selected(&self, y: &Line) -> Option<(f64, f64)> {
        let mut best: Option<usize> = None;
        for (i, &v) in self.val_acc.iter().enumerate() {
            if v.is_finite() && best.is_none_or(|b| v > self.val_acc[b]) {
                best = Some(i);
            }
        }
        let i = best?;
        Some((*y.x.get(i)?, *y.mean.get(i)?)).filter(|(_, v)| v.is_finite())
    }
}

/// The rows of `exp` with a log on `ds` at `n`, in file order, with their Lipschitz curves and
/// which of them diverged.
pub(super) fn group_rows<'a>(
    exp: &Experiment,
    loaded: &'a [Loaded],
    ds: DatasetKind,
    n: usize,
) -> Vec<RowCurves<'a>> {
    let mut rows: Vec<RowCurves<'a>> = Vec::new();
    let mut stopped = Vec::new();
    for (index, row) in exp.rows.iter().enumerate() {
        let runs: Vec<&Loaded> = loaded
            .iter()
            .filter(|l| l.is(ds, n, &row.id) && !l.log.is_empty())
            .collect();
        if runs.is_empty() {
            continue;
        }
        let logs: Vec<&[EpochRecord]> = runs.iter().map(|l| l.log.as_slice()).collect();
        let epochs: BTreeSet<usize> = logs
            .iter()
            .flat_map(|l| l.iter().map(|r| r.epoch))
            .collect();
        let val = mean_line(&epochs, &logs, &|r| Some(r.val_acc), false);
        rows.push(RowCurves {
            index,
            id: row.id.clone(),
            label: row.label.clone(),
            seeds: logs.len(),
            lip_estimate: mean_line(&epochs, &logs, &|r| Some(r.lip_estimate), false),
            lip_bound: mean_line(&epochs, &logs, &|r| Some(r.lip_bound), true),
            val_acc: val.mean,
            logs,
            epochs,
            diverged: false,
        });
        stopped.push(
            runs.iter()
                .any(|l| l.summary.as_ref().is_some_and(|s| s.diverged.is_some())),
        );
    }
    let finals: Vec<f64> = rows.iter().map(|r| last_mean(&r.lip_estimate)).collect();
    for ((r, d), s) in rows.iter_mut().zip(diverged(&finals)).zip(stopped) {
        r.diverged = d || s;
    }
    rows
}

/// The ids of the rows that diverged on `ds` at `n` (for the tables).
pub(super) fn diverged_rows(
    exp: &Experiment,
    loaded: &[Loaded],
    ds: DatasetKind,
    n: usize,
) -> BTreeSet<String> {
    group_rows(exp, loaded, ds, n)
        .into_iter()
        .filter(|r| r.diverged)
        .map(|r| r.id)
        .collect()
}

/// The accuracy panel of `y` over `rows`; rows without a finite value are left out.
fn accuracy_panel(
    rows: &[RowCurves<'_>],
    caption: String,
    y_desc: &str,
    fit: Fit,
    fit_diverged: bool,
    y: &dyn Fn(&EpochRecord) -> Option<f64>,
) -> Panel {
    let rows = rows
        .iter()
        .filter_map(|r| {
            let line = mean_line(&r.epochs, &r.logs, y, false);
            line.mean.iter().any(|v| v.is_finite()).then(|| Row {
                label: r.label.clone(),
                style: r.index,
                selected: r.selected(&line),
                lines: vec![line],
                diverged: r.diverged,
            })
        })
        .collect();
    Panel {
        caption,
        x_axis: crate::plot::panel::XAxis::Epoch,
        reference: None,
        y_desc: y_desc.to_owned(),
        scale: Scale::Accuracy,
        fit,
        fit_diverged,
        rows,
    }
}

/// The Lipschitz panel of `rows` (estimate solid, bound dashed, log scale).
fn lipschitz_panel(rows: &[&RowCurves<'_>], caption: String, fit_diverged: bool) -> Panel {
    Panel {
        caption,
        x_axis: crate::plot::panel::XAxis::Epoch,
        reference: None,
        y_desc: "Lipschitz estimate and bound (log scale)".to_owned(),
        scale: Scale::Log,
        fit: Fit::All,
        fit_diverged,
        rows: rows
            .iter()
            .map(|r| Row {
                label: r.label.clone(),
                style: r.index,
                lines: vec![r.lip_estimate.clone(), r.lip_bound.clone()],
                selected: None,
                diverged: r.diverged,
            })
            .collect(),
    }
}

/// Figure 1's panels: per N_train, the Lipschitz panel of the rows that did not diverge, the
/// test-accuracy panel and, where some row diverged, the Lipschitz panel of the diverged rows on
/// an axis of their own.
pub(super) fn figure1_panels(
    exp: &Experiment,
    loaded: &[Loaded],
    ds: DatasetKind,
) -> Vec<Vec<Panel>> {
    exp.n_train
        .iter()
        .map(|&n| {
            let rows = group_rows(exp, loaded, ds, n);
            let (gone, kept): (Vec<&RowCurves<'_>>, Vec<&RowCurves<'_>>) =
                rows.iter().partition(|r| r.diverged);
            let lip = lipschitz_panel(
                &kept,
                format!("N_train = {n}: Lipschitz estimate (solid), bound (dashed)"),
                false,
            );
            let acc = accuracy_panel(
                &rows,
                format!("N_train = {n}: test accuracy (● selected epoch)"),
                "test accuracy",
                Fit::SecondHalf,
                false,
                &|r| Some(r.test_acc),
            );
            let mut panels = vec![lip, acc];
            if !gone.is_empty() {
                panels.push(lipschitz_panel(
                    &gone,
                    format!("N_train = {n}: diverged rows, Lipschitz estimate and bound"),
                    true,
                ));
            }
            panels
        })
        .collect()
}

/// How [`figure1_panels`] fit their accuracy axes.
pub(super) const FIGURE1_NOTE: &str = "Test-accuracy axes are fitted to the second half of each row's \
     epochs (where validation selects) and its selected epoch, rows that did not diverge only, not to \
     0–100 %; earlier epochs may be cut off below.";

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

/// The robustness panels: per N_train, one panel per [`robust_columns`] column.
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
            let rows = group_rows(exp, loaded, ds, n);
            cols.iter()
                .map(|c| {
                    let what = if c.starts_with("cert_") {
                        "certified"
                    } else {
                        "PGD"
                    };
                    let eps = c.rsplit('_').next().unwrap_or_default();
                    let norm = if c.contains("_linf_") {
                        "ℓ∞"
                    } else {
                        "ℓ2"
                    };
                    accuracy_panel(
                        &rows,
                        format!("N_train = {n}: {what} {norm} accuracy, ε = {eps}"),
                        &format!("{what} accuracy"),
                        Fit::From(1.0),
                        true,
                        &|r| r.robust.get(c).copied(),
                    )
                })
                .collect()
        })
        .collect();
    Some(panels)
}

/// How [`robust_panels`] fit their axes.
pub(super) const ROBUST_NOTE: &str = "Robustness axes are fitted to every trained epoch (≥ 1) of all \
     rows, diverged ones included, not to 0–100 %; epoch 0 (the initialisation) may be cut off below.";

/// The shared legend of `panels`: every row drawn in some panel, in file order, with its seed
/// count and where it diverged.
pub(super) fn legend(
    exp: &Experiment,
    loaded: &[Loaded],
    ds: DatasetKind,
) -> (Vec<LegendEntry>, Vec<String>) {
    let groups: Vec<(usize, Vec<RowCurves<'_>>)> = exp
        .n_train
        .iter()
        .map(|&n| (n, group_rows(exp, loaded, ds, n)))
        .collect();
    let mut entries = Vec::new();
    let mut diverged_labels = Vec::new();
    for (i, row) in exp.rows.iter().enumerate() {
        let present: Vec<(usize, &RowCurves<'_>)> = groups
            .iter()
            .filter_map(|(n, rows)| rows.iter().find(|r| r.index == i).map(|r| (*n, r)))
            .collect();
        if present.is_empty() {
            continue;
        }
        let lo = present.iter().map(|(_, r)| r.seeds).min().unwrap_or(0);
        let hi = present.iter().map(|(_, r)| r.seeds).max().unwrap_or(0);
        let mut label = row.label.clone();
        label += &match (lo, hi) {
            (1, 1) => " (1 seed)".to_owned(),
            (a, b) if a == b => format!(" (mean ± std, {a} seeds)"),
            (a, b) => format!(" (mean ± std, {a}–{b} seeds)"),
        };
        let div: Vec<usize> = present
            .iter()
            .filter(|(_, r)| r.diverged)
            .map(|(n, _)| *n)
            .collect();
        if !div.is_empty() {
            label += if div.len() == present.len() {
                " — diverged".to_owned()
            } else {
                format!(
                    " — diverged at N_train = {}",
                    div.iter()
                        .map(ToString::to_string)
                        .collect::<Vec<_>>()
                        .join(", ")
                )
            }
            .as_str();
            diverged_labels.push(row.label.clone());
        }
        entries.push(LegendEntry { label, style: i });
    }
    let mut notes = vec![
        "Lines: mean over the seeds logged at each epoch; shaded band: ± 1 sample standard deviation \
         over the seeds (rows with ≥ 2 seeds); ● epoch of the best mean validation accuracy."
            .to_owned(),
    ];
    if !diverged_labels.is_empty() {
        notes.push(format!(
            "Diverged = last Lipschitz estimate > {DIVERGED_FACTOR}× the (lower) median of the rows at the same \
             N_train (or not finite): {}.",
            diverged_labels.join("; ")
        ));
        notes.push(
            "Figure 1 draws the Lipschitz curves of the diverged rows in a panel of their own (right), \
             on their own axis; its test-accuracy axis is fitted to the other rows, diverged curves \
             are cut off at the edge, marked \"diverged\"."
                .to_owned(),
        );
    }
    (entries, notes)
}

/// Writes a grid of panels (one inner vector per row) under `title`, with the shared legend and
/// notes below.
pub(super) fn write_grid(
    path: &Path,
    title: &str,
    panels: &[Vec<Panel>],
    (legend, notes): (&[LegendEntry], &[String]),
) -> Result<()> {
    let fig = Figure {
        title,
        panels,
        legend,
        notes,
    };
    render(
        path,
        fig.size(),
        |root| fig.draw(root),
        |root| fig.draw(root),
    )
    .with_context(|| format!("drawing {}", path.display()))
}
