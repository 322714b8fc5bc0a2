//! One panel of per-epoch curves and the legend shared by a grid of them.
//!
//! A panel draws, for every row, the mean over its seeds as a line (solid or dashed) and, where two
//! or more seeds are logged, a shaded band of ± one sample standard deviation over the seeds. Rows
//! are told apart by colour *and* marker ([`COLOURS`], [`MARKERS`]). The y axis is fitted to the
//! rows that did not diverge ([`Panel::y_range`], [`super::axes::diverged`]); what lies outside is
//! cut off at the edge, and a diverged row that leaves the axis gets its marker on the edge with
//! the word "diverged". The legend is drawn once, in its own area ([`draw_legend`]).

use anyhow::Result;
use plotters::coord::types::RangedCoordf64;
use plotters::coord::Shift;
use plotters::element::DashedPathElement;
use plotters::prelude::*;

use plotters::coord::combinators::BindKeyPoints;

use super::axes::{
    accuracy_range, clip, epoch_tick, log_range, log_tick, log_ticks, percent_decimals,
    percent_tick,
};
use super::pe;

/// Thirteen clearly distinct colours: black, the Okabe–Ito colours without yellow, then dark purple,
/// brown, olive, grey, crimson and yellow-green. Row `i` gets colour `i mod 13` and marker `i mod 7`,
/// so up to 91 rows differ in one or the other, and Figure 1's 13 rows in both.
pub(crate) const COLOURS: [RGBColor; 13] = [
    RGBColor(0, 0, 0),
    RGBColor(0, 114, 178),
    RGBColor(230, 159, 0),
    RGBColor(213, 94, 0),
    RGBColor(0, 158, 115),
    RGBColor(86, 180, 233),
    RGBColor(204, 121, 167),
    RGBColor(106, 61, 154),
    RGBColor(140, 86, 75),
    RGBColor(128, 128, 0),
    RGBColor(150, 150, 150),
    RGBColor(178, 24, 43),
    RGBColor(140, 200, 40),
];

/// Number of marker shapes: △ □ ◇ × ▽ + ○.
pub(crate) const MARKERS: usize = 7;

/// A marker every `MARK_EVERY` points of a line, phase-shifted per row so that coinciding rows
/// still show both markers.
const MARK_EVERY: usize = 4;

/// The colour of style `i`.
pub(crate) fn colour(style: usize) -> RGBColor {
    COLOURS[style % COLOURS.len()]
}

/// One curve of a row: the per-epoch mean and the sample std over the seeds logged at that epoch
/// (NaN where fewer than two are).
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Line {
    pub(crate) x: Vec<f64>,
    pub(crate) mean: Vec<f64>,
    pub(crate) std: Vec<f64>,
    pub(crate) dashed: bool,
}

/// One experiment row (or training run) in a panel.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Row {
    pub(crate) label: String,
    /// Index into [`COLOURS`] and the markers.
    pub(crate) style: usize,
    /// The first line carries the markers.
    pub(crate) lines: Vec<Line>,
    /// (epoch, value) of the validation-selected epoch, drawn as ●.
    pub(crate) selected: Option<(f64, f64)>,
    /// Diverged ([`super::axes::diverged`]): left out of the axis fit unless the panel keeps it.
    pub(crate) diverged: bool,
}

/// The y axis of a panel.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Scale {
    /// Logarithmic, for Lipschitz constants.
    Log,
    /// Linear, an accuracy in 0 … 1 shown in percent.
    Accuracy,
}

/// The epochs of each row a panel's y axis is fitted to.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum Fit {
    /// Every epoch.
    All,
    /// Epochs ≥ this one.
    From(f64),
    /// The second half of each row's own epochs (≥ ⌊last / 2⌋), where validation selects, plus
    /// its selected epoch.
    SecondHalf,
}

