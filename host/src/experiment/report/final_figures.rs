//! The figures of the final (validation-selected) measurements: certified accuracy against ε
//! from the runs' summaries, and the scale-free internal robustness of `strong.csv`
//! (scripts/strong-eval.py), one panel per N_train and norm or hidden block.

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::io::ErrorKind;
use std::path::Path;

use super::{GroupStats, Stat};
use crate::plot::panel::{Fit, Line, Panel, Row, Scale, XAxis};

/// The ε of a measurement column (`cert_l2_0.3` → 0.3).
fn column_eps(c: &str) -> Option<f64> {
    c.rsplit('_').next()?.parse().ok()
}

/// One row's curve in a panel, before drawing: its index in the experiment (style), label and
/// the mean ± std series.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct Series {
    pub(super) index: usize,
    pub(super) label: String,
    /// Most seeds behind a point.
    pub(super) seeds: usize,
    pub(super) line: Line,
}

/// Most values behind a point of `points`.
fn seeds_of(points: &[(f64, Stat)]) -> usize {
    points.iter().map(|p| p.1.n).max().unwrap_or(0)
}

/// A line through `points` (x, stat), sorted by x; std NaN where there is none.
fn line_of(mut points: Vec<(f64, Stat)>) -> Line {
    points.sort_by(|a, b| a.0.total_cmp(&b.0));
    Line {
        x: points.iter().map(|p| p.0).collect(),
        mean: points.iter().map(|p| p.1.mean).collect(),
        std: points.iter().map(|p| p.1.std.unwrap_or(f64::NAN)).collect(),
        dashed: false,
    }
}

/// The certified-accuracy series of `group` for `norm` (`l2` or `linf`): per row with a final
/// `cert_<norm>_<ε>` value, x = ε, y = its mean ± std over the finished seeds. `index` maps a row
/// id to its style.
pub(super) fn cert_series(
    group: &GroupStats,
    norm: &str,
    index: &dyn Fn(&str) -> usize,
) -> Vec<Series> {
    let prefix = format!("cert_{norm}_");
    group
        .rows
        .iter()
        .filter_map(|r| {
            let points: Vec<(f64, Stat)> = r
                .final_
                .iter()
                .filter(|(c, _)| c.starts_with(&prefix))
                .filter_map(|(c, s)| Some((column_eps(c)?, *s)))
                .collect();
            (!points.is_empty()).then(|| Series {
                index: index(&r.row),
                label: r.label.clone(),
                seeds: seeds_of(&points),
                line: line_of(points),
            })
        })
        .collect()
}

/// Splits `series` into the headline rows (mean certified accuracy above 0 at some ε) and the
/// labels of the others, which certify 0 % at every ε.
pub(super) fn headline(series: Vec<Series>) -> (Vec<Series>, Vec<String>) {
    let (kept, zero): (Vec<Series>, Vec<Series>) = series
        .into_iter()
        .partition(|s| s.line.mean.iter().any(|m| m.is_finite() && *m > 0.0));
    (kept, zero.into_iter().map(|s| s.label).collect())
}

/// Seeds behind the points of each row drawn, by style.
pub(super) type SeedCounts = BTreeMap<usize, usize>;

/// An accuracy panel over a value axis, one row per series; records the seeds in `seeds`.
fn value_panel(
    (caption, x_desc, y_desc): (String, String, &str),
    rows: Vec<Series>,
    reference: Option<usize>,
    seeds: &mut SeedCounts,
) -> Panel {
    for s in &rows {
        let e = seeds.entry(s.index).or_default();
        *e = (*e).max(s.seeds);
    }
    Panel {
        caption,
        x_axis: XAxis::Value(x_desc),
        reference,
        y_desc: y_desc.to_owned(),
        scale: Scale::Accuracy,
        fit: Fit::All,
        fit_diverged: true,
        rows: rows
            .into_iter()
            .map(|s| Row {
                label: s.label,
                style: s.index,
                lines: vec![s.line],
                selected: None,
                diverged: false,
            })
            .collect(),
    }
}

