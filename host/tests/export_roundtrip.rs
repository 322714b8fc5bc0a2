//! Export → blob → inspect round trip, and the Python-readable sidecar.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

#[path = "eval_support/mod.rs"]
mod support;

use std::process::Command;

use lifted::model::export::{export, sidecar_paths};
use lifted::model::file::{open, read_blob};
use lifted::model::inspect::inspect;
use lifted::model::params::{load_params, save_params};
use lifted::npz::read_npz;
use lifted_core::bounds::{compute, Limits};
use lifted_core::format::pair_index;
use lifted_core::Workspace;
use support::{params, random_net, trained, Deploy};

fn bits(v: &[f32]) -> Vec<u32> {
    v.iter().map(|x| x.to_bits()).collect()
}

#[test]
fn export_then_inspect_round_trips() {
    let dir = tempfile::tempdir().unwrap();
    for (name, d) in [("fwd", Deploy::FORWARD), ("hop", Deploy::HOPFIELD)] {
        let p = params(trained(), 64, d);
        let pj = dir.path().join(format!("{name}.params.json"));
        save_params(&pj, &p).unwrap();
        let p = load_params(&pj).unwrap();
        let out = dir.path().join(format!("{name}.lfm"));
        let limits = Limits {
            eps_l2_max: 1.5,
            eps_inf_max: 0.2,
            eps_internal_max: 1.0,
            gram_steps: 8,
        };
        let s = export(&p, &out, &limits, true).unwrap();
        assert!(s.constants_valid);
        let blob = read_blob(&out).unwrap();
        assert_eq!(blob.as_bytes().len(), s.blob_bytes);
        let model = open(&blob).unwrap();
        // Everything the params say is in the blob, bit for bit.
        assert_eq!(model.input_dim(), p.input_dim);
        assert_eq!(
            (
                model.family(),
                model.init(),
                model.schedule(),
                model.sweeps()
            ),
            (p.family, p.init, p.schedule, usize::from(p.sweeps))
        );
        for (k, l) in p.layers.iter().enumerate() {
            assert_eq!(bits(model.weights(k)), bits(&l.weights));
            assert_eq!(bits(model.bias(k)), bits(&l.bias));
            let spec = model.layer(k + 1).unwrap();
            assert_eq!(
                (spec.gamma, spec.rho, spec.step, spec.activation),
                (l.gamma, l.rho, l.step, l.activation)
            );
        }
        let c = compute(&p, &limits);
        assert_eq!(bits(model.pairs_l2()), bits(&c.pairs_l2));
        assert_eq!(model.header().metadata, p.metadata);
        // Inspection.
        let info = inspect("m.lfm", &model, &blob);
        assert_eq!(info.layers.len(), 2);
        assert_eq!((info.layers[0].width, info.layers[0].fan_in), (32, 64));
        assert_eq!(info.certificate.eps_l2_max, 1.5);
        assert_eq!(info.certificate.eps_inf_max, 0.2);
        assert_eq!(info.flash.blob, blob.as_bytes().len());
        assert_eq!(info.flash.weights, 4 * (64 * 32 + 32 * 10));
        assert_eq!(info.flash.biases, 4 * (32 + 10));
        assert_eq!(info.flash.constants, 4 * 45 * 3);
        assert_eq!(info.ram.workspace_bytes, Workspace::required_bytes(&model));
        assert!(
            info.certificate.pairs_l2.min <= info.certificate.pairs_l2.max
                && info.certificate.pairs_l2.min > 0.0
        );
        println!(
            "{name}: float error at mid input {} {}",
            info.certificate.float_error_l2_at_mid_input,
            info.certificate.float_error_linf_at_mid_input
        );
        assert!(
            info.certificate.float_error_l2_at_mid_input > 0.0
                && info.certificate.float_error_l2_at_mid_input < 0.05
        );
        assert_eq!(info.class_names.len(), 10);
        let text = info.to_string();
        for needle in ["flash", "RAM", "‖W‖₂", "pair constants", "K = "] {
            assert!(
                text.contains(needle),
                "inspect text lacks {needle}:\n{text}"
            );
        }
        serde_json::to_value(&info).unwrap();

        // The sidecar, read with a numpy-free parser.
        let (npz, json) = sidecar_paths(&out);
        let arrays = read_npz(&npz).unwrap();
        assert_eq!(arrays["W0"].shape, vec![32, 64]);
        assert_eq!(bits(&arrays["W0"].data), bits(model.weights(0)));
        assert_eq!(arrays["b1"].shape, vec![10]);
        assert_eq!(bits(&arrays["b1"].data), bits(model.bias(1)));
        let k = &arrays["K_l2"];
        assert_eq!(k.shape, vec![10, 10]);
        for i in 0..10 {
            assert_eq!(k.data[i * 10 + i], 0.0);
            for j in 0..10 {
                if i != j {
                    assert_eq!(
                        k.data[i * 10 + j].to_bits(),
                        model.pairs_l2()[pair_index(10, i, j)].to_bits()
                    );
                }
            }
        }
        assert!(arrays.contains_key("K_internal_1") && arrays.contains_key("K_inf"));
        let meta: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
        assert_eq!(meta["format"], "lifted-sidecar");
        assert_eq!(meta["widths"], serde_json::json!([32, 10]));
        assert_eq!(meta["certificate"]["eps_l2_max"], 1.5);
        assert_eq!(meta["metadata"]["test"], "eval_support");
        assert_eq!(
            meta["layers"][0]["bounds"]["w_l2"].as_f64().unwrap() as f32,
            model.layer(1).unwrap().bounds.w_l2
        );
        assert_eq!(meta["blob_bytes"], blob.as_bytes().len());
    }
}

