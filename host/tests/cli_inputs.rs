//! Hostile and mistyped command-line inputs: every one is refused with a message that names the
//! flag (or file, line and column), the value and the limit — never a panic, a silent
//! misreading, or a run that goes on for hours.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

#[path = "cli_support/mod.rs"]
mod cli;
#[path = "eval_support/mod.rs"]
mod support;

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use clap::{ArgAction, Args, FromArgMatches, Subcommand};
use cli::{lifted, ok};
use support::{blob, params, random_net, Deploy};

/// Runs `lifted args`, asserts a non-zero exit without a panic, and checks that the error
/// contains every one of `words`.
fn fails_with(args: &[&str], words: &[&str]) -> String {
    let o = lifted(args);
    let err = String::from_utf8_lossy(&o.stderr).into_owned();
    assert!(!o.status.success(), "lifted {args:?} should fail:\n{err}");
    assert!(!err.contains("panicked"), "lifted {args:?} panicked: {err}");
    for w in words {
        assert!(err.contains(w), "lifted {args:?}: `{w}` missing in:\n{err}");
    }
    err
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

/// A small (untrained) digits model, exported once per test binary.
fn model() -> &'static (tempfile::TempDir, PathBuf) {
    static M: OnceLock<(tempfile::TempDir, PathBuf)> = OnceLock::new();
    M.get_or_init(|| {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("model.lfm");
        let p = params(&random_net(&[64, 16, 10], 1.0, 5), 64, Deploy::FORWARD);
        std::fs::write(&path, blob(&p).as_bytes()).unwrap();
        (dir, path)
    })
}

// ---- Comma-list flags given twice -------------------------------------------------------------

/// Every flag with a value delimiter, in every command, must refuse a second occurrence
/// (clap's `ArgAction::Set`), so that `--widths 64,10 --widths 32,10` is not read as 64,10,32,10.
fn check_lists(cmd: &clap::Command, path: &str, seen: &mut Vec<String>) {
    for a in cmd.get_arguments() {
        if a.get_value_delimiter().is_some() {
            let name = format!("{path} --{}", a.get_long().unwrap_or("?"));
            assert!(
                matches!(a.get_action(), ArgAction::Set),
                "{name} is a comma list that can be given twice ({:?})",
                a.get_action()
            );
            seen.push(name);
        }
    }
    for sub in cmd.get_subcommands() {
        check_lists(sub, &format!("{path} {}", sub.get_name()), seen);
    }
}

#[test]
fn every_comma_list_flag_of_every_command_is_set_once() {
    let commands = [
        lifted::train::cli::TrainArgs::augment_args(clap::Command::new("train")),
        lifted::eval::cli_certify::CertifyArgs::augment_args(clap::Command::new("certify")),
        lifted::eval::cli_evaluate::EvaluateArgs::augment_args(clap::Command::new("evaluate")),
        lifted::model::cli_export::ExportArgs::augment_args(clap::Command::new("export")),
        lifted::model::cli_inspect::InspectArgs::augment_args(clap::Command::new("inspect")),
        lifted::plot::cli::PlotArgs::augment_args(clap::Command::new("plot")),
        lifted::device::remote::RemoteArgs::augment_args(clap::Command::new("remote")),
        lifted::demo::DemoArgs::augment_args(clap::Command::new("demo")),
        lifted::experiment::cli::ExperimentCommand::augment_subcommands(clap::Command::new(
            "experiment",
        )),
    ];
    let mut seen = Vec::new();
    for c in &commands {
        check_lists(c, c.get_name(), &mut seen);
    }
    for flag in [
        "train --widths",
        "train --gamma",
        "certify --cert-l2",
        "certify --cert-linf",
        "evaluate --pgd-linf",
        "evaluate --pgd-l2",
        "evaluate --pgd-internal",
        "remote --cert-l2",
        "remote --cert-linf",
    ] {
        assert!(
            seen.iter().any(|f| f == flag),
            "{flag} not found in {seen:?}"
        );
    }
}

#[test]
fn a_comma_list_given_once_still_splits() {
    let cmd = lifted::train::cli::TrainArgs::augment_args(clap::Command::new("train"));
    let m = cmd
        .try_get_matches_from(["train", "--widths", "64,10", "--gamma", "0.5,1"])
        .unwrap();
    let a = lifted::train::cli::TrainArgs::from_arg_matches(&m).unwrap();
    assert_eq!(a.widths, Some(vec![64, 10]));
    assert_eq!(a.gamma, Some(vec![0.5, 1.0]));
}

