//! The main demo end to end on the real bundled digits: train (AROVR) → export → load in
//! lifted-core → certify with the attack self-check → (when QEMU is installed) the firmware run,
//! compared bit for bit. Asserts the acceptance numbers on the printed report.

use std::process::Command;

fn percent_after(out: &str, prefix: &str) -> f64 {
    let line = out
        .lines()
        .find(|l| l.trim_start().starts_with(prefix))
        .unwrap_or_else(|| panic!("no line starting with {prefix:?} in:\n{out}"));
    let pct = line.split_whitespace().rev().nth(1).expect("a percentage");
    pct.parse()
        .unwrap_or_else(|_| panic!("not a percentage in {line:?}"))
}

#[test]
fn demo_trains_certifies_and_matches_the_firmware() {
    let dir = tempfile::tempdir().expect("temp dir");
    let qemu = Command::new("qemu-system-arm")
        .arg("--version")
        .output()
        .is_ok();
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_lifted"));
    cmd.args(["demo", "--out"]).arg(dir.path());
    if !qemu {
        println!("firmware stage skipped: qemu-system-arm missing — run scripts/install-qemu.sh");
        cmd.arg("--no-firmware");
    }
    let out = cmd.output().expect("run lifted demo");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "demo failed:\n{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );

    // ≥ 90 % clean test accuracy on the held-out digits, through lifted-core's infer.
    let clean = stdout
        .lines()
        .find(|l| l.starts_with("clean"))
        .expect("clean accuracy line");
    let clean: f64 = clean
        .split_whitespace()
        .nth(1)
        .and_then(|v| v.parse().ok())
        .expect("clean %");
    assert!(clean >= 90.0, "clean accuracy {clean} %");
    // Certified accuracy > 0 at a small ℓ2 radius.
    assert!(percent_after(&stdout, "ℓ2         0.05") > 0.0);
    // 0 broken certificates in the self-check.
    assert!(
        stdout.contains("(total 0)"),
        "self-check line missing or not 0:\n{stdout}"
    );
    assert!(dir.path().join("model.lfm").is_file());

    // `lifted plot` on the demo's real training log: a PNG, and the selected epoch reported.
    let png = dir.path().join("figure1.png");
    let plot = Command::new(env!("CARGO_BIN_EXE_lifted"))
        .args(["plot", "--log"])
        .arg(dir.path().join("log.csv"))
        .arg("--out")
        .arg(&png)
        .output()
        .expect("run lifted plot");
    assert!(
        plot.status.success(),
        "{}",
        String::from_utf8_lossy(&plot.stderr)
    );
    assert_eq!(&std::fs::read(&png).expect("figure")[..4], b"\x89PNG");
    if qemu {
        assert!(
            stdout.contains(", 0 mismatches (bit for bit"),
            "firmware comparison:\n{stdout}"
        );
    }
}

/// Without QEMU (and without the right to install it) the demo still runs every host stage, says
/// what to run, and exits with the documented status 3 instead of an error.
#[test]
fn demo_without_qemu_finishes_the_host_stages_and_exits_3() {
    let dir = tempfile::tempdir().expect("temp dir");
    let out = Command::new(env!("CARGO_BIN_EXE_lifted"))
        .args(["demo", "--epochs", "2", "--out"])
        .arg(dir.path())
        // No qemu-system-arm on this PATH (the host stages run in-process), no install.
        .env("PATH", dir.path())
        .env("LIFTED_NO_INSTALL", "1")
        .output()
        .expect("run lifted demo");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(3), "{stdout}\n{stderr}");
    assert!(
        stdout.contains("=== 4/5"),
        "host stages incomplete:\n{stdout}"
    );
    assert!(
        stdout.contains("install-qemu.sh"),
        "no hint what to run:\n{stdout}"
    );
    assert!(stdout.contains("demo finished"), "{stdout}");
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert!(dir.path().join("model.lfm").is_file());
}
