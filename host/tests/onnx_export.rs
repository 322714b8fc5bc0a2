//! The ONNX export of the deployed map, run by onnxruntime (Python, in its own virtual
//! environment made by scripts/onnx-env.sh), against `lifted_core::infer`.
//!
//! Metric: for each sample, ‖ŝ − s‖_∞ / ‖s‖_∞ with s the logits of `infer` and ŝ those of
//! onnxruntime; the test takes the maximum over the samples and requires ≤ 1e-5. Normalising per
//! sample by the largest logit, not per element: the rounding error of every logit scales with the
//! size of the values summed into it (the whole logit vector's scale), so a logit close to 0 has
//! an error that is tiny next to the other logits but large next to itself, and an element-wise
//! relative error would be meaningless there. No absolute floor is needed: no sample here has all
//! logits zero (asserted); the smallest ‖s‖_∞ is about 0.03 (the small family-B fixture).
//!
//! Python, venv or pip missing make these tests fail with the script's message; they never skip.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::cast_precision_loss)]

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

use lifted::data::{self, DatasetKind};
use lifted_core::bounds::{compute, Limits};
use lifted_core::write::{Blob, LayerParams, ModelParams};
use lifted_core::{infer, Activation, Family, Init, ModelView, Schedule, Workspace};
use prost::Message;

/// The required agreement (issue 14: ≤ 1e-5 relative).
const TOLERANCE: f64 = 1e-5;

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// The virtual environment's python, made once per test run (the script reuses an environment
/// whose pins are unchanged).
fn python() -> &'static Path {
    static PY: OnceLock<PathBuf> = OnceLock::new();
    PY.get_or_init(|| {
        let venv = Path::new(env!("CARGO_TARGET_TMPDIR")).join("onnx-venv");
        let o = Command::new("bash")
            .arg(repo().join("scripts/onnx-env.sh"))
            .arg(&venv)
            .output()
            .expect("running bash scripts/onnx-env.sh");
        assert!(
            o.status.success(),
            "scripts/onnx-env.sh failed — the ONNX test needs python3 with venv and pip:\n{}",
            String::from_utf8_lossy(&o.stderr)
        );
        let out = String::from_utf8(o.stdout).unwrap();
        PathBuf::from(
            out.lines()
                .last()
                .expect("the script prints the python path")
                .trim(),
        )
    })
}

fn f32_bytes(v: &[f32]) -> Vec<u8> {
    v.iter().flat_map(|x| x.to_le_bytes()).collect()
}

/// onnxruntime's outputs for `onnx` (serialised model) on `inputs` (samples × `dim`).
fn run_ort(onnx: &[u8], inputs: &[f32], dim: usize) -> Vec<f32> {
    let dir = tempfile::tempdir().unwrap();
    let (m, x, y) = (
        dir.path().join("m.onnx"),
        dir.path().join("x.f32"),
        dir.path().join("y.f32"),
    );
    std::fs::write(&m, onnx).unwrap();
    std::fs::write(&x, f32_bytes(inputs)).unwrap();
    let o = Command::new(python())
        .arg(repo().join("scripts/onnx_run.py"))
        .args([&m, &x])
        .arg(dim.to_string())
        .arg(&y)
        .output()
        .expect("running scripts/onnx_run.py");
    assert!(
        o.status.success(),
        "onnxruntime failed on the exported model:\n{}",
        String::from_utf8_lossy(&o.stderr)
    );
    std::fs::read(&y)
        .unwrap()
        .chunks_exact(4)
        .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
        .collect()
}

/// `infer`'s logits for every sample.
fn rust_logits(model: &ModelView<'_>, inputs: &[f32]) -> Vec<f32> {
    let mut buf = vec![0.0f32; Workspace::required(model)];
    inputs
        .chunks_exact(model.input_dim())
        .flat_map(|x| {
            infer(model, x, &mut Workspace::new(&mut buf))
                .unwrap()
                .logits
                .to_vec()
        })
        .collect()
}

