//! `lifted experiment run`: every job of the grid as an independent, seeded, resumable run.
//!
//! A run is **finished** when its folder holds `summary.json` (written last, atomically); it is
//! skipped, after checking that the summary's configuration is the job's; if it was measured
//! with other `[measure]`, `[final]` or `[export]` settings (a fingerprint in the summary), it is
//! re-measured and re-exported from its saved parameters without retraining. A run with a
//! `checkpoint.json` but no summary continues from that checkpoint (bit-identically for the same
//! thread count). Anything else starts fresh.

use std::path::{Path, PathBuf};

use anyhow::{ensure, Context, Result};
use lifted_core::write::ModelParams;

use super::measure::{measure, subset, Measured};
use super::spec::{matches, Experiment, Job};
use super::summary::{to_csv, RunSummary, SUMMARY_VERSION};
use crate::data::{self, DatasetKind, Splits};
use crate::train::checkpoint::write_atomic;
use crate::train::{self, files, Measure, Progress, Start, TrainConfig};

/// The summary file of a run folder.
pub const SUMMARY: &str = "summary.json";
/// The exported model of the selected epoch.
pub const MODEL: &str = "model.lfm";
/// Certified radii (ℓ2, ℓ∞) of every final sample, CSV.
pub const RADII: &str = "radii.csv";

/// Options of [`run`].
#[derive(Debug, Clone, Default)]
pub struct RunOptions {
    /// Only jobs whose id matches this pattern (`*` wildcard), e.g. `mnist-5000/*`.
    pub filter: Option<String>,
    /// Folder of the data files.
    pub data_dir: Option<PathBuf>,
    /// Worker threads of the training (0: one per core); overrides `[base] threads`.
    pub threads: Option<usize>,
    /// No progress bars and no per-epoch lines.
    pub quiet: bool,
}

/// What [`run`] did.
#[derive(Debug, Clone, Default)]
pub struct GridOutcome {
    /// Jobs selected by the filter.
    pub selected: usize,
    /// Jobs already finished before this call.
    pub skipped: Vec<String>,
    /// Jobs finished by this call.
    pub finished: Vec<String>,
    /// Finished jobs re-measured (and re-exported) by this call, without retraining, because the
    /// `[measure]`, `[final]` or `[export]` settings changed.
    pub remeasured: Vec<String>,
    /// Jobs that failed, with the reason.
    pub failed: Vec<(String, String)>,
    /// Summaries of every finished job of the experiment (also outside the filter).
    pub summaries: Vec<RunSummary>,
}

/// The configuration as compared between a job and an existing run: thread count and data folder
/// do not change results (see `Trainer::resume`).
fn comparable(c: &TrainConfig) -> TrainConfig {
    TrainConfig {
        threads: 0,
        data: train::DataSpec {
            data_dir: None,
            ..c.data.clone()
        },
        ..c.clone()
    }
}

/// The state of a job's run folder, as far as its summary tells.
#[derive(Debug, Clone)]
pub enum RunState {
    /// `summary.json` is there and belongs to the job's configuration.
    Finished(Box<RunSummary>),
    /// As `Finished`, but measured with other `[measure]`, `[final]` or `[export]` settings than
    /// the experiment file's: `experiment run` re-measures it without retraining.
    Stale(Box<RunSummary>),
    /// `summary.json` is there but cannot be read or parsed; the message names the file and the
    /// fix. The run counts as unfinished: `experiment run` re-measures it (or resumes it).
    Corrupt(String),
    /// No summary yet.
    Unfinished,
}

/// What a job's run folder holds, see [`RunState`].
///
/// # Errors
/// A summary that belongs to another configuration.
pub fn state(exp: &Experiment, job: &Job) -> Result<RunState> {
    let path = exp.run_dir(job).join(SUMMARY);
    if !path.exists() {
        return Ok(RunState::Unfinished);
    }
    let s = match RunSummary::load(&path) {
        Ok(s) => s,
        Err(e) => {
            return Ok(RunState::Corrupt(format!(
                "{e:#} — the run {} counts as unfinished: delete {} to have it re-measured from \
                 its saved training (`experiment run` does this by itself), or delete the run \
                 folder {} to retrain it",
                job.id,
                path.display(),
                exp.run_dir(job).display()
            )))
        }
    };
    ensure!(
        comparable(&s.config) == comparable(&job.config),
        "{} holds the result of a different configuration than the experiment file now describes — \
         move that run folder away (or give the row a new id) and run again",
        path.display()
    );
    if s.settings.as_deref() == Some(settings_fingerprint(exp)?.as_str()) {
        Ok(RunState::Finished(Box::new(s)))
    } else {
        Ok(RunState::Stale(Box::new(s)))
    }
}

