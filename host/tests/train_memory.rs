//! D8: a training run whose memory estimate exceeds the limit is refused before anything large is
//! allocated, with the estimate and the limit in the message (it used to abort on an allocation
//! failure).

mod cli_support;

use cli_support::{fails, ok, s};

/// Linux: the default limit is the available memory of /proc/meminfo.
#[cfg(target_os = "linux")]
#[test]
fn layers_too_wide_for_the_machine_are_refused_with_the_estimate() {
    let d = tempfile::tempdir().unwrap();
    let out = d.path().join("run");
    // 4.3 · 10⁹ parameters: far above any machine's memory, under the per-layer width cap.
    let e = fails(&[
        "train",
        "--dataset",
        "digits",
        "--widths",
        "65536,65536,10",
        "--epochs",
        "1",
        "--out",
        s(&out),
    ]);
    assert!(e.contains("the run needs about"), "{e}");
    assert!(e.contains("4299948042 parameters"), "{e}");
    assert!(e.contains("--max-memory"), "{e}");
    assert!(!out.exists(), "the run folder was created");
}

#[test]
fn an_explicit_limit_is_named_and_enforced() {
    let d = tempfile::tempdir().unwrap();
    let out = d.path().join("run");
    // 64·2048 + 2048 + 2048·10 + 10 = 153 610 parameters: about 177 MiB with 1000-sample
    // activations, above 16 MiB and below 1 GiB.
    let args = |limit: &'static str| {
        [
            "train",
            "--dataset",
            "digits",
            "--widths",
            "2048,10",
            "--epochs",
            "1",
            "--threads",
            "1",
            "--quiet",
            "--max-memory",
            limit,
        ]
    };
    let mut small: Vec<&str> = args("16M").to_vec();
    small.extend(["--out", s(&out)]);
    let e = fails(&small);
    assert!(e.contains("153610 parameters"), "{e}");
    assert!(e.contains("more than the 16.0 MiB of --max-memory"), "{e}");
    assert!(!out.exists());

    let mut enough: Vec<&str> = args("1G").to_vec();
    enough.extend(["--out", s(&out)]);
    ok(&enough);
    assert!(out.join("checkpoint.json").is_file());

    let e = fails(&[
        "train",
        "--dataset",
        "digits",
        "--max-memory",
        "8X",
        "--out",
        s(&out),
    ]);
    assert!(e.contains("the unit must be K, M, G or T"), "{e}");
}

/// An experiment with one row of `widths` on 300 digits, one epoch, small measurements.
fn experiment(dir: &std::path::Path, widths: &str) -> std::path::PathBuf {
    let file = dir.join("wide.toml");
    std::fs::write(
        &file,
        format!(
            "name = \"wide\"\ndatasets = [\"digits\"]\nn_train = [300]\nseeds = [0]\n\n\
             [base]\nepochs = 1\nthreads = 1\n\n\
             [measure]\nsubset = 20\npgd_steps = 2\npgd_l2 = [1.0]\ncert_l2 = [0.1]\n\
             cert_linf = [0.01]\n\n\
             [final]\nsubset = 20\npgd_steps = 2\npgd_l2 = [1.0]\ncert_l2 = [0.1]\n\
             cert_linf = [0.01]\n\n\
             [[row]]\nid = \"wide\"\nobjective = \"bp\"\nwidths = {widths}\n"
        ),
    )
    .unwrap();
    file
}

/// D8 for `lifted experiment run`: a row too wide for the machine fails with the estimate
/// before its run folder is created (the default limit is the available memory on Linux).
#[cfg(target_os = "linux")]
#[test]
fn an_experiment_row_too_wide_for_the_machine_is_refused_with_the_estimate() {
    let d = tempfile::tempdir().unwrap();
    let file = experiment(d.path(), "[65536, 65536, 10]");
    let results = d.path().join("results");
    let e = fails(&[
        "experiment",
        "run",
        s(&file),
        "--results",
        s(&results),
        "--quiet",
    ]);
    assert!(e.contains("1 run(s) failed"), "{e}");
    assert!(e.contains("the run needs about"), "{e}");
    assert!(e.contains("4299948042 parameters"), "{e}");
    assert!(e.contains("--max-memory"), "{e}");
    assert!(!results.join("runs").exists(), "a run folder was created");
}

/// `lifted experiment run --max-memory` sets the limit as `lifted train --max-memory` does.
#[test]
fn experiment_run_max_memory_is_named_and_enforced() {
    let d = tempfile::tempdir().unwrap();
    let file = experiment(d.path(), "[2048, 10]");
    let results = d.path().join("results");
    let run = |limit: &'static str| {
        vec![
            "experiment".to_owned(),
            "run".to_owned(),
            s(&file).to_owned(),
            "--results".to_owned(),
            s(&results).to_owned(),
            "--quiet".to_owned(),
            "--max-memory".to_owned(),
            limit.to_owned(),
        ]
    };
    let small = run("16M");
    let e = fails(&small.iter().map(String::as_str).collect::<Vec<_>>());
    assert!(e.contains("153610 parameters"), "{e}");
    assert!(e.contains("more than the 16.0 MiB of --max-memory"), "{e}");
    assert!(!results.join("runs").exists(), "a run folder was created");

    let enough = run("1G");
    ok(&enough.iter().map(String::as_str).collect::<Vec<_>>());
    assert!(results
        .join("runs/digits-300/wide-s0/summary.json")
        .is_file());

    let e = fails(&["experiment", "run", s(&file), "--max-memory", "8X"]);
    assert!(e.contains("the unit must be K, M, G or T"), "{e}");
}
