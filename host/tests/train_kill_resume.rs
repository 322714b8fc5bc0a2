//! `lifted train` killed (SIGKILL) at many points and resumed each time ends with the same
//! `best.params.json`, `last.params.json` and logs as an uninterrupted run (except the wall-clock
//! `seconds` column), and every kill leaves a folder that resumes.

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use lifted::train::Checkpoint;

const BASE: [&str; 12] = [
    "train",
    "--dataset",
    "digits",
    "--widths",
    "32,10",
    "--epochs",
    "6",
    "--threads",
    "1",
    "--seed",
    "3",
    "--quiet",
];

fn lifted() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_lifted"));
    c.stdout(Stdio::null()).stderr(Stdio::piped());
    c
}

/// The log lines with the `seconds` column (index 7 of the CSV) blanked.
fn csv_without_seconds(dir: &Path) -> Vec<String> {
    let text = std::fs::read_to_string(dir.join("log.csv")).unwrap();
    let header: Vec<&str> = text.lines().next().unwrap().split(',').collect();
    let col = header.iter().position(|h| *h == "seconds").unwrap();
    text.lines()
        .map(|l| {
            let mut f: Vec<&str> = l.split(',').collect();
            f[col] = "";
            f.join(",")
        })
        .collect()
}

/// The JSON-lines log with the `seconds` member removed.
fn jsonl_without_seconds(dir: &Path) -> Vec<serde_json::Value> {
    std::fs::read_to_string(dir.join("log.jsonl"))
        .unwrap()
        .lines()
        .map(|l| {
            let mut v: serde_json::Value = serde_json::from_str(l).unwrap();
            v.as_object_mut().unwrap().remove("seconds");
            v
        })
        .collect()
}

/// What every kill must leave: either no checkpoint (then at most the configuration files), or
/// a checkpoint that loads, with complete logs and parameter files beside it.
fn check_consistent(dir: &Path) {
    let ck = dir.join("checkpoint.json");
    if !ck.exists() {
        for f in [
            "log.csv",
            "log.jsonl",
            "best.params.json",
            "last.params.json",
        ] {
            if let Ok(m) = std::fs::metadata(dir.join(f)) {
                assert!(m.len() > 0, "{f} is empty without a checkpoint");
            }
        }
        return;
    }
    let c = Checkpoint::load(&ck).expect("a kill left a checkpoint that does not load");
    let csv = std::fs::read_to_string(dir.join("log.csv")).unwrap();
    assert!(
        csv.lines().count() >= c.epoch + 2,
        "log.csv has fewer rows than the checkpoint's epoch {}:\n{csv}",
        c.epoch
    );
    for f in ["best.params.json", "last.params.json"] {
        lifted::train::read_params_json(&dir.join(f))
            .unwrap_or_else(|e| panic!("{f} beside the checkpoint: {e:#}"));
    }
}

#[test]
fn killed_and_resumed_runs_end_bit_identical_to_an_uninterrupted_run() {
    let t0 = Instant::now();
    let dir = tempfile::tempdir().unwrap();
    let (full, part) = (dir.path().join("full"), dir.path().join("part"));

    let start = Instant::now();
    let o = lifted()
        .args(BASE)
        .arg("--out")
        .arg(&full)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let whole = start.elapsed();

    // Kill points spread over a run's time (start-up, epochs, file writes): 1.25 %, 2.5 %, … of the
    // uninterrupted run's wall time, each from a fresh process start that continues from the
    // last checkpoint, so later kills land in later epochs; until an attempt finishes by itself.
    let (mut kills, mut epochs_seen) = (0, Vec::new());
    for k in 1..=80u32 {
        let d: Duration = whole * k / 80;
        let mut cmd = lifted();
        if part.join("checkpoint.json").exists() {
            cmd.args(["train", "--resume", "--quiet", "--out"])
                .arg(&part);
        } else {
            // Nothing to resume yet (killed before the first checkpoint, or not started).
            cmd.args(BASE).arg("--force").arg("--out").arg(&part);
        }
        let mut child = cmd.spawn().unwrap();
        std::thread::sleep(d);
        let killed = child.try_wait().unwrap().is_none();
        if killed {
            child.kill().unwrap();
            kills += 1;
        }
        let out = child.wait_with_output().unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(!err.contains("panicked"), "{err}");
        assert!(killed || out.status.success(), "{err}");
        check_consistent(&part);
        if let Ok(c) = Checkpoint::load(&part.join("checkpoint.json")) {
            epochs_seen.push(c.epoch);
        }
        if !killed {
            break;
        }
    }
    let mut distinct = epochs_seen.clone();
    distinct.dedup();
    assert!(
        kills >= 4 && distinct.len() >= 3,
        "{kills} kills, checkpoint epochs after each attempt {epochs_seen:?}"
    );

    // Finish the run.
    let mut cmd = lifted();
    if part.join("checkpoint.json").exists() {
        cmd.args(["train", "--resume", "--quiet", "--out"])
            .arg(&part);
    } else {
        cmd.args(BASE).arg("--force").arg("--out").arg(&part);
    }
    let o = cmd.output().unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));

    for f in ["best.params.json", "last.params.json"] {
        assert!(
            std::fs::read(full.join(f)).unwrap() == std::fs::read(part.join(f)).unwrap(),
            "{f} differs from the uninterrupted run's"
        );
    }
    assert_eq!(csv_without_seconds(&full), csv_without_seconds(&part));
    assert_eq!(csv_without_seconds(&part).len(), 1 + 7);
    assert_eq!(jsonl_without_seconds(&full), jsonl_without_seconds(&part));
    eprintln!(
        "{kills} kills; checkpoint epochs after each attempt {epochs_seen:?}; uninterrupted run \
         {:.2} s, test {:.1} s",
        whole.as_secs_f64(),
        t0.elapsed().as_secs_f64()
    );
}