/// The fingerprint of the settings a run's measurement depends on besides its training:
/// `[measure]`, `[final]` and `[export]`.
///
/// # Errors
/// Serialisation (not expected).
pub fn settings_fingerprint(exp: &Experiment) -> Result<String> {
    Ok(serde_json::to_string(&(
        &exp.measure,
        &exp.final_,
        &exp.export,
    ))?)
}

/// The summary of a job if the run is finished (a corrupt summary counts as unfinished; a stale
/// one, measured with other settings, is returned as it is; see [`state`]).
///
/// # Errors
/// A summary that belongs to another configuration.
pub fn finished(exp: &Experiment, job: &Job) -> Result<Option<RunSummary>> {
    Ok(match state(exp, job)? {
        RunState::Finished(s) | RunState::Stale(s) => Some(*s),
        RunState::Corrupt(_) | RunState::Unfinished => None,
    })
}

/// Runs every selected, unfinished job, then writes the grid summary.
///
/// # Errors
/// An unreadable experiment state or a summary that cannot be written. Failed jobs do not stop
/// the grid; they are listed in [`GridOutcome::failed`].
pub fn run(exp: &Experiment, opts: &RunOptions) -> Result<GridOutcome> {
    let jobs: Vec<Job> = exp
        .jobs()?
        .into_iter()
        .filter(|j| opts.filter.as_deref().is_none_or(|p| matches(p, &j.id)))
        .collect();
    let mut out = GridOutcome {
        selected: jobs.len(),
        ..GridOutcome::default()
    };
    let mut splits: Option<((DatasetKind, usize), Splits)> = None;
    for (i, job) in jobs.iter().enumerate() {
        let mut stale = None;
        match state(exp, job)? {
            RunState::Finished(_) => {
                out.skipped.push(job.id.clone());
                continue;
            }
            // Reported even with --quiet: the run is redone because of it.
            RunState::Corrupt(msg) => eprintln!("warning: {msg}"),
            RunState::Stale(s) => {
                eprintln!(
                    "{}: the [measure], [final] or [export] settings changed since it was \
                     measured — re-measuring and re-exporting it from its saved parameters \
                     (no retraining){}",
                    job.id,
                    if s.settings.is_none() {
                        " (its summary predates the recorded settings)"
                    } else {
                        ""
                    }
                );
                stale = Some(*s);
            }
            RunState::Unfinished => {}
        }
        if !opts.quiet {
            eprintln!("[{}/{}] {}", i + 1, jobs.len(), job.id);
        }
        let key = (job.dataset, job.n_train);
        if splits.as_ref().is_none_or(|(k, _)| *k != key) {
            match data::load(job.dataset, opts.data_dir.as_deref(), Some(job.n_train)) {
                Ok(s) => splits = Some((key, s)),
                Err(e) => {
                    out.failed.push((job.id.clone(), format!("{e:#}")));
                    splits = None;
                    continue;
                }
            }
        }
        let Some((_, s)) = &splits else { continue };
        let result = match stale {
            Some(old) => remeasure_job(exp, job, s, old),
            None => run_job(exp, job, s, opts),
        };
        match result {
            Ok((summary, remeasured)) => {
                if !opts.quiet {
                    eprintln!("{}", brief(&summary));
                }
                if remeasured {
                    out.remeasured.push(job.id.clone());
                } else {
                    out.finished.push(job.id.clone());
                }
                // Keep the grid summary current, so an interrupted grid still has one.
                write_grid_summary(exp)?;
            }
            Err(e) => {
                if !opts.quiet {
                    eprintln!("{}: failed: {e:#}", job.id);
                }
                out.failed.push((job.id.clone(), format!("{e:#}")));
            }
        }
    }
    out.summaries = write_grid_summary(exp)?;
    Ok(out)
}

