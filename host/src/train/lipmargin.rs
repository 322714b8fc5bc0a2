//! Lipschitz-margin training (Tsuzuku, Sato & Sugiyama 2018; GloRo, Leino et al. 2021): the
//! output loss is applied to the logits with every non-true class raised by ε·K_yj,
//!
//!   ℓ(s + h; y),  h_j = ε·K_yj (h_y = 0),  K_yj = ‖w_y − w_j‖₂ · Λ,  Λ = Π_{k=0}^{L−2} σ_k,
//!
//! where w_i are the rows of W_{L−1} and σ_k = ‖W_k v̂_k‖ is the power-iteration estimate of
//! ‖W_k‖₂. K_yj is the same per-pair quantity as the stored ℓ2 certificate constant of a
//! forward-deployed model (docs/method.md §8.1–8.2); for an iterative deployment (family B, zero
//! init, …) it is a surrogate that shrinks the same weight norms the sweep constants grow with,
//! and the certificate uses the deployed map's own constants. The certificate uses sound Gram-iteration upper
//! bounds σ̄_k ≥ σ_k instead of the power-iteration estimate (a lower bound, docs/method.md §8.5), so its
//! constant is never below the one trained against; with converged vectors the gap is tiny.
//!
//! Gradients. With the vectors v̂_k held fixed, σ_k = ‖W_k v̂_k‖ is differentiable with
//! ∂σ_k/∂W_k = u_k v̂_kᵀ, u_k = W_k v̂_k/σ_k, so the K term of the gradient is exact for the
//! function evaluated here ([`LipMargin::grad_acc`]); at a converged v̂_k the dependence of v̂_k
//! on W_k is of second order. The vectors are warm-started across steps (a few iterations per
//! minibatch, [`power_iterate`]) and stored in the trainer and its checkpoint.
//!
//! With a lifted objective the shift is a constant of the inner problem (K depends only on θ):
//! every phase uses ℓ(z_L + h; ·), and by Danskin ∂J/∂h = Σ_phases sign·∂Φ/∂h at the phase
//! solution, which [`LipMargin::grad_acc`] carries through K.
//!
//! **Float-error term (optional).** The sound certificate also subtracts a float error bound
//! E(x) = 2(ξ_L + ξᵇ_L) from every margin (docs/method.md §8.6). It is driven by the ∞-norm product
//! Π_k ‖W_k‖_∞ and can be larger than ε·K. With a weight λ_E > 0 the shift of every non-true
//! class gains λ_E·Ê(x), where Ê is the certificate's forward error recursion (`lifted_core`'s
//! `Track` for forward updates, seal factors omitted) evaluated with the sample's forward-pass
//! magnitudes ‖z_k(x)‖_∞ held constant and the default export radii; its gradient flows through
//! ‖W_k‖_∞ (the maximal row, sign pattern) and ‖b_k‖_∞ ([`FloatPart`]).

//!
//! Files: this one holds [`LipMargin`] (the margin shift ε·K and its gradient) and the warm-up
//! [`ramp`]; `power` the power iteration, `float` the float-error part ([`FloatPart`]),
//! `bottom` GloRo's ⊥ class ([`bottom_ce_row`]).

mod bottom;
mod float;
mod power;
#[cfg(test)]
mod tests;

pub use bottom::bottom_ce_row;
pub use float::{magnitudes, FloatPart};
pub use power::{init_vectors, power_iterate, INIT_ITERS};

use power::{matvec, norm, normalized};

use super::linalg::Mat;
use super::net::{Grads, Net};
use super::real::Real;

