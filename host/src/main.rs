//! The `lifted` command-line tool.

use clap::Parser;

/// Train, certify and export lifted neural networks for microcontrollers.
#[derive(Parser)]
#[command(version, about)]
struct Cli {}

fn main() -> anyhow::Result<()> {
    let _cli = Cli::parse();
    Ok(())
}
