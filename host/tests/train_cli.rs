//! `lifted train` end to end on the embedded digits: files written, resume, config files, errors.

use std::process::Command;

fn lifted() -> Command {
    Command::new(env!("CARGO_BIN_EXE_lifted"))
}

#[test]
fn help_lists_the_training_flags() {
    let out = lifted().args(["train", "--help"]).output().unwrap();
    assert!(out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    for flag in [
        "--objective",
        "--beta",
        "--widths",
        "--gamma",
        "--sweeps",
        "--damping",
        "--resume",
        "--force",
        "--config",
        "--threads",
        "--seed",
    ] {
        assert!(text.contains(flag), "missing {flag} in:\n{text}");
    }
    let top = String::from_utf8_lossy(&lifted().arg("--help").output().unwrap().stdout).to_string();
    assert!(top.contains("train"), "{top}");
}

#[test]
fn trains_writes_the_run_folder_and_resumes() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("run");
    let o = out.to_str().unwrap();
    let st = lifted()
        .args([
            "train",
            "--dataset",
            "digits",
            "--widths",
            "32,10",
            "--epochs",
            "2",
            "--lr",
            "0.003",
            "--threads",
            "2",
            "--quiet",
            "--out",
            o,
        ])
        .output()
        .unwrap();
    assert!(
        st.status.success(),
        "{}",
        String::from_utf8_lossy(&st.stderr)
    );
    assert!(String::from_utf8_lossy(&st.stdout).contains("best epoch"));
    for f in [
        "config.toml",
        "config.json",
        "log.csv",
        "log.jsonl",
        "best.params.json",
        "last.params.json",
        "checkpoint.json",
    ] {
        assert!(out.join(f).is_file(), "{f} missing");
    }
    let csv = std::fs::read_to_string(out.join("log.csv")).unwrap();
    assert_eq!(csv.lines().count(), 4, "{csv}");
    assert!(csv
        .starts_with("epoch,train_loss,train_acc,val_acc,test_acc,lip_estimate,lip_bound,seconds"));
    let p = lifted::train::read_params_json(&out.join("best.params.json")).unwrap();
    assert_eq!(p.widths(), vec![32, 10]);
    let st = lifted()
        .args(["train", "--resume", "--epochs", "3", "--quiet", "--out", o])
        .output()
        .unwrap();
    assert!(
        st.status.success(),
        "{}",
        String::from_utf8_lossy(&st.stderr)
    );
    assert_eq!(
        std::fs::read_to_string(out.join("log.jsonl"))
            .unwrap()
            .lines()
            .count(),
        4
    );
}

#[test]
fn config_file_and_flag_precedence() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("c.toml");
    std::fs::write(&cfg, "objective = \"mixed\"\nalpha = 0.25\nwidths = [16, 10]\nepochs = 1\nbeta = 0.9\n[data]\ndataset = \"digits\"\n").unwrap();
    let out = dir.path().join("run");
    let st = lifted()
        .args([
            "train",
            "--config",
            cfg.to_str().unwrap(),
            "--beta",
            "0.4",
            "--quiet",
            "--out",
            out.to_str().unwrap(),
        ])
        .output()
        .unwrap();
    assert!(
        st.status.success(),
        "{}",
        String::from_utf8_lossy(&st.stderr)
    );
    let written = lifted::train::TrainConfig::from_toml(
        &std::fs::read_to_string(out.join("config.toml")).unwrap(),
    )
    .unwrap();
    assert_eq!(written.objective, lifted::train::Objective::Mixed);
    assert_eq!(
        (written.alpha, written.beta, written.epochs),
        (0.25, 0.4, 1)
    );
}

#[test]
fn ill_posed_objective_fails_with_the_fix() {
    let dir = tempfile::tempdir().unwrap();
    let st = lifted()
        .args([
            "train",
            "--dataset",
            "digits",
            "--widths",
            "16,10",
            "--beta",
            "2",
            "--quiet",
            "--out",
            dir.path().to_str().unwrap(),
        ])
        .output()
        .unwrap();
    assert!(!st.status.success());
    let err = String::from_utf8_lossy(&st.stderr);
    assert!(
        err.contains("ill-posed arovr") && err.contains("lower --beta"),
        "{err}"
    );
}
