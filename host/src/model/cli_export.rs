//! `lifted export`: parameters → model blob (+ sidecar).

use std::path::PathBuf;

use anyhow::Result;
use clap::Args;
use lifted_core::bounds::Limits;

use crate::model::export::{export, ExportSummary};
use crate::model::import_safetensors::ImportArgs;
use crate::model::params::load_params;

/// Arguments of `lifted export`.
#[derive(Debug, Clone, Args)]
#[command(
    after_help = "The certificate constants are computed by lifted-core's bounds module (sound f64 bounds \
rounded up to f32) for the model's own schedule, K, init and family. The written blob is read back and \
validated with the firmware's loader.\n\n\
Example: lifted export --params run/best.params.json --out model.lfm --sidecar\n\
Example (also ONNX): lifted export --params run/best.params.json --out model.lfm --onnx model.onnx\n\n\
A plain MLP trained elsewhere: lifted export --safetensors mlp.safetensors --input-range 0,1 --out model.lfm \
(layer naming: see host/src/model/import_safetensors.rs and docs/model-format.md)"
)]
pub struct ExportArgs {
    /// Parameter file written by training (`best.params.json`, format in host/src/model/params.rs).
    #[arg(long, value_name = "FILE", required_unless_present = "safetensors")]
    pub params: Option<PathBuf>,
    #[command(flatten)]
    pub import: ImportArgs,
    /// Blob to write (.lfm).
    #[arg(long, value_name = "M.lfm")]
    pub out: PathBuf,
    /// Largest ℓ2 input radius the certificate covers (the float error terms are computed for it).
    #[arg(long, default_value_t = Limits::default().eps_l2_max, value_name = "EPS")]
    pub eps_l2_max: f32,
    /// Largest ℓ∞ input radius the certificate covers.
    #[arg(long, default_value_t = Limits::default().eps_inf_max, value_name = "EPS")]
    pub eps_linf_max: f32,
    /// Largest ℓ2 radius for hidden-activity perturbations.
    #[arg(long, default_value_t = Limits::default().eps_internal_max, value_name = "EPS")]
    pub eps_internal_max: f32,
    /// Gram-iteration steps of the spectral-norm bounds (more is tighter).
    #[arg(long, default_value_t = Limits::default().gram_steps, value_name = "N")]
    pub gram_steps: u32,
    /// Also write M.npz (weights and pair constants, NumPy format) and M.json (configuration,
    /// metadata, certificate constants) next to the blob.
    #[arg(long)]
    pub sidecar: bool,
    /// Also write the deployed map (the exact unrolled update list that `infer` runs) as an ONNX
    /// model: input `x` [N, n₀], output `logits` [N, C] (docs/interop.md).
    #[arg(long, value_name = "M.onnx")]
    pub onnx: Option<PathBuf>,
    /// Print the summary as JSON.
    #[arg(long)]
    pub json: bool,
}

/// Runs `lifted export`.
///
/// # Errors
/// Missing or invalid parameter file, bad limits, or a file that cannot be written.
pub fn run(args: &ExportArgs) -> Result<ExportSummary> {
    let params = match (&args.params, &args.import.safetensors) {
        (Some(p), None) => load_params(p)?,
        (None, Some(_)) => args.import.import()?,
        _ => anyhow::bail!("give either --params or --safetensors"),
    };
    let limits = Limits {
        eps_l2_max: args.eps_l2_max,
        eps_inf_max: args.eps_linf_max,
        eps_internal_max: args.eps_internal_max,
        gram_steps: args.gram_steps,
    };
    let s = export(&params, &args.out, &limits, args.sidecar)?;
    if let Some(path) = &args.onnx {
        let bytes = crate::model::onnx::write_onnx_of_blob(&args.out, path)?;
        if !args.json {
            println!("ONNX {} ({bytes} bytes)", path.display());
        }
    }
    if args.json {
        println!("{}", serde_json::to_string_pretty(&s)?);
    } else {
        println!(
            "wrote {} ({} bytes, CRC-32 {:#010x})",
            s.blob.display(),
            s.blob_bytes,
            s.crc32
        );
        if s.constants_valid {
            println!(
                "certificate constants valid; ℓ2 pair constants {:.4} … {:.4}",
                s.pairs_l2.0, s.pairs_l2.1
            );
        } else {
            println!(
                "WARNING: a certificate constant is not finite — this model will never certify"
            );
        }
        if let Some((npz, json)) = &s.sidecar {
            println!("sidecar {} and {}", npz.display(), json.display());
        }
        println!(
            "inspect it with: lifted inspect --model {}",
            s.blob.display()
        );
    }
    Ok(s)
}
