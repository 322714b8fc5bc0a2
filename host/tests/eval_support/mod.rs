//! Test support for the evaluation/export tests: small models trained on the embedded digits by
//! plain minibatch SGD on the squared loss (back-propagation through the forward pass), and
//! conversion into `ModelParams` of either family.
#![allow(
    dead_code,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing
)]

use std::sync::OnceLock;

use lifted::data::{self, Dataset, DatasetKind, Splits};
use lifted_core::bounds::{compute, layer_norms, monotone_step, Limits};
use lifted_core::write::{Blob, LayerParams, ModelParams};
use lifted_core::{Activation, Family, Init, Schedule};

/// xorshift64* — deterministic test randomness.
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
    pub fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }
    pub fn normal(&mut self) -> f64 {
        (0..12).map(|_| self.unit()).sum::<f64>() - 6.0
    }
}

/// The digits splits (loaded once per test binary).
pub fn digits() -> &'static Splits {
    static D: OnceLock<Splits> = OnceLock::new();
    D.get_or_init(|| data::load(DatasetKind::Digits, None, None).unwrap())
}

/// Dense layers (W row-major out×in, b) of an MLP.
pub type Dense = Vec<(Vec<f32>, Vec<f32>)>;

/// Trains an MLP `dim → hidden… → classes` (ReLU hidden, identity output) with minibatch SGD
/// with momentum on ½‖s − onehot‖², plus L2 weight decay `wd`.
pub fn train_mlp(
    data: &Dataset,
    hidden: &[usize],
    epochs: usize,
    lr: f32,
    wd: f32,
    seed: u64,
) -> Dense {
    let mut rng = Rng(seed | 1);
    let mut widths = vec![data.dim];
    widths.extend_from_slice(hidden);
    widths.push(data.classes);
    let mut net: Dense = widths
        .windows(2)
        .map(|w| {
            let s = (2.0 / w[0] as f64).sqrt();
            (
                (0..w[0] * w[1])
                    .map(|_| (rng.normal() * s) as f32)
                    .collect(),
                vec![0.0; w[1]],
            )
        })
        .collect();
    let mut vel: Dense = net
        .iter()
        .map(|(w, b)| (vec![0.0; w.len()], vec![0.0; b.len()]))
        .collect();
    let n = data.len();
    let batch = 32;
    let mut order: Vec<usize> = (0..n).collect();
    for _ in 0..epochs {
        for i in (1..n).rev() {
            let j = (rng.next_u64() % (i as u64 + 1)) as usize;
            order.swap(i, j);
        }
        for chunk in order.chunks(batch) {
            let mut grad: Dense = net
                .iter()
                .map(|(w, b)| (vec![0.0; w.len()], vec![0.0; b.len()]))
                .collect();
            for &s in chunk {
                let x = data.input(s).unwrap();
                // Forward.
                let mut acts = vec![x.to_vec()];
                for (l, (w, b)) in net.iter().enumerate() {
                    let inp = acts.last().unwrap();
                    let out: Vec<f32> = b
                        .iter()
                        .enumerate()
                        .map(|(r, &bi)| {
                            let a = bi
                                + w[r * inp.len()..(r + 1) * inp.len()]
                                    .iter()
                                    .zip(inp)
                                    .map(|(p, q)| p * q)
                                    .sum::<f32>();
                            if l + 1 < net.len() {
                                a.max(0.0)
                            } else {
                                a
                            }
                        })
                        .collect();
                    acts.push(out);
                }
                // Backward.
                let mut g: Vec<f32> = acts.last().unwrap().clone();
                g[usize::from(data.labels[s])] -= 1.0;
                for l in (0..net.len()).rev() {
                    let inp = &acts[l];
                    let (w, _) = &net[l];
                    let (gw, gb) = &mut grad[l];
                    for (r, &gr) in g.iter().enumerate() {
                        gb[r] += gr;
                        for (c, &xc) in inp.iter().enumerate() {
                            gw[r * inp.len() + c] += gr * xc;
                        }
                    }
                    if l > 0 {
                        g = (0..inp.len())
                            .map(|c| {
                                let s: f32 = g
                                    .iter()
                                    .enumerate()
                                    .map(|(r, &gr)| gr * w[r * inp.len() + c])
                                    .sum();
                                if inp[c] > 0.0 {
                                    s
                                } else {
                                    0.0
                                }
                            })
                            .collect();
                    }
                }
            }
            let scale = 1.0 / chunk.len() as f32;
            for ((w, b), ((gw, gb), (vw, vb))) in
                net.iter_mut().zip(grad.iter().zip(vel.iter_mut()))
            {
                for ((p, &gp), v) in w.iter_mut().zip(gw.iter()).zip(vw.iter_mut()) {
                    *v = 0.9 * *v - lr * (gp * scale + wd * *p);
                    *p += *v;
                }
                for ((p, &gp), v) in b.iter_mut().zip(gb.iter()).zip(vb.iter_mut()) {
                    *v = 0.9 * *v - lr * gp * scale;
                    *p += *v;
                }
            }
        }
    }
    net
}

