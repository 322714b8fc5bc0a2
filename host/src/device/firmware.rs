//! The firmware stage of `lifted demo`: build the Cortex-M4F `golden` program with a freshly
//! exported model and the held-out digits, run it under QEMU, and compare every result with the
//! host's, bit for bit.

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Instant;

use anyhow::{ensure, Context, Result};

use crate::data::{load, DatasetKind};

/// Writes the digits test split as a golden input file (pixels 0…16, x = v/16 exactly).
fn golden_file(path: &Path) -> Result<usize> {
    let splits = load(DatasetKind::Digits, None, None)?;
    let test = &splits.test;
    let pixels: Vec<u8> = test
        .inputs
        .iter()
        .map(|&x| (x * 16.0).round() as u8)
        .collect();
    for (p, &x) in pixels.iter().zip(&test.inputs) {
        ensure!(
            f32::from(*p) / 16.0 == x,
            "digits input {x} is not a multiple of 1/16"
        );
    }
    let bytes = lifted_proto::golden::write_file(16, test.dim, &test.labels, &pixels);
    std::fs::write(path, bytes).with_context(|| format!("writing {}", path.display()))?;
    Ok(test.labels.len())
}

/// How the firmware stage ended when it did not fail.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FirmwareStage {
    /// Built, ran under QEMU and matched the host bit for bit.
    Ran,
    /// The tools it needs are missing and could not be installed; the message says what to run.
    Unavailable(String),
}

fn qemu_present() -> bool {
    Command::new("qemu-system-arm")
        .arg("--version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// Whether the demo may install what the firmware stage needs (`LIFTED_NO_INSTALL=1` says no).
fn may_install() -> bool {
    std::env::var_os("LIFTED_NO_INSTALL").is_none_or(|v| v.is_empty() || v == "0")
}

/// Runs the firmware stage for the exported model at `model`. Missing tools are installed the
/// way `scripts/test.sh` does (QEMU with `scripts/install-qemu.sh`, the pinned toolchain's thumb
/// targets with `rustup toolchain install`) unless `LIFTED_NO_INSTALL=1`; if QEMU is still
/// missing the stage reports [`FirmwareStage::Unavailable`] instead of failing.
///
/// # Errors
/// The firmware sources are not found, the build fails, or the device disagrees with the host.
pub fn run(model: &Path) -> Result<FirmwareStage> {
    // Without the sources (an installed binary whose checkout moved), the host stages stand.
    let fw = match crate::device::repo::firmware_dir() {
        Ok(fw) => fw,
        Err(why) => return Ok(FirmwareStage::Unavailable(why)),
    };
    let repo = fw.join("..");
    if !qemu_present() && may_install() {
        println!("qemu-system-arm is missing: installing it with scripts/install-qemu.sh …");
        let _ = Command::new("bash")
            .arg(repo.join("scripts/install-qemu.sh"))
            .stdin(Stdio::null())
            .status();
    }
    if !qemu_present() {
        return Ok(FirmwareStage::Unavailable(format!(
            "qemu-system-arm is not installed and could not be installed here — run \
             `bash {}` (needs root or sudo and the Debian package registry), then `lifted demo` \
             again; or pass --no-firmware",
            repo.join("scripts/install-qemu.sh").display()
        )));
    }
    if may_install() {
        // The pinned toolchain with its thumb targets (rust-toolchain.toml); idempotent.
        let _ = Command::new("rustup")
            .args(["toolchain", "install"])
            .current_dir(&repo)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
    }
    let model =
        std::fs::canonicalize(model).with_context(|| format!("reading {}", model.display()))?;
    let golden = model.with_file_name("digits-test.lgi");
    let n = golden_file(&golden)?;

    let start = Instant::now();
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let status = Command::new(cargo)
        .current_dir(&fw)
        .args(["build", "--release", "--quiet", "--bin", "golden"])
        .env("LIFTED_MODEL", &model)
        .env("LIFTED_GOLDEN", &golden)
        .env_remove("CARGO_TARGET_DIR")
        .stdin(Stdio::null())
        .status()
        .context("running cargo in firmware/")?;
    ensure!(
        status.success(),
        "building the firmware failed (see cargo's output above)"
    );
    println!(
        "built firmware `golden` for thumbv7em-none-eabihf with {} in {:.1} s",
        model.display(),
        start.elapsed().as_secs_f64()
    );

    let elf = fw.join("target/thumbv7em-none-eabihf/release/golden");
    let start = Instant::now();
    let out = Command::new(fw.join("qemu-run.sh"))
        .current_dir(&fw)
        .args(["mps2-an386", &elf.display().to_string()])
        .stdin(Stdio::null())
        .output()
        .context("running QEMU")?;
    let stdout = String::from_utf8_lossy(&out.stdout);
    ensure!(
        out.status.success(),
        "the firmware failed under QEMU ({}):\n{}{}",
        out.status,
        stdout,
        String::from_utf8_lossy(&out.stderr)
    );
    println!(
        "ran {n} digits on QEMU mps2-an386 (Cortex-M4F) in {:.1} s",
        start.elapsed().as_secs_f64()
    );

    let blob =
        crate::model::file::read_model_bytes(&model, "run `lifted demo` again to export it")?;
    let host = crate::device::golden::expected_lines(&blob, &std::fs::read(&golden)?)
        .map_err(anyhow::Error::msg)?;
    let device = crate::device::golden::device_lines(&stdout);
    let cmp = crate::device::golden::compare(&device, &host, 5);

    println!(
        "\n  #  label | host: class  ℓ2 radius  ℓ∞ radius | device: class  ℓ2 radius  ℓ∞ radius"
    );
    for (h, d) in host.iter().skip(1).zip(device.iter().skip(1)).take(10) {
        let (hf, df) = (fields(h), fields(d));
        println!(
            "{:>3}  {:>5} | {:>11} {:>10} {:>10} | {:>13} {:>10} {:>10}",
            hf.index, hf.label, hf.class, hf.l2, hf.linf, df.class, df.l2, df.linf
        );
    }
    if let Some(summary) = device.last() {
        println!("device summary: {summary}");
    }
    println!(
        "host vs device: {} result lines compared, {} mismatches (bit for bit: logits, margins, radii)",
        host.len(),
        cmp.mismatches()
    );
    ensure!(
        cmp.mismatches() == 0,
        "host and firmware disagree:\n{}",
        cmp.report
    );
    Ok(FirmwareStage::Ran)
}

/// The displayed fields of one `sample …` line.
struct Fields {
    index: String,
    label: String,
    class: String,
    l2: String,
    linf: String,
}

fn fields(line: &str) -> Fields {
    let t: Vec<&str> = line.split_whitespace().collect();
    let after = |key: &str| -> String {
        t.iter()
            .position(|&w| w == key)
            .and_then(|i| t.get(i + 1))
            .map_or_else(|| "-".to_string(), |s| (*s).to_string())
    };
    // Radii are printed as `<bits> (<decimal>)`: show the decimal.
    let dec = |key: &str| -> String {
        t.iter()
            .position(|&w| w == key)
            .and_then(|i| t.get(i + 2))
            .map_or_else(
                || "-".to_string(),
                |s| s.trim_matches(|c| c == '(' || c == ')').to_string(),
            )
    };
    Fields {
        index: after("sample"),
        label: after("label"),
        class: after("class"),
        l2: dec("l2"),
        linf: dec("linf"),
    }
}
