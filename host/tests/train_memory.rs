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
