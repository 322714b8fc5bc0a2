//! Training of lifted networks (docs/method.md §2–§7): every objective of docs/method.md §5 for both potential
//! families, with batched K-sweep phases, Adam, per-epoch logs, best-epoch selection and
//! resumable checkpoints.
//!
//! ```text
//! TrainConfig ──validate──▶ Trainer ──run_epoch()*──▶ TrainResult { best: ModelParams, history, … }
//!   (TOML/flags)              │  per minibatch: damping η_k → free state → phases → Danskin
//!                             │  gradients (objectives) or back-propagation (backprop) → Adam
//!                             ╰─ per epoch: val/test accuracy, ‖W_{L−1}⋯W_0‖₂, Π σ̄_k → EpochRecord
//! ```
//!
//! - [`train`] runs in memory; [`train_in_dir`] also writes `config.toml`, `config.json`,
//!   `log.csv`, `log.jsonl`, `best.params.json`, `last.params.json` and `checkpoint.json`, and
//!   continues a run bit for bit with [`Start::Resume`]. Every file is replaced atomically, and
//!   the checkpoint is written last: a kill at any point leaves a folder that resumes to the same
//!   bits (resuming rewrites the other files from the checkpoint).
//! - All kernels are generic over [`Real`] (f32 for training, f64 for the docs/method.md §6 oracles).
//! - Randomness: ChaCha8 seeded with `seed` (stream 0: weights; stream 1: shuffles, random
//!   targets, PGD starts; stream 2: the Lipschitz-margin power-iteration start vectors). Linear algebra runs on the `gemm` crate in a rayon pool of `threads`
//!   threads, cut into fixed chunks (see [`linalg`]): a seed and a thread count give the same bits.
//! - Cross-entropy with a lifted objective: the output block is solved by a fixed number of
//!   fixed-point iterations (see [`phases`]); everything else is unchanged.
//! - Certification-aware training (`lip_margin_eps > 0`, any objective): Lipschitz-margin
//!   training, the loss taken at logits with every non-true class raised by ε·K_yj (the
//!   certificate's ℓ2 pair constant) and optionally by the certificate's float-error bound
//!   (`lip_margin_float`); see [`lipmargin`]. With ε = 0 training is bit-identical to the plain
//!   objective.

pub mod adam;
pub mod backprop;
pub mod checkpoint;
pub mod cli;
pub mod config;
pub mod damping;
pub mod linalg;
pub mod lipmargin;
pub mod log;
pub mod memory;
pub mod metrics;
pub mod net;
pub mod objectives;
pub mod options;
pub mod params;
pub mod phases;
pub mod potential;
pub mod progress;
pub mod real;
pub mod trainer;

use std::collections::BTreeMap;
use std::path::Path;

use anyhow::{ensure, Context, Result};
use lifted_core::write::ModelParams;

pub use checkpoint::Checkpoint;
pub use config::{DataSpec, TrainConfig};
pub use log::EpochRecord;
pub use options::{
    Attack, Damping, HiddenActivation, InitKind, LossKind, LrSchedule, MarginLoss, MetaGamma,
    Objective, Potential, RelaxedDistance, ScheduleKind, Selection, Target,
};
pub use params::{read_params_json, write_params_json, ModelParamsJson};
pub use progress::Progress;
pub use real::Real;
pub use trainer::{EpochOutcome, Trainer};

use crate::data::Splits;

/// The outcome of a training run.
#[derive(Debug, Clone, PartialEq)]
pub struct TrainResult {
    /// Parameters of the epoch with the best validation accuracy (ties: the earlier epoch).
    pub best: ModelParams,
    /// That epoch (0 = before training).
    pub best_epoch: usize,
    /// Its validation accuracy.
    pub best_val_acc: f64,
    /// Its test accuracy (the reported number, docs/method.md §7.5).
    pub best_test_acc: f64,
    /// Parameters after the last completed epoch.
    pub last: ModelParams,
    /// One log row per completed epoch.
    pub history: Vec<EpochRecord>,
    /// Set if training stopped on a NaN/Inf; the message names the epoch and batch.
    pub diverged: Option<String>,
}

/// Trains in memory: validates `cfg` against `splits`, runs the measurement pass and
/// `cfg.epochs` epochs, and returns the best and last parameters with the log.
///
/// A divergence is not an error: it stops training, and the result keeps the last good state with
/// [`TrainResult::diverged`] set.
///
/// # Errors
/// An invalid configuration (including the well-posedness conditions of docs/method.md §5.9).
pub fn train(cfg: &TrainConfig, splits: &Splits, progress: &mut Progress) -> Result<TrainResult> {
    Trainer::new(cfg, splits)?.run(progress, |_, _| Ok(()))
}

/// File names inside a run directory.
pub mod files {
    /// The configuration as TOML (usable with `--config`).
    pub const CONFIG_TOML: &str = "config.toml";
    /// The configuration as JSON.
    pub const CONFIG_JSON: &str = "config.json";
    /// Per-epoch log, CSV.
    pub const LOG_CSV: &str = "log.csv";
    /// Per-epoch log, JSON lines.
    pub const LOG_JSONL: &str = "log.jsonl";
    /// Parameters of the best epoch.
    pub const BEST: &str = "best.params.json";
    /// Parameters after the last completed epoch.
    pub const LAST: &str = "last.params.json";
    /// The resumable state after the last completed epoch.
    pub const CHECKPOINT: &str = "checkpoint.json";
    /// Every file of a run: a folder holding any of them holds a run.
    pub const RUN: [&str; 7] = [
        CONFIG_TOML,
        CONFIG_JSON,
        CHECKPOINT,
        LOG_CSV,
        LOG_JSONL,
        BEST,
        LAST,
    ];
}

