//! `lifted experiment report`: Figure 1 (SPEC §7.7), per-epoch robustness curves and the result
//! tables of an experiment grid, from whatever its runs have written so far.
//!
//! For every job of the grid the report reads the run folder's `summary.json` (present once the
//! run finished) and `log.jsonl` (one [`EpochRecord`] per epoch, growing while the run goes).
//! Missing and partial runs are counted, listed and drawn as far as they go; they are never an
//! error. Output, into one folder:
//!
//! | file | content |
//! |---|---|
//! | `figure1-<dataset>.png` | one row of panels per N_train (file order). Left: lip_estimate (solid) and lip_bound (dashed), log scale; right: test accuracy, ● at the validation-selected epoch. One colour per experiment row; each curve is the mean over the seeds logged at that epoch. |
//! | `robust-<dataset>.png` | same layout: per-epoch certified ℓ2 accuracy (ε = 0.3, else the first logged) and PGD ℓ∞ accuracy; only if the logs have those columns. |
//! | `tables.md` | per data set × N_train: clean, PGD and certified accuracy at the validation-selected epoch (mean ± sample std over finished seeds), sound Lipschitz bound, s/epoch; soundness violations first. |
//! | `report.json` | the same numbers, machine readable ([`ReportJson`]). |

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::{self, Write as _};
use std::fs;
use std::io::ErrorKind;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use plotters::coord::Shift;
use plotters::prelude::*;
use serde::Serialize;

use super::spec::column;
use super::{Experiment, Job, RunSummary};
use crate::data::DatasetKind;
use crate::plot::{accuracy_panel, epoch_range, lipschitz_panel, pe, render, RunLog};
use crate::train::EpochRecord;

/// Layout version of `report.json`.
pub const REPORT_VERSION: u32 = 1;

/// Shown in a table cell without a value.
const MISSING: &str = "—";

/// What [`report`] did, for the CLI to print.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ReportOutcome {
    /// Files written, in order.
    pub files: Vec<PathBuf>,
    /// Jobs in the grid.
    pub runs: usize,
    /// Runs with a `summary.json`.
    pub finished: usize,
    /// Runs with a log but no summary (running, stopped or crashed).
    pub partial: usize,
    /// Runs with neither.
    pub missing: usize,
    /// Soundness violations summed over the finished runs (must be 0, SPEC §7.6).
    pub soundness_violations: usize,
    /// Files that could not be read, figures that were skipped, ….
    pub warnings: Vec<String>,
}

impl fmt::Display for ReportOutcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "{} runs: {} finished, {} partial, {} not started",
            self.runs, self.finished, self.partial, self.missing
        )?;
        for w in &self.warnings {
            writeln!(f, "warning: {w}")?;
        }
        if self.soundness_violations > 0 {
            writeln!(
                f,
                "SOUNDNESS VIOLATIONS: {} samples certified and broken by PGD — a bug, see tables.md",
                self.soundness_violations
            )?;
        }
        for p in &self.files {
            writeln!(f, "wrote {}", p.display())?;
        }
        Ok(())
    }
}

/// How far a run got.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum RunState {
    /// `summary.json` is there.
    Finished,
    /// Some epochs are logged, no summary.
    Partial,
    /// Nothing usable in the run folder.
    Missing,
}

/// Mean and spread of one quantity over seeds.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Stat {
    /// Mean.
    pub mean: f64,
    /// Sample standard deviation (n − 1); only for n ≥ 2.
    pub std: Option<f64>,
    /// Number of values.
    pub n: usize,
}

impl Stat {
    /// Over the finite `values` (NaN and ±∞ are left out); `None` if there are none.
    pub fn of(values: impl IntoIterator<Item = f64>) -> Option<Stat> {
        let v: Vec<f64> = values.into_iter().filter(|x| x.is_finite()).collect();
        if v.is_empty() {
            return None;
        }
        let n = v.len();
        let mean = v.iter().sum::<f64>() / n as f64;
        let std = (n >= 2).then(|| {
            let ss: f64 = v.iter().map(|x| (x - mean) * (x - mean)).sum();
            (ss / (n - 1) as f64).sqrt()
        });
        Some(Stat { mean, std, n })
    }
}

/// One line of a table: an experiment row, aggregated over its finished seeds.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RowStats {
    /// Row id.
    pub row: String,
    /// Row label.
    pub label: String,
    /// Seeds in the grid.
    pub seeds: usize,
    /// Seeds finished (the statistics are over these).
    pub finished: usize,
    /// Seeds with a log but no summary.
    pub partial: usize,
    /// Validation-selected epoch.
    pub best_epoch: Option<Stat>,
    /// Validation accuracy at that epoch.
    pub val_acc: Option<Stat>,
    /// Clean test accuracy at that epoch.
    pub test_acc: Option<Stat>,
    /// Final PGD / certified accuracies by column (`pgd_linf_0.1`, `cert_l2_0.3`, …).
    #[serde(rename = "final")]
    pub final_: BTreeMap<String, Stat>,
    /// ‖W_{L−1}⋯W_0‖₂ at the selected epoch.
    pub lip_estimate: Option<Stat>,
    /// Sound Lipschitz bound Π σ̄_k at the selected epoch.
    pub lip_bound: Option<Stat>,
    /// Largest stored ℓ2 pair constant of the exported model.
    pub cert_pair_l2_max: Option<Stat>,
    /// Seconds per training epoch.
    pub seconds_per_epoch: Option<Stat>,
    /// Finished runs that diverged.
    pub diverged: usize,
    /// Soundness violations summed over the finished seeds.
    pub soundness_violations: usize,
}

