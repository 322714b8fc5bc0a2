//! The Figure-1-style training curves of `lifted plot`: the Lipschitz panel (estimate and bound
//! on a log scale) and the accuracy panel with the validation-selected epoch.

use std::path::Path;

use anyhow::{ensure, Result};
use plotters::coord::Shift;
use plotters::prelude::*;

use super::{pe, render, selected_row, RunLog};

fn series(x: &[f64], y: &[f64], positive: bool) -> Vec<(f64, f64)> {
    x.iter()
        .zip(y)
        .filter(|(a, b)| a.is_finite() && b.is_finite() && (!positive || **b > 0.0))
        .map(|(&a, &b)| (a, b))
        .collect()
}

/// The epoch range shared by the panels of `runs` (at least 0 … 1).
pub(crate) fn epoch_range(runs: &[RunLog]) -> (f64, f64) {
    let x_max = runs
        .iter()
        .flat_map(|r| r.epoch.iter().copied())
        .fold(1.0f64, f64::max);
    let x_min = runs
        .iter()
        .flat_map(|r| r.epoch.iter().copied())
        .fold(0.0f64, f64::min);
    (x_min, x_max)
}

/// The line style of curve `i`: colour `colours[i]` of the plotters palette (`i` if not given).
fn curve_style(colours: &[usize], i: usize) -> ShapeStyle {
    ShapeStyle {
        color: Palette99::pick(colours.get(i).copied().unwrap_or(i)).to_rgba(),
        filled: false,
        stroke_width: 2,
    }
}

/// The left Figure-1 panel: `lip_estimate` (solid) and `lip_bound` (dashed) of every run against
/// the epoch on a log scale, over the epochs `x`; run `i` is drawn in palette colour
/// `colours[i]` (`i` if `colours` is shorter) and labelled with its name.
pub(crate) fn lipschitz_panel<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    caption: &str,
    runs: &[RunLog],
    colours: &[usize],
    (x_min, x_max): (f64, f64),
) -> Result<()> {
    let lips: Vec<f64> = runs
        .iter()
        .flat_map(|r| r.lip_estimate.iter().chain(&r.lip_bound).copied())
        .filter(|v| v.is_finite() && *v > 0.0)
        .collect();
    let (lo, hi) = (
        lips.iter().copied().fold(f64::INFINITY, f64::min),
        lips.iter().copied().fold(0.0f64, f64::max),
    );
    let (lo, hi) = if lips.is_empty() {
        (0.1, 10.0)
    } else {
        (lo / 1.5, hi * 1.5)
    };
    let mut chart = pe(ChartBuilder::on(area)
        .caption(caption, ("sans-serif", 20))
        .margin(12)
        .x_label_area_size(40)
        .y_label_area_size(60)
        .build_cartesian_2d(x_min..x_max, (lo..hi).log_scale()))?;
    pe(chart
        .configure_mesh()
        .x_desc("epoch")
        .y_desc("Lipschitz (log scale)")
        .label_style(("sans-serif", 14))
        .draw())?;
    for (i, r) in runs.iter().enumerate() {
        let style = curve_style(colours, i);
        pe(chart.draw_series(LineSeries::new(
            series(&r.epoch, &r.lip_estimate, true),
            style,
        )))?
        .label(r.name.clone())
        .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], style));
        pe(chart.draw_series(DashedLineSeries::new(
            series(&r.epoch, &r.lip_bound, true),
            8,
            5,
            style,
        )))?;
    }
    pe(chart
        .configure_series_labels()
        .background_style(WHITE.mix(0.8))
        .border_style(BLACK)
        .label_font(("sans-serif", 14))
        .position(SeriesLabelPosition::UpperLeft)
        .draw())?;
    Ok(())
}

/// The right Figure-1 panel: `test_acc` of every run against the epoch, with a marker at the
/// validation-selected epoch ([`selected_row`] of `val_acc`); colours as in [`lipschitz_panel`].
pub(crate) fn accuracy_panel<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    caption: &str,
    y_desc: &str,
    runs: &[RunLog],
    colours: &[usize],
    (x_min, x_max): (f64, f64),
) -> Result<()> {
    let accs: Vec<f64> = runs
        .iter()
        .flat_map(|r| r.test_acc.iter().copied())
        .filter(|v| v.is_finite())
        .collect();
    let a_lo = accs.iter().copied().fold(1.0f64, f64::min);
    let a_hi = accs.iter().copied().fold(0.0f64, f64::max);
    let (a_lo, a_hi) = if accs.is_empty() {
        (0.0, 1.0)
    } else {
        (
            (a_lo - 0.02).max(0.0),
            (a_hi + 0.02).min(1.0).max(a_lo + 0.01),
        )
    };
    let mut chart = pe(ChartBuilder::on(area)
        .caption(caption, ("sans-serif", 20))
        .margin(12)
        .x_label_area_size(40)
        .y_label_area_size(60)
        .build_cartesian_2d(x_min..x_max, a_lo..a_hi))?;
    pe(chart
        .configure_mesh()
        .x_desc("epoch")
        .y_desc(y_desc)
        .label_style(("sans-serif", 14))
        .draw())?;
    for (i, r) in runs.iter().enumerate() {
        let style = curve_style(colours, i);
        let color = style.color;
        pe(chart.draw_series(LineSeries::new(series(&r.epoch, &r.test_acc, false), style)))?
            .label(r.name.clone())
            .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], style));
        if let Some(s) = selected_row(r) {
            if let (Some(&e), Some(&a)) = (r.epoch.get(s), r.test_acc.get(s)) {
                if a.is_finite() {
                    pe(chart.draw_series(std::iter::once(Circle::new((e, a), 6, color.filled()))))?;
                }
            }
        }
    }
    pe(chart
        .configure_series_labels()
        .background_style(WHITE.mix(0.8))
        .border_style(BLACK)
        .label_font(("sans-serif", 14))
        .position(SeriesLabelPosition::LowerRight)
        .draw())?;
    Ok(())
}

fn figure1<DB: DrawingBackend>(root: &DrawingArea<DB, Shift>, runs: &[RunLog]) -> Result<()> {
    let (left, right) = root.split_horizontally(root.dim_in_pixel().0 / 2);
    let x = epoch_range(runs);
    lipschitz_panel(
        &left,
        "Lipschitz estimate (solid) and bound (dashed)",
        runs,
        &[],
        x,
    )?;
    accuracy_panel(
        &right,
        "test accuracy (● validation-selected epoch)",
        "test accuracy",
        runs,
        &[],
        x,
    )
}

/// Draws the Figure-1-style panels of `runs` into `path` (.png or .svg): left, the Lipschitz
/// estimate (solid) and bound (dashed) against the epoch on a log scale, one colour per run;
/// right, test accuracy with a marker at the validation-selected epoch.
///
/// # Errors
/// No runs, unknown extension, or the file cannot be written.
pub fn training_curves(path: &Path, runs: &[RunLog]) -> Result<()> {
    ensure!(
        !runs.is_empty(),
        "no training logs given — pass --log run/log.csv"
    );
    render(
        path,
        (1400, 560),
        |root| figure1(root, runs),
        |root| figure1(root, runs),
    )
}