/// max over samples of ‖ŝ − s‖_∞ / ‖s‖_∞ (see the module docs).
fn max_relative(ort: &[f32], rust: &[f32], classes: usize) -> f64 {
    assert_eq!(ort.len(), rust.len(), "onnxruntime gave another shape");
    ort.chunks_exact(classes)
        .zip(rust.chunks_exact(classes))
        .map(|(o, r)| {
            let scale = r.iter().fold(0.0f64, |m, &v| m.max(f64::from(v).abs()));
            assert!(scale > 0.0, "logits {r:?} are all zero");
            let diff = o.iter().zip(r).fold(0.0f64, |m, (&a, &b)| {
                m.max((f64::from(a) - f64::from(b)).abs())
            });
            diff / scale
        })
        .fold(0.0, f64::max)
}

/// Exports `model`, runs it in onnxruntime on `inputs` and returns the metric (printed).
fn check(name: &str, model: &ModelView<'_>, inputs: &[f32]) -> f64 {
    let onnx = lifted::model::onnx::onnx_bytes(model).unwrap();
    let ort = run_ort(&onnx, inputs, model.input_dim());
    let rel = max_relative(&ort, &rust_logits(model, inputs), model.classes());
    let n = inputs.len() / model.input_dim();
    println!("{name}: {n} samples, max relative difference {rel:.3e}");
    assert!(
        rel <= TOLERANCE,
        "{name}: onnxruntime differs from infer by {rel:e} relative (> {TOLERANCE:e})"
    );
    rel
}

/// A small deterministic generator (xorshift64*), uniform in [0, 1).
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> f32 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        ((self.0.wrapping_mul(0x2545_F491_4F6C_DD1D) >> 40) as f32) / (1u64 << 24) as f32
    }
}

/// Inputs in [0, 1]: half uniform, half MNIST-like (mostly 0 with a few bright pixels).
fn inputs(rng: &mut Rng, samples: usize, dim: usize) -> Vec<f32> {
    (0..samples * dim)
        .map(|i| {
            let u = rng.next();
            if (i / dim).is_multiple_of(2) || rng.next() < 0.2 {
                u
            } else {
                0.0
            }
        })
        .collect()
}

/// A 784-128-128-10 model with uniform weights of scale 1/√fan_in, as a blob.
fn mnist_shaped(
    family: Family,
    init: Init,
    sweeps: u16,
    schedule: Schedule,
    hidden: Activation,
    seed: u64,
) -> Blob {
    let params = mnist_params(family, init, sweeps, schedule, hidden, seed);
    params
        .to_blob(&compute(&params, &Limits::default()))
        .unwrap()
}

/// The parameters of [`mnist_shaped`].
fn mnist_params(
    family: Family,
    init: Init,
    sweeps: u16,
    schedule: Schedule,
    hidden: Activation,
    seed: u64,
) -> ModelParams {
    let mut rng = Rng(seed);
    let widths = [784usize, 128, 128, 10];
    let layers = (1..widths.len())
        .map(|k| {
            let (n, m) = (widths[k], widths[k - 1]);
            let s = 2.0 * (3.0 / m as f32).sqrt();
            let last = k == widths.len() - 1;
            LayerParams {
                weights: (0..n * m).map(|_| (rng.next() - 0.5) * s).collect(),
                bias: (0..n).map(|_| (rng.next() - 0.5) * 0.2).collect(),
                activation: if last { Activation::Identity } else { hidden },
                gamma: 1.0,
                rho: if last { 0.0 } else { 0.5 },
                step: if last { 1.0 } else { 0.4 },
            }
        })
        .collect();
    ModelParams {
        input_dim: 784,
        input_range: (0.0, 1.0),
        family,
        init,
        schedule,
        sweeps,
        layers,
        class_names: Vec::new(),
        metadata: "{}".into(),
    }
}

fn load(path: &str) -> Blob {
    Blob::from_bytes(&std::fs::read(repo().join(path)).unwrap())
}

#[test]
fn the_digits_demo_model_matches_infer_on_the_digits_test_split() {
    let blob = load("firmware/models/demo.lfm");
    let model = ModelView::new_checked(blob.as_bytes()).unwrap();
    let test = data::load(DatasetKind::Digits, None, None).unwrap().test;
    assert_eq!(test.dim, model.input_dim());
    assert!(test.len() > 200);
    check("digits demo (family A, forward)", &model, &test.inputs);
}