/// The table of one data set and training size.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct GroupStats {
    /// Data set name.
    pub dataset: String,
    /// Training-set size.
    pub n_train: usize,
    /// Measurement columns in table order: PGD, then certified, then any other.
    pub columns: Vec<String>,
    /// Distinct test-sample counts of the final measurements.
    pub final_samples: Vec<usize>,
    /// Distinct PGD steps × restarts of the final measurements.
    pub final_pgd: Vec<(usize, usize)>,
    /// One entry per experiment row, in file order.
    pub rows: Vec<RowStats>,
}

/// The state of one job.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RunStatus {
    /// Job id.
    pub id: String,
    /// Row id.
    pub row: String,
    /// Data set.
    pub dataset: String,
    /// Training-set size.
    pub n_train: usize,
    /// Seed.
    pub seed: u64,
    /// How far it got.
    pub state: RunState,
    /// Last logged epoch.
    pub last_epoch: Option<usize>,
    /// Epochs configured.
    pub epochs: usize,
    /// Why training stopped early, if it diverged.
    pub diverged: Option<String>,
    /// Soundness violations (finished runs).
    pub soundness_violations: usize,
}

/// `report.json`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ReportJson {
    /// [`REPORT_VERSION`].
    pub version: u32,
    /// Experiment name.
    pub experiment: String,
    /// Experiment description.
    pub description: String,
    /// One table per data set × training size, in grid order.
    pub groups: Vec<GroupStats>,
    /// Every job, in grid order.
    pub runs: Vec<RunStatus>,
}

/// What one run folder holds.
struct Loaded {
    job: Job,
    summary: Option<RunSummary>,
    log: Vec<EpochRecord>,
}

impl Loaded {
    fn state(&self) -> RunState {
        if self.summary.is_some() {
            RunState::Finished
        } else if self.log.is_empty() {
            RunState::Missing
        } else {
            RunState::Partial
        }
    }

    fn is(&self, dataset: DatasetKind, n_train: usize, row: &str) -> bool {
        self.job.dataset == dataset && self.job.n_train == n_train && self.job.row == row
    }
}

/// Writes the plots and tables of `exp` into `out` (created if needed) from what the runs below
/// `exp.results` hold now.
///
/// # Errors
/// A row that does not form a valid job, or an output that cannot be written. Unreadable or
/// missing run files are warnings in the outcome, not errors.
pub fn report(exp: &Experiment, out: &Path) -> Result<ReportOutcome> {
    let mut warnings = Vec::new();
    let loaded: Vec<Loaded> = exp
        .jobs()?
        .into_iter()
        .map(|job| {
            let dir = exp.run_dir(&job);
            load_run(job, &dir, &mut warnings)
        })
        .collect();
    fs::create_dir_all(out).with_context(|| format!("creating {}", out.display()))?;
    let mut files = Vec::new();
    for &ds in &exp.datasets {
        let (name, pretty) = (ds.name(), pretty_name(ds));
        let panels = figure1_panels(exp, &loaded, ds);
        if panels.iter().flatten().all(|p| p.runs.is_empty()) {
            warnings.push(format!(
                "no logs for {name} yet — figure1-{name}.png not written"
            ));
            continue;
        }
        let title = format!(
            "{pretty} — Figure 1: mean over the seeds logged at each epoch \
             (● best mean validation accuracy)"
        );
        let path = out.join(format!("figure1-{name}.png"));
        write_grid(&path, &title, &panels)?;
        files.push(path);
        match robust_panels(exp, &loaded, ds) {
            Some(panels) => {
                let title = format!(
                    "{pretty} — per-epoch robustness on the first {} test samples \
                     (mean over seeds; ● best mean validation accuracy)",
                    exp.measure.subset
                );
                let path = out.join(format!("robust-{name}.png"));
                write_grid(&path, &title, &panels)?;
                files.push(path);
            }
            None => warnings.push(format!(
                "the logs of {name} have no per-epoch cert_l2_/pgd_linf_ columns — \
                 robust-{name}.png not written"
            )),
        }
    }
    let json = ReportJson {
        version: REPORT_VERSION,
        experiment: exp.name.clone(),
        description: exp.description.clone(),
        groups: aggregate(exp, &loaded),
        runs: loaded.iter().map(status).collect(),
    };
    let path = out.join("tables.md");
    fs::write(&path, tables_md(&json)).with_context(|| format!("writing {}", path.display()))?;
    files.push(path);
    let path = out.join("report.json");
    let text = serde_json::to_string_pretty(&json)?;
    fs::write(&path, text + "\n").with_context(|| format!("writing {}", path.display()))?;
    files.push(path);
    let count = |s: RunState| json.runs.iter().filter(|r| r.state == s).count();
    Ok(ReportOutcome {
        files,
        runs: json.runs.len(),
        finished: count(RunState::Finished),
        partial: count(RunState::Partial),
        missing: count(RunState::Missing),
        soundness_violations: json.runs.iter().map(|r| r.soundness_violations).sum(),
        warnings,
    })
}

