//! The Figure-1-style training curves of `lifted plot`: the Lipschitz panel (estimate and bound
//! on a log scale) and the accuracy panel with the validation-selected epoch, one legend below.

use std::path::Path;

use anyhow::{ensure, Result};

use super::axes::{diverged, DIVERGED_FACTOR};
use super::panel::{Figure, Fit, LegendEntry, Line, Panel, Row, Scale};
use super::{render, selected_row, RunLog};

/// A single run's curve (no spread).
fn line(x: &[f64], y: &[f64], dashed: bool) -> Line {
    Line {
        x: x.to_vec(),
        mean: y.to_vec(),
        std: vec![f64::NAN; y.len()],
        dashed,
    }
}

/// The Lipschitz and accuracy panels of `runs`.
fn panels(runs: &[RunLog]) -> Vec<Panel> {
    let finals: Vec<f64> = runs
        .iter()
        .map(|r| r.lip_estimate.last().copied().unwrap_or(f64::NAN))
        .collect();
    let div = diverged(&finals);
    let rows = |acc: bool| -> Vec<Row> {
        runs.iter()
            .enumerate()
            .map(|(i, r)| Row {
                label: r.name.clone(),
                style: i,
                lines: if acc {
                    vec![line(&r.epoch, &r.test_acc, false)]
                } else {
                    vec![
                        line(&r.epoch, &r.lip_estimate, false),
                        line(&r.epoch, &r.lip_bound, true),
                    ]
                },
                selected: acc
                    .then(|| selected_row(r))
                    .flatten()
                    .and_then(|s| Some((*r.epoch.get(s)?, *r.test_acc.get(s)?))),
                diverged: div[i],
            })
            .collect()
    };
    vec![
        Panel {
            caption: "Lipschitz estimate (solid) and bound (dashed)".to_owned(),
            x_axis: crate::plot::panel::XAxis::Epoch,
            reference: None,
            y_desc: "Lipschitz constant (log scale)".to_owned(),
            scale: Scale::Log,
            fit: Fit::All,
            fit_diverged: false,
            rows: rows(false),
        },
        Panel {
            caption: "test accuracy (● validation-selected epoch)".to_owned(),
            x_axis: crate::plot::panel::XAxis::Epoch,
            reference: None,
            y_desc: "test accuracy".to_owned(),
            scale: Scale::Accuracy,
            fit: Fit::SecondHalf,
            fit_diverged: false,
            rows: rows(true),
        },
    ]
}

/// Draws the Figure-1-style panels of `runs` into `path` (.png or .svg): left, the Lipschitz
/// estimate (solid) and bound (dashed) against the epoch on a log scale; right, test accuracy
/// with ● at the validation-selected epoch. Runs differ in colour and marker and share one legend
/// below the panels; the axes are fitted to the runs that did not diverge (last Lipschitz estimate
/// within 100× the median of the runs, [`super::axes::diverged`]), the others are cut off at the
/// edge and marked; the accuracy axis is fitted to the second half of the epochs.
///
/// # Errors
/// No runs, unknown extension, or the file cannot be written.
pub fn training_curves(path: &Path, runs: &[RunLog]) -> Result<()> {
    ensure!(
        !runs.is_empty(),
        "no training logs given — pass --log run/log.csv"
    );
    let panels = vec![panels(runs)];
    let legend: Vec<LegendEntry> = runs
        .iter()
        .enumerate()
        .map(|(i, r)| LegendEntry {
            label: r.name.clone(),
            style: i,
        })
        .collect();
    let notes = [
        format!(
            "Axes fitted to the runs that did not diverge (last Lipschitz estimate at most \
             {DIVERGED_FACTOR}× the (lower) median of the runs); diverged runs are cut off at the edge."
        ),
        "The accuracy axis is fitted to the second half of each run's epochs (where validation \
         selects) and its selected epoch, not to 0–100 %; earlier epochs may be cut off below."
            .to_owned(),
    ];
    let fig = Figure {
        title: "Training curves",
        panels: &panels,
        legend: &legend,
        notes: &notes,
    };
    render(
        path,
        fig.size(),
        |root| fig.draw(root),
        |root| fig.draw(root),
    )
}