#[test]
fn the_iterative_family_b_fixture_matches_infer() {
    // Family B, forward init, K = 5, top-down tail: 5·(2·1+1+1)+… updates of the sweeps.
    let blob = load("tests/fixtures/v2-hopfield.lfm");
    let model = ModelView::new_checked(blob.as_bytes()).unwrap();
    assert!(!model.is_forward_deployment());
    let x = inputs(&mut Rng(7), 64, model.input_dim());
    check("v2-hopfield fixture (family B, K = 5)", &model, &x);
}

#[test]
fn mnist_shaped_models_match_infer_forward_and_iterative() {
    let x = inputs(&mut Rng(11), 64, 784);
    let cases = [
        (
            "784-128-128-10 family A forward (forward pass)",
            mnist_shaped(
                Family::FenchelYoung,
                Init::Forward,
                3,
                Schedule::BwdFwd,
                Activation::Relu,
                1,
            ),
        ),
        (
            "784-128-128-10 family B forward init, K = 3, top-down tail, clipped ReLU",
            mnist_shaped(
                Family::Hopfield,
                Init::Forward,
                3,
                Schedule::BwdFwdTopDown,
                Activation::ClippedRelu { bound: 1.0 },
                2,
            ),
        ),
        (
            "784-128-128-10 family B zero init, K = 4",
            mnist_shaped(
                Family::Hopfield,
                Init::Zero,
                4,
                Schedule::BwdFwd,
                Activation::Relu,
                3,
            ),
        ),
        (
            "784-128-128-10 family A zero init, K = 3 (iterative family-A updates)",
            mnist_shaped(
                Family::FenchelYoung,
                Init::Zero,
                3,
                Schedule::BwdFwd,
                Activation::Relu,
                4,
            ),
        ),
    ];
    for (name, blob) in &cases {
        let model = ModelView::new_checked(blob.as_bytes()).unwrap();
        check(name, &model, &x);
    }
}

#[test]
fn the_comparison_catches_a_single_changed_weight() {
    // The same check on an ONNX model with one weight of the iterative MNIST-shaped model moved
    // by 1 % must fail: the metric sees a change of one parameter.
    let blob = mnist_shaped(
        Family::Hopfield,
        Init::Forward,
        3,
        Schedule::BwdFwdTopDown,
        Activation::Relu,
        2,
    );
    let model = ModelView::new_checked(blob.as_bytes()).unwrap();
    let mut proto = lifted::model::onnx::to_onnx(&model).unwrap();
    let graph = proto.graph.as_mut().unwrap();
    let w = graph
        .initializer
        .iter_mut()
        .find(|t| t.name == "W2")
        .unwrap();
    w.float_data[0] *= 1.01;
    let x = inputs(&mut Rng(5), 16, 784);
    let ort = run_ort(&proto.encode_to_vec(), &x, 784);
    let rel = max_relative(&ort, &rust_logits(&model, &x), model.classes());
    println!("one weight moved by 1 %: max relative difference {rel:.3e}");
    assert!(rel > 10.0 * TOLERANCE, "{rel:e}");
}

#[test]
fn the_graph_has_the_deployed_update_count_and_named_input_output() {
    let blob = load("tests/fixtures/v2-hopfield.lfm");
    let model = ModelView::new_checked(blob.as_bytes()).unwrap();
    let proto = lifted::model::onnx::to_onnx(&model).unwrap();
    let g = proto.graph.as_ref().unwrap();
    assert_eq!(proto.ir_version, 7);
    assert_eq!(proto.opset_import[0].version, 13);
    assert_eq!(g.input[0].name, "x");
    assert_eq!(g.output[0].name, "logits");
    // One Gemm per Forward/Output update and one per hidden update (the a = W z + b term).
    let updates = lifted_core::schedule::Updates::deployed(
        model.layers(),
        model.family(),
        model.init(),
        model.sweeps(),
        model.schedule(),
    )
    .count();
    let gemms = g.node.iter().filter(|n| n.op_type == "Gemm").count();
    assert_eq!(gemms, updates);
    // Family B: one MatMul (W_kᵀ z_{k+1}) per hidden update.
    let hidden = lifted_core::schedule::Updates::deployed(
        model.layers(),
        model.family(),
        model.init(),
        model.sweeps(),
        model.schedule(),
    )
    .filter(|u| matches!(u, lifted_core::schedule::Update::Hidden(_)))
    .count();
    assert!(hidden > 0);
    assert_eq!(
        g.node.iter().filter(|n| n.op_type == "MatMul").count(),
        hidden
    );
}