#[test]
fn a_comma_list_flag_given_twice_is_an_error() {
    let (d, m) = model();
    let m = s(m);
    // Should a regression accept the flags, the run goes to a temporary folder.
    let out = d.path().join("twice");
    let o = s(&out);
    let cases: [(&[&str], &str); 9] = [
        (
            &[
                "train", "--out", o, "--widths", "64,10", "--widths", "32,10",
            ],
            "--widths",
        ),
        (
            &["train", "--out", o, "--gamma", "1,1", "--gamma", "2,2"],
            "--gamma",
        ),
        (
            &[
                "certify",
                "--model",
                m,
                "--dataset",
                "digits",
                "--cert-l2",
                "0.1",
                "--cert-l2",
                "0.2",
            ],
            "--cert-l2",
        ),
        (
            &[
                "certify",
                "--model",
                m,
                "--dataset",
                "digits",
                "--cert-linf=0.1",
                "--cert-linf=0.2",
            ],
            "--cert-linf",
        ),
        (
            &[
                "evaluate",
                "--model",
                m,
                "--dataset",
                "digits",
                "--pgd-linf",
                "0.1",
                "--pgd-linf",
                "0.2",
            ],
            "--pgd-linf",
        ),
        (
            &[
                "evaluate",
                "--model",
                m,
                "--dataset",
                "digits",
                "--pgd-l2",
                "1",
                "--pgd-l2",
                "2",
            ],
            "--pgd-l2",
        ),
        (
            &[
                "evaluate",
                "--model",
                m,
                "--dataset",
                "digits",
                "--pgd-internal",
                "1",
                "--pgd-internal",
                "2",
            ],
            "--pgd-internal",
        ),
        (
            &[
                "remote",
                "--port",
                "tcp:127.0.0.1:9",
                "--eps-l2",
                "0.1",
                "--eps-l2",
                "0.2",
            ],
            "--cert-l2",
        ),
        (
            &[
                "remote",
                "--port",
                "tcp:127.0.0.1:9",
                "--eps-linf",
                "0.1",
                "--eps-linf",
                "0.2",
            ],
            "--cert-linf",
        ),
    ];
    for (args, flag) in cases {
        fails_with(args, &[flag, "cannot be used multiple times"]);
    }
    assert!(!out.exists());
}

// ---- remote --timeout ---------------------------------------------------------------------------

#[test]
fn remote_timeout_is_bounded() {
    for t in ["1e30", "inf", "NaN", "0", "-1", "86401", "1e-12"] {
        fails_with(
            &[
                "remote",
                "--port",
                "tcp:127.0.0.1:9",
                &format!("--timeout={t}"),
            ],
            &["--timeout", "86400"],
        );
    }
    assert_eq!(
        lifted::device::remote::timeout_of(86_400.0).unwrap(),
        std::time::Duration::from_secs(86_400)
    );
    assert_eq!(
        lifted::device::remote::timeout_of(0.5).unwrap(),
        std::time::Duration::from_millis(500)
    );
}

// ---- Count limits -------------------------------------------------------------------------------

#[test]
fn training_counts_have_limits_that_name_the_flag() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("run");
    let base = ["train", "--widths", "16,10", "--quiet", "--out", s(&out)];
    let cases: [(&[&str], [&str; 3]); 5] = [
        (
            &["--damping", "power:4294967295:1"],
            ["--damping", "4294967295", "1000"],
        ),
        (&["--damping", "sound-gram:99"], ["--damping", "99", "30"]),
        (
            &["--epochs", "1000000000"],
            ["--epochs", "1000000000", "10000"],
        ),
        (
            &[
                "--objective",
                "input-at",
                "--attack",
                "pgd-l2",
                "--attack-steps",
                "1000000000",
            ],
            ["--attack-steps", "1000000000", "10000"],
        ),
        (&["--threads", "100000"], ["--threads", "100000", "1024"]),
    ];
    for (extra, words) in cases {
        let args: Vec<&str> = base.iter().chain(extra).copied().collect();
        fails_with(&args, &words);
    }
    assert!(
        !out.exists(),
        "a refused configuration must not create the run folder"
    );
}

