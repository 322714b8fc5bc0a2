//! Running the `lifted` binary from integration tests, as a user would.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::path::Path;
use std::process::{Command, Output};

/// Runs `lifted` with `args`.
pub fn lifted(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_lifted"))
        .args(args)
        .output()
        .unwrap()
}

/// Runs `lifted`, requires success and returns its standard output.
pub fn ok(args: &[&str]) -> String {
    let o = lifted(args);
    assert!(
        o.status.success(),
        "lifted {args:?} failed:\n{}\n{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
    String::from_utf8(o.stdout).unwrap()
}

/// Runs `lifted`, requires a failure without a panic and returns its standard error.
pub fn fails(args: &[&str]) -> String {
    let o = lifted(args);
    assert!(!o.status.success(), "lifted {args:?} should fail");
    let err = String::from_utf8(o.stderr).unwrap();
    assert!(!err.contains("panicked"), "lifted {args:?} panicked: {err}");
    err
}

/// A path as the `&str` a command line takes.
pub fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}