/// The Lipschitz-margin quantities of one minibatch: σ_k, u_k, v̂_k, Λ and the C × C row
/// distances of W_{L−1}, for fixed θ and vectors.
#[derive(Debug, Clone, PartialEq)]
pub struct LipMargin<T> {
    eps: T,
    sigma: Vec<T>,
    u: Vec<Vec<T>>,
    v: Vec<Vec<T>>,
    lambda: T,
    dist: Vec<T>,
    classes: usize,
    float_weight: f64,
    bottom: bool,
}
impl<T: Real> LipMargin<T> {
    /// The quantities for `net` with the vectors `vs` (one per layer k = 0 … L−2, normalised
    /// here) and the margin ε = `eps`.
    ///
    /// # Panics
    /// If `vs` does not have one vector of length n_k per layer k = 0 … L−2 (a programmer error).
    pub fn new(net: &Net<T>, vs: &[Vec<T>], eps: f64) -> Self {
        let l = net.depth();
        assert_eq!(
            vs.len(),
            l.saturating_sub(1),
            "one vector per layer 0 … L−2"
        );
        let mut sigma = Vec::with_capacity(vs.len());
        let mut us = Vec::with_capacity(vs.len());
        let mut vh = Vec::with_capacity(vs.len());
        for (k, v) in vs.iter().enumerate() {
            let (rows, cols) = (net.width(k + 1), net.width(k));
            assert_eq!(v.len(), cols, "vector {k} has the wrong length");
            let v = normalized(v).unwrap_or_else(|| vec![T::ZERO; cols]);
            let wv = matvec(&net.layers[k].w, rows, cols, &v);
            let s = norm(&wv);
            us.push(normalized(&wv).unwrap_or_else(|| vec![T::ZERO; rows]));
            sigma.push(s);
            vh.push(v);
        }
        let lambda = sigma.iter().fold(T::ONE, |p, &s| p * s);
        let (c, n) = (net.width(l), net.width(l - 1));
        let w = &net.layers[l - 1].w;
        let mut dist = vec![T::ZERO; c * c];
        for i in 0..c {
            for j in i + 1..c {
                let d = w[i * n..(i + 1) * n]
                    .iter()
                    .zip(&w[j * n..(j + 1) * n])
                    .map(|(&a, &b)| (a - b) * (a - b))
                    .sum::<T>()
                    .sqrt();
                dist[i * c + j] = d;
                dist[j * c + i] = d;
            }
        }
        LipMargin {
            eps: T::from_f64(eps),
            sigma,
            u: us,
            v: vh,
            lambda,
            dist,
            classes: c,
            float_weight: 0.0,
            bottom: false,
        }
    }

    /// Adds the float-error term with weight λ_E = `weight` (0: none) to the shift.
    #[must_use]
    pub fn with_float(mut self, weight: f64) -> Self {
        self.float_weight = weight;
        self
    }

    /// Takes the margin through GloRo's ⊥ class (see [`bottom_ce_row`]) instead of the shifted
    /// logits; only [`super::backprop::backprop_with`] implements it.
    #[must_use]
    pub fn with_bottom(mut self, bottom: bool) -> Self {
        self.bottom = bottom;
        self
    }

    /// True if the margin enters the loss through the ⊥ class.
    pub fn is_bottom(&self) -> bool {
        self.bottom
    }

    /// λ_E.
    pub fn float_weight(&self) -> f64 {
        self.float_weight
    }
    /// ε.
    pub fn eps(&self) -> T {
        self.eps
    }

    /// σ_k = ‖W_k v̂_k‖, k = 0 … L−2.
    pub fn sigmas(&self) -> &[T] {
        &self.sigma
    }

    /// Λ = Π_k σ_k (1 for a single layer).
    pub fn lambda(&self) -> T {
        self.lambda
    }

    /// K_ij = ‖w_i − w_j‖₂·Λ.
    pub fn k(&self, i: usize, j: usize) -> T {
        self.dist[i * self.classes + j] * self.lambda
    }

    /// The logit shifts h (B × C): h_ij = ε·K_{y_i j} (+ λ_E·Ê_i with a float part), 0 for
    /// j = y_i.
    pub fn shifts(&self, labels: &[u8], float: Option<&FloatPart>) -> Mat<T> {
        let c = self.classes;
        let mut h = Mat::zeros(labels.len(), c);
        for (i, &y) in labels.iter().enumerate() {
            let y = usize::from(y);
            let fe = float.map_or(T::ZERO, |f| T::from_f64(f.shift[i]));
            for (j, v) in h.row_mut(i).iter_mut().enumerate() {
                if j != y {
                    *v = self.eps * self.k(y, j);
                    if float.is_some() {
                        *v += fe;
                    }
                }
            }
        }
        h
    }

