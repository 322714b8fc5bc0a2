//! An f64 mirror of the deployed inference, with reverse-mode gradients for the attacks.
//!
//! [`Unrolled`] copies a model's weights out of a [`ModelView`] and runs the **same update list**
//! ([`Updates`]: the init, then K sweeps in the stored schedule) with the update formulas of
//! `lifted_core::infer`, in f64. [`Unrolled::margin_grad`] back-propagates through every unrolled
//! update, so the attacks differentiate the map the firmware runs, not the plain forward pass.
//! The f64 values differ from the f32 `infer` only by rounding ([`MIRROR_TOL`]); the attacks use
//! them for directions only and decide success with `lifted_core::infer` itself.
//!
//! Updates (a_k = W_{k−1} z_{k−1} + b_{k−1}):
//! - `Forward(k)`, `Output`: z_k ← f_k(a_k).
//! - family A `Hidden(k)`: z_k ← f_k(z_k + η((a_k − z_k) + ρ W_kᵀ(z_{k+1} − f_{k+1}(W_k z_k + b_k)))).
//! - family B `Hidden(k)`: z_k ← f_k(a_k + ρ W_kᵀ z_{k+1}).
//!
//! At a kink of an activation the derivative taken is that of the branch `infer` takes for the
//! value (ReLU: 1 for v > 0, else 0).

use lifted_core::schedule::{Update, Updates};
use lifted_core::{Activation, Family, Init, ModelView};

use crate::eval::matvec;
use crate::tol::Tol;

/// How closely the f64 mirror's logits follow `lifted_core::infer`'s f32 logits on the models the
/// tests use (weights of order 1/√fan-in, inputs in [0, 1]).
pub const MIRROR_TOL: Tol = Tol::AbsRel {
    atol: 1e-4,
    rtol: 1e-4,
};

#[derive(Debug, Clone)]
struct Layer {
    /// W_{k−1}, row-major `rows × cols`, as stored (f32; widened exactly to f64 where used, which
    /// halves the memory the products read).
    w: Vec<f32>,
    b: Vec<f64>,
    rows: usize,
    cols: usize,
    act: Activation,
    rho: f64,
    step: f64,
}

/// The model in f64 with its update list unrolled.
#[derive(Debug, Clone)]
pub struct Unrolled {
    layers: Vec<Layer>,
    family: Family,
    init: Init,
    updates: Vec<Update>,
    input_dim: usize,
}

/// Values one update needs again when going backward.
#[derive(Debug, Clone)]
struct TapeEntry {
    update: Update,
    /// Argument of f_k (a_k for forward/output and family B; the damped point for family A).
    u: Vec<f64>,
    /// Family A only: W_k z_k + b_k before the update (argument of f_{k+1}).
    p: Vec<f64>,
}

fn act(a: Activation, v: f64) -> f64 {
    match a {
        Activation::Identity => v,
        Activation::Relu => {
            if v > 0.0 {
                v
            } else {
                0.0
            }
        }
        Activation::ClippedRelu { bound } => {
            if v > 0.0 {
                v.min(f64::from(bound))
            } else {
                0.0
            }
        }
    }
}

fn dact(a: Activation, v: f64) -> f64 {
    match a {
        Activation::Identity => 1.0,
        Activation::Relu => {
            if v > 0.0 {
                1.0
            } else {
                0.0
            }
        }
        Activation::ClippedRelu { bound } => {
            if v > 0.0 && v <= f64::from(bound) {
                1.0
            } else {
                0.0
            }
        }
    }
}

impl Layer {
    /// `W z + b`.
    fn affine(&self, z: &[f64]) -> Vec<f64> {
        matvec::mul_rows(&self.w, self.cols, Some(&self.b), z)
    }

    /// `W z` (no bias).
    fn mul(&self, z: &[f64]) -> Vec<f64> {
        matvec::mul_rows(&self.w, self.cols, None, z)
    }

