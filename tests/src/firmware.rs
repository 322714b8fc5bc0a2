//! Building the firmware programs and running them under QEMU.

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// A firmware build configuration: Rust target, Cargo features, QEMU machines that run it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Target {
    /// Short name used in file names and messages.
    pub name: &'static str,
    /// Rust target triple.
    pub triple: &'static str,
    /// Cargo features of `lifted-firmware` (memory map).
    pub features: &'static [&'static str],
}

/// Cortex-M4F and M7 (`mps2-an386`, `mps2-an500`): hardware single-precision float.
pub const THUMBV7EM: Target = Target {
    name: "thumbv7em",
    triple: "thumbv7em-none-eabihf",
    features: &[],
};
/// Cortex-M3 on `lm3s6965evb` (256 KB flash, 64 KB RAM): soft float.
pub const THUMBV7M_LM3S: Target = Target {
    name: "thumbv7m-lm3s",
    triple: "thumbv7m-none-eabi",
    features: &["lm3s"],
};
/// Cortex-M0 on `microbit` (256 KB flash, 16 KB RAM): soft float.
pub const THUMBV6M_MICROBIT: Target = Target {
    name: "thumbv6m-microbit",
    triple: "thumbv6m-none-eabi",
    features: &["microbit"],
};

/// The repository root.
pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .map_or_else(|| PathBuf::from(".."), Path::to_path_buf)
}

/// `firmware/` (its own Cargo workspace).
pub fn firmware_dir() -> PathBuf {
    repo_root().join("firmware")
}

/// Scratch folder of these tests: `target/lifted-tests/` of the root workspace.
pub fn work_dir() -> PathBuf {
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map_or_else(|| repo_root().join("target"), PathBuf::from);
    let dir = target.join("lifted-tests");
    let _ = std::fs::create_dir_all(&dir);
    dir
}

/// `qemu-system-arm` on the PATH, if any.
pub fn qemu() -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|d| d.join("qemu-system-arm"))
        .find(|p| p.is_file())
}

/// If QEMU is missing: prints why the calling test is skipped and returns `true`.
pub fn skip_without_qemu(test: &str) -> bool {
    if qemu().is_some() {
        return false;
    }
    println!(
        "skipped {test}: qemu-system-arm is not installed — run scripts/install-qemu.sh (CI does)"
    );
    true
}

/// Firmware builds are serialised: they share `firmware/target`, and two configurations of the
/// same program write the same ELF path.
static BUILD_LOCK: Mutex<()> = Mutex::new(());

/// Builds firmware program `bin` in release for `target` with the build-time environment `env`
/// (`LIFTED_MODEL`, `LIFTED_GOLDEN`; unset variables take the defaults of `firmware/build.rs`),
/// and copies the ELF to `target/lifted-tests/<triple>/<tag>.elf` so that later builds cannot change it
/// under a running test. Returns the copy's path.
///
/// # Errors
/// The build fails; the message holds cargo's output.
pub fn build(
    bin: &str,
    target: Target,
    env: &[(&str, &Path)],
    tag: &str,
) -> Result<PathBuf, String> {
    let _guard = BUILD_LOCK.lock().unwrap_or_else(|e| e.into_inner());
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let mut cmd = Command::new(cargo);
    cmd.current_dir(firmware_dir())
        .args([
            "build",
            "--release",
            "--message-format=json-render-diagnostics",
        ])
        .args(["--bin", bin, "--target", target.triple])
        .env_remove("LIFTED_MODEL")
        .env_remove("LIFTED_GOLDEN")
        // The firmware workspace has its own target folder (firmware/target).
        .env_remove("CARGO_TARGET_DIR")
        .stdin(Stdio::null());
    if !target.features.is_empty() {
        cmd.args(["--features", &target.features.join(",")]);
    }
    for (k, v) in env {
        cmd.env(k, v);
    }
    let start = Instant::now();
    let out = cmd
        .output()
        .map_err(|e| format!("running cargo in firmware/: {e}"))?;
    if !out.status.success() {
        return Err(format!(
            "building firmware `{bin}` for {} failed:\n{}",
            target.triple,
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    let elf = String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .filter(|v| v["reason"] == "compiler-artifact" && v["target"]["name"] == bin)
        .find_map(|v| v["executable"].as_str().map(PathBuf::from))
        .ok_or_else(|| format!("cargo did not report the ELF of `{bin}`"))?;
    // Keep the triple in the path: qemu-run.sh checks machine/target pairs by it.
    let dir = work_dir().join(target.triple);
    std::fs::create_dir_all(&dir).map_err(|e| format!("creating {}: {e}", dir.display()))?;
    let copy = dir.join(format!("{tag}.elf"));
    std::fs::copy(&elf, &copy).map_err(|e| format!("copying {}: {e}", elf.display()))?;
    println!(
        "built {bin} for {} ({tag}) in {:.1} s",
        target.triple,
        start.elapsed().as_secs_f64()
    );
    Ok(copy)
}

/// Runs `elf` on QEMU `machine` through `firmware/qemu-run.sh` (semihosting exit status, stdin
/// closed) with a timeout of `timeout`.
///
/// # Errors
/// QEMU cannot be started.
pub fn run_qemu(machine: &str, elf: &Path, timeout: Duration) -> Result<Output, String> {
    Command::new("bash")
        .arg(firmware_dir().join("qemu-run.sh"))
        .arg(machine)
        .arg(elf)
        .env("QEMU_MACHINE", machine)
        .env("QEMU_TIMEOUT", timeout.as_secs().max(1).to_string())
        .stdin(Stdio::null())
        .output()
        .map_err(|e| format!("running qemu-run.sh: {e}"))
}
