//! Random small models for the tests.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use lifted_core::bounds::{compute, monotone_step, Limits};
use lifted_core::write::{Blob, LayerParams, ModelParams};
use lifted_core::{
    infer, reference, Activation, Family, Init, ModelView, Norm, Schedule, Workspace,
};

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

pub fn class_of(m: &ModelView<'_>, x: &[f32]) -> usize {
    let mut buf = vec![0.0f32; Workspace::required(m)];
    let mut ws = Workspace::new(&mut buf);
    infer(m, x, &mut ws).unwrap().class
}

/// A point on the sphere (ℓ2) or a vertex of the box (ℓ∞) of radius r.
pub fn boundary(rng: &mut Rng, n: usize, r: f32, norm: Norm) -> Vec<f32> {
    match norm {
        Norm::L2 => {
            let v: Vec<f64> = (0..n).map(|_| rng.normal()).collect();
            let len = v.iter().map(|a| a * a).sum::<f64>().sqrt();
            // Shrink by one part in 10⁶ so that rounding of x + δ stays inside the ball.
            v.iter()
                .map(|a| (a / len * f64::from(r) * (1.0 - 1e-6)) as f32)
                .collect()
        }
        Norm::Linf => (0..n)
            .map(|_| if rng.unit() < 0.5 { r } else { -r })
            .collect(),
    }
}

pub fn add(x: &[f32], d: &[f32]) -> Vec<f32> {
    x.iter().zip(d).map(|(a, b)| a + b).collect()
}

/// Projected gradient ascent on max_j s_j − s_c within the ball, on the exact (f64) map, with
/// finite-difference gradients; every iterate is checked with the f32 inference.
pub fn attack(m: &ModelView<'_>, x: &[f32], c: usize, r: f32, norm: Norm, rng: &mut Rng) -> bool {
    let n = x.len();
    let obj = |p: &[f32]| -> f64 {
        let s = reference::infer(m, p);
        let out = &s[m.layers()];
        (0..out.len())
            .filter(|&j| j != c)
            .map(|j| out[j] - out[c])
            .fold(f64::NEG_INFINITY, f64::max)
    };
    let mut d = boundary(rng, n, r * 0.5, norm);
    for _ in 0..25 {
        let p = add(x, &d);
        if class_of(m, &p) != c {
            return true;
        }
        let base = obj(&p);
        let h = 1e-3f32 * r.max(1e-6);
        let g: Vec<f64> = (0..n)
            .map(|i| {
                let mut q = p.clone();
                q[i] += h;
                (obj(&q) - base) / f64::from(h)
            })
            .collect();
        let step = f64::from(r) * 0.3;
        match norm {
            Norm::L2 => {
                let gl = g.iter().map(|a| a * a).sum::<f64>().sqrt().max(1e-300);
                let mut nd: Vec<f64> = d
                    .iter()
                    .zip(&g)
                    .map(|(&a, b)| f64::from(a) + step * b / gl)
                    .collect();
                let len = nd.iter().map(|a| a * a).sum::<f64>().sqrt();
                let lim = f64::from(r) * (1.0 - 1e-6);
                if len > lim {
                    nd.iter_mut().for_each(|a| *a *= lim / len);
                }
                d = nd.iter().map(|&a| a as f32).collect();
            }
            Norm::Linf => {
                d = d
                    .iter()
                    .zip(&g)
                    .map(|(&a, b)| {
                        (f64::from(a) + step * b.signum()).clamp(-f64::from(r), f64::from(r)) as f32
                    })
                    .collect();
            }
        }
    }
    class_of(m, &add(x, &d)) != c
}