/// How [`train_in_dir`] treats the run folder.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Start {
    /// A new run; refused if the folder already holds a run (any of [`files::RUN`]).
    Fresh,
    /// A new run that first deletes the run files of the folder (`--force`).
    Replace,
    /// Continue the run of the folder from its checkpoint (`--resume`).
    Resume,
}

/// The run files present in `dir` (a subset of [`files::RUN`]).
pub fn existing_run_files(dir: &Path) -> Vec<&'static str> {
    files::RUN
        .iter()
        .copied()
        .filter(|f| dir.join(f).exists())
        .collect()
}

/// As [`train`], writing the run into `dir` (see [`files`]) after every epoch. `start` says
/// whether to begin a new run (refusing or replacing an existing one) or to continue from
/// `dir/checkpoint.json` (bit-identically for the same thread count). After a divergence the
/// files hold the last good epoch.
///
/// # Errors
/// An invalid configuration, a folder that already holds a run ([`Start::Fresh`]), a missing,
/// damaged or mismatched checkpoint ([`Start::Resume`]), or I/O.
pub fn train_in_dir(
    cfg: &TrainConfig,
    splits: &Splits,
    progress: &mut Progress,
    dir: &Path,
    start: Start,
) -> Result<TrainResult> {
    train_in_dir_measured(cfg, splits, progress, dir, start, None)
}

/// Extra per-epoch measurements: the column names (CSV order) and the function that measures
/// the parameters after an epoch (e.g. PGD and certified accuracy on a test subset).
pub struct Measure<'m> {
    /// Column names; the function should return a value for each.
    pub columns: Vec<String>,
    /// Measures the parameters after an epoch.
    #[allow(clippy::type_complexity)]
    pub measure: Box<dyn FnMut(&ModelParams) -> Result<BTreeMap<String, f64>> + 'm>,
}

/// As [`train_in_dir`], with `measure` (if any) run after every epoch on that epoch's
/// parameters; its values go into [`EpochRecord::robust`], the logs and the checkpoint.
///
/// # Errors
/// As [`train_in_dir`], or an error of `measure`.
pub fn train_in_dir_measured(
    cfg: &TrainConfig,
    splits: &Splits,
    progress: &mut Progress,
    dir: &Path,
    start: Start,
    mut measure: Option<Measure<'_>>,
) -> Result<TrainResult> {
    // Refuse a run that cannot fit before the folder is touched or anything large is allocated.
    memory::check(cfg, splits.train.dim)?;
    std::fs::create_dir_all(dir)
        .with_context(|| format!("creating the run folder {}", dir.display()))?;
    let ckpt_path = dir.join(files::CHECKPOINT);
    let found = existing_run_files(dir);
    match start {
        Start::Fresh => ensure!(
            found.is_empty(),
            "{} already holds a run ({}) — continue it with --resume, replace it with --force, \
             or choose another folder with --out",
            dir.display(),
            found.join(", ")
        ),
        Start::Replace => {
            for f in &found {
                let p = dir.join(f);
                std::fs::remove_file(&p)
                    .with_context(|| format!("removing {} (--force)", p.display()))?;
            }
        }
        Start::Resume => {}
    }
    let mut trainer = if start == Start::Resume {
        let ckpt = Checkpoint::load(&ckpt_path)?;
        checkpoint::check_folder_config(dir, &ckpt.config)?;
        Trainer::resume(cfg, splits, ckpt)?
    } else {
        Trainer::new(cfg, splits)?
    };
    checkpoint::write_atomic(&dir.join(files::CONFIG_TOML), cfg.to_toml()?.as_bytes())?;
    checkpoint::write_atomic(
        &dir.join(files::CONFIG_JSON),
        serde_json::to_string_pretty(cfg)?.as_bytes(),
    )?;
    let columns = measure.as_ref().map_or(Vec::new(), |m| m.columns.clone());
    if start == Start::Resume {
        // The files next to the checkpoint may be an epoch ahead of it (a kill after they were
        // written and before the checkpoint was): rewrite them from the checkpoint.
        if let Some(b) = trainer.best() {
            write_params_json(&b.params.clone().into(), &dir.join(files::BEST))?;
        }
        write_params_json(&trainer.params(), &dir.join(files::LAST))?;
        log::write_logs(dir, trainer.history(), &columns)?;
    }
    // Order per epoch: parameters, logs, then the checkpoint that they belong to (each file
    // atomically), so a kill at any point leaves a resumable folder.
    let result = trainer.run(progress, |t, _| {
        if let Some(m) = measure.as_mut() {
            let values = (m.measure)(&t.params())?;
            t.annotate_last(values);
        }
        let epoch = t.history().len() - 1;
        if let Some(b) = t.best().filter(|b| b.epoch == epoch) {
            write_params_json(&b.params.clone().into(), &dir.join(files::BEST))?;
        }
        write_params_json(&t.params(), &dir.join(files::LAST))?;
        log::write_logs(dir, t.history(), &columns)?;
        t.checkpoint().save(&ckpt_path)
    })?;
    Ok(result)
}
