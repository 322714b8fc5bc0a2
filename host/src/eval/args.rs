//! Arguments and helpers shared by `lifted certify` and `lifted evaluate`.

use std::io::IsTerminal;
use std::path::PathBuf;

use anyhow::{ensure, Context, Result};
use clap::Args;

use crate::data::{self, Dataset, DatasetKind, OwnData};
use crate::eval::attack::{PgdConfig, StepSchedule};
use crate::limits::{check_max, MAX_PGD_RESTARTS, MAX_PGD_STEPS, MAX_THREADS};

/// Which split of a data set to evaluate.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Split {
    /// The training split.
    Train,
    /// The validation split.
    Val,
    /// The test split.
    Test,
}

impl Split {
    /// `train`, `val` or `test`.
    #[must_use]
    pub fn name(self) -> &'static str {
        match self {
            Split::Train => "train",
            Split::Val => "val",
            Split::Test => "test",
        }
    }
}

/// The data to evaluate on.
#[derive(Debug, Clone, Args)]
pub struct DataArgs {
    /// Data set (digits is embedded; mnist and fashion-mnist need `lifted data fetch`); or use
    /// your own file with --data.
    #[arg(
        long,
        value_enum,
        required_unless_present = "file",
        conflicts_with = "file"
    )]
    pub dataset: Option<DatasetKind>,
    /// Folder of the data set's files [default: the embedded digits, or data/DATASET/].
    #[arg(long, value_name = "DIR", conflicts_with = "file")]
    pub data_dir: Option<PathBuf>,
    /// Which split to evaluate.
    #[arg(long, value_enum, default_value_t = Split::Test)]
    pub split: Split,
    /// Evaluate only the first N samples of the split.
    #[arg(long, value_name = "N")]
    pub limit: Option<usize>,
    /// Worker threads (0: one per core, at most 1024) [default: 0]; results do not depend on it.
    #[arg(long, value_name = "N")]
    pub threads: Option<usize>,
    /// Your own data file instead of --dataset.
    #[command(flatten)]
    pub own: OwnData,
}

impl DataArgs {
    /// Loads the split (first `limit` samples).
    ///
    /// # Errors
    /// Missing or corrupt files (the message names the file and the fetch command), or an empty
    /// selection.
    pub fn load(&self) -> Result<Dataset> {
        let splits = data::load_any(self.dataset, self.data_dir.as_deref(), &self.own, None)?;
        let set = match self.split {
            Split::Train => splits.train,
            Split::Val => splits.val,
            Split::Test => splits.test,
        };
        let base = self
            .dataset
            .map_or_else(|| self.own.name(), |k| k.name().to_owned());
        let name = format!("{base}:{}", self.split.name());
        let set = match self.limit {
            Some(n) => set.slice(0..n, &name),
            None => Dataset { name, ..set },
        };
        ensure!(
            !set.is_empty(),
            "no samples selected from {} (--limit 0?)",
            set.name
        );
        Ok(set)
    }

    /// Runs `f` on a rayon pool of `--threads` threads (the global pool, one thread per core,
    /// without the flag or with `--threads 0`).
    ///
    /// # Errors
    /// More than [`MAX_THREADS`] threads, the pool cannot be built, or `f` fails.
    pub fn run_in_pool<T: Send>(&self, f: impl FnOnce() -> Result<T> + Send) -> Result<T> {
        match self.threads {
            // 0, as in `lifted train`: one thread per core (the global pool).
            None | Some(0) => f(),
            Some(n) => {
                check_max("--threads", n, MAX_THREADS)?;
                let pool = rayon::ThreadPoolBuilder::new()
                    .num_threads(n)
                    .build()
                    .context("starting worker threads")?;
                pool.install(f)
            }
        }
    }
}

/// PGD settings on the command line.
#[derive(Debug, Clone, Args)]
pub struct PgdArgs {
    /// PGD steps per restart (1 to 10000).
    #[arg(long, default_value_t = 40)]
    pub steps: usize,
    /// Step size as a fraction of ε (ℓ∞: sign steps; ℓ2: normalised gradient steps).
    #[arg(long, default_value_t = 0.1, value_name = "FRACTION")]
    pub rel_step: f64,
    /// Step-size schedule.
    #[arg(long, value_enum, default_value_t = StepSchedule::Constant)]
    pub step_schedule: StepSchedule,
    /// Seed of the random starts.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
}

impl PgdArgs {
    /// The attack settings with `restarts` restarts.
    ///
    /// # Errors
    /// Zero steps or restarts, more than [`MAX_PGD_STEPS`] steps or [`MAX_PGD_RESTARTS`]
    /// restarts, or a step size that is not positive.
    pub fn config(&self, restarts: usize) -> Result<PgdConfig> {
        ensure!(self.steps >= 1, "--steps must be at least 1");
        ensure!(restarts >= 1, "--restarts must be at least 1");
        check_max("--steps", self.steps, MAX_PGD_STEPS)?;
        check_max("--restarts", restarts, MAX_PGD_RESTARTS)?;
        ensure!(
            self.rel_step.is_finite() && self.rel_step > 0.0,
            "--rel-step must be positive"
        );
        Ok(PgdConfig {
            steps: self.steps,
            restarts,
            rel_step: self.rel_step,
            schedule: self.step_schedule,
            random_start: true,
            seed: self.seed,
        })
    }
}

/// Whether progress bars should be drawn (stderr is a terminal).
#[must_use]
pub fn show_progress() -> bool {
    std::io::stderr().is_terminal()
}

/// Checks a list of radii.
///
/// # Errors
/// A radius that is negative or not finite.
pub fn check_radii(flag: &str, radii: &[f32]) -> Result<()> {
    for &r in radii {
        ensure!(
            r.is_finite() && r >= 0.0,
            "{flag} {r}: radii must be finite and ≥ 0"
        );
    }
    Ok(())
}

/// The radii at which a report gives certified accuracy (`lifted certify`, `lifted remote`).
#[derive(Debug, Clone, PartialEq, Args)]
pub struct CertRadii {
    /// ℓ2 radii for the certified-accuracy table.
    #[arg(
        long = "cert-l2",
        aliases = ["l2", "eps-l2"],
        value_delimiter = ',',
        action = clap::ArgAction::Set,
        default_value = "0.1,0.3,0.5,1.0",
        value_name = "EPS,…"
    )]
    pub l2: Vec<f32>,
    /// ℓ∞ radii for the certified-accuracy table.
    #[arg(
        long = "cert-linf",
        aliases = ["linf", "eps-linf"],
        value_delimiter = ',',
        action = clap::ArgAction::Set,
        default_value = "0.01,0.03,0.05",
        value_name = "EPS,…"
    )]
    pub linf: Vec<f32>,
}

impl CertRadii {
    /// Checks both lists ([`check_radii`]).
    ///
    /// # Errors
    /// A radius that is negative or not finite, naming its flag.
    pub fn check(&self) -> Result<()> {
        check_radii("--cert-l2", &self.l2)?;
        check_radii("--cert-linf", &self.linf)
    }
}