#[test]
fn attack_counts_of_certify_and_evaluate_have_limits() {
    let (_d, m) = model();
    let m = s(m);
    fails_with(
        &[
            "certify",
            "--model",
            m,
            "--dataset",
            "digits",
            "--self-check",
            "--steps",
            "1000000000",
        ],
        &["--steps", "1000000000", "10000"],
    );
    fails_with(
        &[
            "certify",
            "--model",
            m,
            "--dataset",
            "digits",
            "--self-check",
            "--restarts",
            "1000000000",
        ],
        &["--restarts", "1000000000", "1000"],
    );
    fails_with(
        &[
            "evaluate",
            "--model",
            m,
            "--dataset",
            "digits",
            "--steps",
            "1000000000",
        ],
        &["--steps", "1000000000", "10000"],
    );
    fails_with(
        &[
            "evaluate",
            "--model",
            m,
            "--dataset",
            "digits",
            "--restarts",
            "1000000000",
        ],
        &["--restarts", "1000000000", "1000"],
    );
    fails_with(
        &[
            "certify",
            "--model",
            m,
            "--dataset",
            "digits",
            "--threads",
            "5000",
        ],
        &["--threads", "5000", "1024"],
    );
}

#[test]
fn experiment_counts_have_limits() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("e.toml");
    let grid = "name = \"e\"\ndatasets = [\"digits\"]\nn_train = [100]\n";
    std::fs::write(
        &file,
        format!(
            "{grid}[measure]\npgd_restarts = 1000000\n[[row]]\nid = \"bp\"\nobjective = \"bp\"\n"
        ),
    )
    .unwrap();
    fails_with(
        &["experiment", "list", s(&file)],
        &["pgd_restarts", "1000000", "1000"],
    );
    std::fs::write(
        &file,
        format!("{grid}[base]\nepochs = 1000000\n[[row]]\nid = \"bp\"\nobjective = \"bp\"\n"),
    )
    .unwrap();
    fails_with(
        &["experiment", "list", s(&file)],
        &["epochs", "1000000", "10000"],
    );
    std::fs::write(
        &file,
        format!("{grid}[[row]]\nid = \"bp\"\nobjective = \"bp\"\n"),
    )
    .unwrap();
    fails_with(
        &["experiment", "run", s(&file), "--threads", "100000"],
        &["--threads", "100000", "1024"],
    );
}

// ---- --threads 0 ---------------------------------------------------------------------------------

#[test]
fn threads_zero_means_all_cores_in_certify_and_evaluate() {
    let (_d, m) = model();
    let m = s(m);
    let out = ok(&[
        "certify",
        "--model",
        m,
        "--dataset",
        "digits",
        "--limit",
        "20",
        "--threads",
        "0",
    ]);
    assert!(out.contains("certified"), "{out}");
    ok(&[
        "evaluate",
        "--model",
        m,
        "--dataset",
        "digits",
        "--limit",
        "5",
        "--threads",
        "0",
        "--pgd-linf",
        "0.1",
        "--steps",
        "2",
        "--restarts",
        "1",
    ]);
    for cmd in ["certify", "evaluate"] {
        let help = ok(&[cmd, "--help"]);
        assert!(help.contains("0: one per core"), "{cmd} --help:\n{help}");
    }
}

// ---- Model files: bounded reads -----------------------------------------------------------------

#[test]
fn an_endless_or_huge_model_file_is_refused() {
    let (_d, m) = model();
    let limit = "64 MiB";
    if Path::new("/dev/zero").exists() {
        fails_with(&["inspect", "--model", "/dev/zero"], &["/dev/zero", limit]);
        fails_with(
            &["certify", "--model", "/dev/zero", "--dataset", "digits"],
            &["/dev/zero", limit],
        );
        fails_with(
            &[
                "remote",
                "--port",
                "tcp:127.0.0.1:9",
                "--model",
                "/dev/zero",
            ],
            &["/dev/zero", limit],
        );
    }
    // A (sparse) regular file one byte above the limit.
    let dir = tempfile::tempdir().unwrap();
    let big = dir.path().join("big.lfm");
    let f = std::fs::File::create(&big).unwrap();
    f.set_len(lifted::model::file::MAX_MODEL_BYTES + 1).unwrap();
    drop(f);
    fails_with(&["inspect", "--model", s(&big)], &["big.lfm", limit]);
    fails_with(
        &["evaluate", "--model", s(&big), "--dataset", "digits"],
        &["big.lfm", limit],
    );
    // A real model is read in full.
    let bytes = lifted::model::file::read_model_bytes(m, "hint").unwrap();
    assert_eq!(bytes, std::fs::read(m).unwrap());
    ok(&["inspect", "--model", s(m)]);
}