impl Fit {
    /// The first epoch of `row` that counts.
    fn first(self, row: &Row) -> f64 {
        match self {
            Fit::All => f64::NEG_INFINITY,
            Fit::From(e) => e,
            Fit::SecondHalf => {
                let last = row
                    .lines
                    .iter()
                    .flat_map(|l| l.x.iter().zip(&l.mean))
                    .filter(|(x, m)| x.is_finite() && m.is_finite())
                    .map(|(x, _)| *x)
                    .fold(f64::NEG_INFINITY, f64::max);
                (last / 2.0).floor()
            }
        }
    }
}

/// The x axis of a panel.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum XAxis {
    /// Training epochs, shared by the panels of a figure, a marker every few points.
    Epoch,
    /// A measured quantity (ε, a fraction, …) titled `desc`: fitted to the panel's own points,
    /// a marker and a ± std error bar at every point.
    Value(String),
}

/// One panel of a grid.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Panel {
    pub(crate) caption: String,
    /// What x is.
    pub(crate) x_axis: XAxis,
    /// The style of a reference row drawn thicker (BP), if any.
    pub(crate) reference: Option<usize>,
    /// Axis title; an accuracy axis adds its range in percent.
    pub(crate) y_desc: String,
    pub(crate) scale: Scale,
    /// Which epochs the axis is fitted to.
    pub(crate) fit: Fit,
    /// Whether diverged rows count in the axis fit.
    pub(crate) fit_diverged: bool,
    pub(crate) rows: Vec<Row>,
}

impl Panel {
    /// The y range: [`log_range`] or [`accuracy_range`] of the means (and mean ± std) at the
    /// epochs [`Panel::fit`] selects, and the selected points, of the rows that did not diverge (all
    /// rows if `fit_diverged`). If that leaves no value, the diverged rows are added, then every
    /// epoch.
    pub(crate) fn y_range(&self) -> (f64, f64) {
        let values = |all: bool, fit: Fit| -> Vec<f64> {
            let mut v = Vec::new();
            for r in self.rows.iter().filter(|r| all || !r.diverged) {
                let from = fit.first(r);
                for l in &r.lines {
                    for ((&x, &m), &s) in l.x.iter().zip(&l.mean).zip(&l.std) {
                        if x >= from && m.is_finite() {
                            v.push(m);
                            if s.is_finite() {
                                v.push(m + s);
                                if self.scale == Scale::Accuracy {
                                    v.push(m - s);
                                }
                            }
                        }
                    }
                }
                v.extend(r.selected.map(|(_, y)| y).filter(|y| y.is_finite()));
            }
            v
        };
        let mut v = values(self.fit_diverged, self.fit);
        if v.is_empty() {
            v = values(true, self.fit);
        }
        if v.is_empty() {
            v = values(true, Fit::All);
        }
        match self.scale {
            Scale::Log => log_range(v),
            Scale::Accuracy => accuracy_range(v),
        }
    }
}

/// The outline of marker `kind` around (0, 0), in pixels: closed paths, or a circle (`None`).
fn marker_paths(kind: usize) -> Option<Vec<Vec<(i32, i32)>>> {
    let s = 5;
    Some(match kind % MARKERS {
        0 => vec![vec![(0, -s), (s, s - 1), (-s, s - 1), (0, -s)]],
        1 => vec![vec![(-4, -4), (4, -4), (4, 4), (-4, 4), (-4, -4)]],
        2 => vec![vec![
            (0, -s - 1),
            (s + 1, 0),
            (0, s + 1),
            (-s - 1, 0),
            (0, -s - 1),
        ]],
        3 => vec![vec![(-s, -s), (s, s)], vec![(-s, s), (s, -s)]],
        4 => vec![vec![(0, s), (s, 1 - s), (-s, 1 - s), (0, s)]],
        5 => vec![vec![(-s - 1, 0), (s + 1, 0)], vec![(0, -s - 1), (0, s + 1)]],
        _ => return None,
    })
}