#[test]
fn the_vnnlib_folder_model_keeps_the_class_on_every_box_corner_and_centre() {
    // `lifted certify --vnnlib` writes model.onnx beside the properties; onnxruntime on it, at
    // the lower corner, the upper corner and the centre of every box, gives the certified class
    // (a necessary condition of the certificate, checked by a third-party runtime).
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("props");
    let o = Command::new(env!("CARGO_BIN_EXE_lifted"))
        .args(["certify", "--model"])
        .arg(repo().join("firmware/models/demo.lfm"))
        .args(["--dataset", "digits", "--limit", "40", "--vnnlib"])
        .arg(&out)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let mut points = Vec::new();
    let mut classes = Vec::new();
    for line in std::fs::read_to_string(out.join("instances.csv"))
        .unwrap()
        .lines()
    {
        let file = line.split(',').nth(1).unwrap();
        let p = lifted::eval::vnnlib::parse_box(&std::fs::read_to_string(out.join(file)).unwrap())
            .unwrap();
        let mid: Vec<f64> = p.lo.iter().zip(&p.hi).map(|(a, b)| 0.5 * (a + b)).collect();
        for corner in [&p.lo, &p.hi, &mid] {
            // The f32 nearest each bound (exact for the ℓ∞ boxes of the digits; an ℓ2 bound may
            // move by half an f32 ulp, far below the margins).
            points.extend(corner.iter().map(|&v| v as f32));
            classes.push(p.class);
        }
    }
    assert!(classes.len() >= 30, "{} points", classes.len());
    let onnx = std::fs::read(out.join("model.onnx")).unwrap();
    let logits = run_ort(&onnx, &points, 64);
    for (k, (s, &c)) in logits.chunks_exact(10).zip(&classes).enumerate() {
        let best = (0..10).fold(0, |b, j| if s[j] > s[b] { j } else { b });
        assert_eq!(best, c, "point {k}: logits {s:?}");
    }
}

#[test]
fn the_cli_writes_the_same_graph_from_a_blob_and_from_export() {
    // `lifted onnx` on a blob, and `lifted export --onnx` from a parameter file, write the bytes
    // of `lifted::model::onnx::onnx_bytes` for the model.
    let dir = tempfile::tempdir().unwrap();
    let blob_path = repo().join("tests/fixtures/v2-hopfield.lfm");
    let out = dir.path().join("hop.onnx");
    let run = |args: &[&std::ffi::OsStr]| {
        let o = Command::new(env!("CARGO_BIN_EXE_lifted"))
            .args(args)
            .output()
            .unwrap();
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        String::from_utf8(o.stdout).unwrap()
    };
    let said = run(&[
        "onnx".as_ref(),
        "--model".as_ref(),
        blob_path.as_os_str(),
        "--out".as_ref(),
        out.as_os_str(),
    ]);
    let blob = load("tests/fixtures/v2-hopfield.lfm");
    let model = ModelView::new_checked(blob.as_bytes()).unwrap();
    let want = lifted::model::onnx::onnx_bytes(&model).unwrap();
    assert_eq!(std::fs::read(&out).unwrap(), want);
    assert!(said.contains(&format!("({} bytes)", want.len())), "{said}");

    let params = mnist_params(
        Family::Hopfield,
        Init::Forward,
        2,
        Schedule::BwdFwd,
        Activation::Relu,
        9,
    );
    let pj = dir.path().join("m.params.json");
    lifted::model::params::save_params(&pj, &params).unwrap();
    let (lfm, onnx) = (dir.path().join("m.lfm"), dir.path().join("m.onnx"));
    run(&[
        "export".as_ref(),
        "--params".as_ref(),
        pj.as_os_str(),
        "--out".as_ref(),
        lfm.as_os_str(),
        "--onnx".as_ref(),
        onnx.as_os_str(),
    ]);
    let blob = Blob::from_bytes(&std::fs::read(&lfm).unwrap());
    let model = ModelView::new_checked(blob.as_bytes()).unwrap();
    assert_eq!(
        std::fs::read(&onnx).unwrap(),
        lifted::model::onnx::onnx_bytes(&model).unwrap()
    );
    let x = inputs(&mut Rng(13), 8, 784);
    check(
        "lifted export --onnx, 784-128-128-10 family B K = 2",
        &model,
        &x,
    );
}
