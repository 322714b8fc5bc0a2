//! Test support for the training tests: the embedded digits, a small training configuration, a
//! seeded tiny network and batch, and the pieces of a finite-difference gradient check.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use lifted::data::{load, DatasetKind, Splits};
use lifted::train::linalg::Mat;
use lifted::train::net::{Grads, Net};
use lifted::train::{self, Objective, Progress, TrainConfig, TrainResult};
use lifted_core::Activation;
use rand_chacha::rand_core::SeedableRng;
use rand_chacha::ChaCha8Rng;

/// Input width of the tiny network.
pub const N0: usize = 4;
/// Layer widths of the tiny network (3 classes).
pub const WIDTHS: [usize; 3] = [6, 5, 3];

/// The embedded 8×8 digits.
pub fn digits() -> Splits {
    load(DatasetKind::Digits, None, None).expect("embedded digits")
}

/// Small configuration for the digits: 32-32-10, lr 3e-3, 2 threads.
pub fn small(objective: Objective, epochs: usize) -> TrainConfig {
    TrainConfig {
        widths: vec![32, 32, 10],
        objective,
        epochs,
        lr: 3e-3,
        threads: 2,
        ..TrainConfig::default()
    }
}

/// Trains `cfg` on `splits` without progress output.
pub fn run(cfg: &TrainConfig, splits: &Splits) -> TrainResult {
    train::train(cfg, splits, &mut Progress::hidden()).expect("valid configuration")
}

/// History without the wall-clock column, one JSON line per epoch.
pub fn rows(r: &TrainResult) -> Vec<String> {
    r.history
        .iter()
        .map(|h| {
            serde_json::to_string(&train::EpochRecord {
                seconds: 0.0,
                ..h.clone()
            })
            .unwrap()
        })
        .collect()
}

/// A seeded tiny network `N0 → WIDTHS`: f32-representable weights scaled by `gain`, small
/// deterministic biases.
pub fn tiny_net(act: Activation, gain: f64, gamma: &[f64], seed: u64) -> Net<f64> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut n: Net<f64> = Net::<f32>::init(N0, &WIDTHS, act, gamma, gain, &mut rng).cast();
    for (k, l) in n.layers.iter_mut().enumerate() {
        for (i, b) in l.b.iter_mut().enumerate() {
            *b = f64::from(((i * 7 + k * 3 + seed as usize) % 11) as f32 / 40.0 - 0.1);
        }
    }
    n
}

/// A deterministic batch of `rows` inputs in [0, 1] with labels in 0..3.
pub fn tiny_batch(rows: usize, seed: u64) -> (Mat<f64>, Vec<u8>) {
    let data = (0..rows * N0)
        .map(|i| ((i as u64 * 37 + seed * 11) % 17) as f64 / 16.0)
        .collect();
    let labels = (0..rows).map(|i| ((i as u64 + seed) % 3) as u8).collect();
    (Mat::from_vec(rows, N0, data), labels)
}

/// A deterministic standard-normal direction with the shapes of `n`'s parameters.
pub fn direction(n: &Net<f64>, seed: u64) -> Grads<f64> {
    let mut d = Grads::zeros_like(n);
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    for v in d.w.iter_mut().chain(d.b.iter_mut()).flatten() {
        *v = lifted::rng::normal(&mut rng);
    }
    d
}

/// `n + h·d`.
pub fn moved(n: &Net<f64>, d: &Grads<f64>, h: f64) -> Net<f64> {
    let mut m = n.clone();
    for (l, (dw, db)) in m.layers.iter_mut().zip(d.w.iter().zip(&d.b)) {
        l.w.iter_mut().zip(dw).for_each(|(w, v)| *w += h * v);
        l.b.iter_mut().zip(db).for_each(|(b, v)| *b += h * v);
    }
    m
}

/// Inner product of two parameter-shaped values.
pub fn dot(a: &Grads<f64>, b: &Grads<f64>) -> f64 {
    a.values().zip(b.values()).map(|(x, y)| x * y).sum()
}
