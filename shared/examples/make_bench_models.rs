//! Writes the seeded benchmark models used by the firmware instruction counts and size report
//! (`scripts/icount.sh`, `scripts/size-report.sh`). Nothing it writes is committed.
//!
//! ```text
//! cargo run -p lifted-core --example make_bench_models -- <out-dir>
//! ```
//!
//! For each shape (`digits` = 64-32-10, `mnist` = 784-128-128-10) it writes three family-A models:
//! `<shape>-k0.lfm` (K = 0, forward init), `<shape>-k5.lfm` (K = 5, forward init) and
//! `<shape>-k5z.lfm` (K = 5, zero init). Weights are uniform in ±√(3/fan_in) (standard deviation
//! 1/√fan_in), biases uniform in ±0.1, from a fixed xorshift seed, so the blobs are the same on
//! every run. Hidden layers use ReLU with ρ = 1 and the largest monotone step
//! (`bounds::monotone_step`); the output layer is the identity. The certificate constants come
//! from `bounds::compute` with the default limits.

use std::path::PathBuf;

use lifted_core::bounds::{compute, monotone_step, spectral::spectral_upper, Limits};
use lifted_core::write::{Blob, LayerParams, ModelParams};
use lifted_core::{
    certify, certify_with_internal, infer, Activation, Family, Init, ModelView, Norm, Schedule,
    Workspace,
};

/// xorshift64; the same generator and seed as the firmware's input (`firmware/src/bin/icount.rs`).
struct XorShift(u64);

impl XorShift {
    /// Uniform in [-1, 1).
    fn next(&mut self) -> f32 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        ((self.0 >> 40) as f32 / (1u64 << 24) as f32) * 2.0 - 1.0
    }
}

/// Certified radii the constants are computed for. Small enough that the random models certify
/// their input (so the measured certificate runs its full loop over the classes, the worst case),
/// large enough to be meaningful for inputs in [0, 1].
const LIMITS: Limits = Limits {
    eps_l2_max: 0.25,
    eps_inf_max: 0.01,
    eps_internal_max: 0.25,
    gram_steps: 10,
};

/// Added to the output bias of the predicted class when the first certificate is refused.
const MARGIN_BOOST: f32 = 2.0;

fn model(dims: &[usize], sweeps: u16, init: Init) -> ModelParams {
    let mut rng = XorShift(0x9e37_79b9_7f4a_7c15);
    let l = dims.len() - 1;
    let mut layers: Vec<LayerParams> = (0..l)
        .map(|k| {
            let s = (3.0 / dims[k] as f32).sqrt();
            let last = k + 1 == l;
            LayerParams {
                weights: (0..dims[k] * dims[k + 1]).map(|_| rng.next() * s).collect(),
                bias: (0..dims[k + 1]).map(|_| rng.next() * 0.1).collect(),
                activation: if last {
                    Activation::Identity
                } else {
                    Activation::Relu
                },
                gamma: 1.0,
                rho: if last { 0.0 } else { 1.0 },
                step: 1.0,
            }
        })
        .collect();
    // Hidden layer k's step depends on W_k, the weights of layer k+1 (docs/method.md §4.2).
    for k in 0..l - 1 {
        let above = &layers[k + 1];
        let sigma = spectral_upper(&above.weights, dims[k + 2], dims[k + 1], 10).upper;
        layers[k].step = monotone_step(layers[k].rho, sigma);
    }
    ModelParams {
        input_dim: dims[0],
        input_range: (0.0, 1.0),
        family: Family::FenchelYoung,
        init,
        schedule: Schedule::BwdFwd,
        sweeps,
        layers,
        class_names: vec![],
        metadata: String::from(r#"{"purpose":"firmware benchmark","seed":"0x9e3779b97f4a7c15"}"#),
    }
}

/// The firmware's benchmark input (icount, footprint): xorshift seed 7 mapped to [0, 1).
fn input(n: usize) -> Vec<f32> {
    let mut rng = XorShift(7);
    (0..n).map(|_| (rng.next() + 1.0) * 0.5).collect()
}

/// Blob of `p` and a one-line summary of the host's inference and certificates on [`input`].
fn build(p: &ModelParams) -> Result<(Blob, String), String> {
    let c = compute(p, &LIMITS);
    let blob = p.to_blob(&c).map_err(|e| e.to_string())?;
    let view = ModelView::new_checked(blob.as_bytes()).map_err(|e| e.to_string())?;
    let mut buf = vec![0.0f32; Workspace::required(&view)];
    let mut ws = Workspace::new(&mut buf);
    let o = infer(&view, &input(p.input_dim), &mut ws).map_err(|e| e.to_string())?;
    let (c2, ci) = (
        certify_with_internal(&view, &o),
        certify(&view, &o, Norm::Linf),
    );
    let summary = format!(
        "constants {}, class {} margin {} float-error {} radius-l2 {} ({:?}) radius-linf {} ({:?}) internal {:?}",
        if c.cert.valid { "valid" } else { "INVALID" },
        o.class,
        o.margin,
        c2.float_error,
        c2.radius,
        c2.rejection,
        ci.radius,
        ci.rejection,
        c2.internal,
    );
    let accepted = c2.rejection.is_none() && ci.rejection.is_none();
    Ok((
        blob,
        if accepted {
            summary
        } else {
            format!("REJECTED {summary}")
        },
    ))
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let out = PathBuf::from(
        std::env::args()
            .nth(1)
            .ok_or("usage: make_bench_models <out-dir>")?,
    );
    std::fs::create_dir_all(&out)?;
    let shapes: [(&str, &[usize]); 2] =
        [("digits", &[64, 32, 10]), ("mnist", &[784, 128, 128, 10])];
    for (name, dims) in shapes {
        for (suffix, sweeps, init) in [
            ("k0", 0u16, Init::Forward),
            ("k5", 5, Init::Forward),
            ("k5z", 5, Init::Zero),
        ] {
            let tag = format!("{name}-{suffix}");
            let mut p = model(dims, sweeps, init);
            // Random weights give small logit margins, which the float error bound of the wide
            // layers can exceed; the certificate then stops at the first class. To measure the
            // full certificate (every class visited), the predicted class's output bias is raised
            // by MARGIN_BOOST and the constants are recomputed.
            let (_, first) = build(&p).map_err(|e| format!("{tag}: {e}"))?;
            if first.starts_with("REJECTED") {
                let view_class = first
                    .split("class ")
                    .nth(1)
                    .and_then(|r| r.split(' ').next())
                    .and_then(|c| c.parse::<usize>().ok())
                    .ok_or("no class in summary")?;
                if let Some(last) = p.layers.last_mut() {
                    last.bias[view_class] += MARGIN_BOOST;
                }
            }
            let (blob, summary) = build(&p).map_err(|e| format!("{tag}: {e}"))?;
            let path = out.join(format!("{tag}.lfm"));
            std::fs::write(&path, blob.as_bytes())?;
            println!(
                "{} ({} bytes): {summary}",
                path.display(),
                blob.as_bytes().len()
            );
        }
    }
    Ok(())
}