fn load_run(job: Job, dir: &Path, warnings: &mut Vec<String>) -> Loaded {
    let path = dir.join("summary.json");
    let summary = if path.is_file() {
        match RunSummary::load(&path) {
            Ok(s) => {
                if s.id != job.id {
                    warnings.push(format!(
                        "{} holds the summary of run {:?}, expected {:?}",
                        path.display(),
                        s.id,
                        job.id
                    ));
                }
                Some(s)
            }
            Err(e) => {
                warnings.push(format!(
                    "{e:#} — run counted as unfinished; rerun `lifted experiment run`"
                ));
                None
            }
        }
    } else {
        None
    };
    let log = read_epoch_log(&dir.join("log.jsonl"), warnings);
    Loaded { job, summary, log }
}

/// Reads `log.jsonl`, sorted by epoch (a repeated epoch keeps its last line). A missing file is an
/// empty log; a line that does not parse (a running job may be writing it) is skipped with a
/// warning.
fn read_epoch_log(path: &Path, warnings: &mut Vec<String>) -> Vec<EpochRecord> {
    let text = match fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) if e.kind() == ErrorKind::NotFound => return Vec::new(),
        Err(e) => {
            warnings.push(format!("reading {}: {e} — log ignored", path.display()));
            return Vec::new();
        }
    };
    let mut by_epoch = BTreeMap::new();
    let mut bad = Vec::new();
    for (n, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        match serde_json::from_str::<EpochRecord>(line) {
            Ok(r) => {
                by_epoch.insert(r.epoch, r);
            }
            Err(_) => bad.push(n + 1),
        }
    }
    if let Some(first) = bad.first() {
        warnings.push(format!(
            "{}: {} line(s) do not parse (first: line {first}) — skipped",
            path.display(),
            bad.len()
        ));
    }
    by_epoch.into_values().collect()
}

fn status(l: &Loaded) -> RunStatus {
    RunStatus {
        id: l.job.id.clone(),
        row: l.job.row.clone(),
        dataset: l.job.dataset.name().to_owned(),
        n_train: l.job.n_train,
        seed: l.job.seed,
        state: l.state(),
        last_epoch: l.log.last().map(|r| r.epoch),
        epochs: l.job.config.epochs,
        diverged: l.summary.as_ref().and_then(|s| s.diverged.clone()),
        soundness_violations: l.summary.as_ref().map_or(0, |s| s.soundness_violations),
    }
}

/// 0 for PGD columns, 1 for certified ones, 2 for anything else (the table order).
fn column_class(c: &str) -> u8 {
    if c.starts_with("pgd_") {
        0
    } else if c.starts_with("cert_") {
        1
    } else {
        2
    }
}

/// The table's measurement columns: those of the experiment's final measurement, then any other
/// column a summary holds (sorted), grouped PGD, certified, other.
fn table_columns<'a>(
    spec: Vec<String>,
    summaries: impl Iterator<Item = &'a RunSummary>,
) -> Vec<String> {
    let mut cols = spec;
    let extra: BTreeSet<&String> = summaries.flat_map(|s| s.final_.keys()).collect();
    for c in extra {
        if !cols.contains(c) {
            cols.push(c.clone());
        }
    }
    cols.sort_by_key(|c| column_class(c));
    cols
}

