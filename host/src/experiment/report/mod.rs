//! `lifted experiment report`: Figure 1 (docs/method.md §7.7), per-epoch robustness curves and the result
//! tables of an experiment grid, from whatever its runs have written so far.
//!
//! For every job of the grid the report reads the run folder's `summary.json` (present once the
//! run finished) and `log.jsonl` (one [`EpochRecord`](crate::train::EpochRecord) per epoch,
//! growing while the run goes). Missing and partial runs are counted, listed and drawn as far as
//! they go; they are never an error. Output, into one folder:
//!
//! | file | content |
//! |---|---|
//! | `figure1-<dataset>.png` | one row of panels per N_train (file order). Left: lip_estimate (solid) and lip_bound (dashed), log scale; right: test accuracy, ● at the validation-selected epoch. Each curve is the mean over the seeds logged at that epoch, shaded ± one sample std where two or more are; rows differ in colour and marker; one legend below the panels. Diverged rows ([`crate::plot::axes::diverged`]) get a Lipschitz panel of their own (third column) and are left out of the test-accuracy axis range, cut off at the edge, marked; the accuracy axis is fitted to the second half of each row's epochs and its selected epoch. |
//! | `robust-<dataset>.png` | same layout: per-epoch certified ℓ2 accuracy (ε = 0.3, else the first logged) and PGD ℓ∞ accuracy, axes fitted to every trained epoch of all rows; only if the logs have those columns. |
//! | `certified-<dataset>.png` | certified accuracy against ε at the validation-selected epoch (the `cert_l2_`/`cert_linf_` columns of the final summaries): one panel per N_train and norm, one line per row (mean, ± std bars and band over the finished seeds); rows that certify 0 % at every ε are listed in a note instead of drawn; only if some row certifies something. |
//! | `internal-<dataset>.png` | PGD accuracy on each hidden block z_k at radius fraction·‖z_k(x)‖₂, from `strong.csv` in the results folder (scripts/strong-eval.py, `internal_rel_z<k>_<frac>` columns): one panel per N_train and block, BP thicker as the reference; only if that file has such values. |
//! | `tables.md` | per data set × N_train: clean, PGD and certified accuracy at the validation-selected epoch (mean ± sample std over finished seeds), sound Lipschitz bound, s/epoch; diverged rows marked †; soundness violations first. |
//! | `report.json` | the same numbers, machine readable ([`ReportJson`]). |

mod figures;
mod final_figures;
mod load;
mod tables;
#[cfg(test)]
mod tests;

use std::collections::BTreeMap;
use std::fmt;
use std::fs;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use serde::Serialize;

use super::Experiment;
use figures::{figure1_panels, legend, robust_panels, write_grid, FIGURE1_NOTE, ROBUST_NOTE};
use final_figures::{certified_panels, internal_panels, read_strong, value_legend, SeedCounts};
use load::{load_run, status, Loaded};
use tables::{aggregate, pretty_name, tables_md};

/// Layout version of `report.json`.
pub const REPORT_VERSION: u32 = 1;

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
    /// Soundness violations summed over the finished runs (must be 0, docs/method.md §7.6).
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
    /// The row's last logged Lipschitz estimate (mean over its seeds) is more than
    /// [`DIVERGED_FACTOR`](crate::plot::axes::DIVERGED_FACTOR) × the median of the group's rows,
    /// or not finite ([`crate::plot::axes::diverged`]): marked † in `tables.md`, drawn off-axis
    /// in Figure 1.
    pub lip_diverged: bool,
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