/// One line about a finished run.
#[must_use]
pub fn brief(s: &RunSummary) -> String {
    let mut line = format!(
        "{}: epoch {} selected, test {:.2} %, lip bound {:.3}",
        s.id,
        s.best_epoch,
        100.0 * s.test_acc,
        s.lip_bound
    );
    for (k, v) in &s.final_ {
        line.push_str(&format!(", {k} {:.1} %", 100.0 * v));
    }
    line
}

/// Collects every finished run's summary and writes `summary.json` and `summary.csv` into the
/// results folder.
///
/// # Errors
/// A summary that cannot be read, or I/O.
pub fn write_grid_summary(exp: &Experiment) -> Result<Vec<RunSummary>> {
    let mut all = Vec::new();
    for job in exp.jobs()? {
        if let Some(s) = finished(exp, &job)? {
            all.push(s);
        }
    }
    std::fs::create_dir_all(&exp.results)
        .with_context(|| format!("creating {}", exp.results.display()))?;
    write_atomic(
        &exp.results.join("summary.json"),
        (serde_json::to_string_pretty(&all)? + "\n").as_bytes(),
    )?;
    write_atomic(&exp.results.join("summary.csv"), to_csv(&all).as_bytes())?;
    Ok(all)
}

/// Re-measures a finished run whose measurement settings changed, from its saved parameters
/// (`best.params.json`, the selected epoch's): the final measurement, the exported model and the
/// radii are redone; the training and its per-epoch log are kept.
fn remeasure_job(
    exp: &Experiment,
    job: &Job,
    splits: &Splits,
    old: RunSummary,
) -> Result<(RunSummary, bool)> {
    let dir = exp.run_dir(job);
    let best_path = dir.join(files::BEST);
    let best = crate::model::params::load_params(&best_path).with_context(|| {
        format!(
            "re-measuring {} — delete the run folder {} to retrain it",
            job.id,
            dir.display()
        )
    })?;
    // The per-epoch columns would need every epoch's parameters, which are not kept.
    let section = |fp: &str| {
        serde_json::from_str::<serde_json::Value>(fp)
            .ok()
            .map(|v| v[0].clone())
    };
    let now = settings_fingerprint(exp)?;
    if old.settings.as_deref().and_then(section) != section(&now) {
        eprintln!(
            "{}: note: the per-epoch columns of {} keep the [measure] settings it was trained \
             with — delete the run folder {} to retrain it with the new ones",
            job.id,
            dir.join(files::LOG_CSV).display(),
            dir.display()
        );
    }
    let s = measure_and_write(exp, job, splits, &best, old)?;
    Ok((s, true))
}