// ---- plot: training-log values --------------------------------------------------------------------

#[test]
fn plot_refuses_bad_values_in_a_log() {
    let dir = tempfile::tempdir().unwrap();
    let png = dir.path().join("fig.png");
    let header = "epoch,train_loss,train_acc,val_acc,test_acc,lip_estimate,lip_bound,seconds\n";
    let good = "0,0.1,0.9,0.5,0.5,1.5,3.0,1.0\n";
    // (bad row, column, words of the message)
    let cases: [(&str, &str, &str); 9] = [
        (
            "1,0.1,0.9,0.6,0.6,abc,3.0,1.0",
            "lip_estimate",
            "`abc` is not a number",
        ),
        (
            "1,0.1,0.9,0.6,0.6,1.5,NaN,1.0",
            "lip_bound",
            "not a finite number",
        ),
        (
            "1,0.1,0.9,0.6,0.6,1.5,inf,1.0",
            "lip_bound",
            "not a finite number",
        ),
        ("1,0.1,0.9,0.6,0.6,-2,3.0,1.0", "lip_estimate", "log scale"),
        ("1,0.1,0.9,0.6,0.6,1.5,0,1.0", "lip_bound", "log scale"),
        (
            "1,0.1,0.9,0.6,-0.5,1.5,3.0,1.0",
            "test_acc",
            "outside [0, 1]",
        ),
        ("1,0.1,0.9,,0.6,1.5,3.0,1.0", "val_acc", "is not a number"),
        (
            "x,0.1,0.9,0.6,0.6,1.5,3.0,1.0",
            "epoch",
            "`x` is not a number",
        ),
        ("-1,0.1,0.9,0.6,0.6,1.5,3.0,1.0", "epoch", "negative"),
    ];
    for (i, (row, column, words)) in cases.iter().enumerate() {
        let run = dir.path().join(format!("run{i}"));
        std::fs::create_dir_all(&run).unwrap();
        let log = run.join("log.csv");
        std::fs::write(&log, format!("{header}{good}{row}\n")).unwrap();
        fails_with(
            &["plot", "--log", s(&log), "--out", s(&png)],
            &[s(&log), "line 3", &format!("column `{column}`"), words],
        );
    }
    assert!(!png.exists(), "no figure may be written from a bad log");
    let jsonl = dir.path().join("log.jsonl");
    std::fs::write(
        &jsonl,
        "{\"epoch\":0,\"val_acc\":0.5,\"test_acc\":0.5,\"lip_estimate\":1.5,\"lip_bound\":3.0}\n\
         {\"epoch\":1,\"val_acc\":0.5,\"test_acc\":0.5,\"lip_estimate\":null,\"lip_bound\":3.0}\n",
    )
    .unwrap();
    fails_with(
        &["plot", "--log", s(&jsonl), "--out", s(&png)],
        &[
            "log.jsonl",
            "line 2",
            "column `lip_estimate`",
            "`null` is not a number",
        ],
    );
    // The same log without the bad row plots.
    let fine = dir.path().join("fine.csv");
    std::fs::write(&fine, format!("{header}{good}")).unwrap();
    ok(&["plot", "--log", s(&fine), "--out", s(&png)]);
}

// ---- Standard output closed early ---------------------------------------------------------------

/// `lifted inspect --model M | head -1`: the reader has closed the pipe when `lifted` writes; the
/// write fails with a broken pipe, which used to panic ("failed printing to stdout") and now ends
/// the process quietly with the status of a SIGPIPE (141).
#[test]
fn a_closed_standard_output_ends_quietly() {
    let (_d, m) = model();
    // A pipe whose read end is closed before the process starts: every write fails.
    let (reader, writer) = std::io::pipe().unwrap();
    drop(reader);
    let o = std::process::Command::new(env!("CARGO_BIN_EXE_lifted"))
        .args(["inspect", "--model", s(m)])
        .stdout(writer)
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(!err.contains("panicked"), "{err}");
    assert!(err.is_empty(), "{err}");
    assert_eq!(o.status.code(), Some(141), "{err}");
}