/// Writes `certified-<dataset>.png` (certified accuracy against ε at the selected epoch, from the
/// final summaries in `groups`) and `internal-<dataset>.png` (`strong.csv` of the results folder),
/// each where there is data for it.
fn final_measurement_figures(
    exp: &Experiment,
    groups: &[GroupStats],
    out: &Path,
    files: &mut Vec<PathBuf>,
    warnings: &mut Vec<String>,
) -> Result<()> {
    let index = |id: &str| exp.rows.iter().position(|r| r.id == id).unwrap_or(0);
    let rows: Vec<(String, String)> = exp
        .rows
        .iter()
        .map(|r| (r.id.clone(), r.label.clone()))
        .collect();
    let strong_path = exp.results.join("strong.csv");
    let strong = match read_strong(&strong_path) {
        Ok(s) => s,
        Err(e) => {
            warnings.push(format!(
                "reading {}: {e} — internal figures not written",
                strong_path.display()
            ));
            None
        }
    };
    for &ds in &exp.datasets {
        let (name, pretty) = (ds.name(), pretty_name(ds));
        let on: Vec<&GroupStats> = groups.iter().filter(|g| g.dataset == name).collect();
        let mut seeds = SeedCounts::new();
        if let Some((panels, zero)) = certified_panels(&on, &index, &mut seeds) {
            let (entries, seed_note) = value_legend(&panels, &seeds);
            let notes = wrapped(
                &panels,
                [CERTIFIED_NOTE.to_owned(), seed_note]
                    .into_iter()
                    .chain(zero),
            );
            let title = format!("{pretty} — certified accuracy vs ε at the selected epoch");
            let path = out.join(format!("certified-{name}.png"));
            write_grid(&path, &title, &panels, (&entries, &notes))?;
            files.push(path);
        }
        let mut seeds = SeedCounts::new();
        match strong
            .as_deref()
            .and_then(|s| internal_panels(s, name, &exp.n_train, &rows, &mut seeds))
        {
            Some((panels, note)) => {
                let (entries, seed_note) = value_legend(&panels, &seeds);
                let notes = wrapped(&panels, [note, seed_note]);
                let title =
                    format!("{pretty} — internal robustness at a radius relative to ‖z_k(x)‖₂");
                let path = out.join(format!("internal-{name}.png"));
                write_grid(&path, &title, &panels, (&entries, &notes))?;
                files.push(path);
            }
            None if strong.is_some() => warnings.push(format!(
                "{} has no internal_rel_ values for {name} — internal-{name}.png not written",
                strong_path.display()
            )),
            None => {}
        }
    }
    Ok(())
}

/// `notes` wrapped to the width of a figure of `panels` (about 8 px a character).
fn wrapped(
    panels: &[Vec<crate::plot::panel::Panel>],
    notes: impl IntoIterator<Item = String>,
) -> Vec<String> {
    let cols = panels.iter().map(Vec::len).max().unwrap_or(1).max(1);
    notes
        .into_iter()
        .flat_map(|n| final_figures::wrap(&n, cols * 700 / 8 - 8))
        .collect()
}

/// How the certified figure is drawn.
const CERTIFIED_NOTE: &str =
    "Certified accuracy of the exported model at the validation-selected epoch \
     (the tables' cert_ columns), finished seeds only.";

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
        if panels.iter().flatten().all(|p| p.rows.is_empty()) {
            warnings.push(format!(
                "no logs for {name} yet — figure1-{name}.png not written"
            ));
            continue;
        }
        let (entries, mut notes) = legend(exp, &loaded, ds);
        notes.push(FIGURE1_NOTE.to_owned());
        let title =
            format!("{pretty} — Figure 1: mean ± std over seeds (● best mean validation accuracy)");
        let path = out.join(format!("figure1-{name}.png"));
        write_grid(&path, &title, &panels, (&entries, &notes))?;
        files.push(path);
        notes.pop();
        notes.push(ROBUST_NOTE.to_owned());
        match robust_panels(exp, &loaded, ds) {
            Some(panels) => {
                let title = format!(
                    "{pretty} — per-epoch robustness on the first {} test samples \
                     (mean ± std over seeds; ● best mean validation accuracy)",
                    exp.measure.subset
                );
                let path = out.join(format!("robust-{name}.png"));
                write_grid(&path, &title, &panels, (&entries, &notes))?;
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
    final_measurement_figures(exp, &json.groups, out, &mut files, &mut warnings)?;
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