/// How a trained MLP is deployed.
#[derive(Debug, Clone, Copy)]
pub struct Deploy {
    pub family: Family,
    pub init: Init,
    pub schedule: Schedule,
    pub sweeps: u16,
    /// ρ of the hidden layers.
    pub rho: f32,
}

impl Deploy {
    /// Family A, forward init, K = 5 (the deployed map is the forward pass).
    pub const FORWARD: Deploy = Deploy {
        family: Family::FenchelYoung,
        init: Init::Forward,
        schedule: Schedule::BwdFwd,
        sweeps: 5,
        rho: 1.0,
    };
    /// Family A from zero with K = 4 sweeps (a genuine K-sweep map).
    pub const A_ZERO: Deploy = Deploy {
        family: Family::FenchelYoung,
        init: Init::Zero,
        schedule: Schedule::BwdFwd,
        sweeps: 4,
        rho: 1.0,
    };
    /// Family B (top-down feedback ρ = 0.05), forward init, K = 3, with the extra top-down pass.
    pub const HOPFIELD: Deploy = Deploy {
        family: Family::Hopfield,
        init: Init::Forward,
        schedule: Schedule::BwdFwdTopDown,
        sweeps: 3,
        rho: 0.05,
    };
}

/// `ModelParams` of a trained MLP deployed as `d` (family-A steps from the sound monotone rule).
pub fn params(net: &Dense, input_dim: usize, d: Deploy) -> ModelParams {
    let l = net.len();
    let mut layers: Vec<LayerParams> = net
        .iter()
        .enumerate()
        .map(|(k, (w, b))| LayerParams {
            weights: w.clone(),
            bias: b.clone(),
            activation: if k + 1 == l {
                Activation::Identity
            } else {
                Activation::Relu
            },
            gamma: 1.0,
            rho: if k + 1 == l { 0.0 } else { d.rho },
            step: 1.0,
        })
        .collect();
    let mut p = ModelParams {
        input_dim,
        input_range: (0.0, 1.0),
        family: d.family,
        init: d.init,
        schedule: d.schedule,
        sweeps: d.sweeps,
        layers: Vec::new(),
        class_names: (0..10).map(|c| c.to_string()).collect(),
        metadata: "{\"test\":\"eval_support\",\"seed\":1}".to_owned(),
    };
    p.layers.clone_from(&layers);
    if d.family == Family::FenchelYoung {
        let norms = layer_norms(&p, 8);
        for k in 0..l - 1 {
            // Hidden block k+1 couples to W_{k+1}, whose norm is norms[k+1].
            layers[k].step = monotone_step(layers[k].rho, norms[k + 1].l2);
        }
        p.layers = layers;
    }
    p
}

/// Random (untrained) dense layers with weights N(0, scale²/fan_in).
pub fn random_net(widths: &[usize], scale: f64, seed: u64) -> Dense {
    let mut rng = Rng(seed | 1);
    widths
        .windows(2)
        .map(|w| {
            let s = scale / (w[0] as f64).sqrt();
            (
                (0..w[0] * w[1])
                    .map(|_| (rng.normal() * s) as f32)
                    .collect(),
                (0..w[1]).map(|_| (rng.normal() * 0.1) as f32).collect(),
            )
        })
        .collect()
}

/// The blob of `p` with the default limits.
pub fn blob(p: &ModelParams) -> Blob {
    p.to_blob(&compute(p, &Limits::default())).unwrap()
}

/// A 64-32-10 MLP trained on the digits training split (once per test binary).
pub fn trained() -> &'static Dense {
    static N: OnceLock<Dense> = OnceLock::new();
    N.get_or_init(|| train_mlp(&digits().train, &[32], 40, 0.02, 1e-3, 7))
}
