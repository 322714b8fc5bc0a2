//! `lifted experiment run|report|list`: the command-line front end of the experiment runner.

use std::path::PathBuf;

use anyhow::{bail, Result};
use clap::{Args, Subcommand};

use super::run::{run, state as run_state, RunOptions, RunState};
use super::spec::matches;
use super::Experiment;

/// `lifted experiment …`.
#[derive(Debug, Clone, Subcommand)]
pub enum ExperimentCommand {
    /// Train every job of the grid (data set × training size × row × seed) that has not finished;
    /// interrupted runs continue from their checkpoint. Writes results/NAME/runs/…, summary.json
    /// and summary.csv.
    Run(RunArgs),
    /// Figure-1 plots and tables (results/NAME/report/) from the finished runs.
    Report(ReportArgs),
    /// List the jobs of the grid and whether each has finished.
    List(ListArgs),
}

/// Flags of `lifted experiment run`.
#[derive(Debug, Clone, Args)]
pub struct RunArgs {
    /// The experiment file (see experiments/).
    #[arg(value_name = "EXPERIMENT.toml")]
    pub file: PathBuf,
    /// Only jobs whose id matches (`*` matches anything), e.g. 'mnist-5000/*' or '*/bp-s*'.
    #[arg(long, value_name = "PATTERN")]
    pub filter: Option<String>,
    /// Folder of the data files [default: data/DATASET/].
    #[arg(long, value_name = "DIR")]
    pub data_dir: Option<PathBuf>,
    /// Training threads (0: one per core, at most 1024) [default: the file's, else 0]; results do not change
    /// with it except for the bits of the training arithmetic's chunking (see `lifted train`).
    #[arg(long, value_name = "N")]
    pub threads: Option<usize>,
    /// Results folder [default: the file's `results`, else results/NAME].
    #[arg(long, value_name = "DIR")]
    pub results: Option<PathBuf>,
    /// No progress bars and no per-epoch lines.
    #[arg(long, short)]
    pub quiet: bool,
    /// Print the grid outcome as JSON.
    #[arg(long)]
    pub json: bool,
    /// Refuse a job whose memory estimate (parameters, Adam state, gradients, checkpoint text,
    /// activations) exceeds SIZE (e.g. 512M, 8G), as `lifted train --max-memory` [default:
    /// $LIFTED_MAX_MEMORY, else the available memory].
    #[arg(long, value_name = "SIZE", value_parser = crate::train::memory::parse_size)]
    pub max_memory: Option<u64>,
}

/// Flags of `lifted experiment report`.
#[derive(Debug, Clone, Args)]
pub struct ReportArgs {
    /// The experiment file.
    #[arg(value_name = "EXPERIMENT.toml")]
    pub file: PathBuf,
    /// Results folder [default: the file's `results`, else results/NAME].
    #[arg(long, value_name = "DIR")]
    pub results: Option<PathBuf>,
    /// Output folder [default: RESULTS/report].
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
}

/// Flags of `lifted experiment list`.
#[derive(Debug, Clone, Args)]
pub struct ListArgs {
    /// The experiment file.
    #[arg(value_name = "EXPERIMENT.toml")]
    pub file: PathBuf,
    /// Only jobs whose id matches.
    #[arg(long, value_name = "PATTERN")]
    pub filter: Option<String>,
    /// Results folder [default: the file's `results`, else results/NAME].
    #[arg(long, value_name = "DIR")]
    pub results: Option<PathBuf>,
}

fn load(file: &std::path::Path, results: Option<&PathBuf>) -> Result<Experiment> {
    let mut e = Experiment::load(file)?;
    if let Some(r) = results {
        e.results.clone_from(r);
    }
    Ok(e)
}

/// Runs `lifted experiment …`.
///
/// # Errors
/// A bad experiment file, failed jobs (after the others ran), I/O.
pub fn run_command(cmd: &ExperimentCommand) -> Result<()> {
    match cmd {
        ExperimentCommand::Run(a) => {
            if let Some(t) = a.threads {
                crate::limits::check_max("--threads", t, crate::limits::MAX_THREADS)?;
            }
            if let Some(bytes) = a.max_memory {
                crate::train::memory::set_limit(bytes);
            }
            let exp = load(&a.file, a.results.as_ref())?;
            let out = run(
                &exp,
                &RunOptions {
                    filter: a.filter.clone(),
                    data_dir: a.data_dir.clone(),
                    threads: a.threads,
                    quiet: a.quiet,
                },
            )?;
            if a.json {
                println!(
                    "{}",
                    serde_json::to_string_pretty(&serde_json::json!({
                        "selected": out.selected,
                        "skipped": out.skipped,
                        "finished": out.finished,
                        "remeasured": out.remeasured,
                        "failed": out.failed,
                        "summary": exp.results.join("summary.json"),
                    }))?
                );
            } else {
                println!(
                    "{} selected: {} already finished, {} finished now, {} re-measured, {} failed; \
                     summary in {}",
                    out.selected,
                    out.skipped.len(),
                    out.finished.len(),
                    out.remeasured.len(),
                    out.failed.len(),
                    exp.results.join("summary.csv").display()
                );
            }
            if !out.failed.is_empty() {
                let list: Vec<String> = out
                    .failed
                    .iter()
                    .map(|(id, e)| format!("  {id}: {e}"))
                    .collect();
                bail!(
                    "{} run(s) failed:\n{}\n(run the same command again to retry them; finished runs are kept)",
                    out.failed.len(),
                    list.join("\n")
                );
            }
        }
        ExperimentCommand::Report(a) => {
            let exp = load(&a.file, a.results.as_ref())?;
            let out = a.out.clone().unwrap_or_else(|| exp.results.join("report"));
            let outcome = super::report::report(&exp, &out)?;
            print!("{outcome}");
        }
        ExperimentCommand::List(a) => {
            let exp = load(&a.file, a.results.as_ref())?;
            let (mut done, mut total) = (0, 0);
            for job in exp.jobs()? {
                if !a.filter.as_deref().is_none_or(|p| matches(p, &job.id)) {
                    continue;
                }
                total += 1;
                let state = match run_state(&exp, &job)? {
                    RunState::Finished(s) => {
                        done += 1;
                        format!("done (test {:.2} %)", 100.0 * s.test_acc)
                    }
                    RunState::Stale(s) => {
                        done += 1;
                        format!(
                            "done (test {:.2} %), measured with other settings: `experiment run` \
                             re-measures it",
                            100.0 * s.test_acc
                        )
                    }
                    RunState::Corrupt(msg) => {
                        eprintln!("warning: {msg}");
                        "corrupt summary".to_owned()
                    }
                    RunState::Unfinished if exp.run_dir(&job).join("checkpoint.json").exists() => {
                        "partial".to_owned()
                    }
                    RunState::Unfinished => "todo".to_owned(),
                };
                println!("{:<40} {state}", job.id);
            }
            println!("{done}/{total} finished");
        }
    }
    Ok(())
}
