//! Random small models for the tests.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use lifted_core::bounds::{compute, monotone_step, Limits};
use lifted_core::write::{Blob, LayerParams, ModelParams};
use lifted_core::{Activation, Family, Init, ModelView, Schedule};

/// A small deterministic RNG (xorshift64*), enough for test data.
pub struct Rng(pub u64);

impl Rng {
    pub fn next_u64(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    /// Uniform in [0, 1).
    pub fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }
    /// Approximately standard normal (sum of uniforms).
    pub fn normal(&mut self) -> f64 {
        (0..12).map(|_| self.unit()).sum::<f64>() - 6.0
    }
    pub fn below(&mut self, n: usize) -> usize {
        (self.next_u64() % n as u64) as usize
    }
}

/// Shape and configuration of a random model.
#[derive(Debug, Clone)]
pub struct Config {
    pub widths: Vec<usize>,
    pub input_dim: usize,
    pub family: Family,
    pub init: Init,
    pub schedule: Schedule,
    pub sweeps: u16,
    /// Weight scale relative to 1/√fan_in.
    pub scale: f64,
    pub gamma: Vec<f32>,
    pub clipped: bool,
}

impl Config {
    pub fn small(family: Family, init: Init, sweeps: u16) -> Self {
        Config {
            widths: vec![6, 5, 3],
            input_dim: 4,
            family,
            init,
            schedule: Schedule::BwdFwd,
            sweeps,
            scale: 1.0,
            gamma: vec![1.0, 1.0, 1.0],
            clipped: false,
        }
    }
}

/// Random parameters for `cfg`. Family-B hidden weights are scaled to keep the energy strongly
/// convex (‖W_k‖₂ well below ½ for k ≥ 1).
pub fn params(rng: &mut Rng, cfg: &Config) -> ModelParams {
    let l = cfg.widths.len();
    let mut fan_in = cfg.input_dim;
    let mut layers = Vec::new();
    for (k, &w) in cfg.widths.iter().enumerate() {
        let mut s = cfg.scale / (fan_in as f64).sqrt();
        if cfg.family == Family::Hopfield && k >= 1 {
            s *= 0.3 / (1.0 + (w as f64 / fan_in as f64).sqrt());
        }
        let weights = (0..w * fan_in).map(|_| (rng.normal() * s) as f32).collect();
        let bias = (0..w)
            .map(|_| (rng.normal() * 0.1 * cfg.scale) as f32)
            .collect();
        let out = k + 1 == l;
        let activation = if out {
            Activation::Identity
        } else if cfg.clipped {
            Activation::ClippedRelu { bound: 1.5 }
        } else {
            Activation::Relu
        };
        let gamma = cfg.gamma.get(k).copied().unwrap_or(1.0);
        let rho = if out {
            0.0
        } else {
            cfg.gamma.get(k + 1).copied().unwrap_or(1.0) / gamma
        };
        layers.push(LayerParams {
            weights,
            bias,
            activation,
            gamma,
            rho,
            step: 1.0,
        });
        fan_in = w;
    }
    let mut m = ModelParams {
        input_dim: cfg.input_dim,
        input_range: (0.0, 1.0),
        family: cfg.family,
        init: cfg.init,
        schedule: cfg.schedule,
        sweeps: cfg.sweeps,
        layers,
        class_names: vec![],
        metadata: String::new(),
    };
    set_monotone_steps(&mut m);
    m
}

/// Sets every hidden family-A step to the monotone damping η_k = 1/(1 + ρ_k σ̄_k²).
pub fn set_monotone_steps(m: &mut ModelParams) {
    let norms = lifted_core::bounds::layer_norms(m, 10);
    let l = m.layers.len();
    for k in 0..l.saturating_sub(1) {
        let rho = m.layers[k].rho;
        m.layers[k].step = monotone_step(rho, norms[k + 1].l2);
    }
}

/// Serialises with freshly computed constants.
pub fn blob(m: &ModelParams, limits: &Limits) -> Blob {
    m.to_blob(&compute(m, limits)).expect("serialise")
}

/// A random input in [0, 1]^n.
pub fn input(rng: &mut Rng, n: usize) -> Vec<f32> {
    (0..n).map(|_| rng.unit() as f32).collect()
}

/// Runs the f32 inference and returns (class, logits).
pub fn run(model: &ModelView<'_>, x: &[f32]) -> Result<(usize, Vec<f32>), lifted_core::Error> {
    let mut buf = vec![0.0f32; lifted_core::Workspace::required(model)];
    let mut ws = lifted_core::Workspace::new(&mut buf);
    let o = lifted_core::infer(model, x, &mut ws)?;
    Ok((o.class, o.logits.to_vec()))
}

pub fn bits(v: &[f32]) -> Vec<u32> {
    v.iter().map(|x| x.to_bits()).collect()
}