/// The certified-accuracy panels of `groups` (one data set): per N_train one panel per norm with a
/// headline row, and the labels of the rows left out (certify 0 % at every ε) per N_train.
/// `None` if no row certifies anything.
pub(super) fn certified_panels(
    groups: &[&GroupStats],
    index: &dyn Fn(&str) -> usize,
    seeds: &mut SeedCounts,
) -> Option<(Vec<Vec<Panel>>, Vec<String>)> {
    let mut grid = Vec::new();
    let mut notes = Vec::new();
    for g in groups {
        let mut panels = Vec::new();
        let mut zero_everywhere: Option<BTreeSet<String>> = None;
        for (norm, pretty) in [("l2", "ℓ2"), ("linf", "ℓ∞")] {
            let series = cert_series(g, norm, index);
            if series.is_empty() {
                continue;
            }
            let (kept, zero) = headline(series);
            let zero: BTreeSet<String> = zero.into_iter().collect();
            zero_everywhere = Some(match zero_everywhere {
                None => zero,
                Some(z) => z.intersection(&zero).cloned().collect(),
            });
            if !kept.is_empty() {
                panels.push(value_panel(
                    (
                        format!("N_train = {}: certified {pretty} accuracy", g.n_train),
                        format!("{pretty} radius ε"),
                        "certified accuracy",
                    ),
                    kept,
                    None,
                    seeds,
                ));
            }
        }
        if panels.is_empty() {
            continue;
        }
        grid.push(panels);
        let zero: Vec<String> = g
            .rows
            .iter()
            .filter(|r| {
                zero_everywhere
                    .as_ref()
                    .is_some_and(|z| z.contains(&r.label))
            })
            .map(|r| r.label.clone())
            .collect();
        if !zero.is_empty() {
            notes.push(format!(
                "N_train = {}: {} certify 0 % at every ε (not drawn).",
                g.n_train,
                zero.join("; ")
            ));
        }
    }
    (!grid.is_empty()).then_some((grid, notes))
}

/// One line of `strong.csv`.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct StrongRecord {
    pub(super) row: String,
    pub(super) dataset: String,
    pub(super) n_train: usize,
    pub(super) seed: u64,
    pub(super) samples: Option<usize>,
    pub(super) restarts: Option<usize>,
    /// (hidden block k, radius fraction) → robust accuracy in 0 … 1, from the
    /// `internal_rel_z<k>_<frac>` columns with a value.
    pub(super) internal: BTreeMap<(usize, String), f64>,
}

/// `internal_rel_z<k>_<frac>` → (k, frac).
fn internal_column(c: &str) -> Option<(usize, String)> {
    let rest = c.strip_prefix("internal_rel_z")?;
    let (k, frac) = rest.split_once('_')?;
    frac.parse::<f64>().ok()?;
    Some((k.parse().ok()?, frac.to_owned()))
}

/// Parses `strong.csv` (comma separated, a header line, no quoting). Lines without a row,
/// data set or N_train are skipped; empty or unparsable cells are missing values.
pub(super) fn parse_strong(text: &str) -> Vec<StrongRecord> {
    let mut lines = text.lines().filter(|l| !l.trim().is_empty());
    let Some(header) = lines.next() else {
        return Vec::new();
    };
    let cols: Vec<&str> = header.split(',').map(str::trim).collect();
    let at = |name: &str| cols.iter().position(|c| *c == name);
    let (row, dataset, n_train, seed) = (at("row"), at("dataset"), at("n_train"), at("seed"));
    let (samples, restarts) = (at("strong_samples"), at("strong_restarts"));
    let internal: Vec<(usize, (usize, String))> = cols
        .iter()
        .enumerate()
        .filter_map(|(i, c)| Some((i, internal_column(c)?)))
        .collect();
    lines
        .filter_map(|l| {
            let cells: Vec<&str> = l.split(',').map(str::trim).collect();
            let cell = |i: Option<usize>| i.and_then(|i| cells.get(i)).filter(|c| !c.is_empty());
            Some(StrongRecord {
                row: (*cell(row)?).to_owned(),
                dataset: (*cell(dataset)?).to_owned(),
                n_train: cell(n_train)?.parse().ok()?,
                seed: cell(seed).and_then(|s| s.parse().ok()).unwrap_or(0),
                samples: cell(samples).and_then(|s| s.parse().ok()),
                restarts: cell(restarts).and_then(|s| s.parse().ok()),
                internal: internal
                    .iter()
                    .filter_map(|(i, key)| {
                        let v: f64 = cell(Some(*i))?.parse().ok()?;
                        v.is_finite().then(|| (key.clone(), v))
                    })
                    .collect(),
            })
        })
        .collect()
}

/// Reads `strong.csv` at `path`: `Ok(None)` if the file does not exist.
///
/// # Errors
/// The file exists but cannot be read.
pub(super) fn read_strong(path: &Path) -> std::io::Result<Option<Vec<StrongRecord>>> {
    match fs::read_to_string(path) {
        Ok(t) => Ok(Some(parse_strong(&t))),
        Err(e) if e.kind() == ErrorKind::NotFound => Ok(None),
        Err(e) => Err(e),
    }
}

/// The internal-robustness series of hidden block `k` on `dataset` at `n_train`: per row of `rows`
/// (id, label; file order) with values, x = fraction, y = mean ± std over its seeds.
pub(super) fn internal_series(
    records: &[StrongRecord],
    dataset: &str,
    n_train: usize,
    k: usize,
    rows: &[(String, String)],
) -> Vec<Series> {
    rows.iter()
        .enumerate()
        .filter_map(|(index, (id, label))| {
            let mut by: BTreeMap<&str, Vec<f64>> = BTreeMap::new();
            for r in records
                .iter()
                .filter(|r| r.row == *id && r.dataset == dataset && r.n_train == n_train)
            {
                for ((kk, frac), v) in &r.internal {
                    if *kk == k {
                        by.entry(frac.as_str()).or_default().push(*v);
                    }
                }
            }
            let points: Vec<(f64, Stat)> = by
                .into_iter()
                .filter_map(|(f, v)| Some((f.parse().ok()?, Stat::of(v)?)))
                .collect();
            (!points.is_empty()).then(|| Series {
                index,
                label: label.clone(),
                seeds: seeds_of(&points),
                line: line_of(points),
            })
        })
        .collect()
}

