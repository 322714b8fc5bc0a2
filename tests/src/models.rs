//! The MNIST-sized model of the golden runs, made with `lifted_core::write` and
//! `lifted_core::bounds` (the digits runs use `firmware/models/demo.lfm`, made by `lifted train`
//! with `scripts/make-demo-model.sh`):
//!
//! - [`mnist_sized`]: a 784-128-128-10 network (family A, K = 2, top-down schedule, damped steps;
//!   two hidden layers, hence two internal radii), initialised with random weights of variance
//!   1/fan_in and fitted for a few SGD epochs to the 200 committed MNIST golden inputs. The tests
//!   regenerate it (474 KB, not committed); every step is plain f32/f64 arithmetic and `sqrt`
//!   (squared loss, no `exp`), so it is the same on every machine.
//!
//! The short fit matters for the certificate: the float-error bound of an untrained 784-input
//! network exceeds its margins, so every input certificate would be refused and the golden run
//! would only compare refusals.

use lifted_core::bounds::{compute, layer_norms, monotone_step, Limits};
use lifted_core::write::{Blob, LayerParams, ModelParams};
use lifted_core::{Activation, Family, Init, Schedule};

/// SplitMix64: a tiny deterministic generator (no dependency, same stream everywhere).
#[derive(Debug, Clone)]
pub struct SplitMix64(u64);

impl SplitMix64 {
    /// A generator seeded with `seed`.
    pub fn new(seed: u64) -> Self {
        SplitMix64(seed)
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// Uniform in [0, 1) with 53 random bits (exact in f64).
    pub fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
    }

    /// Uniform in [−a, a), rounded to f32.
    pub fn symmetric(&mut self, a: f64) -> f32 {
        ((2.0 * self.unit() - 1.0) * a) as f32
    }

    /// A uniform index in `0..n` (n > 0; the tiny modulo bias does not matter here).
    pub fn below(&mut self, n: usize) -> usize {
        (self.next_u64() % n as u64) as usize
    }
}

/// Row-major weights `rows × cols`, uniform with variance `gain² / cols`.
fn uniform_weights(rng: &mut SplitMix64, rows: usize, cols: usize, gain: f64) -> Vec<f32> {
    let a = gain * (3.0 / cols as f64).sqrt();
    (0..rows * cols).map(|_| rng.symmetric(a)).collect()
}

fn names() -> Vec<String> {
    (0..10).map(|c| c.to_string()).collect()
}

/// The blob of `params` with certificate constants for the default limits.
///
/// # Panics
/// If the parameters have inconsistent shapes (a programming error here).
pub fn to_blob(params: &ModelParams, limits: &Limits) -> Blob {
    let constants = compute(params, limits);
    #[allow(clippy::expect_used)]
    params
        .to_blob(&constants)
        .expect("the generated model has consistent shapes")
}

/// Training settings of [`train_mlp`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SgdSettings {
    /// Passes over the training set.
    pub epochs: usize,
    /// Learning rate of the first epoch (divided by 1 + epoch/10 afterwards).
    pub lr: f32,
    /// L2 weight decay.
    pub decay: f32,
    /// The target logit of the true class (the others are 0).
    pub target: f32,
    /// Seed of the initialisation and the shuffles.
    pub seed: u64,
}

impl Default for SgdSettings {
    fn default() -> Self {
        SgdSettings {
            epochs: 30,
            lr: 0.01,
            decay: 1e-4,
            target: 8.0,
            seed: 1998,
        }
    }
}

