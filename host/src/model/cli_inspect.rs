//! `lifted inspect`: dimensions, configuration, constants and memory needs of a model blob.

use std::path::PathBuf;

use anyhow::Result;
use clap::Args;

use crate::model::file::{open, read_blob};
use crate::model::inspect::{inspect, Inspection};
use crate::model::verify::verify_constants;

/// Arguments of `lifted inspect`.
#[derive(Debug, Clone, Args)]
#[command(
    after_help = "Flash bytes are the blob's parts (the firmware reads weights in place); RAM bytes are the \
inference workspace (lifted_core::Workspace::required_bytes) plus the input vector.\n\nExample: lifted inspect model.lfm"
)]
pub struct InspectArgs {
    /// The model blob (.lfm).
    #[arg(value_name = "M.lfm")]
    pub model: PathBuf,
    /// Print JSON instead of text.
    #[arg(long)]
    pub json: bool,
    /// Recompute every certificate constant from the weights and fail if a stored one is
    /// smaller than the sound bound (a blob edited or written by another tool).
    #[arg(long)]
    pub verify: bool,
}

/// Runs `lifted inspect`.
///
/// # Errors
/// Missing file, or a blob `lifted_core` refuses (the message names the problem and the fix).
pub fn run(args: &InspectArgs) -> Result<Inspection> {
    let blob = read_blob(&args.model)?;
    let model = open(&blob)?;
    let mut info = inspect(&args.model.display().to_string(), &model, &blob);
    if args.verify {
        info.verification = Some(verify_constants(&model));
    }
    if args.json {
        println!("{}", serde_json::to_string_pretty(&info)?);
    } else {
        print!("{info}");
    }
    if let Some(v) = &info.verification {
        v.require(&args.model.display().to_string())?;
    }
    Ok(info)
}
