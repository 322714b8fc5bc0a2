//! Reading the run folders: `summary.json` and `log.jsonl` of every job, as far as they exist.

use std::collections::BTreeMap;
use std::fs;
use std::io::ErrorKind;
use std::path::Path;

use super::{RunState, RunStatus};
use crate::data::DatasetKind;
use crate::experiment::{Job, RunSummary};
use crate::train::EpochRecord;

/// What one run folder holds.
pub(super) struct Loaded {
    pub(super) job: Job,
    pub(super) summary: Option<RunSummary>,
    pub(super) log: Vec<EpochRecord>,
}

impl Loaded {
    pub(super) fn state(&self) -> RunState {
        if self.summary.is_some() {
            RunState::Finished
        } else if self.log.is_empty() {
            RunState::Missing
        } else {
            RunState::Partial
        }
    }

    pub(super) fn is(&self, dataset: DatasetKind, n_train: usize, row: &str) -> bool {
        self.job.dataset == dataset && self.job.n_train == n_train && self.job.row == row
    }
}

pub(super) fn load_run(job: Job, dir: &Path, warnings: &mut Vec<String>) -> Loaded {
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
pub(super) fn read_epoch_log(path: &Path, warnings: &mut Vec<String>) -> Vec<EpochRecord> {
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

pub(super) fn status(l: &Loaded) -> RunStatus {
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