fn aggregate(exp: &Experiment, loaded: &[Loaded]) -> Vec<GroupStats> {
    let mut groups = Vec::new();
    for &ds in &exp.datasets {
        for &n in &exp.n_train {
            let in_group = || {
                loaded
                    .iter()
                    .filter(move |l| l.job.dataset == ds && l.job.n_train == n)
            };
            let done = || in_group().filter_map(|l| l.summary.as_ref());
            let columns = table_columns(exp.final_.columns(ds.name()), done());
            let final_samples: BTreeSet<usize> = done().map(|s| s.final_samples).collect();
            let final_pgd: BTreeSet<(usize, usize)> = done().map(|s| s.final_pgd).collect();
            let rows = exp
                .rows
                .iter()
                .map(|row| {
                    let runs: Vec<&Loaded> = in_group().filter(|l| l.job.row == row.id).collect();
                    let sums: Vec<&RunSummary> =
                        runs.iter().filter_map(|l| l.summary.as_ref()).collect();
                    let stat = |f: &dyn Fn(&RunSummary) -> f64| Stat::of(sums.iter().map(|s| f(s)));
                    let final_ = columns
                        .iter()
                        .filter_map(|c| {
                            Stat::of(sums.iter().filter_map(|s| s.final_.get(c).copied()))
                                .map(|st| (c.clone(), st))
                        })
                        .collect();
                    RowStats {
                        row: row.id.clone(),
                        label: row.label.clone(),
                        seeds: runs.len(),
                        finished: sums.len(),
                        partial: runs
                            .iter()
                            .filter(|l| l.state() == RunState::Partial)
                            .count(),
                        best_epoch: stat(&|s| s.best_epoch as f64),
                        val_acc: stat(&|s| s.val_acc),
                        test_acc: stat(&|s| s.test_acc),
                        final_,
                        lip_estimate: stat(&|s| s.lip_estimate),
                        lip_bound: stat(&|s| s.lip_bound),
                        cert_pair_l2_max: stat(&|s| s.cert_pair_l2_max),
                        seconds_per_epoch: stat(&|s| s.seconds_per_epoch),
                        diverged: sums.iter().filter(|s| s.diverged.is_some()).count(),
                        soundness_violations: sums.iter().map(|s| s.soundness_violations).sum(),
                    }
                })
                .collect();
            groups.push(GroupStats {
                dataset: ds.name().to_owned(),
                n_train: n,
                columns,
                final_samples: final_samples.into_iter().collect(),
                final_pgd: final_pgd.into_iter().collect(),
                rows,
            });
        }
    }
    groups
}

fn pretty_name(ds: DatasetKind) -> &'static str {
    match ds {
        DatasetKind::Digits => "digits",
        DatasetKind::Mnist => "MNIST",
        DatasetKind::FashionMnist => "Fashion-MNIST",
    }
}

/// `pgd_linf_0.1` → `PGD ℓ∞ 0.1`; an unknown column stays as it is.
fn column_title(c: &str) -> String {
    for (prefix, title) in [
        ("pgd_linf_", "PGD ℓ∞"),
        ("pgd_l2_", "PGD ℓ2"),
        ("cert_linf_", "cert. ℓ∞"),
        ("cert_l2_", "cert. ℓ2"),
    ] {
        if let Some(eps) = c.strip_prefix(prefix) {
            return format!("{title} {eps}");
        }
    }
    c.to_owned()
}

/// A fraction as a percentage with 2 decimals, `± std` from two seeds on, `(n=k)` when fewer
/// than `finished` seeds have the value; `—` for none.
fn pct(s: Option<&Stat>, finished: usize) -> String {
    let Some(s) = s else {
        return MISSING.to_owned();
    };
    let mut t = format!("{:.2}", 100.0 * s.mean);
    if let Some(sd) = s.std {
        let _ = write!(t, " ± {:.2}", 100.0 * sd);
    }
    if s.n < finished {
        let _ = write!(t, " (n={})", s.n);
    }
    t
}

/// About four significant digits, scientific above 10⁵.
fn num(x: f64) -> String {
    let a = x.abs();
    if a >= 1e5 {
        format!("{x:.3e}")
    } else if a >= 100.0 {
        format!("{x:.1}")
    } else if a >= 10.0 {
        format!("{x:.2}")
    } else {
        format!("{x:.3}")
    }
}

fn mean_cell(s: Option<&Stat>) -> String {
    s.map_or_else(|| MISSING.to_owned(), |s| num(s.mean))
}

fn md_escape(s: &str) -> String {
    s.replace('|', "\\|")
}

/// The markdown table of one group (header, alignment row, one line per experiment row).
fn group_table(g: &GroupStats) -> String {
    let mut s = String::from("| row | seeds done | clean test acc (%)");
    for c in &g.columns {
        let _ = write!(s, " | {} (%)", column_title(c));
    }
    s.push_str(" | sound Lipschitz bound | s/epoch |\n|---|---:|---:");
    for _ in &g.columns {
        s.push_str("|---:");
    }
    s.push_str("|---:|---:|\n");
    for r in &g.rows {
        let mut seeds = format!("{}/{}", r.finished, r.seeds);
        if r.partial > 0 {
            let _ = write!(seeds, " +{} partial", r.partial);
        }
        let _ = write!(
            s,
            "| {} | {seeds} | {}",
            md_escape(&r.label),
            pct(r.test_acc.as_ref(), r.finished)
        );
        for c in &g.columns {
            let _ = write!(s, " | {}", pct(r.final_.get(c), r.finished));
        }
        let _ = writeln!(
            s,
            " | {} | {} |",
            mean_cell(r.lip_bound.as_ref()),
            mean_cell(r.seconds_per_epoch.as_ref())
        );
    }
    s
}

