//! The experiment runner end to end on the committed tiny grid (`experiments/tiny.toml`, bundled
//! digits, seconds): run, skip finished runs, resume a run, refuse a changed configuration,
//! report.

use std::path::{Path, PathBuf};

use lifted::experiment::run::{run, RunOptions, SUMMARY};
use lifted::experiment::{report::report, Experiment, RunSummary};

fn tiny(results: &Path) -> Experiment {
    let file = Path::new(env!("CARGO_MANIFEST_DIR")).join("../experiments/tiny.toml");
    let mut e = Experiment::load(&file).unwrap();
    e.results = results.to_path_buf();
    e
}

fn quiet() -> RunOptions {
    RunOptions {
        quiet: true,
        ..RunOptions::default()
    }
}

fn summary_of(e: &Experiment, id: &str) -> (PathBuf, RunSummary) {
    let job = e.jobs().unwrap().into_iter().find(|j| j.id == id).unwrap();
    let path = e.run_dir(&job).join(SUMMARY);
    let s = RunSummary::load(&path).unwrap();
    (path, s)
}

#[test]
fn tiny_grid_runs_resumes_and_reports() {
    let dir = tempfile::tempdir().unwrap();
    let e = tiny(dir.path());
    let out = run(&e, &quiet()).unwrap();
    assert_eq!(out.selected, 3);
    assert_eq!(out.finished.len(), 3, "{:?}", out.failed);
    assert!(out.failed.is_empty());
    assert_eq!(out.summaries.len(), 3);
    for s in &out.summaries {
        assert_eq!(s.soundness_violations, 0, "{}", s.id);
        assert_eq!(s.final_samples, 200);
        assert_eq!(s.epochs, 8);
        // Real training on real digits: far above chance (10 %) after 8 epochs.
        assert!(s.test_acc > 0.6, "{}: test {}", s.id, s.test_acc);
        for (k, v) in &s.final_ {
            assert!((0.0..=1.0).contains(v), "{k} = {v}");
        }
        // Certified and PGD-robust samples are correctly classified ones.
        let clean = s.final_["clean"];
        assert!(clean > 0.6, "{}: clean {clean}", s.id);
        for k in ["cert_l2_0.1", "cert_linf_0.01", "pgd_l2_1", "pgd_linf_0.1"] {
            assert!(s.final_[k] <= clean, "{}: {k}", s.id);
        }
        assert!(
            s.final_["cert_l2_0.3"] <= s.final_["cert_l2_0.1"],
            "{}",
            s.id
        );
        assert!(s.lip_bound >= s.lip_estimate, "{}", s.id);
        assert!(s.cert_pair_l2_max > 0.0);
    }
    // Per-epoch columns in the logs.
    let log = std::fs::read_to_string(dir.path().join("runs/digits-300/bp-s0/log.csv")).unwrap();
    let header = log.lines().next().unwrap();
    assert!(
        header.ends_with("pgd_linf_0.1,pgd_l2_1,cert_l2_0.1,cert_l2_0.3,cert_linf_0.01"),
        "{header}"
    );
    assert_eq!(log.lines().count(), 1 + 9);
    let csv = std::fs::read_to_string(dir.path().join("summary.csv")).unwrap();
    assert_eq!(csv.lines().count(), 4);

    // Finished runs are skipped.
    let again = run(&e, &quiet()).unwrap();
    assert_eq!(again.skipped.len(), 3);
    assert!(again.finished.is_empty());

    // A run without its summary continues from its checkpoint (here: already at the last epoch)
    // and reproduces the same summary bit for bit.
    let (path, before) = summary_of(&e, "digits-300/arovr-s0");
    std::fs::remove_file(&path).unwrap();
    let resumed = run(&e, &quiet()).unwrap();
    assert_eq!(resumed.finished, ["digits-300/arovr-s0"]);
    let (_, after) = summary_of(&e, "digits-300/arovr-s0");
    assert_eq!(
        RunSummary {
            seconds_per_epoch: 0.0,
            ..after
        },
        RunSummary {
            seconds_per_epoch: 0.0,
            ..before
        }
    );

    // A changed row configuration does not silently reuse old results.
    let mut changed = tiny(dir.path());
    changed.rows[1]
        .keys
        .insert("beta".into(), toml::Value::Float(0.25));
    let err = run(&changed, &quiet()).unwrap_err();
    assert!(
        format!("{err:#}").contains("different configuration"),
        "{err:#}"
    );

    // The report: figures and tables from the real results.
    let rep_dir = dir.path().join("report");
    let rep = report(&e, &rep_dir).unwrap();
    assert_eq!((rep.finished, rep.partial, rep.missing), (3, 0, 0));
    assert_eq!(rep.soundness_violations, 0);
    let png = std::fs::read(rep_dir.join("figure1-digits.png")).unwrap();
    assert!(png.starts_with(b"\x89PNG") && png.len() > 10_000);
    let tables = std::fs::read_to_string(rep_dir.join("tables.md")).unwrap();
    assert!(tables.contains("| bp |"), "{tables}");
    assert!(tables.contains("±"), "two bp seeds give a std: {tables}");
}

