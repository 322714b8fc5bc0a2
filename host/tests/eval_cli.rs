//! The `certify`, `evaluate`, `export`, `inspect` and `plot` commands, run as a user would, on
//! the embedded digits.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

#[path = "cli_support/mod.rs"]
mod cli;
#[path = "eval_support/mod.rs"]
mod support;

use std::path::PathBuf;
use std::sync::OnceLock;

use cli::{fails, ok, s};

use lifted::model::params::save_params;
use support::{params, random_net, trained, Deploy};

/// A folder with best.params.json of the trained digits model, exported to model.lfm.
fn fixture() -> &'static (tempfile::TempDir, PathBuf, PathBuf) {
    static F: OnceLock<(tempfile::TempDir, PathBuf, PathBuf)> = OnceLock::new();
    F.get_or_init(|| {
        let dir = tempfile::tempdir().unwrap();
        let pj = dir.path().join("best.params.json");
        save_params(&pj, &params(trained(), 64, Deploy::FORWARD)).unwrap();
        let model = dir.path().join("model.lfm");
        let out = ok(&[
            "export",
            "--params",
            s(&pj),
            "--out",
            s(&model),
            "--sidecar",
        ]);
        assert!(out.contains("wrote") && out.contains("sidecar"), "{out}");
        (dir, pj, model)
    })
}

#[test]
fn every_command_has_help() {
    let top = ok(&["--help"]);
    for cmd in ["certify", "evaluate", "export", "inspect", "plot"] {
        assert!(top.contains(cmd), "`lifted --help` does not list {cmd}");
        let h = ok(&[cmd, "--help"]);
        assert!(
            h.contains("Usage: lifted") && h.contains("Example"),
            "{cmd} --help:\n{h}"
        );
    }
}

#[test]
fn certify_json_parses_and_self_check_passes() {
    let (dir, _, model) = fixture();
    let png = dir.path().join("radii.png");
    let out = ok(&[
        "certify",
        "--model",
        s(model),
        "--dataset",
        "digits",
        "--json",
        "--self-check",
        "--restarts",
        "1",
        "--plot",
        s(&png),
    ]);
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["samples"], 250);
    let clean = v["clean_accuracy"].as_f64().unwrap();
    assert!(clean > 0.9);
    let l2 = v["l2"]["certified_accuracy"].as_array().unwrap();
    assert_eq!(
        l2.iter()
            .map(|a| a["eps"].as_f64().unwrap() as f32)
            .collect::<Vec<_>>(),
        vec![0.1, 0.3, 0.5, 1.0]
    );
    assert!(l2[0]["certified_accuracy"].as_f64().unwrap() > 0.0);
    assert!(l2
        .iter()
        .all(|a| a["certified_accuracy"].as_f64().unwrap() <= clean));
    assert_eq!(v["l2"]["radii"].as_array().unwrap().len(), 250);
    assert_eq!(v["self_check"]["broken"], 0);
    assert!(v["internal"][0]["radius"]["median"].as_f64().unwrap() > 0.0);
    let png_bytes = std::fs::read(&png).unwrap();
    assert_eq!(&png_bytes[..8], b"\x89PNG\r\n\x1a\n");

    // Text output, a subset, another split and an SVG plot.
    let svg = dir.path().join("radii.svg");
    let text = ok(&[
        "certify",
        "--model",
        s(model),
        "--dataset",
        "digits",
        "--split",
        "val",
        "--limit",
        "40",
        "--l2",
        "0.05",
        "--linf",
        "0.005,0.5",
        "--plot",
        s(&svg),
        "--threads",
        "1",
    ]);
    for needle in [
        "clean",
        "certified accuracy",
        "digits:val, 40 samples",
        "above the model's limit",
        "median",
        "z1",
    ] {
        assert!(
            text.contains(needle),
            "certify output lacks {needle:?}:\n{text}"
        );
    }
    assert!(std::fs::read_to_string(&svg).unwrap().contains("<svg"));
}