    /// `out += s · Wᵀ d`.
    fn add_mul_t(&self, d: &[f64], s: f64, out: &mut [f64]) {
        matvec::add_mul_t(&self.w, self.cols, d, s, out);
    }
}

/// Adds the gradient `s·g_a` of a_k = W_{k−1} z_{k−1} + b_{k−1} to z_{k−1} (or, for k = 1, to the
/// accumulated gradient of a_1).
fn pull_a(ly: &Layer, k: usize, g_a: &[f64], s: f64, g: &mut [Vec<f64>], g_a1: &mut [f64]) {
    if k == 1 {
        for (acc, &v) in g_a1.iter_mut().zip(g_a) {
            *acc += s * v;
        }
    } else if let Some(below) = g.get_mut(k - 1) {
        ly.add_mul_t(g_a, s, below);
    }
}

/// The logit-margin loss `max_{j≠t} s_j − s_t` and the maximising `j`.
#[must_use]
pub fn margin_loss(logits: &[f64], target: usize) -> (f64, usize) {
    let mut best = (f64::NEG_INFINITY, usize::from(target == 0));
    for (j, &s) in logits.iter().enumerate() {
        if j != target && s > best.0 {
            best = (s, j);
        }
    }
    (
        best.0 - logits.get(target).copied().unwrap_or(f64::NAN),
        best.1,
    )
}

impl Unrolled {
    /// Copies the model out of a checked view.
    #[must_use]
    pub fn new(model: &ModelView<'_>) -> Self {
        let layers = (1..=model.layers())
            .map(|k| {
                let spec = model.layer(k).copied();
                Layer {
                    w: model.weights(k - 1).to_vec(),
                    b: model.bias(k - 1).iter().map(|&v| f64::from(v)).collect(),
                    rows: model.width(k),
                    cols: model.width(k - 1).max(1),
                    act: spec.map_or(Activation::Identity, |s| s.activation),
                    rho: spec.map_or(0.0, |s| f64::from(s.rho)),
                    step: spec.map_or(1.0, |s| f64::from(s.step)),
                }
            })
            .collect();
        // The list `infer` runs: a forward deployment's sweeps change nothing and are skipped
        // there, so unrolling them would only multiply the cost of every gradient.
        let updates = Updates::deployed(
            model.layers(),
            model.family(),
            model.init(),
            model.sweeps(),
            model.schedule(),
        )
        .collect();
        Unrolled {
            layers,
            family: model.family(),
            init: model.init(),
            updates,
            input_dim: model.input_dim(),
        }
    }

    /// Number of weight layers L.
    #[must_use]
    pub fn layers(&self) -> usize {
        self.layers.len()
    }

    /// Input dimension n₀.
    #[must_use]
    pub fn input_dim(&self) -> usize {
        self.input_dim
    }

    /// The number of updates unrolled: the init, then K sweeps (none for a forward deployment,
    /// whose sweeps are exact no-ops).
    #[must_use]
    pub fn update_count(&self) -> usize {
        self.updates.len()
    }

    fn layer(&self, k: usize) -> Option<&Layer> {
        k.checked_sub(1).and_then(|i| self.layers.get(i))
    }