    /// `z + h` for the logits `z` (B × C) of the samples `labels`.
    pub fn shifted(&self, z: &Mat<T>, labels: &[u8], float: Option<&FloatPart>) -> Mat<T> {
        let mut out = self.shifts(labels, float);
        for (o, &v) in out.data.iter_mut().zip(&z.data) {
            *o += v;
        }
        out
    }

    /// Adds `s`·Σ_i Σ_{j≠y_i} dh_ij·∇_θ h_ij to `grads`, where `dh` (B × C) holds ∂J_i/∂h_i
    /// (with `float` the same float part as in [`LipMargin::shifts`]).
    pub fn grad_acc(
        &self,
        net: &Net<T>,
        labels: &[u8],
        dh: &Mat<T>,
        s: T,
        float: Option<&FloatPart>,
        grads: &mut Grads<T>,
    ) {
        if let Some(f) = float {
            self.float_grad_acc(net, labels, dh, s.to_f64(), f, grads);
        }
        let c = self.classes;
        // G_yj = s·ε·Σ_{i: y_i = y} dh_ij, so that the K part of J is Σ_{y≠j} G_yj K_yj.
        let mut g = vec![T::ZERO; c * c];
        for (i, &y) in labels.iter().enumerate() {
            let y = usize::from(y);
            for (j, &d) in dh.row(i).iter().enumerate() {
                if j != y {
                    g[y * c + j] += s * self.eps * d;
                }
            }
        }
        let l = net.depth();
        let n = net.width(l - 1);
        let w = &net.layers[l - 1].w;
        let gw = &mut grads.w[l - 1];
        let mut g_lambda = T::ZERO;
        for a in 0..c {
            for b in 0..c {
                let (gab, d) = (g[a * c + b], self.dist[a * c + b]);
                if a == b || gab == T::ZERO {
                    continue;
                }
                g_lambda += gab * d;
                if d > T::ZERO {
                    // ∂‖w_a − w_b‖/∂w_a = (w_a − w_b)/‖w_a − w_b‖ = −∂/∂w_b.
                    let coef = gab * self.lambda / d;
                    for t in 0..n {
                        let diff = coef * (w[a * n + t] - w[b * n + t]);
                        gw[a * n + t] += diff;
                        gw[b * n + t] -= diff;
                    }
                }
            }
        }
        if g_lambda == T::ZERO {
            return;
        }
        for k in 0..self.sigma.len() {
            // ∂Λ/∂σ_k = Π_{m≠k} σ_m (no division, so σ_k = 0 is fine).
            let others = self
                .sigma
                .iter()
                .enumerate()
                .filter(|&(m, _)| m != k)
                .fold(T::ONE, |p, (_, &sm)| p * sm);
            let coef = g_lambda * others;
            let cols = net.width(k);
            for (r, &ur) in self.u[k].iter().enumerate() {
                let cu = coef * ur;
                for (gv, &vv) in grads.w[k][r * cols..(r + 1) * cols]
                    .iter_mut()
                    .zip(&self.v[k])
                {
                    *gv += cu * vv;
                }
            }
        }
    }
}
/// The margin ε of a minibatch: `eps` after the warm-up, rising linearly per minibatch over
/// the first `warmup` epochs (GloRo); 0 in the measurement pass (epoch 0) during a warm-up.
/// `batch` counts from 0 within `epoch`, which has `batches` minibatches.
pub fn ramp(eps: f64, warmup: usize, epoch: usize, batch: usize, batches: usize) -> f64 {
    if warmup == 0 {
        return eps;
    }
    let step = if epoch == 0 {
        0
    } else {
        (epoch - 1) * batches + batch + 1
    };
    let total = warmup * batches;
    if step >= total {
        eps
    } else {
        eps * step as f64 / total as f64
    }
}