#[test]
fn evaluate_json_parses() {
    let (_, _, model) = fixture();
    let out = ok(&[
        "evaluate",
        "--model",
        s(model),
        "--dataset",
        "digits",
        "--limit",
        "60",
        "--pgd-linf",
        "0.02,0.3",
        "--pgd-l2",
        "1.0",
        "--pgd-internal",
        "0.05",
        "--restarts",
        "2",
        "--json",
    ]);
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    let clean = v["clean_accuracy"].as_f64().unwrap();
    let rows = v["rows"].as_array().unwrap();
    assert_eq!(rows.len(), 4);
    for r in rows {
        let pgd = r["robust_accuracy"].as_f64().unwrap();
        assert!(pgd <= clean);
        if let Some(c) = r["certified_accuracy"].as_f64() {
            assert!(c <= pgd, "{r}");
        }
        assert_eq!(r["certified_broken"], 0);
    }
    assert!(
        rows[1]["robust_accuracy"].as_f64().unwrap() < 0.1,
        "ℓ∞ 0.3 should break the model: {}",
        rows[1]
    );
    assert_eq!(rows[3]["target"]["hidden"], 1);
    let text = ok(&[
        "evaluate",
        "--model",
        s(model),
        "--dataset",
        "digits",
        "--limit",
        "20",
        "--pgd-linf",
        "0.1",
        "--restarts",
        "1",
    ]);
    assert!(text.contains("PGD acc.") && text.contains("linf"), "{text}");
}

#[test]
fn inspect_shows_the_model() {
    let (_, _, model) = fixture();
    let v: serde_json::Value =
        serde_json::from_str(&ok(&["inspect", "--model", s(model), "--json"])).unwrap();
    assert_eq!(v["input_dim"], 64);
    assert_eq!(v["family"], "fenchel-young");
    assert_eq!(v["sweeps"], 5);
    assert_eq!(v["flash"]["blob"], std::fs::metadata(model).unwrap().len());
    assert!(v["ram"]["workspace_bytes"].as_u64().unwrap() > 0);
    assert_eq!(v["certificate"]["valid"], true);
    let text = ok(&["inspect", "--model", s(model)]);
    assert!(
        text.contains("64 → 32 → 10") && text.contains("RAM") && text.contains("flash"),
        "{text}"
    );
}

#[test]
fn plot_draws_figure_one() {
    let dir = tempfile::tempdir().unwrap();
    let mut logs = Vec::new();
    for (run, slope) in [("bp", 1.3f64), ("arovr", 1.1)] {
        let d = dir.path().join(run);
        std::fs::create_dir_all(&d).unwrap();
        let mut csv = String::from(
            "epoch,train_loss,train_acc,val_acc,test_acc,lip_estimate,lip_bound,seconds\n",
        );
        for e in 0..=10 {
            let acc = 0.5 + 0.04 * f64::from(e) - if e == 10 { 0.05 } else { 0.0 };
            csv += &format!(
                "{e},0.1,0.9,{acc},{},{},{},1.0\n",
                acc - 0.01,
                slope.powi(e),
                3.0 * slope.powi(e)
            );
        }
        let p = d.join("log.csv");
        std::fs::write(&p, csv).unwrap();
        logs.push(p);
    }
    let png = dir.path().join("fig.png");
    let out = ok(&[
        "plot",
        "--log",
        s(&logs[0]),
        "--log",
        s(&logs[1]),
        "--out",
        s(&png),
    ]);
    assert!(out.contains("bp") && out.contains("arovr"), "{out}");
    // The selected epoch is 9 (best validation accuracy), not the last.
    assert!(
        out.lines()
            .any(|l| l.starts_with("bp") && l.split_whitespace().nth(2) == Some("9")),
        "{out}"
    );
    assert_eq!(&std::fs::read(&png).unwrap()[..4], b"\x89PNG");
    let svg = dir.path().join("fig.svg");
    ok(&["plot", "--log", s(&logs[0]), "--out", s(&svg)]);
    assert!(std::fs::read_to_string(&svg).unwrap().contains("<svg"));

    let bad = dir.path().join("bad.csv");
    std::fs::write(&bad, "epoch,val_acc\n0,0.5\n").unwrap();
    let e = fails(&["plot", "--log", s(&bad), "--out", s(&png)]);
    assert!(e.contains("no column `lip_estimate`"), "{e}");
    let e = fails(&[
        "plot",
        "--log",
        s(&logs[0]),
        "--out",
        s(&dir.path().join("fig.gif")),
    ]);
    assert!(e.contains(".png or .svg"), "{e}");
}

#[test]
fn train_export_certify_end_to_end() {
    let dir = tempfile::tempdir().unwrap();
    let run = dir.path().join("run");
    ok(&[
        "train",
        "--dataset",
        "digits",
        "--widths",
        "32,10",
        "--epochs",
        "4",
        "--out",
        s(&run),
        "-q",
    ]);
    let model = dir.path().join("m.lfm");
    ok(&[
        "export",
        "--params",
        s(&run.join("best.params.json")),
        "--out",
        s(&model),
    ]);
    let v: serde_json::Value = serde_json::from_str(&ok(&[
        "certify",
        "--model",
        s(&model),
        "--dataset",
        "digits",
        "--json",
        "--self-check",
        "--restarts",
        "1",
    ]))
    .unwrap();
    assert!(
        v["clean_accuracy"].as_f64().unwrap() > 0.5,
        "{}",
        v["clean_accuracy"]
    );
    assert_eq!(v["self_check"]["broken"], 0);
    let png = dir.path().join("fig.png");
    ok(&[
        "plot",
        "--log",
        s(&run.join("log.csv")),
        "--log",
        s(&run.join("log.jsonl")),
        "--out",
        s(&png),
    ]);
}

