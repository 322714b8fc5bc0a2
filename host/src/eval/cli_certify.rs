//! `lifted certify`: certified accuracy, radius distributions and the attack self-check.

use std::path::PathBuf;

use anyhow::{bail, Result};
use clap::Args;

use crate::eval::args::{show_progress, CertRadii, DataArgs, PgdArgs};
use crate::eval::forward_gap::forward_gap;
use crate::eval::report::{build, self_check, CertifyReport};
use crate::eval::{check_compatible, predict, progress_bar};
use crate::model::file::{open, read_blob};
use crate::model::verify::verify_constants;
use crate::plot::radius_histogram;

/// Arguments of `lifted certify`.
#[derive(Debug, Clone, Args)]
#[command(
    after_help = "Every prediction and certificate is computed by lifted-core's infer/certify on the blob, \
exactly as on the device. Before that, every certificate constant stored in the blob is recomputed from its \
weights; a blob whose constants understate the sound bounds is refused. Certified accuracy counts samples that are correctly classified AND certified.\n\n\
Example: lifted certify --model model.lfm --dataset digits --self-check --plot radii.png\n\
Example (VNN-LIB): lifted certify --model model.lfm --dataset digits --vnnlib props/"
)]
pub struct CertifyArgs {
    /// The exported model blob (.lfm).
    #[arg(long, value_name = "M.lfm")]
    pub model: PathBuf,
    #[command(flatten)]
    pub data: DataArgs,
    #[command(flatten)]
    pub radii: CertRadii,
    /// Print the report as JSON (with the per-sample radii) instead of tables.
    #[arg(long)]
    pub json: bool,
    /// Draw a histogram of the certified radii (.png or .svg).
    #[arg(long, value_name = "FILE")]
    pub plot: Option<PathBuf>,
    /// Attack every certificate at its certified radius (input ℓ2, input ℓ∞ and hidden layers)
    /// with PGD; any success is a broken certificate and makes the command fail.
    #[arg(long)]
    pub self_check: bool,
    /// PGD restarts per certificate in the self-check (1 to 1000).
    #[arg(long, default_value_t = 3)]
    pub restarts: usize,
    #[command(flatten)]
    pub pgd: PgdArgs,
    /// Write DIR/model.onnx (the deployed map) and one VNN-LIB property per certified sample and
    /// norm (the ℓ∞ box, or for ℓ2 the box inscribed in the ball), with DIR/instances.csv, so
    /// that a third-party verifier can check the certificates (docs/interop.md).
    #[arg(long, value_name = "DIR")]
    pub vnnlib: Option<PathBuf>,
}

/// Runs `lifted certify`; returns the report (already printed).
///
/// # Errors
/// Bad inputs (missing files, wrong dimensions, corrupt blob), or broken certificates in the
/// self-check.
pub fn run(args: &CertifyArgs) -> Result<CertifyReport> {
    args.radii.check()?;
    let pgd = args.pgd.config(args.restarts)?;
    let blob = read_blob(&args.model)?;
    let model = open(&blob)?;
    // The device trusts a blob with a matching CRC; the host recomputes the constants first.
    verify_constants(&model).require(&args.model.display().to_string())?;
    let data = args.data.load()?;
    check_compatible(&model, &data)?;
    let show = show_progress() && !args.json;
    let (report, vnnlib) = args.data.run_in_pool(|| {
        let pb = progress_bar(data.len(), "certifying", show);
        let preds = predict(&model, &data, true, &pb);
        pb.finish_and_clear();
        let mut report = build(
            &args.model.display().to_string(),
            &model,
            &data.name,
            &preds,
            &args.radii.l2,
            &args.radii.linf,
        );
        report.forward_gap = forward_gap(&model, &data);
        if args.self_check {
            let pb = progress_bar(0, "self-check", show);
            report.self_check = Some(self_check(
                &model,
                |i| data.input(i),
                &preds,
                &pgd,
                1.0,
                &pb,
            ));
            pb.finish_and_clear();
        }
        let vnnlib = match &args.vnnlib {
            Some(dir) => Some(crate::eval::vnnlib::write_dir(
                dir,
                &model,
                |i| data.input(i),
                &preds,
            )?),
            None => None,
        };
        Ok((report, vnnlib))
    })?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        print!("{report}");
    }
    if let (Some(v), false) = (&vnnlib, args.json) {
        println!(
            "\n{} VNN-LIB properties and {} written to {}",
            v.properties.len(),
            v.onnx.display(),
            v.dir.display()
        );
    }
    if let Some(path) = &args.plot {
        let title = format!(
            "certified radii — {} on {}",
            args.model.display(),
            data.name
        );
        radius_histogram(path, &report.l2.radii, &report.linf.radii, &title)?;
        if !args.json {
            println!("\nhistogram written to {}", path.display());
        }
    }
    if let Some(s) = &report.self_check {
        if s.broken > 0 {
            bail!(
                "self-check: PGD broke {} certificate(s) at the certified radius — this is a soundness bug \
                 in the certificate, never a statistic; report it with the model and the samples listed above",
                s.broken
            );
        }
    }
    Ok(report)
}