/// Draws marker `kind` (see [`MARKERS`]) at `at` in `c`.
pub(crate) fn marker<DB: DrawingBackend, CT: CoordTranslate>(
    area: &DrawingArea<DB, CT>,
    at: CT::From,
    kind: usize,
    c: RGBColor,
) -> Result<()>
where
    CT::From: Clone,
{
    let style = ShapeStyle {
        color: c.to_rgba(),
        filled: false,
        stroke_width: 2,
    };
    match marker_paths(kind) {
        Some(paths) => {
            for p in paths {
                pe(area.draw(&(EmptyElement::at(at.clone()) + PathElement::new(p, style))))?;
            }
        }
        None => pe(area.draw(&(EmptyElement::at(at) + Circle::new((0, 0), 4, style))))?,
    }
    Ok(())
}

/// Contiguous index runs where `keep` holds.
fn runs(n: usize, keep: impl Fn(usize) -> bool) -> Vec<Vec<usize>> {
    let mut out: Vec<Vec<usize>> = Vec::new();
    let mut cur = Vec::new();
    for i in 0..n {
        if keep(i) {
            cur.push(i);
        } else if !cur.is_empty() {
            out.push(std::mem::take(&mut cur));
        }
    }
    if !cur.is_empty() {
        out.push(cur);
    }
    out
}

/// Vertical mean ± std bars with caps at the points of `l` that have a std, within `lo … hi`.
fn error_bars<DB: DrawingBackend, CT: CoordTranslate<From = (f64, f64)>>(
    area: &DrawingArea<DB, CT>,
    l: &Line,
    (lo, hi): (f64, f64),
    c: RGBColor,
) -> Result<()> {
    for ((&x, &m), &s) in l.x.iter().zip(&l.mean).zip(&l.std) {
        if !(x.is_finite() && m.is_finite() && s.is_finite()) {
            continue;
        }
        let (a, b) = ((m - s).clamp(lo, hi), (m + s).clamp(lo, hi));
        pe(area.draw(&PathElement::new(vec![(x, a), (x, b)], c.stroke_width(1))))?;
        for y in [a, b] {
            pe(area.draw(
                &(EmptyElement::at((x, y))
                    + PathElement::new(vec![(-4, 0), (4, 0)], c.stroke_width(1))),
            ))?;
        }
    }
    Ok(())
}

