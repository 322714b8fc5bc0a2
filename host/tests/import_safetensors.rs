//! `lifted export --safetensors`: a model we trained, written out as a PyTorch-style safetensors
//! file from Rust, imports to the same parameters and exports to a blob whose logits and
//! certificates equal the original's bit for bit; malformed files fail with errors that name the
//! tensor.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

#[path = "cli_support/mod.rs"]
mod cli;

use std::collections::HashMap;
use std::sync::OnceLock;

use lifted::data::{load, DatasetKind, Splits};
use lifted::model::export::build_blob;
use lifted::model::file::{open, read_blob};
use lifted::model::import_safetensors::{import_bytes, ImportOptions};
use lifted::train::{self, InitKind, Objective, Progress, TrainConfig};
use lifted_core::bounds::Limits;
use lifted_core::write::ModelParams;
use lifted_core::{certify, infer, Norm, Workspace};
use safetensors::tensor::TensorView;
use safetensors::Dtype;

fn digits() -> &'static Splits {
    static D: OnceLock<Splits> = OnceLock::new();
    D.get_or_init(|| load(DatasetKind::Digits, None, None).unwrap())
}

/// A forward-deployed MLP 64-24-16-10 trained with back-propagation for two epochs.
fn original() -> &'static ModelParams {
    static P: OnceLock<ModelParams> = OnceLock::new();
    P.get_or_init(|| {
        let cfg = TrainConfig {
            widths: vec![24, 16, 10],
            objective: Objective::Bp,
            init: InitKind::Forward,
            sweeps: 0,
            epochs: 2,
            lr: 3e-3,
            threads: 2,
            ..TrainConfig::default()
        };
        train::train(&cfg, digits(), &mut Progress::hidden())
            .unwrap()
            .best
    })
}

fn le_bytes(v: &[f32]) -> Vec<u8> {
    v.iter().flat_map(|x| x.to_le_bytes()).collect()
}

/// (name, dtype, shape, bytes) of every tensor of `p` under the prefixes `names`.
fn tensors(p: &ModelParams, names: &[&str]) -> Vec<(String, Dtype, Vec<usize>, Vec<u8>)> {
    let mut fan_in = p.input_dim;
    let mut out = Vec::new();
    for (l, name) in p.layers.iter().zip(names) {
        let width = l.bias.len();
        out.push((
            format!("{name}.weight"),
            Dtype::F32,
            vec![width, fan_in],
            le_bytes(&l.weights),
        ));
        out.push((
            format!("{name}.bias"),
            Dtype::F32,
            vec![width],
            le_bytes(&l.bias),
        ));
        fan_in = width;
    }
    out
}

