//! Plain f64 reference of the inference and the potentials (test support; not covered by semver).
//!
//! It runs the same schedule as [`crate::infer`] in f64 with straightforward loops, so the f32
//! kernels can be compared with it under a named tolerance, and it evaluates the potentials for
//! the test oracles of docs/method.md §6.

use alloc::vec;
use alloc::vec::Vec;

use crate::config::{Activation, Family, Init};
use crate::model::ModelView;
use crate::schedule::{Update, Updates};

fn act(a: Activation, v: f64) -> f64 {
    match a {
        Activation::Identity => v,
        Activation::Relu => v.max(0.0),
        Activation::ClippedRelu { bound } => v.max(0.0).min(f64::from(bound)),
    }
}

/// The f64 state z_0 … z_L.
pub type State = Vec<Vec<f64>>;

/// `W_m z + b_m` in f64.
pub fn pre(model: &ModelView<'_>, m: usize, z: &[f64]) -> Vec<f64> {
    let w = model.weights(m);
    let b = model.bias(m);
    let n = z.len();
    (0..model.width(m + 1))
        .map(|i| f64::from(b[i]) + (0..n).map(|j| f64::from(w[i * n + j]) * z[j]).sum::<f64>())
        .collect()
}

/// `W_mᵀ d` in f64.
pub fn pre_t(model: &ModelView<'_>, m: usize, d: &[f64]) -> Vec<f64> {
    let w = model.weights(m);
    let n = model.width(m);
    (0..n)
        .map(|j| (0..d.len()).map(|i| f64::from(w[i * n + j]) * d[i]).sum())
        .collect()
}

fn activation(model: &ModelView<'_>, k: usize) -> Activation {
    model
        .layer(k)
        .map_or(Activation::Identity, |l| l.activation)
}

/// The forward pass z_k = f_k(W_{k−1} z_{k−1} + b_{k−1}) in f64.
pub fn forward(model: &ModelView<'_>, x: &[f32]) -> State {
    let mut z: State = vec![x.iter().map(|&v| f64::from(v)).collect()];
    for k in 1..=model.layers() {
        let a = pre(model, k - 1, &z[k - 1]);
        z.push(
            a.into_iter()
                .map(|v| act(activation(model, k), v))
                .collect(),
        );
    }
    z
}

/// Applies one update of the schedule in f64.
pub fn apply(model: &ModelView<'_>, z: &mut State, u: Update) {
    let l = model.layers();
    match u {
        Update::Forward(k) => {
            let a = pre(model, k - 1, &z[k - 1]);
            z[k] = a
                .into_iter()
                .map(|v| act(activation(model, k), v))
                .collect();
        }
        Update::Output => z[l] = pre(model, l - 1, &z[l - 1]),
        Update::Hidden(k) => {
            let spec = model.layer(k).copied().expect("hidden layer");
            let (rho, eta) = (f64::from(spec.rho), f64::from(spec.step));
            let a = pre(model, k - 1, &z[k - 1]);
            let new: Vec<f64> = match model.family() {
                Family::FenchelYoung => {
                    let p = pre(model, k, &z[k]);
                    let d: Vec<f64> = z[k + 1]
                        .iter()
                        .zip(&p)
                        .map(|(&zi, &pi)| zi - act(activation(model, k + 1), pi))
                        .collect();
                    let c = pre_t(model, k, &d);
                    (0..a.len())
                        .map(|i| {
                            act(
                                spec.activation,
                                z[k][i] + eta * ((a[i] - z[k][i]) + rho * c[i]),
                            )
                        })
                        .collect()
                }
                Family::Hopfield => {
                    let c = pre_t(model, k, &z[k + 1]);
                    (0..a.len())
                        .map(|i| act(spec.activation, a[i] + rho * c[i]))
                        .collect()
                }
            };
            z[k] = new;
        }
    }
}

/// The full inference schedule in f64; `trace` is called after every update.
pub fn infer_traced(
    model: &ModelView<'_>,
    x: &[f32],
    mut trace: impl FnMut(Update, &State),
) -> State {
    let mut z: State = vec![x.iter().map(|&v| f64::from(v)).collect()];
    for k in 1..=model.layers() {
        z.push(vec![0.0; model.width(k)]);
    }
    for u in Updates::new(
        model.layers(),
        model.sweeps(),
        model.init(),
        model.schedule(),
    ) {
        apply(model, &mut z, u);
        trace(u, &z);
    }
    z
}

/// The full inference schedule in f64.
pub fn infer(model: &ModelView<'_>, x: &[f32]) -> State {
    infer_traced(model, x, |_, _| {})
}

/// Family-A divergence D_k(z_k, a) = ½‖z_k − p‖² + ⟨z_k − p, p − a⟩ with p = f_k(a) (stable form).
pub fn divergence(model: &ModelView<'_>, z: &State, k: usize) -> f64 {
    let a = pre(model, k - 1, &z[k - 1]);
    let f = activation(model, k);
    z[k].iter()
        .zip(&a)
        .map(|(&zi, &ai)| {
            let p = act(f, ai);
            0.5 * (zi - p) * (zi - p) + (zi - p) * (p - ai)
        })
        .sum()
}

/// Family-A potential U^{⊙γ}(z) = Σ_k γ_k D_k.
pub fn potential_a(model: &ModelView<'_>, z: &State) -> f64 {
    (1..=model.layers())
        .map(|k| f64::from(model.layer(k).map_or(1.0, |l| l.gamma)) * divergence(model, z, k))
        .sum()
}

/// Family-B energy E(z) = Σ_k γ_k [½‖z_k‖² − ⟨z_k, W_{k−1}z_{k−1} + b_{k−1}⟩] (z in the constraint sets).
pub fn energy_b(model: &ModelView<'_>, z: &State) -> f64 {
    (1..=model.layers())
        .map(|k| {
            let a = pre(model, k - 1, &z[k - 1]);
            let g = f64::from(model.layer(k).map_or(1.0, |l| l.gamma));
            g * z[k]
                .iter()
                .zip(&a)
                .map(|(&zi, &ai)| 0.5 * zi * zi - zi * ai)
                .sum::<f64>()
        })
        .sum()
}

/// Whether the model starts from zero.
pub fn zero_init(model: &ModelView<'_>) -> bool {
    model.init() == Init::Zero
}