/// `tables.md`: soundness violations first, then one table per data set × training size with
/// notes on the measurement and on unfinished or diverged runs.
fn tables_md(r: &ReportJson) -> String {
    let mut s = format!("# Experiment `{}`: results\n\n", r.experiment);
    if !r.description.trim().is_empty() {
        let _ = writeln!(s, "{}\n", r.description.trim());
    }
    let count = |st: RunState| r.runs.iter().filter(|x| x.state == st).count();
    let _ = writeln!(
        s,
        "{} of {} runs finished ({} partial, {} not started). Written by `lifted experiment \
         report`; figures: `figure1-<dataset>.png`, `robust-<dataset>.png`.\n",
        count(RunState::Finished),
        r.runs.len(),
        count(RunState::Partial),
        count(RunState::Missing)
    );
    let bad: Vec<&RunStatus> = r
        .runs
        .iter()
        .filter(|x| x.soundness_violations > 0)
        .collect();
    if !bad.is_empty() {
        s.push_str(
            "> **⚠ SOUNDNESS VIOLATIONS.** Test samples certified at ε and broken by PGD at ε \
             (SPEC §7.6): a bug in the certificate or the attack, never a statistic.\n>\n",
        );
        for b in &bad {
            let _ = writeln!(
                s,
                "> - **`{}`: {} sample(s)**",
                b.id, b.soundness_violations
            );
        }
        s.push('\n');
    }
    s.push_str(
        "Accuracies are at the validation-selected epoch (best val_acc, ties to the earlier \
         epoch), in %, mean ± sample standard deviation over the finished seeds (± from two \
         seeds on; `(n=k)`: only k seeds have the column). The Lipschitz bound is the sound \
         Π σ̄_k at that epoch, mean over seeds. `—`: no finished seed.\n",
    );
    for g in &r.groups {
        let pretty = DatasetKind::ALL
            .iter()
            .find(|k| k.name() == g.dataset)
            .map_or(g.dataset.as_str(), |&k| pretty_name(k));
        let _ = writeln!(s, "\n## {pretty}, N_train = {}\n", g.n_train);
        s.push_str(&group_table(g));
        if !g.final_samples.is_empty() {
            let samples: Vec<String> = g.final_samples.iter().map(|n| n.to_string()).collect();
            let pgd: Vec<String> = g
                .final_pgd
                .iter()
                .map(|(st, re)| format!("{st} steps × {re} restarts"))
                .collect();
            let _ = writeln!(
                s,
                "\nFinal measurement: {} test samples; PGD {}.",
                samples.join(" / "),
                pgd.join(" / ")
            );
        }
        let runs = r
            .runs
            .iter()
            .filter(|x| x.dataset == g.dataset && x.n_train == g.n_train);
        let open: Vec<String> = runs
            .clone()
            .filter_map(|x| match (x.state, x.last_epoch) {
                (RunState::Finished, _) => None,
                (_, Some(e)) => Some(format!("`{}` (logged to epoch {e} of {})", x.id, x.epochs)),
                (_, None) => Some(format!("`{}` (not started)", x.id)),
            })
            .collect();
        if !open.is_empty() {
            let _ = writeln!(s, "\nNot finished: {}.", open.join(", "));
        }
        let diverged: Vec<String> = runs
            .filter_map(|x| x.diverged.as_ref().map(|d| format!("`{}` ({d})", x.id)))
            .collect();
        if !diverged.is_empty() {
            let _ = writeln!(s, "\nDiverged: {}.", diverged.join(", "));
        }
    }
    s
}

/// One panel of a figure grid.
struct Panel {
    /// `None`: the Lipschitz panel; `Some(y label)`: an accuracy panel of `test_acc`.
    accuracy: Option<String>,
    caption: String,
    runs: Vec<RunLog>,
    colours: Vec<usize>,
}