    /// Runs the update list from `x`; returns the state z_0 … z_L and, if `tape`, what the
    /// backward pass needs.
    fn run(&self, x: &[f64], tape: bool) -> (Vec<Vec<f64>>, Vec<TapeEntry>) {
        let l = self.layers.len();
        let mut z: Vec<Vec<f64>> = Vec::with_capacity(l + 2);
        z.push(x.to_vec());
        z.extend(self.layers.iter().map(|ly| vec![0.0; ly.rows]));
        z.push(Vec::new()); // z_{L+1}: empty, so every k + 1 indexes
        let _ = self.init; // zero init: the state above is already zero
        let a1 = self.layers.first().map_or_else(Vec::new, |ly| ly.affine(x));
        let mut entries = Vec::new();
        for &up in &self.updates {
            let k = match up {
                Update::Forward(k) | Update::Hidden(k) => k,
                Update::Output => l,
            };
            let Some(ly) = self.layer(k) else { continue };
            // z_0 = x never changes, so a_1 = W_0 x + b_0 is computed once (the dominant cost).
            let a = if k == 1 {
                a1.clone()
            } else {
                ly.affine(&z[k - 1])
            };
            let (u, p) = match up {
                Update::Forward(_) | Update::Output => (a, Vec::new()),
                Update::Hidden(_) => match (self.family, self.layer(k + 1)) {
                    (Family::FenchelYoung, Some(above)) => {
                        let p = above.affine(&z[k]);
                        let d: Vec<f64> = z[k + 1]
                            .iter()
                            .zip(&p)
                            .map(|(&zn, &pi)| zn - act(above.act, pi))
                            .collect();
                        let mut c = vec![0.0; ly.rows];
                        above.add_mul_t(&d, 1.0, &mut c);
                        let u = z[k]
                            .iter()
                            .zip(&a)
                            .zip(&c)
                            .map(|((&zi, &ai), &ci)| zi + ly.step * ((ai - zi) + ly.rho * ci))
                            .collect();
                        (u, p)
                    }
                    (Family::Hopfield, Some(above)) => {
                        let mut u = a;
                        above.add_mul_t(&z[k + 1], ly.rho, &mut u);
                        (u, Vec::new())
                    }
                    (_, None) => (a, Vec::new()),
                },
            };
            z[k] = u.iter().map(|&v| act(ly.act, v)).collect();
            if tape {
                entries.push(TapeEntry { update: up, u, p });
            }
        }
        z.pop();
        (z, entries)
    }

    /// The final state z_0 … z_L of the deployed inference at `x`.
    #[must_use]
    pub fn state(&self, x: &[f64]) -> Vec<Vec<f64>> {
        self.run(x, false).0
    }

    /// The logits z_L of the deployed inference at `x`.
    #[must_use]
    pub fn logits(&self, x: &[f64]) -> Vec<f64> {
        self.run(x, false).0.pop().unwrap_or_default()
    }

    /// The margin loss `max_{j≠t} s_j − s_t` at `x` and its gradient in `x`, by back-propagation
    /// through the unrolled updates.
    #[must_use]
    pub fn margin_grad(&self, x: &[f64], target: usize) -> (f64, Vec<f64>) {
        let (z, tape) = self.run(x, true);
        let l = self.layers.len();
        let logits = z.last().cloned().unwrap_or_default();
        let (loss, j) = margin_loss(&logits, target);
        let mut g: Vec<Vec<f64>> = z.iter().map(|b| vec![0.0; b.len()]).collect();
        g.push(Vec::new());
        if let Some(gl) = g.get_mut(l) {
            if let Some(v) = gl.get_mut(j) {
                *v += 1.0;
            }
            if let Some(v) = gl.get_mut(target) {
                *v -= 1.0;
            }
        }
        let mut g_a1 = vec![0.0; self.layers.first().map_or(0, |ly| ly.rows)];
        for e in tape.iter().rev() {
            self.backward(e, &mut g, &mut g_a1);
        }
        // Every update of block 1 read x through a_1 = W_0 x + b_0: pull the summed gradient
        // of a_1 back once.
        if let (Some(first), Some(g0)) = (self.layers.first(), g.first_mut()) {
            first.add_mul_t(&g_a1, 1.0, g0);
        }
        (loss, g.swap_remove(0))
    }

