//! `lifted train` reports each epoch's training time apart from its measurements (the line
//! scripts/bench-vs-jax.sh reads): the samples are the training split, and the time is part of,
//! and below, the epoch's wall-clock seconds.

use std::process::Command;

/// The number after `key` in `line`, up to the next space (a trailing `s` dropped).
fn number_after(line: &str, key: &str) -> f64 {
    let rest = &line[line
        .find(key)
        .unwrap_or_else(|| panic!("no `{key}` in {line}"))
        + key.len()..];
    let word = rest.split_whitespace().next().unwrap();
    word.trim_end_matches('s')
        .parse()
        .unwrap_or_else(|_| panic!("`{word}` in {line}"))
}

#[test]
fn epoch_training_time_is_reported_apart_from_the_measurements() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("run");
    let st = Command::new(env!("CARGO_BIN_EXE_lifted"))
        .args([
            "train",
            "--epochs",
            "2",
            "--widths",
            "16,10",
            "--threads",
            "1",
            "--out",
        ])
        .arg(&out)
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&st.stderr);
    assert!(st.status.success(), "{err}");
    let trained: Vec<&str> = err.lines().filter(|l| l.contains(" trained ")).collect();
    assert_eq!(
        trained.len(),
        2,
        "one line per training epoch (none for epoch 0):\n{err}"
    );
    let epochs: Vec<&str> = err
        .lines()
        .filter(|l| l.starts_with("epoch") && l.contains(" loss "))
        .collect();
    assert_eq!(epochs.len(), 3, "{err}");
    for (e, (t, row)) in trained.iter().zip(&epochs[1..]).enumerate() {
        assert!(
            t.starts_with(&format!("epoch {:>3}  trained ", e + 1)),
            "{t}"
        );
        // The embedded digits: 1297 training samples (docs/data.md §4).
        assert_eq!(number_after(t, "trained "), 1297.0, "{t}");
        let train_s = number_after(t, "samples in ");
        let epoch_s = row.split_whitespace().last().unwrap();
        let epoch_s: f64 = epoch_s.trim_end_matches('s').parse().unwrap();
        // The epoch's seconds are printed to 10 ms, the training's to 1 ms: compare within
        // the two roundings (a digits epoch can take under 5 ms, printed "0.00s").
        assert!(
            train_s > 0.0 && train_s - 5e-4 <= epoch_s + 5e-3,
            "{t} / {row}"
        );
        // samples/s = samples / seconds, with the seconds printed to 1 ms.
        let rate = number_after(t, "(");
        assert!(
            rate * (train_s - 5e-4) <= 1298.0 && rate * (train_s + 5e-4) >= 1296.0,
            "{t}"
        );
    }
}