/// The mean of `y` over `logs` at every epoch any of them has (NaN where none has a value).
fn mean_by_epoch(
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
fn mean_curve(
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
fn curves(
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

fn figure1_panels(exp: &Experiment, loaded: &[Loaded], ds: DatasetKind) -> Vec<Vec<Panel>> {
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
fn robust_columns(exp: &Experiment, loaded: &[Loaded], ds: DatasetKind) -> Vec<String> {
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

fn robust_panels(exp: &Experiment, loaded: &[Loaded], ds: DatasetKind) -> Option<Vec<Vec<Panel>>> {
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
fn write_grid(path: &Path, title: &str, panels: &[Vec<Panel>]) -> Result<()> {
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

fn draw_grid<DB: DrawingBackend>(
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tol::Tol;

    const GRID: &str = r#"
name = "tiny"
datasets = ["digits"]
n_train = [200, 400]
[base]
epochs = 3
widths = [16, 10]
[[row]]
id = "bp"
label = "BP | baseline"
objective = "bp"
seeds = [0, 1]
[[row]]
id = "arovr"
objective = "arovr"
"#;

    const TOL: Tol = Tol::AbsRel {
        atol: 1e-12,
        rtol: 1e-12,
    };

    fn experiment(results: &Path) -> Experiment {
        let mut e = Experiment::parse(GRID).unwrap();
        e.results = results.to_path_buf();
        e
    }

    fn job(e: &Experiment, id: &str) -> Job {
        e.jobs().unwrap().into_iter().find(|j| j.id == id).unwrap()
    }

    fn record(epoch: usize, acc: f64, robust: bool) -> EpochRecord {
        let mut r = BTreeMap::new();
        if robust {
            r.insert("cert_l2_0.3".to_owned(), acc / 2.0);
            r.insert("pgd_linf_0.1".to_owned(), acc / 3.0);
        }
        EpochRecord {
            epoch,
            train_loss: 1.0 / (1.0 + epoch as f64),
            train_acc: acc,
            val_acc: acc,
            test_acc: acc - 0.01,
            lip_estimate: 2.0 + epoch as f64,
            lip_bound: 10.0 * (1.0 + epoch as f64),
            seconds: 0.5,
            mu_lower: None,
            gamma: vec![1.0, 1.0],
            robust: r,
        }
    }

    fn write_log(e: &Experiment, id: &str, recs: &[EpochRecord]) {
        let dir = e.run_dir(&job(e, id));
        fs::create_dir_all(&dir).unwrap();
        let text: String = recs
            .iter()
            .map(|r| serde_json::to_string(r).unwrap() + "\n")
            .collect();
        fs::write(dir.join("log.jsonl"), text).unwrap();
    }

    fn summary(e: &Experiment, id: &str, test_acc: f64, violations: usize) -> RunSummary {
        let j = job(e, id);
        RunSummary {
            version: super::super::summary::SUMMARY_VERSION,
            id: j.id.clone(),
            row: j.row.clone(),
            dataset: j.dataset.name().to_owned(),
            n_train: j.n_train,
            seed: j.seed,
            config: j.config.clone(),
            best_epoch: 2,
            val_acc: test_acc + 0.01,
            test_acc,
            lip_estimate: 4.0,
            lip_bound: 30.0,
            cert_pair_l2_max: 5.0,
            seconds_per_epoch: 0.5,
            epochs: 3,
            diverged: None,
            final_samples: 360,
            final_pgd: (40, 10),
            final_: BTreeMap::from([
                ("pgd_linf_0.1".to_owned(), test_acc / 3.0),
                ("pgd_l2_1".to_owned(), test_acc / 4.0),
                ("cert_l2_0.1".to_owned(), test_acc / 2.0),
                ("cert_l2_0.3".to_owned(), test_acc / 5.0),
                ("cert_l2_0.5".to_owned(), test_acc / 6.0),
                ("cert_linf_0.01".to_owned(), test_acc / 7.0),
            ]),
            radius_quantiles: BTreeMap::new(),
            soundness_violations: violations,
        }
    }

    fn write_summary(e: &Experiment, id: &str, test_acc: f64, violations: usize) {
        let s = summary(e, id, test_acc, violations);
        let dir = e.run_dir(&job(e, id));
        fs::create_dir_all(&dir).unwrap();
        fs::write(dir.join("summary.json"), serde_json::to_string(&s).unwrap()).unwrap();
    }

    fn assert_png(path: &Path) {
        let bytes = fs::read(path).unwrap();
        assert!(
            bytes.len() > 1000,
            "{} is {} bytes",
            path.display(),
            bytes.len()
        );
        assert_eq!(&bytes[..8], b"\x89PNG\r\n\x1a\n", "{}", path.display());
    }

    #[test]
    fn stat_is_mean_and_sample_std() {
        let s = Stat::of([0.90, 0.92, 0.94]).unwrap();
        assert_eq!(s.n, 3);
        assert!(TOL.close(s.mean, 0.92), "{s:?}");
        assert!(TOL.close(s.std.unwrap(), 0.02), "{s:?}");
        let one = Stat::of([0.5, f64::NAN]).unwrap();
        assert_eq!(
            one,
            Stat {
                mean: 0.5,
                std: None,
                n: 1
            }
        );
        assert_eq!(Stat::of([f64::INFINITY]), None);
        assert_eq!(Stat::of(Vec::new()), None);
    }

    #[test]
    fn cells_and_column_titles() {
        let two = Stat::of([0.9812, 0.9832]).unwrap();
        assert_eq!(pct(Some(&two), 2), "98.22 ± 0.14");
        let one = Stat::of([0.5]).unwrap();
        assert_eq!(pct(Some(&one), 1), "50.00");
        assert_eq!(pct(Some(&one), 3), "50.00 (n=1)");
        assert_eq!(pct(None, 3), "—");
        assert_eq!(num(12.3456), "12.35");
        assert_eq!(num(1234.56), "1234.6");
        assert_eq!(num(2.0), "2.000");
        assert_eq!(num(1.5e6), "1.500e6");
        assert_eq!(column_title("pgd_linf_0.1"), "PGD ℓ∞ 0.1");
        assert_eq!(column_title("pgd_l2_1"), "PGD ℓ2 1");
        assert_eq!(column_title("cert_linf_0.01"), "cert. ℓ∞ 0.01");
        assert_eq!(column_title("cert_l2_0.3"), "cert. ℓ2 0.3");
        assert_eq!(column_title("other"), "other");
    }

    #[test]
    fn table_lists_rows_with_std_from_two_seeds() {
        let st = |v: &[f64]| Stat::of(v.iter().copied());
        let g = GroupStats {
            dataset: "digits".into(),
            n_train: 200,
            columns: vec!["pgd_linf_0.1".into(), "cert_l2_0.3".into()],
            final_samples: vec![360],
            final_pgd: vec![(40, 10)],
            rows: vec![
                RowStats {
                    row: "bp".into(),
                    label: "BP | baseline".into(),
                    seeds: 3,
                    finished: 2,
                    partial: 1,
                    best_epoch: st(&[2.0, 3.0]),
                    val_acc: st(&[0.9, 0.92]),
                    test_acc: st(&[0.9, 0.92]),
                    final_: BTreeMap::from([("pgd_linf_0.1".to_owned(), st(&[0.5]).unwrap())]),
                    lip_estimate: st(&[4.0, 4.0]),
                    lip_bound: st(&[30.0, 32.0]),
                    cert_pair_l2_max: st(&[5.0, 5.0]),
                    seconds_per_epoch: st(&[0.5, 0.7]),
                    diverged: 0,
                    soundness_violations: 0,
                },
                RowStats {
                    row: "arovr".into(),
                    label: "arovr".into(),
                    seeds: 1,
                    finished: 0,
                    partial: 0,
                    best_epoch: None,
                    val_acc: None,
                    test_acc: None,
                    final_: BTreeMap::new(),
                    lip_estimate: None,
                    lip_bound: None,
                    cert_pair_l2_max: None,
                    seconds_per_epoch: None,
                    diverged: 0,
                    soundness_violations: 0,
                },
            ],
        };
        assert_eq!(
            group_table(&g),
            "| row | seeds done | clean test acc (%) | PGD ℓ∞ 0.1 (%) | cert. ℓ2 0.3 (%) \
             | sound Lipschitz bound | s/epoch |\n\
             |---|---:|---:|---:|---:|---:|---:|\n\
             | BP \\| baseline | 2/3 +1 partial | 91.00 ± 1.41 | 50.00 (n=1) | — | 31.00 | 0.600 |\n\
             | arovr | 0/1 | — | — | — | — | — |\n"
        );
    }

    #[test]
    fn columns_follow_the_spec_then_extras_grouped() {
        let e = experiment(Path::new("unused"));
        let mut s = summary(&e, "digits-200/bp-s0", 0.8, 0);
        s.final_.insert("cert_l2_1".to_owned(), 0.1);
        s.final_.insert("internal_r1".to_owned(), 0.2);
        s.final_.insert("pgd_l2_1.5".to_owned(), 0.3);
        let spec = vec!["pgd_linf_0.1".to_owned(), "cert_l2_0.3".to_owned()];
        assert_eq!(
            table_columns(spec, std::iter::once(&s)),
            [
                "pgd_linf_0.1",
                "pgd_l2_1",
                "pgd_l2_1.5",
                "cert_l2_0.3",
                "cert_l2_0.1",
                "cert_l2_0.5",
                "cert_l2_1",
                "cert_linf_0.01",
                "internal_r1"
            ]
        );
        assert_eq!(column_class("pgd_l2_1.5"), 0);
        assert_eq!(column_class("cert_l2_1"), 1);
        assert_eq!(column_class("x"), 2);
    }

    #[test]
    fn mean_curve_uses_the_seeds_present_at_each_epoch() {
        let a = [record(0, 0.5, false), record(1, 0.7, false)];
        let b = [record(0, 0.7, false)];
        let c = mean_curve("bp", &[&a, &b], &|r| Some(r.test_acc));
        assert_eq!(c.epoch, [0.0, 1.0]);
        assert!(
            TOL.first_mismatch(&c.val_acc, &[0.6, 0.7]).is_none(),
            "{c:?}"
        );
        assert!(
            TOL.first_mismatch(&c.lip_bound, &[10.0, 20.0]).is_none(),
            "{c:?}"
        );
        let r = mean_curve("bp", &[&a], &|r| r.robust.get("cert_l2_0.3").copied());
        assert!(r.test_acc.iter().all(|v| v.is_nan()));
    }

    #[test]
    fn report_handles_finished_partial_and_missing_runs() {
        let tmp = tempfile::tempdir().unwrap();
        let e = experiment(tmp.path());
        let full: Vec<EpochRecord> = (0..=3)
            .map(|k| record(k, 0.5 + 0.1 * k as f64, true))
            .collect();
        write_log(&e, "digits-200/bp-s0", &full);
        write_summary(&e, "digits-200/bp-s0", 0.8, 0);
        write_log(&e, "digits-200/bp-s1", &full[..2]);
        let out = tmp.path().join("report");
        let o = report(&e, &out).unwrap();
        assert_eq!((o.runs, o.finished, o.partial, o.missing), (6, 1, 1, 4));
        assert_eq!(o.soundness_violations, 0);
        let names: Vec<String> = o
            .files
            .iter()
            .map(|p| p.file_name().unwrap().to_string_lossy().into_owned())
            .collect();
        assert_eq!(
            names,
            [
                "figure1-digits.png",
                "robust-digits.png",
                "tables.md",
                "report.json"
            ]
        );
        assert_png(&out.join("figure1-digits.png"));
        assert_png(&out.join("robust-digits.png"));
        let md = fs::read_to_string(out.join("tables.md")).unwrap();
        assert!(
            md.contains("1 of 6 runs finished (1 partial, 4 not started)"),
            "{md}"
        );
        assert!(
            md.contains("| BP \\| baseline | 1/2 +1 partial | 80.00 | 26.67 | 20.00 | 40.00 | 16.00 | 13.33 | 11.43 | 30.00 | 0.500 |"),
            "{md}"
        );
        assert!(
            md.contains("| arovr | 0/1 | — | — | — | — | — | — | — | — | — |"),
            "{md}"
        );
        assert!(
            md.contains("`digits-200/bp-s1` (logged to epoch 1 of 3)"),
            "{md}"
        );
        assert!(md.contains("`digits-400/arovr-s0` (not started)"), "{md}");
        assert!(md.contains("Final measurement: 360 test samples; PGD 40 steps × 10 restarts."));
        assert!(!md.contains("SOUNDNESS"), "{md}");
        let json: serde_json::Value =
            serde_json::from_str(&fs::read_to_string(out.join("report.json")).unwrap()).unwrap();
        assert_eq!(json["version"], REPORT_VERSION);
        assert_eq!(json["groups"].as_array().unwrap().len(), 2);
        let bp = &json["groups"][0]["rows"][0];
        assert_eq!(bp["finished"], 1);
        assert!(TOL.close(bp["test_acc"]["mean"].as_f64().unwrap(), 0.8));
        assert!(bp["test_acc"]["std"].is_null());
        assert_eq!(json["runs"][1]["state"], "partial");
        assert_eq!(json["runs"][2]["state"], "missing");
        let shown = o.to_string();
        assert!(
            shown.starts_with("6 runs: 1 finished, 1 partial, 4 not started"),
            "{shown}"
        );
    }

    #[test]
    fn two_seeds_give_a_std_and_violations_are_highlighted() {
        let tmp = tempfile::tempdir().unwrap();
        let e = experiment(tmp.path());
        let log: Vec<EpochRecord> = (0..=3).map(|k| record(k, 0.6, false)).collect();
        for (id, acc, bad) in [("digits-200/bp-s0", 0.80, 0), ("digits-200/bp-s1", 0.84, 3)] {
            write_log(&e, id, &log);
            write_summary(&e, id, acc, bad);
        }
        let out = tmp.path().join("r");
        let o = report(&e, &out).unwrap();
        assert_eq!(o.soundness_violations, 3);
        assert!(o.to_string().contains("SOUNDNESS VIOLATIONS: 3"));
        // No per-epoch robustness columns in these logs: no robust figure.
        assert!(!out.join("robust-digits.png").exists());
        assert!(
            o.warnings.iter().any(|w| w.contains("robust-digits.png")),
            "{o:?}"
        );
        assert_png(&out.join("figure1-digits.png"));
        let md = fs::read_to_string(out.join("tables.md")).unwrap();
        assert!(md.contains("**⚠ SOUNDNESS VIOLATIONS.**"), "{md}");
        assert!(
            md.contains("> - **`digits-200/bp-s1`: 3 sample(s)**"),
            "{md}"
        );
        assert!(!md.contains("`digits-200/bp-s0`: 0"), "{md}");
        assert!(
            md.contains("| BP \\| baseline | 2/2 | 82.00 ± 2.83 |"),
            "{md}"
        );
    }

    #[test]
    fn empty_or_broken_results_are_warnings_not_errors() {
        let tmp = tempfile::tempdir().unwrap();
        let e = experiment(tmp.path());
        let out = tmp.path().join("empty");
        let o = report(&e, &out).unwrap();
        assert_eq!((o.finished, o.partial, o.missing), (0, 0, 6));
        assert!(!out.join("figure1-digits.png").exists());
        assert!(out.join("tables.md").is_file() && out.join("report.json").is_file());

        // A half-written last line and an unreadable summary.
        write_log(
            &e,
            "digits-400/arovr-s0",
            &[record(0, 0.5, false), record(1, 0.6, false)],
        );
        let dir = e.run_dir(&job(&e, "digits-400/arovr-s0"));
        let mut text = fs::read_to_string(dir.join("log.jsonl")).unwrap();
        text.push_str("{\"epoch\": 2, \"train_lo");
        fs::write(dir.join("log.jsonl"), text).unwrap();
        fs::write(dir.join("summary.json"), "{ not json").unwrap();
        let o = report(&e, &out).unwrap();
        assert_eq!((o.finished, o.partial, o.missing), (0, 1, 5));
        assert!(o.warnings.iter().any(|w| w.contains("line 3")), "{o:?}");
        assert!(
            o.warnings.iter().any(|w| w.contains("summary.json")),
            "{o:?}"
        );
        assert_png(&out.join("figure1-digits.png"));
        let md = fs::read_to_string(out.join("tables.md")).unwrap();
        assert!(
            md.contains("`digits-400/arovr-s0` (logged to epoch 1 of 3)"),
            "{md}"
        );
    }
}
