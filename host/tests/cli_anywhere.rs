//! The CLI from anywhere: an installed `lifted` run in an empty folder outside the checkout.
//! Commands that need no repository file work there; the demo's firmware stage finds its sources
//! through the checkout the binary was built from, or `LIFTED_REPO`, and says so when it cannot.

use std::process::Command;

fn lifted_in(cwd: &std::path::Path) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_lifted"));
    c.current_dir(cwd).env_remove("LIFTED_REPO");
    c
}

#[test]
fn train_export_and_inspect_work_in_an_empty_folder() {
    let dir = tempfile::tempdir().unwrap();
    let o = lifted_in(dir.path())
        .args([
            "train",
            "--widths",
            "4,10",
            "--epochs",
            "1",
            "--threads",
            "1",
            "--quiet",
        ])
        .args(["--out", "run"])
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert!(dir.path().join("run/best.params.json").is_file());
    let o = lifted_in(dir.path())
        .args([
            "export",
            "--params",
            "run/best.params.json",
            "--out",
            "m.lfm",
        ])
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let o = lifted_in(dir.path())
        .args(["inspect", "--model", "m.lfm"])
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert!(String::from_utf8_lossy(&o.stdout).contains("64 → 4 → 10"));
}

#[test]
fn the_demo_without_its_sources_finishes_the_host_stages_and_names_lifted_repo() {
    let dir = tempfile::tempdir().unwrap();
    let empty = tempfile::tempdir().unwrap();
    let out = lifted_in(dir.path())
        .args(["demo", "--epochs", "1", "--out", "demo"])
        // A checkout that moved: LIFTED_REPO names a folder without firmware/.
        .env("LIFTED_REPO", empty.path())
        .env("LIFTED_NO_INSTALL", "1")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(3), "{stdout}\n{stderr}");
    assert!(
        stdout.contains("=== 4/5"),
        "host stages incomplete:\n{stdout}"
    );
    assert!(
        stdout.contains("needs the lifted source repository"),
        "{stdout}"
    );
    assert!(
        stdout.contains(&format!("LIFTED_REPO={}", empty.path().display())),
        "{stdout}"
    );
    assert!(dir.path().join("demo/model.lfm").is_file());
}
