//! `lifted train` run folders: a new run never overwrites an earlier one unless `--force`, a
//! resume rewrites the files left behind by a kill, and damaged, edited or mismatched checkpoints
//! are refused with a message naming the field and the fix (never a panic).

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

fn copy_run(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        std::fs::copy(e.path(), to.join(e.file_name())).unwrap();
    }
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

#[test]
fn resume_refuses_fewer_epochs_than_the_checkpoint_has() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("run");
    assert_ok(&train(&out, 3, &[]));
    let ckpt = read(&out.join("checkpoint.json"));
    assert_refused(
        &resume(&out, &["--epochs", "2"]),
        &["completed 3 epochs", "the 2 asked for", "--epochs"],
    );
    assert_eq!(read(&out.join("checkpoint.json")), ckpt);
    // As many as done: nothing to train, accepted.
    assert_ok(&resume(&out, &["--epochs", "3"]));
}

/// Edits `checkpoint.json` in `out` through the library (so the checksum is recomputed) and
/// runs `--resume`; returns the failure's message after checking it names `needles`.
fn resume_edited(
    pristine: &Path,
    scratch: &Path,
    edit: impl FnOnce(&mut Checkpoint),
    needles: &[&str],
) {
    if scratch.exists() {
        std::fs::remove_dir_all(scratch).unwrap();
    }
    copy_run(pristine, scratch);
    let path = scratch.join("checkpoint.json");
    let mut c = Checkpoint::load(&path).unwrap();
    edit(&mut c);
    c.save(&path).unwrap();
    assert_refused(&resume(scratch, &[]), needles);
}

#[test]
fn checkpoints_of_the_wrong_shape_are_refused_naming_the_field() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("run");
    assert_ok(&train(&out, 1, &[]));
    let s = dir.path().join("scratch");
    // 64 inputs → 16 → 10.
    resume_edited(
        &out,
        &s,
        |c| {
            c.layers[0].weights.pop();
        },
        &["layers[0].weights", "layer 1", "1023", "1024", "--force"],
    );
    resume_edited(
        &out,
        &s,
        |c| c.layers[1].bias.push(0.0),
        &["layers[1].bias", "layer 2", "11", "10"],
    );
    resume_edited(
        &out,
        &s,
        |c| {
            c.layers.pop();
        },
        &["`layers`", "1 layers", "2"],
    );
    resume_edited(
        &out,
        &s,
        |c| {
            c.gamma.pop();
        },
        &["`gamma`", "length 1", "expected 2"],
    );
    resume_edited(
        &out,
        &s,
        |c| c.gamma[1] = -1.0,
        &["gamma[1]", "layer 2", "> 0"],
    );
    resume_edited(
        &out,
        &s,
        |c| {
            c.adam.m.pop();
        },
        &["adam.m", "Adam", "1209", "1210"],
    );
    resume_edited(
        &out,
        &s,
        |c| c.adam.v.clear(),
        &["adam.v", "length 0", "1210"],
    );
    resume_edited(
        &out,
        &s,
        |c| {
            c.history.pop();
        },
        &["history", "1 rows", "expected 2"],
    );
    resume_edited(&out, &s, |c| c.input_dim = 65, &["input_dim", "65", "64"]);
    resume_edited(
        &out,
        &s,
        |c| {
            c.best.as_mut().unwrap().params.layers[1]
                .weights
                .truncate(3);
        },
        &["best.params.layers[1].weights", "length 3", "160"],
    );
}

#[test]
fn edited_or_mismatched_checkpoints_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("run");
    assert_ok(&train(&out, 1, &[]));
    let s = dir.path().join("scratch");

    // A text edit without a new checksum.
    copy_run(&out, &s);
    let path = s.join("checkpoint.json");
    let text = std::fs::read_to_string(&path).unwrap();
    let edited = text.replacen("\"activation\":\"relu\"", "\"activation\":\"identity\"", 1);
    assert_ne!(edited, text, "no ReLU layer in the checkpoint");
    std::fs::write(&path, &edited).unwrap();
    assert_refused(
        &resume(&s, &[]),
        &["checkpoint", "checksum", "crc32", "--force"],
    );
    // A missing checksum.
    let cut = &text[..text.rfind(",\"crc32\"").unwrap()];
    std::fs::write(&path, format!("{cut}}}")).unwrap();
    assert_refused(&resume(&s, &[]), &["crc32", "--force"]);
    // A cut-off file.
    std::fs::write(&path, &text[..text.len() / 2]).unwrap();
    assert_refused(&resume(&s, &[]), &["checkpoint", "--force"]);

    // The same edit with a valid checksum: refused against the configuration.
    resume_edited(
        &out,
        &s,
        |c| c.layers[0].activation = lifted_core::Activation::Identity,
        &[
            "layers[0].activation",
            "layer 1",
            "Identity",
            "Relu",
            "--force",
        ],
    );
    resume_edited(
        &out,
        &s,
        |c| {
            c.best.as_mut().unwrap().params.layers[0].activation = lifted_core::Activation::Identity
        },
        &["best.params.layers[0].activation"],
    );
    // A checkpoint of another configuration.
    resume_edited(&out, &s, |c| c.config.beta = 0.25, &["differs", "beta"]);
    // The run folder's configuration edited.
    if s.exists() {
        std::fs::remove_dir_all(&s).unwrap();
    }
    copy_run(&out, &s);
    let toml = std::fs::read_to_string(s.join("config.toml")).unwrap();
    let changed = toml.replacen("beta = 0.5", "beta = 0.25", 1);
    assert_ne!(changed, toml, "{toml}");
    std::fs::write(s.join("config.toml"), changed).unwrap();
    assert_refused(
        &resume(&s, &[]),
        &["config.toml", "differs", "beta", "--force"],
    );
    // … also when the configuration comes from --config.
    let cfg = dir.path().join("c.toml");
    std::fs::write(&cfg, &toml).unwrap();
    assert_refused(
        &resume(&s, &["--config", cfg.to_str().unwrap()]),
        &["config.toml", "differs", "beta"],
    );
}