#[test]
fn runner_replaces_an_unfinished_start_and_refuses_fewer_epochs_than_its_checkpoint() {
    let dir = tempfile::tempdir().unwrap();
    let e = tiny(dir.path());
    let id = "digits-300/arovr-s0";
    let opts = RunOptions {
        filter: Some(id.into()),
        ..quiet()
    };
    // What a kill before the first checkpoint leaves: the runner owns the folder and starts it
    // afresh.
    let job = e.jobs().unwrap().into_iter().find(|j| j.id == id).unwrap();
    let run_dir = e.run_dir(&job);
    std::fs::create_dir_all(&run_dir).unwrap();
    std::fs::write(run_dir.join("config.toml"), "stale").unwrap();
    std::fs::write(run_dir.join("log.csv"), "").unwrap();
    let out = run(&e, &opts).unwrap();
    assert_eq!(out.finished, [id], "{:?}", out.failed);
    let log = std::fs::read_to_string(run_dir.join("log.csv")).unwrap();
    assert_eq!(log.lines().count(), 1 + 9, "{log}");

    // Fewer epochs than the unfinished run's checkpoint: refused, naming both numbers.
    std::fs::remove_file(run_dir.join(SUMMARY)).unwrap();
    let mut fewer = tiny(dir.path());
    fewer.rows[1]
        .keys
        .insert("epochs".into(), toml::Value::Integer(4));
    let out = run(&fewer, &opts).unwrap();
    assert!(out.finished.is_empty());
    let (failed, why) = &out.failed[0];
    assert_eq!(failed, id);
    assert!(
        why.contains("completed 8 epochs") && why.contains("the 4 asked for"),
        "{why}"
    );
    assert!(!why.contains("panicked"), "{why}");
}

