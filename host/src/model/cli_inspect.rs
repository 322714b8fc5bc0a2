//! `lifted inspect`: dimensions, configuration, constants and memory needs of a model blob.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use clap::Args;

use crate::model::file::{open, read_blob};
use crate::model::inspect::{inspect, Inspection};
use crate::model::verify::verify_constants;

/// Arguments of `lifted inspect`.
#[derive(Debug, Clone, Args)]
#[command(
    override_usage = "lifted inspect [OPTIONS] --model <M.lfm>",
    after_help = "Flash bytes are the blob's parts (the firmware reads weights in place); RAM bytes are the \
inference workspace (lifted_core::Workspace::required_bytes) plus the input vector.\n\nExample: lifted inspect --model model.lfm"
)]
pub struct InspectArgs {
    /// The model blob (.lfm).
    #[arg(
        long,
        value_name = "M.lfm",
        required_unless_present = "model_argument",
        conflicts_with = "model_argument"
    )]
    pub model: Option<PathBuf>,
    /// The model blob as a positional argument: the older form of `--model`, hidden.
    #[arg(value_name = "M.lfm", hide = true)]
    pub model_argument: Option<PathBuf>,
    /// Print JSON instead of text.
    #[arg(long)]
    pub json: bool,
    /// Recompute every certificate constant from the weights and fail if a stored one is
    /// smaller than the sound bound (a blob edited or written by another tool).
    #[arg(long)]
    pub verify: bool,
}

impl InspectArgs {
    /// The model blob: `--model`, or the older positional argument.
    ///
    /// # Errors
    /// Neither was given (the command line parser refuses that first).
    pub fn model_path(&self) -> Result<&Path> {
        self.model
            .as_deref()
            .or(self.model_argument.as_deref())
            .context("--model M.lfm missing: give the model blob to inspect")
    }
}

/// Runs `lifted inspect`.
///
/// # Errors
/// Missing file, or a blob `lifted_core` refuses (the message names the problem and the fix).
pub fn run(args: &InspectArgs) -> Result<Inspection> {
    let path = args.model_path()?;
    let blob = read_blob(path)?;
    let model = open(&blob)?;
    let mut info = inspect(&path.display().to_string(), &model, &blob);
    if args.verify {
        info.verification = Some(verify_constants(&model));
    }
    if args.json {
        println!("{}", serde_json::to_string_pretty(&info)?);
    } else {
        print!("{info}");
    }
    if let Some(v) = &info.verification {
        v.require(&path.display().to_string())?;
    }
    Ok(info)
}
