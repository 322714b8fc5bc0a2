//! Iterative deployments and untrusted blobs, run as a user would: the family-B configuration
//! with a top-down pass at K = 0 trained and attacked end to end, and blobs whose constants were
//! edited (with a valid CRC) refused by `certify` and `inspect --verify`.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

#[path = "cli_support/mod.rs"]
mod cli;

use std::path::Path;

use cli::{fails, ok, s};

use lifted_core::bounds::{compute, Limits};
use lifted_core::write::ModelParams;
use lifted_core::ModelView;

/// Trains and exports `extra` on the digits; returns the blob path.
fn train_export(dir: &Path, extra: &[&str]) -> std::path::PathBuf {
    let run = dir.join("run");
    let mut args = vec![
        "train",
        "--dataset",
        "digits",
        "--epochs",
        "10",
        "--threads",
        "2",
        "--quiet",
        "--out",
        s(&run),
    ];
    args.extend_from_slice(extra);
    ok(&args);
    let model = dir.join("model.lfm");
    ok(&[
        "export",
        "--params",
        s(&run.join("best.params.json")),
        "--out",
        s(&model),
    ]);
    model
}

#[test]
fn hopfield_top_down_at_k0_certifies_only_what_holds() {
    let dir = tempfile::tempdir().unwrap();
    // The configuration whose internal certificates once broke (13 of 250 z1 radii).
    let model = train_export(
        dir.path(),
        &[
            "--widths",
            "64,64,10",
            "--potential",
            "hopfield",
            "--sweeps",
            "0",
            "--schedule",
            "bwd-fwd+topdown",
            "--objective",
            "arovr",
            "--lr",
            "3e-3",
        ],
    );
    let info = ok(&["inspect", "--model", s(&model), "--json", "--verify"]);
    let info: serde_json::Value = serde_json::from_str(&info).unwrap();
    assert_eq!(info["forward_deployment"], false, "{info}");
    assert_eq!(
        info["verification"]["understated"]
            .as_array()
            .unwrap()
            .len(),
        0
    );
    let out = ok(&[
        "certify",
        "--model",
        s(&model),
        "--dataset",
        "digits",
        "--self-check",
        "--json",
    ]);
    let r: serde_json::Value = serde_json::from_str(&out).unwrap();
    let sc = &r["self_check"];
    assert_eq!(sc["broken"], 0, "{sc}");
    // The test is only meaningful if certificates were issued and attacked.
    let attacked: u64 = sc["attacked"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e[1].as_u64().unwrap())
        .sum();
    assert!(attacked > 50, "only {attacked} certificates attacked: {sc}");
}

/// The blob of `params` with constants from `compute`, edited by `edit`, serialised with a
/// valid CRC (as a tool that rewrites constants and reseals would).
fn resealed(params: &ModelParams, edit: impl Fn(&mut lifted_core::write::Constants)) -> Vec<u8> {
    let mut c = compute(params, &Limits::default());
    edit(&mut c);
    params.to_blob(&c).unwrap().as_bytes().to_vec()
}

#[test]
fn constants_that_understate_the_weights_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let model = train_export(
        dir.path(),
        &["--widths", "32,10", "--objective", "bp", "--lr", "3e-3"],
    );
    let honest = std::fs::read(&model).unwrap();
    let params = ModelParams::from_view(&ModelView::new_checked(&honest).unwrap());
    // The honest blob verifies.
    let text = ok(&["inspect", "--model", s(&model), "--verify"]);
    assert!(text.contains("verified"), "{text}");

    for (name, edit) in [
        (
            "pairs ÷ 100",
            Box::new(|c: &mut lifted_core::write::Constants| {
                c.pairs_l2.iter_mut().for_each(|v| *v /= 100.0);
            }) as Box<dyn Fn(&mut lifted_core::write::Constants)>,
        ),
        (
            "one ℓ∞ pair",
            Box::new(|c: &mut lifted_core::write::Constants| c.pairs_inf[3] *= 0.999),
        ),
        (
            "layer Lipschitz bound",
            Box::new(|c: &mut lifted_core::write::Constants| c.layers[0].lip_l2 *= 0.5),
        ),
        (
            "spectral norm",
            Box::new(|c: &mut lifted_core::write::Constants| c.layers[1].w_l2 *= 0.9),
        ),
    ] {
        let bad = dir.path().join("bad.lfm");
        std::fs::write(&bad, resealed(&params, edit)).unwrap();
        // It loads (CRC and structure are fine) …
        ok(&["inspect", "--model", s(&bad)]);
        // … but neither verification nor certification accepts it.
        let err = fails(&["inspect", "--model", s(&bad), "--verify"]);
        assert!(err.contains("understate"), "{name}: {err}");
        let err = fails(&["certify", "--model", s(&bad), "--dataset", "digits"]);
        assert!(err.contains("understate"), "{name}: {err}");
        assert!(
            err.contains("lifted export"),
            "{name}: the fix is named: {err}"
        );
    }

    // Norms the loader can re-derive from the weights are refused when the blob is opened.
    let bad = dir.path().join("bad-norm.lfm");
    std::fs::write(&bad, resealed(&params, |c| c.layers[1].w_inf *= 0.5)).unwrap();
    let err = fails(&["inspect", "--model", s(&bad)]);
    assert!(err.contains("below the norms of the weights"), "{err}");

    // Larger constants are sound (merely loose) and accepted.
    let loose = dir.path().join("loose.lfm");
    std::fs::write(
        &loose,
        resealed(&params, |c| c.pairs_l2.iter_mut().for_each(|v| *v *= 2.0)),
    )
    .unwrap();
    ok(&["certify", "--model", s(&loose), "--dataset", "digits"]);
}