/// Draws the rows of `p` into a plotting area whose y axis spans `lo … hi`.
fn draw_rows<DB: DrawingBackend, CT: CoordTranslate<From = (f64, f64)>>(
    area: &DrawingArea<DB, CT>,
    p: &Panel,
    (lo, hi): (f64, f64),
    x_mid: f64,
) -> Result<()> {
    let log = p.scale == Scale::Log;
    let clamp = |y: f64| y.clamp(lo, hi);
    // Bands under everything.
    for r in &p.rows {
        let c = colour(r.style);
        for l in &r.lines {
            let ok = |i: usize| l.mean[i].is_finite() && l.std[i].is_finite() && l.x[i].is_finite();
            for run in runs(l.x.len().min(l.mean.len()).min(l.std.len()), ok) {
                if run.len() < 2 {
                    continue;
                }
                let mut poly: Vec<(f64, f64)> = run
                    .iter()
                    .map(|&i| (l.x[i], clamp(l.mean[i] + l.std[i])))
                    .collect();
                poly.extend(
                    run.iter()
                        .rev()
                        .map(|&i| (l.x[i], clamp((l.mean[i] - l.std[i]).max(lo)))),
                );
                pe(area.draw(&Polygon::new(poly, c.mix(0.18).filled())))?;
            }
        }
    }
    let every = matches!(p.x_axis, XAxis::Value(_));
    for r in &p.rows {
        let c = colour(r.style);
        let style = ShapeStyle {
            color: c.to_rgba(),
            filled: false,
            stroke_width: if p.reference == Some(r.style) { 4 } else { 2 },
        };
        for (k, l) in r.lines.iter().enumerate() {
            if every {
                error_bars(area, l, (lo, hi), c)?;
            }
            let pts: Vec<(f64, f64)> = l.x.iter().copied().zip(l.mean.iter().copied()).collect();
            for piece in clip(&pts, lo, hi, log) {
                if l.dashed {
                    pe(area.draw(&DashedPathElement::new(piece, 8, 5, style)))?;
                } else {
                    pe(area.draw(&PathElement::new(piece, style)))?;
                }
            }
            if k == 0 {
                for (i, &(x, y)) in pts.iter().enumerate() {
                    if (every || i % MARK_EVERY == r.style % MARK_EVERY)
                        && y.is_finite()
                        && (lo..=hi).contains(&y)
                    {
                        marker(area, (x, y), r.style, c)?;
                    }
                }
            }
        }
    }
    // Selected epochs and diverged rows on top.
    let mut shifted = 0usize;
    let mut labelled = [false; 2];
    for r in &p.rows {
        let c = colour(r.style);
        if let Some((x, y)) = r.selected.filter(|(_, y)| (lo..=hi).contains(y)) {
            pe(area.draw(&Circle::new((x, y), 6, c.filled())))?;
            pe(area.draw(&Circle::new((x, y), 6, BLACK.stroke_width(1))))?;
        }
        if !r.diverged {
            continue;
        }
        let Some(l) = r.lines.first() else { continue };
        let Some((x_last, y_last)) =
            l.x.iter()
                .copied()
                .zip(l.mean.iter().copied())
                .rfind(|(x, y)| x.is_finite() && y.is_finite())
        else {
            continue;
        };
        let above = y_last > hi;
        if !above && y_last >= lo {
            continue;
        }
        let edge = if above { hi } else { lo };
        let pts: Vec<(f64, f64)> = l.x.iter().copied().zip(l.mean.iter().copied()).collect();
        // Where the line leaves the axis for good, else its last epoch; shifted so that rows
        // leaving at the same place stay apart.
        let x = clip(&pts, lo, hi, log)
            .last()
            .and_then(|piece| piece.last().copied())
            .filter(|&(_, y)| y == edge)
            .map_or(x_last, |(x, _)| x);
        let x = x - 0.5 * shifted as f64;
        shifted += 1;
        marker(area, (x, edge), r.style, c)?;
        let side = usize::from(above);
        if !labelled[side] {
            labelled[side] = true;
            let text = if above {
                "diverged ↑"
            } else {
                "diverged ↓"
            };
            let dx = if x > x_mid { -90 } else { 10 };
            let dy = if above { 8 } else { -24 };
            pe(area.draw(
                &(EmptyElement::at((x, edge))
                    + Text::new(text, (dx, dy), ("sans-serif", 14).into_font().color(&c))),
            ))?;
        }
    }
    Ok(())
}

