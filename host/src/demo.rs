//! `lifted demo`: the main demo on the bundled 8×8 digits, end to end.
//!
//! train (AROVR) → export (with every certificate constant) → inspect → certify with an attack
//! self-check → run the exported model on the Cortex-M firmware under QEMU and compare the
//! device's results with the host's, bit for bit. Each stage is the same library code as the
//! corresponding `lifted` command.

use std::path::PathBuf;
use std::time::Instant;

use anyhow::{Context, Result};
use clap::{Args, FromArgMatches};

/// Arguments of `lifted demo`.
#[derive(Debug, Clone, Args)]
#[command(
    after_help = "The firmware stage installs what it needs the way scripts/test.sh does (QEMU with \
scripts/install-qemu.sh, the thumb targets with `rustup toolchain install`); LIFTED_NO_INSTALL=1 turns that off.\n\n\
Exit status: 0 every stage passed (or --no-firmware); 3 the host stages passed but the firmware stage \
could not run because QEMU is missing and could not be installed, or because the firmware sources \
are not found (an installed binary whose checkout moved: set LIFTED_REPO to a checkout's root); the \
message says what to run; \
1 any error, including a certificate broken by the attack or a device result that differs from the host's."
)]
pub struct DemoArgs {
    /// Run folder for the training logs, the parameters and the exported model. The demo owns
    /// it: a run already in it is replaced (as `lifted train --force`).
    #[arg(long, default_value = "runs/demo", value_name = "DIR")]
    pub out: PathBuf,
    /// Training epochs.
    #[arg(long, default_value_t = 12)]
    pub epochs: usize,
    /// Seed of the weight initialisation and the batch order.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Stop after the host stages (skip the firmware build and the QEMU run).
    #[arg(long)]
    pub no_firmware: bool,
}

/// Parses `argv` into the argument struct of another command, so the demo uses exactly that
/// command's defaults.
fn parse<T: Args + FromArgMatches>(name: &'static str, argv: &[String]) -> Result<T> {
    let cmd = T::augment_args(clap::Command::new(name));
    let matches = cmd
        .try_get_matches_from(std::iter::once(name.to_string()).chain(argv.iter().cloned()))
        .with_context(|| format!("demo: building the `{name}` arguments"))?;
    Ok(T::from_arg_matches(&matches)?)
}

fn stage(n: usize, what: &str) {
    println!("\n=== {n}/5 {what}");
}

/// Runs the demo.
///
/// # Errors
/// Any stage failing (training, export, certification, a broken certificate, the firmware build
/// or a device result that differs from the host's).
pub fn run(args: &DemoArgs) -> Result<DemoOutcome> {
    let start = Instant::now();
    let out = args.out.display().to_string();
    let s = |v: &str| v.to_string();

    stage(
        1,
        "train a lifted network on the bundled 8×8 digits (AROVR, β = 0.5, K = 5)",
    );
    let train: crate::train::cli::TrainArgs = parse(
        "train",
        &[
            s("--dataset"),
            s("digits"),
            s("--objective"),
            s("arovr"),
            s("--beta"),
            s("0.5"),
            s("--widths"),
            s("64,64,10"),
            s("--lr"),
            s("3e-3"),
            s("--epochs"),
            args.epochs.to_string(),
            s("--seed"),
            args.seed.to_string(),
            s("--quiet"),
            s("--force"),
            s("--out"),
            out.clone(),
        ],
    )?;
    let result = crate::train::cli::run(&train)?;
    println!(
        "best epoch {} of {}: validation accuracy {:.1} %, test accuracy {:.1} %",
        result.best_epoch,
        args.epochs,
        100.0 * result.best_val_acc,
        100.0 * result.best_test_acc
    );

    stage(2, "export the model blob with its certificate constants");
    let model = args.out.join("model.lfm");
    let export: crate::model::cli_export::ExportArgs = parse(
        "export",
        &[
            s("--params"),
            args.out.join("best.params.json").display().to_string(),
            s("--out"),
            model.display().to_string(),
            s("--sidecar"),
        ],
    )?;
    crate::model::cli_export::run(&export)?;

    stage(3, "inspect it: what the firmware will need");
    let inspect: crate::model::cli_inspect::InspectArgs =
        parse("inspect", &[s("--model"), model.display().to_string()])?;
    crate::model::cli_inspect::run(&inspect)?;

    stage(
        4,
        "certify the held-out digits, and attack every certificate at its radius",
    );
    let certify: crate::eval::cli_certify::CertifyArgs = parse(
        "certify",
        &[
            s("--model"),
            model.display().to_string(),
            s("--dataset"),
            s("digits"),
            s("--cert-l2"),
            s("0.05,0.1,0.2,0.3"),
            s("--cert-linf"),
            s("0.01,0.02,0.03"),
            s("--self-check"),
            s("--plot"),
            args.out.join("radii.svg").display().to_string(),
        ],
    )?;
    let report = crate::eval::cli_certify::run(&certify)?;
    anyhow::ensure!(
        report.self_check.as_ref().is_none_or(|c| c.broken == 0),
        "a certificate was broken by the attack: this is a bug"
    );

    stage(
        5,
        "run the exported model on the Cortex-M4F firmware under QEMU",
    );
    let outcome = if args.no_firmware {
        println!("skipped (--no-firmware)");
        DemoOutcome::Complete
    } else {
        match crate::device::firmware::run(&model)? {
            crate::device::firmware::FirmwareStage::Ran => DemoOutcome::Complete,
            crate::device::firmware::FirmwareStage::Unavailable(why) => {
                println!("skipped: {why}");
                DemoOutcome::FirmwareUnavailable
            }
        }
    };
    println!(
        "\ndemo finished in {:.1} s; outputs in {}",
        start.elapsed().as_secs_f64(),
        out
    );
    Ok(outcome)
}

/// How [`run`] ended when it did not fail.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DemoOutcome {
    /// Every stage ran (or the firmware stage was skipped on request).
    Complete,
    /// The host stages passed; the firmware stage could not run (exit status 3).
    FirmwareUnavailable,
}

impl DemoOutcome {
    /// The process exit status `lifted demo` reports: 0, or 3 when the firmware stage could not
    /// run.
    #[must_use]
    pub fn exit_code(self) -> i32 {
        match self {
            DemoOutcome::Complete => 0,
            DemoOutcome::FirmwareUnavailable => 3,
        }
    }
}