/// Weights and bias of every layer of `dims` (n₀, n₁, …, n_L): ReLU hidden layers, identity
/// output, fitted with per-sample SGD on ½‖z − target·e_y‖² from a random init (variance
/// 2/fan_in for the hidden layers, 1/fan_in for the output).
pub fn train_mlp(
    dims: &[usize],
    inputs: &[f32],
    labels: &[u8],
    s: &SgdSettings,
) -> Vec<(Vec<f32>, Vec<f32>)> {
    let l = dims.len() - 1;
    let mut rng = SplitMix64::new(s.seed);
    let mut net: Vec<(Vec<f32>, Vec<f32>)> = (0..l)
        .map(|k| {
            let gain = if k + 1 < l { 2f64.sqrt() } else { 1.0 };
            (
                uniform_weights(&mut rng, dims[k + 1], dims[k], gain),
                vec![0f32; dims[k + 1]],
            )
        })
        .collect();
    let n0 = dims[0];
    let n = labels.len();
    let mut order: Vec<usize> = (0..n).collect();
    // acts[k] = z_k (acts[0] = x); grads[k] = ∂loss/∂(pre-activation of block k+1).
    let mut acts: Vec<Vec<f32>> = dims.iter().map(|&d| vec![0f32; d]).collect();
    let mut grads: Vec<Vec<f32>> = dims[1..].iter().map(|&d| vec![0f32; d]).collect();
    for epoch in 0..s.epochs {
        for i in (1..n).rev() {
            order.swap(i, rng.below(i + 1));
        }
        let lr = s.lr / (1.0 + epoch as f32 * 0.1);
        for &i in &order {
            acts[0].copy_from_slice(&inputs[i * n0..(i + 1) * n0]);
            for k in 0..l {
                let (below, above) = acts.split_at_mut(k + 1);
                let (x, z) = (&below[k], &mut above[0]);
                let (w, b) = &net[k];
                for (j, zj) in z.iter_mut().enumerate() {
                    let row = &w[j * x.len()..(j + 1) * x.len()];
                    let v = b[j] + row.iter().zip(x.iter()).map(|(w, x)| w * x).sum::<f32>();
                    *zj = if k + 1 < l { v.max(0.0) } else { v };
                }
            }
            for (c, g) in grads[l - 1].iter_mut().enumerate() {
                let t = if c == usize::from(labels[i]) {
                    s.target
                } else {
                    0.0
                };
                *g = acts[l][c] - t;
            }
            for k in (0..l).rev() {
                let fan_in = dims[k];
                if k > 0 {
                    let (lower, upper) = grads.split_at_mut(k);
                    let (gin, gout) = (&mut lower[k - 1], &upper[0]);
                    gin.iter_mut().for_each(|v| *v = 0.0);
                    let w = &net[k].0;
                    for (j, &g) in gout.iter().enumerate() {
                        for (p, gi) in gin.iter_mut().enumerate() {
                            *gi += w[j * fan_in + p] * g;
                        }
                    }
                    for (gi, &a) in gin.iter_mut().zip(&acts[k]) {
                        if a <= 0.0 {
                            *gi = 0.0;
                        }
                    }
                }
                let (w, b) = &mut net[k];
                let x = &acts[k];
                for (j, &g) in grads[k].iter().enumerate() {
                    for (wv, &xv) in w[j * fan_in..(j + 1) * fan_in].iter_mut().zip(x) {
                        *wv -= lr * (g * xv + s.decay * *wv);
                    }
                    b[j] -= lr * g;
                }
            }
        }
    }
    net
}

/// A family-A model (forward init) of the fitted layers: ReLU hidden layers with γ = 1, ρ = 1 and
/// the largest monotone damped step, identity output.
fn family_a(
    dims: &[usize],
    net: Vec<(Vec<f32>, Vec<f32>)>,
    schedule: Schedule,
    sweeps: u16,
    metadata: String,
    limits: &Limits,
) -> Blob {
    let l = net.len();
    let mut params = ModelParams {
        input_dim: dims[0],
        input_range: (0.0, 1.0),
        family: Family::FenchelYoung,
        init: Init::Forward,
        schedule,
        sweeps,
        layers: net
            .into_iter()
            .enumerate()
            .map(|(k, (weights, bias))| {
                let last = k + 1 == l;
                LayerParams {
                    weights,
                    bias,
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
            .collect(),
        class_names: names(),
        metadata,
    };
    // Family-A damped step of each hidden block: the largest monotone one (docs/method.md §4.2).
    let norms = layer_norms(&params, limits.gram_steps);
    for k in 0..l - 1 {
        params.layers[k].step = monotone_step(params.layers[k].rho, norms[k + 1].l2);
    }
    to_blob(&params, limits)
}

/// Settings of [`mnist_sized`].
pub const MNIST_SGD: SgdSettings = SgdSettings {
    epochs: 8,
    lr: 0.002,
    decay: 1e-4,
    target: 8.0,
    seed: 784_128,
};

/// The MNIST-sized golden model (see the module docs), fitted to the inputs of `golden_file`
/// (`firmware/golden/mnist-200.lgi`).
///
/// # Errors
/// The golden file is not a valid 784-input file.
pub fn mnist_sized(golden_file: &[u8]) -> Result<Blob, String> {
    let g = lifted_proto::golden::Golden::new(golden_file).map_err(|e| e.to_string())?;
    if g.dim() != 784 {
        return Err(format!("expected 784 inputs per sample, got {}", g.dim()));
    }
    let mut inputs = vec![0f32; g.len() * 784];
    let mut px = vec![0u8; 784];
    let mut samples = g.samples();
    for x in inputs.chunks_exact_mut(784) {
        match samples.next_input(&mut px, x) {
            Some(Ok(_)) => {}
            _ => return Err("golden pixel stream does not decode".into()),
        }
    }
    let dims = [784, 128, 128, 10];
    let net = train_mlp(&dims, &inputs, g.labels(), &MNIST_SGD);
    let s = MNIST_SGD;
    let meta = format!(
        "{{\"source\":\"lifted-tests models::mnist_sized\",\"optimizer\":\"sgd, squared loss\",\"data\":\"firmware/golden/mnist-200.lgi\",\"epochs\":{},\"lr\":{},\"seed\":{}}}",
        s.epochs, s.lr, s.seed
    );
    Ok(family_a(
        &dims,
        net,
        Schedule::BwdFwdTopDown,
        2,
        meta,
        &Limits::default(),
    ))
}
