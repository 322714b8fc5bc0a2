//! Hostile and mistyped command-line inputs: every one is refused with a message that names the
//! flag (or file, line and column), the value and the limit — never a panic, a silent
//! misreading, or a run that goes on for hours.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

#[path = "eval_support/mod.rs"]
mod support;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::OnceLock;

use support::{blob, params, random_net, Deploy};

fn lifted(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_lifted"))
        .args(args)
        .output()
        .unwrap()
}

fn ok(args: &[&str]) -> String {
    let o = lifted(args);
    assert!(
        o.status.success(),
        "lifted {args:?} failed:\n{}\n{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
    String::from_utf8(o.stdout).unwrap()
}

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
        lifted::remote::timeout_of(86_400.0).unwrap(),
        std::time::Duration::from_secs(86_400)
    );
    assert_eq!(
        lifted::remote::timeout_of(0.5).unwrap(),
        std::time::Duration::from_millis(500)
    );
}

// ---- Model files: bounded reads -----------------------------------------------------------------

#[test]
fn an_endless_or_huge_model_file_is_refused() {
    let (_d, m) = model();
    let limit = "64 MiB";
    if Path::new("/dev/zero").exists() {
        fails_with(&["inspect", "/dev/zero"], &["/dev/zero", limit]);
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
    f.set_len(lifted::model_file::MAX_MODEL_BYTES + 1).unwrap();
    drop(f);
    fails_with(&["inspect", s(&big)], &["big.lfm", limit]);
    fails_with(
        &["evaluate", "--model", s(&big), "--dataset", "digits"],
        &["big.lfm", limit],
    );
    // A real model is read in full.
    let bytes = lifted::model_file::read_model_bytes(m, "hint").unwrap();
    assert_eq!(bytes, std::fs::read(m).unwrap());
    ok(&["inspect", s(m)]);
}