#[test]
fn export_is_reproducible_and_refuses_bad_input() {
    let dir = tempfile::tempdir().unwrap();
    let p = params(&random_net(&[64, 8, 10], 1.0, 3), 64, Deploy::A_ZERO);
    let (a, b) = (dir.path().join("a.lfm"), dir.path().join("b.lfm"));
    export(&p, &a, &Limits::default(), true).unwrap();
    export(&p, &b, &Limits::default(), true).unwrap();
    assert_eq!(std::fs::read(&a).unwrap(), std::fs::read(&b).unwrap());
    assert_eq!(
        std::fs::read(a.with_extension("npz")).unwrap(),
        std::fs::read(b.with_extension("npz")).unwrap()
    );

    let bad = Limits {
        eps_l2_max: -1.0,
        ..Limits::default()
    };
    let e = export(&p, &a, &bad, false).unwrap_err().to_string();
    assert!(e.contains("--eps-l2-max"), "{e}");
    let e = export(&p, &dir.path().join("m.json"), &Limits::default(), true)
        .unwrap_err()
        .to_string();
    assert!(e.contains("sidecar"), "{e}");
    let mut nan = p.clone();
    nan.layers[0].bias[2] = f32::INFINITY;
    let e = export(&nan, &a, &Limits::default(), false)
        .unwrap_err()
        .to_string();
    assert!(e.contains("layer 1: bias 2"), "{e}");
}

/// A Python with numpy, if this machine has one.
fn python_with_numpy() -> Option<String> {
    ["python3", "/usr/bin/python3", "python"]
        .into_iter()
        .map(str::to_owned)
        .find(|py| {
            Command::new(py)
                .args(["-c", "import numpy"])
                .output()
                .is_ok_and(|o| o.status.success())
        })
}

#[test]
fn numpy_loads_the_sidecar() {
    let Some(py) = python_with_numpy() else {
        println!("skipped: no python3 with numpy on this machine (the numpy-free reader is tested above)");
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let p = params(trained(), 64, Deploy::FORWARD);
    let out = dir.path().join("model.lfm");
    export(&p, &out, &Limits::default(), true).unwrap();
    let blob = read_blob(&out).unwrap();
    let model = open(&blob).unwrap();
    // numpy recomputes the logits of test sample 0 with the forward pass from the sidecar alone.
    let x = support::digits().test.input(0).unwrap();
    let script = r#"
import json, sys, numpy as np
d = np.load(sys.argv[1]); meta = json.load(open(sys.argv[2]))
assert meta["format"] == "lifted-sidecar"
z = np.array(json.loads(sys.argv[3]), dtype=np.float64)
L = len(meta["widths"])
for k in range(L):
    W, b = d["W%d" % k].astype(np.float64), d["b%d" % k].astype(np.float64)
    assert W.shape == (meta["widths"][k], z.shape[0]), W.shape
    z = W @ z + b
    if k + 1 < L:
        z = np.maximum(z, 0)
K = d["K_l2"]
assert K.shape == (10, 10) and np.allclose(K, K.T) and (np.diag(K) == 0).all()
print(json.dumps([float(v) for v in z]))
"#;
    let xs = serde_json::to_string(&x).unwrap();
    let o = Command::new(&py)
        .args([
            "-c",
            script,
            npz_str(&out.with_extension("npz")),
            npz_str(&out.with_extension("json")),
            &xs,
        ])
        .output()
        .unwrap();
    assert!(
        o.status.success(),
        "numpy failed: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    let got: Vec<f64> = serde_json::from_slice(&o.stdout).unwrap();
    let mut buf = vec![0.0f32; Workspace::required(&model)];
    let mut ws = Workspace::new(&mut buf);
    let want = lifted_core::infer(&model, x, &mut ws).unwrap();
    let tol = lifted::tol::Tol::AbsRel {
        atol: 1e-5,
        rtol: 1e-5,
    };
    let want: Vec<f64> = want.logits.iter().map(|&v| f64::from(v)).collect();
    assert_eq!(
        tol.first_mismatch(&got, &want),
        None,
        "numpy {got:?} vs lifted-core {want:?}"
    );
}

fn npz_str(p: &std::path::Path) -> &str {
    p.to_str().unwrap()
}