    /// Pulls the gradient of the state after update `e` back to the state before it (for block 1
    /// the gradient of a_1 is accumulated in `g_a1` instead of being pulled back to x).
    fn backward(&self, e: &TapeEntry, g: &mut [Vec<f64>], g_a1: &mut [f64]) {
        let l = self.layers.len();
        let k = match e.update {
            Update::Forward(k) | Update::Hidden(k) => k,
            Update::Output => l,
        };
        let Some(ly) = self.layer(k) else { return };
        let g_out = std::mem::replace(&mut g[k], vec![0.0; ly.rows]);
        let g_u: Vec<f64> = g_out
            .iter()
            .zip(&e.u)
            .map(|(&gv, &uv)| gv * dact(ly.act, uv))
            .collect();
        match (e.update, self.layer(k + 1)) {
            (Update::Hidden(_), Some(above)) => match self.family {
                Family::FenchelYoung => {
                    // u = z_k + η((a − z_k) + ρ W_kᵀ(z_{k+1} − f_{k+1}(W_k z_k + b_k))).
                    pull_a(ly, k, &g_u, ly.step, g, g_a1);
                    let g_c: Vec<f64> = g_u.iter().map(|&v| ly.step * ly.rho * v).collect();
                    let g_d = above.mul(&g_c);
                    for (gn, &v) in g[k + 1].iter_mut().zip(&g_d) {
                        *gn += v;
                    }
                    let g_p: Vec<f64> = g_d
                        .iter()
                        .zip(&e.p)
                        .map(|(&v, &pv)| -v * dact(above.act, pv))
                        .collect();
                    let mut g_self: Vec<f64> = g_u.iter().map(|&v| (1.0 - ly.step) * v).collect();
                    above.add_mul_t(&g_p, 1.0, &mut g_self);
                    g[k] = g_self;
                }
                Family::Hopfield => {
                    // u = a_k + ρ W_kᵀ z_{k+1}.
                    pull_a(ly, k, &g_u, 1.0, g, g_a1);
                    let g_n = above.mul(&g_u);
                    for (gn, &v) in g[k + 1].iter_mut().zip(&g_n) {
                        *gn += ly.rho * v;
                    }
                }
            },
            _ => pull_a(ly, k, &g_u, 1.0, g, g_a1),
        }
    }

    /// Logits of the forward pass from hidden block k: z_j = f_j(W_{j−1} z_{j−1} + b_{j−1}) for
    /// j = k+1 … L (the map the internal certificates are about).
    #[must_use]
    pub fn downstream_logits(&self, k: usize, zk: &[f64]) -> Vec<f64> {
        let mut z = zk.to_vec();
        for j in k + 1..=self.layers.len() {
            if let Some(ly) = self.layer(j) {
                z = ly.affine(&z).into_iter().map(|v| act(ly.act, v)).collect();
            }
        }
        z
    }

    /// The margin loss of [`Unrolled::downstream_logits`] and its gradient in z_k.
    #[must_use]
    pub fn downstream_margin_grad(&self, k: usize, zk: &[f64], target: usize) -> (f64, Vec<f64>) {
        let l = self.layers.len();
        let mut zs = vec![zk.to_vec()];
        let mut pres = Vec::new();
        for j in k + 1..=l {
            let Some(ly) = self.layer(j) else { break };
            let a = ly.affine(zs.last().map_or(&[][..], |v| v));
            zs.push(a.iter().map(|&v| act(ly.act, v)).collect());
            pres.push(a);
        }
        let logits = zs.last().cloned().unwrap_or_default();
        let (loss, jmax) = margin_loss(&logits, target);
        let mut g = vec![0.0; logits.len()];
        if let Some(v) = g.get_mut(jmax) {
            *v += 1.0;
        }
        if let Some(v) = g.get_mut(target) {
            *v -= 1.0;
        }
        for (i, j) in (k + 1..l + 1).enumerate().rev() {
            let Some(ly) = self.layer(j) else { break };
            let g_a: Vec<f64> = g
                .iter()
                .zip(&pres[i])
                .map(|(&gv, &a)| gv * dact(ly.act, a))
                .collect();
            let mut below = vec![0.0; ly.cols];
            ly.add_mul_t(&g_a, 1.0, &mut below);
            g = below;
        }
        (loss, g)
    }
}
