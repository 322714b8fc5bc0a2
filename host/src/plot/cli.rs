//! `lifted plot`: Figure-1-style training curves from per-epoch logs.

use std::path::PathBuf;

use anyhow::Result;
use clap::Args;

use crate::plot::{read_log, selected_row, training_curves, RunLog};

/// Arguments of `lifted plot`.
#[derive(Debug, Clone, Args)]
#[command(
    after_help = "Each log is a log.csv (header row) or log.jsonl with at least the columns epoch, \
lip_estimate, lip_bound, val_acc and test_acc. Left panel: lip_estimate (solid) and lip_bound (dashed) on a \
log scale, one colour per run; right panel: test accuracy with a marker at the epoch of best validation \
accuracy (ties: the earlier epoch).\n\n\
Example: lifted plot --log runs/bp/log.csv --log runs/arovr/log.csv --out fig1.png"
)]
pub struct PlotArgs {
    /// A training log (repeat for several runs).
    #[arg(long = "log", value_name = "LOG", required = true)]
    pub logs: Vec<PathBuf>,
    /// Image to write (.png or .svg).
    #[arg(long, value_name = "FILE")]
    pub out: PathBuf,
}

/// Runs `lifted plot`; prints the validation-selected epoch of every run.
///
/// # Errors
/// A log is missing or malformed, or the image cannot be written.
pub fn run(args: &PlotArgs) -> Result<Vec<RunLog>> {
    let runs = args
        .logs
        .iter()
        .map(|p| read_log(p))
        .collect::<Result<Vec<_>>>()?;
    training_curves(&args.out, &runs)?;
    println!(
        "{:<24} {:>7} {:>9} {:>9} {:>9} {:>14} {:>12}",
        "run", "epochs", "selected", "val acc", "test acc", "lip estimate", "lip bound"
    );
    for r in &runs {
        let last = r.epoch.len().saturating_sub(1);
        match selected_row(r) {
            Some(s) => println!(
                "{:<24} {:>7} {:>9} {:>8.2}% {:>8.2}% {:>14.4} {:>12.4}",
                r.name,
                r.epoch.len(),
                r.epoch[s],
                100.0 * r.val_acc[s],
                100.0 * r.test_acc[s],
                r.lip_estimate[last],
                r.lip_bound[last]
            ),
            None => println!("{:<24} {:>7} {:>9}", r.name, r.epoch.len(), "—"),
        }
    }
    println!("figure written to {}", args.out.display());
    Ok(runs)
}