/// The internal-robustness panels on `dataset`: per N_train of `n_trains` one panel per hidden
/// block with values, BP (row id `bp`) drawn thicker; and the figure's note on how they were
/// measured. `None` if `records` have no `internal_rel_` value on `dataset`.
pub(super) fn internal_panels(
    records: &[StrongRecord],
    dataset: &str,
    n_trains: &[usize],
    rows: &[(String, String)],
    seeds: &mut SeedCounts,
) -> Option<(Vec<Vec<Panel>>, String)> {
    let on: Vec<&StrongRecord> = records
        .iter()
        .filter(|r| r.dataset == dataset && !r.internal.is_empty())
        .collect();
    let blocks: BTreeSet<usize> = on
        .iter()
        .flat_map(|r| r.internal.keys().map(|k| k.0))
        .collect();
    let reference = rows.iter().position(|(id, _)| id == "bp");
    let grid: Vec<Vec<Panel>> = n_trains
        .iter()
        .map(|&n| {
            blocks
                .iter()
                .filter_map(|&k| {
                    let series = internal_series(records, dataset, n, k, rows);
                    (!series.is_empty()).then(|| {
                        value_panel(
                            (
                                format!("N_train = {n}: PGD on hidden block z{k}"),
                                format!("radius as a fraction of ‖z{k}(x)‖₂"),
                                "robust accuracy",
                            ),
                            series,
                            reference,
                            seeds,
                        )
                    })
                })
                .collect::<Vec<Panel>>()
        })
        .filter(|p| !p.is_empty())
        .collect();
    if grid.is_empty() {
        return None;
    }
    let list = |v: BTreeSet<usize>| {
        v.iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join("/")
    };
    let samples = list(on.iter().filter_map(|r| r.samples).collect());
    let restarts = list(on.iter().filter_map(|r| r.restarts).collect());
    let mut note = format!(
        "PGD on z_k at ε = fraction·‖z_k(x)‖₂, first {} test images, {} restarts \
         (scripts/strong-eval.py)",
        if samples.is_empty() {
            "?".to_owned()
        } else {
            samples
        },
        if restarts.is_empty() {
            "?".to_owned()
        } else {
            restarts
        },
    );
    note += if reference.is_some() {
        "; thick line: BP, the reference."
    } else {
        "."
    };
    Some((grid, note))
}

/// The legend entries of the rows drawn in `panels` (file order, by style) and a note on the
/// seeds: one count for all rows in the note if they share it, else a count per entry.
pub(super) fn value_legend(
    panels: &[Vec<Panel>],
    seeds: &SeedCounts,
) -> (Vec<crate::plot::panel::LegendEntry>, String) {
    let mut by: BTreeMap<usize, String> = BTreeMap::new();
    for r in panels.iter().flatten().flat_map(|p| &p.rows) {
        by.entry(r.style).or_insert_with(|| r.label.clone());
    }
    let counts: BTreeSet<usize> = by.keys().filter_map(|s| seeds.get(s).copied()).collect();
    let shared = (counts.len() == 1)
        .then(|| counts.first().copied())
        .flatten();
    let entries = by
        .into_iter()
        .map(|(style, label)| {
            let label = match (shared, seeds.get(&style).copied().unwrap_or(0)) {
                (Some(_), _) | (None, 0) => label,
                (None, 1) => format!("{label} (1 seed)"),
                (None, n) => format!("{label} ({n} seeds)"),
            };
            crate::plot::panel::LegendEntry { label, style }
        })
        .collect();
    let note = match shared {
        Some(1) => "Every row: one seed.".to_owned(),
        Some(n) => format!("Every row: mean ± 1 sample std over {n} seeds (bars and band)."),
        None => "Mean ± 1 sample std over the seeds given per row (bars and band).".to_owned(),
    };
    (entries, note)
}

/// `text` broken at spaces into lines of at most `width` characters (longer words stay whole).
pub(super) fn wrap(text: &str, width: usize) -> Vec<String> {
    let mut lines: Vec<String> = Vec::new();
    let mut cur = String::new();
    for w in text.split(' ') {
        if !cur.is_empty() && cur.chars().count() + 1 + w.chars().count() > width {
            lines.push(std::mem::take(&mut cur));
        }
        if !cur.is_empty() {
            cur.push(' ');
        }
        cur.push_str(w);
    }
    if !cur.is_empty() {
        lines.push(cur);
    }
    lines
}
