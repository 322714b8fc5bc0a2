//! `lifted train` run folders: a new run never overwrites an earlier one unless `--force`, and a
//! resume rewrites the files left behind by a kill.

use std::path::Path;
use std::process::{Command, Output};

use lifted::train::Checkpoint;

fn lifted() -> Command {
    Command::new(env!("CARGO_BIN_EXE_lifted"))
}

/// `lifted train` on the digits with a small, fast configuration, plus `extra` flags.
fn train(out: &Path, epochs: usize, extra: &[&str]) -> Output {
    lifted()
        .args([
            "train",
            "--dataset",
            "digits",
            "--widths",
            "16,10",
            "--epochs",
            &epochs.to_string(),
            "--threads",
            "1",
            "--seed",
            "1",
            "--quiet",
            "--out",
        ])
        .arg(out)
        .args(extra)
        .output()
        .unwrap()
}

/// `lifted train --resume --out DIR` plus `extra` flags.
fn resume(out: &Path, extra: &[&str]) -> Output {
    lifted()
        .args(["train", "--resume", "--quiet", "--out"])
        .arg(out)
        .args(extra)
        .output()
        .unwrap()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn assert_ok(o: &Output) {
    assert!(o.status.success(), "{}", stderr(o));
}

/// Asserts a clean failure (exit status 1, no panic) whose message contains every `needle`.
fn assert_refused(o: &Output, needles: &[&str]) -> String {
    let err = stderr(o);
    assert_eq!(o.status.code(), Some(1), "{err}");
    assert!(!err.contains("panicked"), "{err}");
    for n in needles {
        assert!(err.contains(n), "missing {n:?} in:\n{err}");
    }
    err
}

fn read(p: &Path) -> Vec<u8> {
    std::fs::read(p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

#[test]
fn a_new_run_refuses_a_folder_that_holds_a_run_unless_forced() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("run");
    assert_ok(&train(&out, 1, &[]));
    let ckpt = read(&out.join("checkpoint.json"));
    let best = read(&out.join("best.params.json"));

    // Without --resume or --force: refused, nothing touched.
    let o = train(&out, 2, &["--lr", "0.002"]);
    let err = assert_refused(
        &o,
        &[
            "already holds a run",
            "--resume",
            "--force",
            "--out",
            "checkpoint.json",
        ],
    );
    assert!(err.contains(&out.display().to_string()), "{err}");
    assert_eq!(read(&out.join("checkpoint.json")), ckpt);
    assert_eq!(read(&out.join("best.params.json")), best);

    // Any single run file is enough to refuse.
    for f in ["config.toml", "log.csv", "best.params.json"] {
        let only = dir.path().join(format!("only-{f}"));
        std::fs::create_dir_all(&only).unwrap();
        std::fs::write(only.join(f), "x").unwrap();
        assert_refused(
            &train(&only, 1, &[]),
            &["already holds a run", f, "--force"],
        );
        assert_eq!(std::fs::read_to_string(only.join(f)).unwrap(), "x");
    }

    // --force replaces the run.
    assert_ok(&train(&out, 2, &["--lr", "0.002", "--force"]));
    let c = Checkpoint::load(&out.join("checkpoint.json")).unwrap();
    assert_eq!((c.epoch, c.config.lr), (2, 0.002));
    let csv = std::fs::read_to_string(out.join("log.csv")).unwrap();
    assert_eq!(csv.lines().count(), 4, "{csv}");

    // --force and --resume contradict each other.
    let o = resume(&out, &["--force"]);
    assert!(!o.status.success());
    let err = stderr(&o);
    assert!(err.contains("--force") && err.contains("--resume"), "{err}");
    assert!(!err.contains("panicked"), "{err}");
}

#[test]
fn the_default_run_folder_is_not_overwritten() {
    let dir = tempfile::tempdir().unwrap();
    let run = || {
        lifted()
            .current_dir(dir.path())
            .args([
                "train",
                "--dataset",
                "digits",
                "--widths",
                "16,10",
                "--epochs",
                "1",
                "--threads",
                "1",
                "--quiet",
            ])
            .output()
            .unwrap()
    };
    assert_ok(&run());
    let folder = dir.path().join("runs/arovr-digits-seed0");
    let ckpt = read(&folder.join("checkpoint.json"));
    let err = assert_refused(&run(), &["already holds a run", "--resume", "--force"]);
    assert!(err.contains("arovr-digits-seed0"), "{err}");
    assert_eq!(read(&folder.join("checkpoint.json")), ckpt);
}

#[test]
fn a_run_stopped_before_its_first_checkpoint_says_how_to_restart() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("run");
    assert_ok(&train(&out, 1, &[]));
    // What a kill during epoch 0 leaves: the configuration only.
    for f in [
        "checkpoint.json",
        "log.csv",
        "log.jsonl",
        "best.params.json",
        "last.params.json",
    ] {
        std::fs::remove_file(out.join(f)).unwrap();
    }
    assert_refused(&resume(&out, &[]), &["checkpoint.json", "--force"]);
    assert_refused(
        &train(&out, 1, &[]),
        &["already holds a run", "config.toml"],
    );
    assert_ok(&train(&out, 1, &["--force"]));
}

/// The state a kill leaves under the old write order: the checkpoint of epoch 3 next to the
/// parameters and logs of epoch 2. Resuming must bring every file to epoch 3.
#[test]
fn resume_rewrites_the_files_next_to_the_checkpoint() {
    let dir = tempfile::tempdir().unwrap();
    let (full, part) = (dir.path().join("full"), dir.path().join("part"));
    assert_ok(&train(&full, 3, &[]));
    assert_ok(&train(&part, 2, &[]));
    std::fs::copy(full.join("checkpoint.json"), part.join("checkpoint.json")).unwrap();
    let o = resume(&part, &["--epochs", "3"]);
    assert_ok(&o);
    for f in [
        "best.params.json",
        "last.params.json",
        "log.csv",
        "log.jsonl",
    ] {
        assert!(
            read(&full.join(f)) == read(&part.join(f)),
            "{f} differs from the uninterrupted run's"
        );
    }
    // The reported best epoch is the one in best.params.json.
    let ck = Checkpoint::load(&full.join("checkpoint.json")).unwrap();
    let best = ck.best.as_ref().unwrap().epoch;
    let stdout = String::from_utf8_lossy(&o.stdout);
    assert!(stdout.contains(&format!("best epoch {best}:")), "{stdout}");
    let p = lifted::train::read_params_json(&part.join("best.params.json")).unwrap();
    let meta: serde_json::Value = serde_json::from_str(&p.metadata).unwrap();
    assert_eq!(meta["epoch"], best);
}