fn run_job(
    exp: &Experiment,
    job: &Job,
    splits: &Splits,
    opts: &RunOptions,
) -> Result<(RunSummary, bool)> {
    let dir = exp.run_dir(job);
    let mut cfg = job.config.clone();
    if let Some(t) = opts.threads {
        cfg.threads = t;
    }
    cfg.data.data_dir.clone_from(&opts.data_dir);
    // The runner owns its run folders: a folder with a checkpoint continues, anything else
    // (e.g. a run killed before its first checkpoint) starts afresh, replacing its files.
    let start = if dir.join(files::CHECKPOINT).exists() {
        Start::Resume
    } else {
        Start::Replace
    };
    let dataset = job.dataset.name();
    let per_epoch = subset(&splits.test, exp.measure.subset);
    let m = Measure {
        columns: exp.measure.columns(dataset),
        measure: Box::new(|p: &ModelParams| {
            Ok(measure(p, &exp.export, &exp.measure, dataset, &per_epoch, job.seed)?.values)
        }),
    };
    let mut progress = Progress::new(opts.quiet);
    if !opts.quiet && !progress.has_bar() {
        progress = progress.on_epoch(|r| eprintln!("  {}", crate::train::progress::epoch_line(r)));
    }
    let result = train::train_in_dir_measured(&cfg, splits, &mut progress, &dir, start, Some(m))
        .with_context(|| format!("training in {}", dir.display()))?;
    let at = result.history.get(result.best_epoch);
    let trained: Vec<f64> = result.history.iter().skip(1).map(|r| r.seconds).collect();
    let summary = RunSummary {
        version: SUMMARY_VERSION,
        id: job.id.clone(),
        row: job.row.clone(),
        dataset: dataset.to_owned(),
        n_train: job.n_train,
        seed: job.seed,
        config: job.config.clone(),
        best_epoch: result.best_epoch,
        val_acc: result.best_val_acc,
        test_acc: result.best_test_acc,
        lip_estimate: at.map_or(f64::NAN, |r| r.lip_estimate),
        lip_bound: at.map_or(f64::NAN, |r| r.lip_bound),
        cert_pair_l2_max: f64::NAN,
        seconds_per_epoch: if trained.is_empty() {
            0.0
        } else {
            trained.iter().sum::<f64>() / trained.len() as f64
        },
        epochs: result.history.len().saturating_sub(1),
        diverged: result.diverged.clone(),
        final_samples: 0,
        final_pgd: (0, 0),
        final_: std::collections::BTreeMap::new(),
        radius_quantiles: std::collections::BTreeMap::new(),
        soundness_violations: 0,
        settings: None,
    };
    Ok((
        measure_and_write(exp, job, splits, &result.best, summary)?,
        false,
    ))
}

/// The final measurement of `best` (the selected epoch's parameters), its export and radii, and
/// the run's `summary.json`: `base` with the measured fields filled in.
fn measure_and_write(
    exp: &Experiment,
    job: &Job,
    splits: &Splits,
    best: &ModelParams,
    base: RunSummary,
) -> Result<RunSummary> {
    let dir = exp.run_dir(job);
    let dataset = job.dataset.name();
    let final_data = subset(&splits.test, exp.final_.subset);
    let fin = measure(
        best,
        &exp.export,
        &exp.final_,
        dataset,
        &final_data,
        job.seed,
    )?;
    crate::model::export::export(best, &dir.join(MODEL), &exp.export.limits(), false)?;
    write_radii(&dir.join(RADII), &fin)?;
    let summary = RunSummary {
        cert_pair_l2_max: fin.pair_l2_max,
        final_samples: fin.samples,
        final_pgd: (exp.final_.pgd_steps, exp.final_.pgd_restarts),
        radius_quantiles: [("l2", &fin.radii.0), ("linf", &fin.radii.1)]
            .into_iter()
            .map(|(k, r)| (k.to_owned(), quantiles(r)))
            .collect(),
        final_: fin.values,
        soundness_violations: fin.violations,
        settings: Some(settings_fingerprint(exp)?),
        ..base
    };
    write_atomic(
        &dir.join(SUMMARY),
        (serde_json::to_string_pretty(&summary)? + "\n").as_bytes(),
    )?;
    ensure!(
        summary.soundness_violations == 0,
        "{} samples were certified at a radius and broken there by PGD — a soundness bug, \
         please report it with {}",
        summary.soundness_violations,
        dir.join(MODEL).display()
    );
    Ok(summary)
}

/// 10 %, 50 % and 90 % quantiles (nearest rank) of `r`.
fn quantiles(r: &[f32]) -> [f64; 3] {
    let mut v: Vec<f64> = r.iter().map(|&x| f64::from(x)).collect();
    v.sort_by(f64::total_cmp);
    let q = |p: f64| {
        if v.is_empty() {
            0.0
        } else {
            v[((p * (v.len() - 1) as f64).round() as usize).min(v.len() - 1)]
        }
    };
    [q(0.1), q(0.5), q(0.9)]
}

fn write_radii(path: &Path, m: &Measured) -> Result<()> {
    let mut s = String::from("sample,radius_l2,radius_linf\n");
    for (i, (a, b)) in m.radii.0.iter().zip(&m.radii.1).enumerate() {
        s.push_str(&format!("{i},{a:e},{b:e}\n"));
    }
    write_atomic(path, s.as_bytes())
}