#[test]
fn bad_inputs_give_clear_errors() {
    let (dir, pj, model) = fixture();
    let tmp = dir.path();
    // Missing files.
    let e = fails(&[
        "certify",
        "--model",
        s(&tmp.join("nope.lfm")),
        "--dataset",
        "digits",
    ]);
    assert!(e.contains("nope.lfm") && e.contains("lifted export"), "{e}");
    let e = fails(&[
        "export",
        "--params",
        s(&tmp.join("nope.json")),
        "--out",
        s(&tmp.join("x.lfm")),
    ]);
    assert!(
        e.contains("nope.json") && e.contains("best.params.json"),
        "{e}"
    );
    let e = fails(&["inspect", "--model", s(pj)]);
    assert!(
        e.contains("not a lifted model blob") && e.contains("lifted export"),
        "{e}"
    );
    let e = fails(&[
        "export",
        "--params",
        s(model),
        "--out",
        s(&tmp.join("x.lfm")),
    ]);
    assert!(
        e.contains("not valid JSON") || e.contains("stream did not contain valid UTF-8"),
        "{e}"
    );

    // Corrupt, truncated and old blobs.
    let bytes = std::fs::read(model).unwrap();
    let mut corrupt = bytes.clone();
    let mid = corrupt.len() / 2;
    corrupt[mid] ^= 0x40;
    let p = tmp.join("corrupt.lfm");
    std::fs::write(&p, &corrupt).unwrap();
    let e = fails(&["inspect", "--model", s(&p)]);
    assert!(e.contains("CRC-32") && e.contains("damaged"), "{e}");
    let p = tmp.join("truncated.lfm");
    std::fs::write(&p, &bytes[..bytes.len() - 100]).unwrap();
    let e = fails(&["certify", "--model", s(&p), "--dataset", "digits"]);
    // The CRC is checked first: a cut-off file is reported as damaged.
    assert!(
        e.contains("CRC-32") && e.contains("damaged") && e.contains("re-export"),
        "{e}"
    );
    let mut old = bytes.clone();
    old[4] = 0;
    let n = old.len() - 4;
    let crc = lifted_core::format::CRC32.checksum(&old[..n]);
    old[n..].copy_from_slice(&crc.to_le_bytes());
    let p = tmp.join("old.lfm");
    std::fs::write(&p, &old).unwrap();
    let e = fails(&["inspect", "--model", s(&p)]);
    assert!(
        e.contains("version 0 is not supported") && e.contains("re-export"),
        "{e}"
    );

    // A model for another data set.
    let wide = tmp.join("wide.params.json");
    save_params(
        &wide,
        &params(&random_net(&[784, 16, 10], 1.0, 5), 784, Deploy::FORWARD),
    )
    .unwrap();
    let wide_model = tmp.join("wide.lfm");
    ok(&["export", "--params", s(&wide), "--out", s(&wide_model)]);
    for cmd in ["certify", "evaluate"] {
        let e = fails(&[cmd, "--model", s(&wide_model), "--dataset", "digits"]);
        assert!(
            e.contains("dimension 784") && e.contains("dimension 64"),
            "{e}"
        );
    }

    // Bad option values.
    let e = fails(&[
        "certify",
        "--model",
        s(model),
        "--dataset",
        "digits",
        "--cert-l2=0.1,-1",
    ]);
    assert!(e.contains("--cert-l2"), "{e}");
    let e = fails(&[
        "evaluate",
        "--model",
        s(model),
        "--dataset",
        "digits",
        "--restarts",
        "0",
    ]);
    assert!(e.contains("--restarts"), "{e}");
    let e = fails(&[
        "export",
        "--params",
        s(pj),
        "--out",
        s(&tmp.join("y.lfm")),
        "--eps-l2-max",
        "0",
    ]);
    assert!(e.contains("--eps-l2-max"), "{e}");
    let e = fails(&[
        "certify",
        "--model",
        s(model),
        "--dataset",
        "digits",
        "--limit",
        "0",
    ]);
    assert!(e.contains("no samples"), "{e}");
    let e = fails(&[
        "certify",
        "--model",
        s(model),
        "--dataset",
        "mnist",
        "--data-dir",
        s(&tmp.join("no-data")),
    ]);
    assert!(e.contains("lifted data fetch --dataset mnist"), "{e}");
}
