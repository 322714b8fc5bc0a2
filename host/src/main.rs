//! The `lifted` command-line tool.

use std::process::ExitCode;

use anyhow::Result;
use clap::{Parser, Subcommand};

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
    Data(lifted::data::cli::DataCommand),
    /// Train a lifted network with any objective of docs/method.md §5 and write a run folder (logs, best model,
    /// checkpoint).
    Train(Box<lifted::train::cli::TrainArgs>),
    /// Certified accuracy at lists of ℓ2/ℓ∞ radii, radius distributions, internal radii and an
    /// attack self-check of an exported model (through lifted-core's infer/certify).
    Certify(Box<lifted::eval::cli_certify::CertifyArgs>),
    /// Clean accuracy and PGD robust accuracy (input ℓ∞/ℓ2, hidden layers) of an exported model.
    Evaluate(Box<lifted::eval::cli_evaluate::EvaluateArgs>),
    /// Write a model blob with all certificate constants (and a NumPy/JSON sidecar) from a
    /// parameter file.
    Export(lifted::model::cli_export::ExportArgs),
    /// Write the deployed map of a model blob (the exact unrolled update list) as an ONNX model.
    Onnx(lifted::model::onnx::OnnxArgs),
    /// Show a model blob's dimensions, configuration, constants, flash and RAM needs.
    Inspect(lifted::model::cli_inspect::InspectArgs),
    /// Draw Figure-1-style curves (Lipschitz estimate/bound, selected test accuracy) from
    /// training logs.
    Plot(lifted::plot::cli::PlotArgs),
    /// Run a grid of training runs from an experiment file (resumable), list it, or turn its
    /// results into Figure-1 plots and tables.
    #[command(subcommand)]
    Experiment(lifted::experiment::cli::ExperimentCommand),
    /// Stream a data set to a board or QEMU running the `serve` firmware and check every
    /// answer against this host's result, bit for bit (accuracy, certified accuracy, mismatches).
    Remote(Box<lifted::device::remote::RemoteArgs>),
}

fn main() -> ExitCode {
    quiet_on_closed_stdout();
    match run(Cli::parse()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            // `{:#}` prints the whole context chain on one line, without a backtrace.
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

/// `lifted … | head` closes standard output early. Rust ignores SIGPIPE, so the next `println!`
/// panics with "failed printing to stdout: Broken pipe"; end quietly instead, with the status of a
/// process ended by SIGPIPE (128 + 13), as other command-line tools do.
fn quiet_on_closed_stdout() {
    let default = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        let payload = info.payload();
        let msg = payload
            .downcast_ref::<String>()
            .map(String::as_str)
            .or_else(|| payload.downcast_ref::<&str>().copied())
            .unwrap_or("");
        if msg.starts_with("failed printing to stdout") && msg.contains("Broken pipe") {
            std::process::exit(141);
        }
        default(info);
    }));
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
        Some(Command::Certify(args)) => drop(lifted::eval::cli_certify::run(&args)?),
        Some(Command::Evaluate(args)) => drop(lifted::eval::cli_evaluate::run(&args)?),
        Some(Command::Export(args)) => drop(lifted::model::cli_export::run(&args)?),
        Some(Command::Onnx(args)) => drop(lifted::model::onnx::run(&args)?),
        Some(Command::Inspect(args)) => drop(lifted::model::cli_inspect::run(&args)?),
        Some(Command::Plot(args)) => drop(lifted::plot::cli::run(&args)?),
        Some(Command::Experiment(cmd)) => lifted::experiment::cli::run_command(&cmd)?,
        Some(Command::Remote(args)) => drop(lifted::device::remote::run(&args)?),
        Some(Command::Data(cmd)) => lifted::data::cli::run(&cmd)?,
    }
    Ok(())
}