fn file(t: &[(String, Dtype, Vec<usize>, Vec<u8>)]) -> Vec<u8> {
    let views: Vec<(String, TensorView<'_>)> = t
        .iter()
        .map(|(n, d, s, b)| (n.clone(), TensorView::new(*d, s.clone(), b).unwrap()))
        .collect();
    safetensors::serialize(views, Some(HashMap::new())).unwrap()
}

fn sequential() -> Vec<(String, Dtype, Vec<usize>, Vec<u8>)> {
    tensors(original(), &["0", "2", "4"])
}

fn import_err(t: &[(String, Dtype, Vec<usize>, Vec<u8>)]) -> String {
    format!(
        "{:#}",
        import_bytes(&file(t), &ImportOptions::default()).unwrap_err()
    )
}

/// Per test sample: logits bits, and the ℓ2 and ℓ∞ certified radii bits.
fn outputs(p: &ModelParams) -> Vec<(Vec<u32>, u32, u32)> {
    let blob = build_blob(p, &Limits::default()).unwrap();
    let model = open(&blob).unwrap();
    let mut buf = vec![0.0f32; Workspace::required(&model)];
    digits()
        .test
        .iter()
        .map(|(x, _)| {
            let mut ws = Workspace::new(&mut buf);
            let o = infer(&model, x, &mut ws).unwrap();
            let logits = o.logits.iter().map(|v| v.to_bits()).collect();
            let r = |n| certify(&model, &o, n).radius.to_bits();
            (logits, r(Norm::L2), r(Norm::Linf))
        })
        .collect()
}

#[test]
fn imported_model_equals_the_original_bit_for_bit() {
    let orig = original();
    let imported = import_bytes(&file(&sequential()), &ImportOptions::default()).unwrap();
    assert_eq!(imported.layers.len(), 3);
    for (a, b) in orig.layers.iter().zip(&imported.layers) {
        assert_eq!(a.weights, b.weights);
        assert_eq!(a.bias, b.bias);
        assert_eq!(a.activation, b.activation);
        assert_eq!(
            (a.gamma.to_bits(), a.rho.to_bits(), a.step.to_bits()),
            (b.gamma.to_bits(), b.rho.to_bits(), b.step.to_bits())
        );
    }
    assert_eq!(
        (
            imported.family,
            imported.init,
            imported.schedule,
            imported.sweeps
        ),
        (orig.family, orig.init, orig.schedule, orig.sweeps)
    );
    let (a, b) = (outputs(orig), outputs(&imported));
    assert_eq!(a.len(), 250);
    assert_eq!(a, b);
    // The certificates are real: some test points certify at a positive radius.
    assert!(b.iter().any(|(_, l2, _)| f32::from_bits(*l2) > 0.0));
}

#[test]
fn names_by_pattern_list_and_f64() {
    let orig = original();
    for (names, spec) in [
        (["layers.0", "layers.1", "layers.2"], Some("layers.{k}")),
        (["fc1", "fc2", "fc3"], None),
        (["fc1", "fc2", "fc3"], Some("fc{k}")),
        (["hidden", "mid", "out"], Some("hidden,mid,out")),
    ] {
        let mut t = tensors(orig, &names);
        // A decoy tensor that an explicit name list leaves out.
        if spec.is_some() {
            t.push((
                "bn.running_mean".into(),
                Dtype::F32,
                vec![1],
                le_bytes(&[0.0]),
            ));
        }
        let opts = ImportOptions {
            tensor_names: spec.map(str::to_owned),
            ..ImportOptions::default()
        };
        let p = import_bytes(&file(&t), &opts).unwrap();
        assert_eq!(p.layers[2].weights, orig.layers[2].weights, "{spec:?}");
        assert_eq!(p.layers[0].bias, orig.layers[0].bias, "{spec:?}");
    }
    // f64 tensors of f32 values convert exactly.
    let t: Vec<_> = sequential()
        .into_iter()
        .map(|(n, _, s, b)| {
            let v: Vec<u8> = b
                .chunks_exact(4)
                .flat_map(|c| f64::from(f32::from_le_bytes([c[0], c[1], c[2], c[3]])).to_le_bytes())
                .collect();
            (n, Dtype::F64, s, v)
        })
        .collect();
    let p = import_bytes(&file(&t), &ImportOptions::default()).unwrap();
    assert_eq!(p.layers[1].weights, orig.layers[1].weights);
}

#[test]
fn half_precision_converts() {
    // 2 → 1 layer: weight [[1.5, -2]], bias [0.25] as f16 and as bf16.
    let f16 = |h: u16| h.to_le_bytes().to_vec();
    for (dtype, w, b) in [
        (Dtype::F16, [0x3e00u16, 0xc000], 0x3400u16),
        (Dtype::BF16, [0x3fc0, 0xc000], 0x3e80),
    ] {
        let t = vec![
            (
                "0.weight".to_owned(),
                dtype,
                vec![1, 2],
                [f16(w[0]), f16(w[1])].concat(),
            ),
            ("0.bias".to_owned(), dtype, vec![1], f16(b)),
        ];
        let p = import_bytes(&file(&t), &ImportOptions::default()).unwrap();
        assert_eq!(p.layers[0].weights, [1.5, -2.0], "{dtype:?}");
        assert_eq!(p.layers[0].bias, [0.25], "{dtype:?}");
        assert_eq!(p.input_dim, 2);
    }
}

#[test]
fn errors_name_the_tensor() {
    // Shapes that do not chain: layer 2 takes 23 inputs, layer 1 gives 24.
    let mut t = sequential();
    t[2].2 = vec![16, 23];
    t[2].3.truncate(16 * 23 * 4);
    let e = import_err(&t);
    assert!(
        e.contains("`2.weight` (layer 2)") && e.contains("23 inputs") && e.contains("24 outputs"),
        "{e}"
    );

    // A bias of the wrong length.
    let mut t = sequential();
    t[5].2 = vec![9];
    t[5].3.truncate(9 * 4);
    let e = import_err(&t);
    assert!(
        e.contains("`4.bias` (layer 3)") && e.contains("expected [10]"),
        "{e}"
    );

    // A missing tensor.
    let mut t = sequential();
    t.remove(3);
    let e = import_err(&t);
    assert!(e.contains("missing tensor `2.bias` (layer 2)"), "{e}");

    // NaN at row 3, column 5 of the first weight.
    let mut t = sequential();
    let at = (3 * 64 + 5) * 4;
    t[0].3[at..at + 4].copy_from_slice(&f32::NAN.to_le_bytes());
    let e = import_err(&t);
    assert!(
        e.contains("`0.weight` (layer 1)") && e.contains("NaN at index [3, 5]"),
        "{e}"
    );

    // Infinity in a bias.
    let mut t = sequential();
    t[3].3[8..12].copy_from_slice(&f32::INFINITY.to_le_bytes());
    let e = import_err(&t);
    assert!(
        e.contains("`2.bias`") && e.contains("inf at index [2]"),
        "{e}"
    );

    // Unsupported dtype.
    let mut t = sequential();
    t[1].1 = Dtype::I32;
    let e = import_err(&t);
    assert!(e.contains("`0.bias` (layer 1) has dtype I32"), "{e}");

    // A tensor that is not part of a plain MLP.
    let mut t = sequential();
    t.push(("bn1.weight".into(), Dtype::F32, vec![1], le_bytes(&[1.0])));
    let e = import_err(&t);
    assert!(
        e.contains("cannot tell the layers apart") && e.contains("`bn`"),
        "{e}"
    );
    let mut t = sequential();
    t.push(("bn.weight".into(), Dtype::F32, vec![1], le_bytes(&[1.0])));
    let e = import_err(&t);
    assert!(e.contains("tensor `bn.weight` is not a layer"), "{e}");

    // Not a safetensors file at all.
    let e = format!(
        "{:#}",
        import_bytes(b"hello", &ImportOptions::default()).unwrap_err()
    );
    assert!(e.contains("not a safetensors file"), "{e}");
}

#[test]
fn cli_export_from_safetensors_matches_export_from_params() {
    let dir = tempfile::tempdir().unwrap();
    let st = dir.path().join("mlp.safetensors");
    std::fs::write(&st, file(&sequential())).unwrap();
    let (a, pj, b) = (
        dir.path().join("a.lfm"),
        dir.path().join("mlp.params.json"),
        dir.path().join("b.lfm"),
    );
    let out = cli::ok(&[
        "export",
        "--safetensors",
        cli::s(&st),
        "--input-range",
        "0,1",
        "--out",
        cli::s(&a),
        "--write-params",
        cli::s(&pj),
    ]);
    assert!(out.contains("certificate constants valid"), "{out}");
    cli::ok(&["export", "--params", cli::s(&pj), "--out", cli::s(&b)]);
    let (ba, bb) = (read_blob(&a).unwrap(), read_blob(&b).unwrap());
    assert_eq!(ba.as_bytes(), bb.as_bytes());
    let e = cli::fails(&[
        "export",
        "--safetensors",
        cli::s(&dir.path().join("absent.safetensors")),
        "--out",
        cli::s(&a),
    ]);
    assert!(e.contains("absent.safetensors"), "{e}");
    let e = cli::fails(&["export", "--out", cli::s(&a)]);
    assert!(e.contains("--params"), "{e}");
}

/// Found by the `safetensors` fuzz target: a finite but huge weight of the output layer
/// (2 · 10³¹) makes the sweep contraction factor q overflow f32 while every other constant stays
/// finite. The exporter stored the certificate as valid with q = ∞, and the blob it wrote did not
/// load ("a bug in the exporter"). An overflowing q now marks the certificate invalid, as any
/// other overflowing constant does: the blob loads and the model never certifies.
#[test]
fn weights_whose_contraction_overflows_export_a_blob_that_never_certifies() {
    let w1 = [
        0.5, -0.25, 0.125, 0.0, 0.25, 0.5, -0.5, 0.75, -0.125, 0.0, 0.25, 1.0,
    ];
    let t = vec![
        ("0.weight".to_owned(), Dtype::F32, vec![3, 4], le_bytes(&w1)),
        (
            "0.bias".to_owned(),
            Dtype::F32,
            vec![3],
            le_bytes(&[0.0, 0.5, -0.5]),
        ),
        (
            "2.weight".to_owned(),
            Dtype::F32,
            vec![2, 3],
            le_bytes(&[2e31, 0.0, 0.0, 0.25, 0.5, -0.75]),
        ),
        (
            "2.bias".to_owned(),
            Dtype::F32,
            vec![2],
            le_bytes(&[0.125, -0.125]),
        ),
    ];
    let p = import_bytes(&file(&t), &ImportOptions::default()).unwrap();
    let c = lifted_core::bounds::compute(&p, &Limits::default());
    assert!(!c.cert.contraction.is_finite(), "{:?}", c.cert);
    let blob = build_blob(&p, &Limits::default()).unwrap();
    let model = open(&blob).unwrap();
    let cert = model.header().cert;
    assert!(!cert.valid, "{cert:?}");
    // Inference still runs; no radius is certified.
    let mut buf = vec![0.0f32; Workspace::required(&model)];
    let mut ws = Workspace::new(&mut buf);
    let o = infer(&model, &[0.0, 0.0, 0.0, 0.0], &mut ws).unwrap();
    assert_eq!(certify(&model, &o, Norm::L2).radius, 0.0);
    assert_eq!(certify(&model, &o, Norm::Linf).radius, 0.0);
}

/// Sizes a file declares are checked against its bytes: a shape of 2³² × 2³² with 8 bytes of
/// data is refused as a malformed file, and a file above the import limit (a sparse file here;
/// `/dev/zero` is cut at the limit) is refused by its size before it is read.
#[test]
fn huge_declared_shapes_and_oversized_files_are_refused() {
    let header =
        br#"{"0.weight":{"dtype":"F32","shape":[4294967296,4294967296],"data_offsets":[0,8]}}"#;
    let mut bytes = (header.len() as u64).to_le_bytes().to_vec();
    bytes.extend_from_slice(header);
    bytes.extend_from_slice(&[0; 8]);
    let e = format!(
        "{:#}",
        import_bytes(&bytes, &ImportOptions::default()).unwrap_err()
    );
    assert!(e.contains("not a safetensors file"), "{e}");

    let dir = tempfile::tempdir().unwrap();
    let big = dir.path().join("big.safetensors");
    std::fs::File::create(&big)
        .unwrap()
        .set_len(lifted::limits::MAX_SAFETENSORS_BYTES + 1)
        .unwrap();
    let e = cli::fails(&[
        "export",
        "--safetensors",
        cli::s(&big),
        "--out",
        cli::s(&dir.path().join("m.lfm")),
    ]);
    assert!(
        e.contains("cannot read")
            && e.contains("big.safetensors")
            && e.contains("larger than 256 MiB"),
        "{e}"
    );
}
