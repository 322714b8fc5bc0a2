//! Figures: the certified-radius histogram of `lifted certify --plot` and the Figure-1-style
//! training curves of `lifted plot` (docs/method.md §7.7).
//!
//! PNG and SVG are chosen by the file extension. Text is drawn with DejaVu Sans embedded in the
//! binary (the `dejavu` crate; Bitstream Vera / DejaVu licence), so PNGs render the same on
//! machines without system fonts.

use std::collections::BTreeMap;
use std::fs;
use std::path::Path;
use std::sync::Once;

use anyhow::{anyhow, bail, ensure, Context, Result};
use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::FontStyle;
use serde::Serialize;

/// Registers the embedded font for every family plotters asks for (once per process).
fn ensure_fonts() {
    static FONTS: Once = Once::new();
    FONTS.call_once(|| {
        for family in ["sans-serif", "serif", "monospace"] {
            // The bytes are a valid TrueType font; a failure would only lose the text.
            let _ =
                plotters::style::register_font(family, FontStyle::Normal, dejavu::sans::regular());
            let _ = plotters::style::register_font(family, FontStyle::Bold, dejavu::sans::bold());
        }
    });
}

/// The image format of an output path.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Format {
    Png,
    Svg,
}

fn format_of(path: &Path) -> Result<Format> {
    match path
        .extension()
        .and_then(|e| e.to_str())
        .map(str::to_ascii_lowercase)
        .as_deref()
    {
        Some("png") => Ok(Format::Png),
        Some("svg") => Ok(Format::Svg),
        _ => bail!(
            "cannot tell the image format of {} — name the file .png or .svg",
            path.display()
        ),
    }
}

/// Turns a plotters error into an `anyhow` error.
pub(crate) fn pe<T, E: std::fmt::Display>(r: Result<T, E>) -> Result<T> {
    r.map_err(|e| anyhow!("drawing failed: {e}"))
}

/// Renders `draw_png` or `draw_svg` into `path` (PNG or SVG by extension) at `size` pixels, on a
/// white background with the embedded font; creates the parent folder.
pub(crate) fn render(
    path: &Path,
    size: (u32, u32),
    draw_png: impl FnOnce(&DrawingArea<BitMapBackend<'_>, Shift>) -> Result<()>,
    draw_svg: impl FnOnce(&DrawingArea<SVGBackend<'_>, Shift>) -> Result<()>,
) -> Result<()> {
    ensure_fonts();
    let format = format_of(path)?;
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    }
    match format {
        Format::Png => {
            let root = BitMapBackend::new(path, size).into_drawing_area();
            pe(root.fill(&WHITE))?;
            draw_png(&root)?;
            pe(root.present()).with_context(|| format!("writing {}", path.display()))?;
        }
        Format::Svg => {
            let root = SVGBackend::new(path, size).into_drawing_area();
            pe(root.fill(&WHITE))?;
            draw_svg(&root)?;
            pe(root.present()).with_context(|| format!("writing {}", path.display()))?;
        }
    }
    ensure!(path.is_file(), "{} was not written", path.display());
    Ok(())
}

/// Counts of `values` in `bins` equal bins over [0, max]; returns (bin width, counts).
fn bin(values: &[f32], bins: usize) -> (f64, Vec<usize>) {
    let max = values.iter().copied().fold(0.0f32, f32::max);
    let width = if max > 0.0 {
        f64::from(max) / bins as f64
    } else {
        1.0
    };
    let mut counts = vec![0usize; bins];
    for &v in values {
        let i = ((f64::from(v) / width) as usize).min(bins - 1);
        counts[i] += 1;
    }
    (width, counts)
}

fn histogram_panel<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    title: &str,
    radii: &[f32],
    samples: usize,
) -> Result<()> {
    let certified: Vec<f32> = radii.iter().copied().filter(|&r| r > 0.0).collect();
    let bins = 30;
    let (width, counts) = bin(&certified, bins);
    let top = counts.iter().copied().max().unwrap_or(0).max(1);
    let caption = format!(
        "{title}: {} of {samples} samples certified",
        certified.len()
    );
    let mut chart = pe(ChartBuilder::on(area)
        .caption(caption, ("sans-serif", 20))
        .margin(12)
        .x_label_area_size(40)
        .y_label_area_size(50)
        .build_cartesian_2d(0.0..width * bins as f64, 0usize..top + top / 10 + 1))?;
    pe(chart
        .configure_mesh()
        .x_desc("certified radius (correct and certified samples)")
        .y_desc("samples")
        .label_style(("sans-serif", 14))
        .draw())?;
    let bars = counts
        .iter()
        .enumerate()
        .filter(|(_, &c)| c > 0)
        .map(|(i, &c)| {
            let x0 = i as f64 * width;
            Rectangle::new([(x0, 0), (x0 + width, c)], BLUE.mix(0.6).filled())
        });
    pe(chart.draw_series(bars))?;
    Ok(())
}

/// Draws histograms of certified ℓ2 and ℓ∞ radii (zeros — misclassified or refused — are left
/// out and counted in the captions) side by side into `path` (.png or .svg).
///
/// # Errors
/// Unknown extension or the file cannot be written.
pub fn radius_histogram(path: &Path, l2: &[f32], linf: &[f32], title: &str) -> Result<()> {
    render(
        path,
        (1200, 500),
        |root| histograms(root, title, l2, linf),
        |root| histograms(root, title, l2, linf),
    )
}

fn histograms<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    title: &str,
    l2: &[f32],
    linf: &[f32],
) -> Result<()> {
    let root = pe(root.titled(title, ("sans-serif", 22)))?;
    let (left, right) = root.split_horizontally(root.dim_in_pixel().0 / 2);
    histogram_panel(&left, "ℓ2", l2, l2.len())?;
    histogram_panel(&right, "ℓ∞", linf, linf.len())
}

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

#[cfg(test)]
mod tests;