/// Draws panel `p` over the epochs `x` into `area`.
pub(crate) fn draw_panel<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    p: &Panel,
    (x_min, x_max): (f64, f64),
) -> Result<()> {
    let (lo, hi) = p.y_range();
    let (x_desc, x_tick): (&str, fn(f64) -> String) = match &p.x_axis {
        XAxis::Epoch => ("epoch", epoch_tick),
        XAxis::Value(d) => (d.as_str(), value_tick),
    };
    let builder = |area| {
        let mut b = ChartBuilder::on(area);
        b.caption(&p.caption, ("sans-serif", 19))
            .margin(12)
            .margin_right(20)
            .x_label_area_size(42)
            .y_label_area_size(78);
        b
    };
    match p.scale {
        Scale::Log => {
            let mut chart = pe(builder(area).build_cartesian_2d(
                x_min..x_max,
                (lo..hi).log_scale().with_key_points(log_ticks(lo, hi)),
            ))?;
            pe(chart
                .configure_mesh()
                .x_desc(x_desc)
                .y_desc(&p.y_desc)
                .x_label_formatter(&|v| x_tick(*v))
                .y_label_formatter(&|v| log_tick(*v))
                .label_style(("sans-serif", 14))
                .axis_desc_style(("sans-serif", 15))
                .light_line_style(WHITE.mix(0.0))
                .draw())?;
            draw_rows(chart.plotting_area(), p, (lo, hi), (x_min + x_max) / 2.0)
        }
        Scale::Accuracy => {
            let mut chart: ChartContext<'_, DB, Cartesian2d<RangedCoordf64, RangedCoordf64>> =
                pe(builder(area).build_cartesian_2d(x_min..x_max, lo..hi))?;
            let d = percent_decimals(hi - lo);
            let desc = format!(
                "{} (%), axis {}–{}",
                p.y_desc,
                percent_tick(lo, d),
                percent_tick(hi, d)
            );
            pe(chart
                .configure_mesh()
                .x_desc(x_desc)
                .y_desc(desc)
                .x_label_formatter(&|v| x_tick(*v))
                .y_label_formatter(&|v| percent_tick(*v, d))
                .label_style(("sans-serif", 14))
                .axis_desc_style(("sans-serif", 15))
                .light_line_style(WHITE.mix(0.0))
                .draw())?;
            draw_rows(chart.plotting_area(), p, (lo, hi), (x_min + x_max) / 2.0)
        }
    }
}

/// One legend entry: a row's label and style.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct LegendEntry {
    pub(crate) label: String,
    pub(crate) style: usize,
}

/// The height in pixels [`draw_legend`] needs for `entries` in `columns` columns and `notes`.
pub(crate) fn legend_height(entries: usize, columns: usize, notes: usize) -> u32 {
    let lines = entries.div_ceil(columns.max(1)) + notes;
    (16 + 26 * lines) as u32
}

/// Draws the shared legend: `entries` in `columns` columns (line, marker, label), then one line per
/// note.
pub(crate) fn draw_legend<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    entries: &[LegendEntry],
    columns: usize,
    notes: &[String],
) -> Result<()> {
    let columns = columns.max(1);
    let (w, _) = area.dim_in_pixel();
    let col_w = (w as i32 - 40) / columns as i32;
    let per_col = entries.len().div_ceil(columns);
    let font = ("sans-serif", 16).into_font();
    for (i, e) in entries.iter().enumerate() {
        let (col, line) = (i / per_col.max(1), i % per_col.max(1));
        let x = 30 + col as i32 * col_w;
        let y = 18 + 26 * line as i32;
        let c = colour(e.style);
        let style = ShapeStyle {
            color: c.to_rgba(),
            filled: false,
            stroke_width: 2,
        };
        pe(area.draw(&PathElement::new(vec![(x, y), (x + 44, y)], style)))?;
        marker(area, (x + 22, y), e.style, c)?;
        pe(area.draw(&Text::new(
            e.label.clone(),
            (x + 54, y - 9),
            font.clone().color(&BLACK),
        )))?;
    }
    let y0 = 18 + 26 * per_col as i32;
    for (k, n) in notes.iter().enumerate() {
        pe(area.draw(&Text::new(
            n.clone(),
            (30, y0 + 26 * k as i32 - 6),
            ("sans-serif", 15).into_font().color(&BLACK.mix(0.85)),
        )))?;
    }
    Ok(())
}

/// Columns of the shared legend.
pub(crate) const LEGEND_COLUMNS: usize = 3;

/// The epochs every panel of a figure spans (at least 0 … 1), so that the panels line up.
pub(crate) fn epoch_range<'a>(panels: impl IntoIterator<Item = &'a Panel>) -> (f64, f64) {
    let (mut lo, mut hi) = (0.0f64, 1.0f64);
    for x in panels
        .into_iter()
        .flat_map(|p| &p.rows)
        .flat_map(|r| &r.lines)
        .flat_map(|l| &l.x)
        .filter(|x| x.is_finite())
    {
        lo = lo.min(*x);
        hi = hi.max(*x);
    }
    (lo, hi)
}