fn lifted(args: &[&std::ffi::OsStr]) -> (bool, String, String) {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_lifted"))
        .args(args)
        .output()
        .unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn a_corrupt_run_summary_is_reported_and_remeasured_while_the_grid_proceeds() {
    let dir = tempfile::tempdir().unwrap();
    let e = tiny(dir.path());
    let out = run(&e, &quiet()).unwrap();
    assert_eq!(out.finished.len(), 3, "{:?}", out.failed);
    let (path, before) = summary_of(&e, "digits-300/bp-s1");
    std::fs::write(&path, "{\"version\": 1, \"id\": tru").unwrap();
    let file = Path::new(env!("CARGO_MANIFEST_DIR")).join("../experiments/tiny.toml");
    let results = dir.path().as_os_str();

    // `list` names the file and the fix, and still lists every run.
    let (ok, stdout, stderr) = lifted(&[
        "experiment".as_ref(),
        "list".as_ref(),
        file.as_os_str(),
        "--results".as_ref(),
        results,
    ]);
    assert!(ok, "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert!(stderr.contains(&path.display().to_string()), "{stderr}");
    assert!(
        stderr.contains("delete") && stderr.contains("retrain"),
        "{stderr}"
    );
    assert!(stdout.contains("2/3 finished"), "{stdout}");
    assert!(stdout.contains("corrupt summary"), "{stdout}");

    // `run` reports it, re-measures that run from its checkpoint and skips the others.
    let (ok, stdout, stderr) = lifted(&[
        "experiment".as_ref(),
        "run".as_ref(),
        file.as_os_str(),
        "--results".as_ref(),
        results,
        "--quiet".as_ref(),
    ]);
    assert!(ok, "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert!(stderr.contains(&path.display().to_string()), "{stderr}");
    assert!(
        stdout.contains("2 already finished, 1 finished now"),
        "{stdout}"
    );
    let (_, after) = summary_of(&e, "digits-300/bp-s1");
    assert_eq!(after.final_, before.final_);
    assert_eq!(after.test_acc, before.test_acc);
    let grid: Vec<RunSummary> =
        serde_json::from_str(&std::fs::read_to_string(dir.path().join("summary.json")).unwrap())
            .unwrap();
    assert_eq!(grid.len(), 3);
}

#[test]
fn changed_final_settings_remeasure_a_finished_run_without_retraining() {
    let dir = tempfile::tempdir().unwrap();
    let original = Path::new(env!("CARGO_MANIFEST_DIR")).join("../experiments/tiny.toml");
    let file = dir.path().join("tiny.toml");
    let text = std::fs::read_to_string(&original).unwrap();
    std::fs::write(&file, &text).unwrap();
    let load = || {
        let mut e = Experiment::load(&file).unwrap();
        e.results = dir.path().join("results");
        e
    };
    let id = "digits-300/bp-s0";
    let opts = RunOptions {
        filter: Some(id.into()),
        ..quiet()
    };
    let e = load();
    let out = run(&e, &opts).unwrap();
    assert_eq!(out.finished, [id], "{:?}", out.failed);
    let job = e.jobs().unwrap().into_iter().find(|j| j.id == id).unwrap();
    let run_dir = e.run_dir(&job);
    let kept = |name: &str| {
        let p = run_dir.join(name);
        (
            std::fs::read(&p).unwrap(),
            std::fs::metadata(&p).unwrap().modified().unwrap(),
        )
    };
    let before: Vec<_> = ["checkpoint.json", "best.params.json", "log.csv"]
        .iter()
        .map(|n| kept(n))
        .collect();
    let (_, old) = summary_of(&e, id);
    assert!(old.final_.contains_key("cert_l2_0.3"));

    // Edit the [final] section only.
    let at = text.find("[final]").unwrap();
    let (head, tail) = text.split_at(at);
    let edited = format!(
        "{head}{}",
        tail.replacen("cert_l2 = [0.1, 0.3]", "cert_l2 = [0.1, 0.2]", 1)
    );
    assert_ne!(edited, text);
    std::fs::write(&file, edited).unwrap();
    let e = load();
    let out = run(&e, &opts).unwrap();
    assert_eq!(out.remeasured, [id], "{:?}", out.failed);
    assert!(out.skipped.is_empty() && out.finished.is_empty());
    let (_, new) = summary_of(&e, id);
    assert!(new.final_.contains_key("cert_l2_0.2"), "{:?}", new.final_);
    assert!(!new.final_.contains_key("cert_l2_0.3"), "{:?}", new.final_);
    // Training did not rerun: its files are untouched, its results kept.
    let after: Vec<_> = ["checkpoint.json", "best.params.json", "log.csv"]
        .iter()
        .map(|n| kept(n))
        .collect();
    assert_eq!(before, after);
    assert_eq!(new.test_acc, old.test_acc);
    assert_eq!(new.best_epoch, old.best_epoch);
    assert_eq!(new.final_["clean"], old.final_["clean"]);
    assert_eq!(new.final_["cert_l2_0.1"], old.final_["cert_l2_0.1"]);
    let csv = std::fs::read_to_string(e.results.join("summary.csv")).unwrap();
    assert!(csv.contains("cert_l2_0.2"), "{csv}");

    // Now current: skipped.
    let out = run(&e, &opts).unwrap();
    assert_eq!(out.skipped, [id]);
    assert!(out.remeasured.is_empty());
}