/// The x range of a [`XAxis::Value`] panel: its points, widened by 8 % of their span on each side
/// (0 … 2x around a single positive value x, else ± 0.05) so that the end markers and error bars are not cut.
pub(crate) fn value_range(p: &Panel) -> (f64, f64) {
    let (mut lo, mut hi) = (f64::INFINITY, f64::NEG_INFINITY);
    for x in p
        .rows
        .iter()
        .flat_map(|r| &r.lines)
        .flat_map(|l| &l.x)
        .filter(|x| x.is_finite())
    {
        lo = lo.min(*x);
        hi = hi.max(*x);
    }
    if lo > hi {
        return (0.0, 1.0);
    }
    if hi > lo {
        let pad = 0.08 * (hi - lo);
        (lo - pad, hi + pad)
    } else if lo > 0.0 {
        (0.0, 2.0 * lo)
    } else {
        (lo - 0.05, lo + 0.05)
    }
}

/// A tick label of a value axis: up to four decimals, trailing zeros dropped ("0.05", "1").
#[must_use]
pub(crate) fn value_tick(v: f64) -> String {
    if !v.is_finite() {
        return String::new();
    }
    let s = format!("{v:.4}");
    let s = s.trim_end_matches('0').trim_end_matches('.');
    if s == "-0" {
        "0".to_owned()
    } else {
        s.to_owned()
    }
}

/// A figure: a title, a grid of panels (one inner vector per grid row) and one legend with notes
/// below them.
pub(crate) struct Figure<'a> {
    pub(crate) title: &'a str,
    pub(crate) panels: &'a [Vec<Panel>],
    pub(crate) legend: &'a [LegendEntry],
    pub(crate) notes: &'a [String],
}

const PANEL_SIZE: (u32, u32) = (700, 500);
const TITLE_HEIGHT: u32 = 44;

impl Figure<'_> {
    fn cols(&self) -> usize {
        self.panels.iter().map(Vec::len).max().unwrap_or(1).max(1)
    }

    fn legend_height(&self) -> u32 {
        legend_height(self.legend.len(), LEGEND_COLUMNS, self.notes.len())
    }

    /// The size in pixels.
    pub(crate) fn size(&self) -> (u32, u32) {
        let rows = self.panels.len().max(1) as u32;
        (
            PANEL_SIZE.0 * self.cols() as u32,
            TITLE_HEIGHT + PANEL_SIZE.1 * rows + self.legend_height(),
        )
    }

    /// Draws the figure into `root` (of [`Figure::size`]).
    pub(crate) fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> Result<()> {
        let (_, h) = root.dim_in_pixel();
        let (top, legend) = root.split_vertically(h.saturating_sub(self.legend_height()));
        let top = pe(top.titled(self.title, ("sans-serif", 22)))?;
        let cols = self.cols();
        let areas = top.split_evenly((self.panels.len().max(1), cols));
        let epochs = epoch_range(self.panels.iter().flatten());
        for (i, row) in self.panels.iter().enumerate() {
            for (j, p) in row.iter().enumerate() {
                if let Some(area) = areas.get(i * cols + j) {
                    let x = match p.x_axis {
                        XAxis::Epoch => epochs,
                        XAxis::Value(_) => value_range(p),
                    };
                    draw_panel(area, p, x)?;
                }
            }
        }
        pe(legend.draw(&PathElement::new(
            vec![(10, 2), (legend.dim_in_pixel().0 as i32 - 10, 2)],
            BLACK.mix(0.3),
        )))?;
        draw_legend(&legend, self.legend, LEGEND_COLUMNS, self.notes)
    }
}
