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

use lifted_core::bounds::Limits;
use lifted_core::fp::{gamma, NU};
use rand_chacha::rand_core::SeedableRng;
use rand_chacha::ChaCha8Rng;

use super::linalg::Mat;
use super::net::{Grads, Net};
use super::real::Real;
use crate::rng::normal;

/// Power-iteration steps run once when the vectors are created (a random start is far from
/// the top singular vector; afterwards a few warm-started steps per minibatch suffice).
pub const INIT_ITERS: u32 = 50;

/// ChaCha8 stream of the start vectors (0: weights, 1: shuffles and other training choices).
const VECTOR_STREAM: u64 = 2;

/// W v for a row-major `rows × cols` matrix.
fn matvec<T: Real>(w: &[T], rows: usize, cols: usize, v: &[T]) -> Vec<T> {
    (0..rows)
        .map(|r| {
            w[r * cols..(r + 1) * cols]
                .iter()
                .zip(v)
                .map(|(&a, &b)| a * b)
                .sum()
        })
        .collect()
}

/// Wᵀ u for a row-major `rows × cols` matrix.
fn matvec_t<T: Real>(w: &[T], rows: usize, cols: usize, u: &[T]) -> Vec<T> {
    let mut out = vec![T::ZERO; cols];
    for (r, &ur) in u.iter().enumerate().take(rows) {
        for (o, &a) in out.iter_mut().zip(&w[r * cols..(r + 1) * cols]) {
            *o += a * ur;
        }
    }
    out
}

fn norm<T: Real>(v: &[T]) -> T {
    v.iter().map(|&a| a * a).sum::<T>().sqrt()
}

/// `v/‖v‖`, or `None` for a zero (or non-finite) vector.
fn normalized<T: Real>(v: &[T]) -> Option<Vec<T>> {
    let n = norm(v);
    (n > T::ZERO && n.is_finite()).then(|| v.iter().map(|&a| a / n).collect())
}

/// Seeded unit start vectors v_k (length n_k) for the layers k = 0 … L−2, from stream 2 of
/// `ChaCha8(seed)`, so that the training stream is untouched.
pub fn init_vectors<T: Real>(net: &Net<T>, seed: u64) -> Vec<Vec<T>> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    rng.set_stream(VECTOR_STREAM);
    (0..net.depth().saturating_sub(1))
        .map(|k| {
            let v: Vec<T> = (0..net.width(k))
                .map(|_| T::from_f64(normal(&mut rng)))
                .collect();
            normalized(&v).unwrap_or_else(|| {
                let mut e = vec![T::ZERO; net.width(k)];
                e[0] = T::ONE;
                e
            })
        })
        .collect()
}

/// `iters` power-iteration steps v_k ← normalise(W_kᵀ normalise(W_k v_k)) on each vector. A step
/// that meets a zero vector leaves the vector unchanged.
pub fn power_iterate<T: Real>(net: &Net<T>, vs: &mut [Vec<T>], iters: u32) {
    for (k, v) in vs.iter_mut().enumerate() {
        let (rows, cols, w) = (net.width(k + 1), net.width(k), &net.layers[k].w);
        for _ in 0..iters {
            let Some(u) = normalized(&matvec(w, rows, cols, v)) else {
                break;
            };
            match normalized(&matvec_t(w, rows, cols, &u)) {
                Some(nv) => *v = nv,
                None => break,
            }
        }
    }
}

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

/// The float-error part of the shift for a batch: per sample λ_E·Ê_i and its derivatives in
/// ‖W_k‖_∞ and ‖b_k‖_∞, with the maximal rows and entries that carry those norms.
#[derive(Debug, Clone, PartialEq)]
pub struct FloatPart {
    /// λ_E·Ê_i per sample.
    pub shift: Vec<f64>,
    /// λ_E·∂Ê_i/∂p per sample, p = (‖W_k‖_∞ for k < L, ‖b_k‖_∞ for k < L, σ_k for k < L).
    d_p: Vec<Vec<f64>>,
    /// Row of W_k with the largest abs-sum.
    w_row: Vec<usize>,
    /// Entry of b_k with the largest magnitude.
    b_idx: Vec<usize>,
    /// Singular vectors (u, v) of the output layer W_{L−1} for its σ (the gradient of σ is uvᵀ).
    last: (Vec<f64>, Vec<f64>),
}

/// ‖z_k‖_∞ of every sample (outer index: sample) for the blocks k = 0 … L−1 of `state`.
pub fn magnitudes<T: Real>(state: &[Mat<T>]) -> Vec<Vec<f64>> {
    let blocks = state.len().saturating_sub(1);
    let rows = state.first().map_or(0, |m| m.rows);
    (0..rows)
        .map(|i| {
            state[..blocks]
                .iter()
                .map(|m| m.row(i).iter().fold(0.0f64, |a, v| a.max(v.to_f64().abs())))
                .collect()
        })
        .collect()
}

/// Ê = √2(ξ_L + ξᵇ_L) and its derivatives (forward mode) in the parameters
/// p = (‖W_0‖_∞ … ‖W_{L−1}‖_∞, ‖b_0‖_∞ … ‖b_{L−1}‖_∞, σ_0 … σ_{L−1}), following the certificate's
/// ℓ2 error recursion over the forward updates (`lifted_core` `Track`, docs/method.md §8.11):
/// ξ_{k+1} = σ_k ξ_k + r_{k+1}(γ_{n_k+1}(w_k m_k + b_k) + (n_k+1)ν), r_{k+1} = ⌈√n_{k+1}⌉, and the
/// same for ξᵇ with the ball magnitudes M_k = m_k + ξ_k + R_k + ξᵇ_k. `sigma` holds σ_0 … σ_{L−1};
/// `reach` holds R_k with ∂R_k/∂p.
fn float_estimate(
    w: &[f64],
    b: &[f64],
    sigma: &[f64],
    fan_in: &[usize],
    roots: &[f64],
    reach: &[(f64, Vec<f64>)],
    mags: &[f64],
) -> (f64, Vec<f64>) {
    let l = w.len();
    let np = reach.first().map_or(0, |r| r.1.len());
    let (mut xi, mut xb) = (0.0f64, 0.0f64);
    let (mut dxi, mut dxb) = (vec![0.0f64; np], vec![0.0f64; np]);
    for m in 0..l {
        let g = f64::from(gamma(fan_in[m] + 1));
        let floor = (fan_in[m] + 1) as f64 * f64::from(NU);
        let (r, dr) = (&reach[m].0, &reach[m].1);
        let (s, root) = (sigma[m], roots[m]);
        let big_m = mags[m] + xi + r + xb;
        let new_xi = s * xi + root * (g * (w[m] * mags[m] + b[m]) + floor);
        let new_xb = s * xb + root * (g * (w[m] * big_m + b[m]) + floor);
        let mut nd_xi = vec![0.0f64; np];
        let mut nd_xb = vec![0.0f64; np];
        for j in 0..np {
            nd_xi[j] = s * dxi[j];
            nd_xb[j] = s * dxb[j] + root * g * w[m] * (dxi[j] + dr[j] + dxb[j]);
        }
        nd_xi[m] += root * g * mags[m];
        nd_xb[m] += root * g * big_m;
        nd_xi[l + m] += root * g;
        nd_xb[l + m] += root * g;
        nd_xi[2 * l + m] += xi;
        nd_xb[2 * l + m] += xb;
        (xi, xb, dxi, dxb) = (new_xi, new_xb, nd_xi, nd_xb);
    }
    let d: Vec<f64> = dxi
        .iter()
        .zip(&dxb)
        .map(|(a, c)| std::f64::consts::SQRT_2 * (a + c))
        .collect();
    (std::f64::consts::SQRT_2 * (xi + xb), d)
}

/// (‖W‖₂, u, v) of a `rows × cols` matrix by power iteration on WᵀW from the all-ones vector
/// (deterministic; σ from below, u = Wv/σ): the output layer's gain in [`float_estimate`], whose
/// gradient in W is uvᵀ.
fn spectral_estimate<T: Real>(w: &[T], rows: usize, cols: usize) -> (f64, Vec<f64>, Vec<f64>) {
    let mut v = vec![1.0f64 / (cols.max(1) as f64).sqrt(); cols];
    let wv_of = |v: &[f64]| -> Vec<f64> {
        (0..rows)
            .map(|i| (0..cols).map(|j| w[i * cols + j].to_f64() * v[j]).sum())
            .collect()
    };
    for _ in 0..100 {
        let wv = wv_of(&v);
        let wtwv: Vec<f64> = (0..cols)
            .map(|j| (0..rows).map(|i| w[i * cols + j].to_f64() * wv[i]).sum())
            .collect();
        let n = wtwv.iter().map(|x| x * x).sum::<f64>().sqrt();
        if n == 0.0 || !n.is_finite() {
            return (0.0, vec![0.0; rows], vec![0.0; cols]);
        }
        v = wtwv.iter().map(|x| x / n).collect();
    }
    let wv = wv_of(&v);
    let s = wv.iter().map(|x| x * x).sum::<f64>().sqrt();
    let u = if s > 0.0 {
        wv.iter().map(|x| x / s).collect()
    } else {
        vec![0.0; rows]
    };
    (s, u, v)
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

    /// The float part for the forward-pass state `state` of the batch (blocks 0 … L), or `None`
    /// when λ_E = 0.
    pub fn float_part(&self, net: &Net<T>, state: &[Mat<T>]) -> Option<FloatPart> {
        self.float_part_from_magnitudes(net, &magnitudes(state))
    }

    /// As [`LipMargin::float_part`], from given magnitudes ‖z_k‖_∞ (k = 0 … L−1, per sample).
    pub fn float_part_from_magnitudes(&self, net: &Net<T>, mags: &[Vec<f64>]) -> Option<FloatPart> {
        if self.float_weight == 0.0 {
            return None;
        }
        let l = net.depth();
        let limits = Limits::default();
        let (mut w, mut w_row, mut b, mut b_idx) = (vec![], vec![], vec![], vec![]);
        for k in 0..l {
            let cols = net.width(k);
            let (mut best, mut row) = (-1.0f64, 0usize);
            for (r, chunk) in net.layers[k].w.chunks(cols).enumerate() {
                let s: f64 = chunk.iter().map(|v| v.to_f64().abs()).sum();
                if s > best {
                    (best, row) = (s, r);
                }
            }
            w.push(best.max(0.0));
            w_row.push(row);
            let (mut bb, mut bi) = (-1.0f64, 0usize);
            for (i, v) in net.layers[k].b.iter().enumerate() {
                if v.to_f64().abs() > bb {
                    (bb, bi) = (v.to_f64().abs(), i);
                }
            }
            b.push(bb.max(0.0));
            b_idx.push(bi);
        }
        // Reach R_k of the ball: R_0 = max(ε₂, ε∞); R_k = 1.0001·max(ε₂·Π_{m<k} σ_m,
        // ε∞·Π_{m<k} ‖W_m‖_∞), with its derivative along the active branch.
        let (e2, ei) = (f64::from(limits.eps_l2_max), f64::from(limits.eps_inf_max));
        let np = 3 * l;
        let sig: Vec<f64> = self.sigma.iter().map(|v| v.to_f64()).collect();
        let prod_except = |v: &[f64], skip: usize| -> f64 {
            v.iter()
                .enumerate()
                .filter(|&(j, _)| j != skip)
                .map(|(_, &x)| x)
                .product()
        };
        let mut reach = vec![(e2.max(ei), vec![0.0; np])];
        for k in 1..l {
            let (p2, pi) = (
                sig[..k].iter().product::<f64>(),
                w[..k].iter().product::<f64>(),
            );
            let mut d = vec![0.0; np];
            if e2 * p2 >= ei * pi {
                for j in 0..k {
                    d[2 * l + j] = 1.0001 * e2 * prod_except(&sig[..k], j);
                }
            } else {
                for (j, dj) in d.iter_mut().enumerate().take(k) {
                    *dj = 1.0001 * ei * prod_except(&w[..k], j);
                }
            }
            reach.push(((e2 * p2).max(ei * pi) * 1.0001, d));
        }
        let fan_in: Vec<usize> = (0..l).map(|k| net.width(k)).collect();
        let roots: Vec<f64> = (1..=l)
            .map(|k| f64::from(lifted_core::bounds::ceil_sqrt(net.width(k))))
            .collect();
        let (s_last, u_last, v_last) =
            spectral_estimate(&net.layers[l - 1].w, net.width(l), net.width(l - 1));
        let mut sigma_all = sig.clone();
        sigma_all.push(s_last);
        let lw = self.float_weight;
        let (mut shift, mut d_p) = (vec![], vec![]);
        for m in mags {
            let (e, d) = float_estimate(&w, &b, &sigma_all, &fan_in, &roots, &reach, m);
            shift.push(lw * e);
            d_p.push(d.iter().map(|v| lw * v).collect());
        }
        Some(FloatPart {
            shift,
            d_p,
            w_row,
            b_idx,
            last: (u_last, v_last),
        })
    }

    /// The float part of [`LipMargin::grad_acc`]: c_i = s·Σ_{j≠y_i} dh_ij, then Σ_i c_i ∂Ê_i/∂p,
    /// applied along the sign pattern of the maximal row of W_k (‖W_k‖_∞), the maximal entry of
    /// b_k (‖b_k‖_∞) and u_k v̂_kᵀ (σ_k).
    fn float_grad_acc(
        &self,
        net: &Net<T>,
        labels: &[u8],
        dh: &Mat<T>,
        s: f64,
        f: &FloatPart,
        grads: &mut Grads<T>,
    ) {
        let l = net.depth();
        let mut gp = vec![0.0f64; 3 * l];
        for (i, &y) in labels.iter().enumerate() {
            let ci: f64 = dh
                .row(i)
                .iter()
                .enumerate()
                .filter(|&(j, _)| j != usize::from(y))
                .map(|(_, d)| d.to_f64())
                .sum::<f64>()
                * s;
            for (g, d) in gp.iter_mut().zip(&f.d_p[i]) {
                *g += ci * d;
            }
        }
        let sign = |v: T| {
            if v > T::ZERO {
                T::ONE
            } else if v < T::ZERO {
                -T::ONE
            } else {
                T::ZERO
            }
        };
        for k in 0..l {
            let cols = net.width(k);
            let r = f.w_row[k];
            let g = T::from_f64(gp[k]);
            for (gv, &wv) in grads.w[k][r * cols..(r + 1) * cols]
                .iter_mut()
                .zip(&net.layers[k].w[r * cols..(r + 1) * cols])
            {
                *gv += g * sign(wv);
            }
            let bi = f.b_idx[k];
            grads.b[k][bi] += T::from_f64(gp[l + k]) * sign(net.layers[k].b[bi]);
            let gs = T::from_f64(gp[2 * l + k]);
            if k + 1 < l {
                for (row, &ur) in self.u[k].iter().enumerate() {
                    for (gv, &vv) in grads.w[k][row * cols..(row + 1) * cols]
                        .iter_mut()
                        .zip(&self.v[k])
                    {
                        *gv += gs * ur * vv;
                    }
                }
            } else {
                let (u, v) = &f.last;
                for (row, &ur) in u.iter().enumerate() {
                    for (gv, &vv) in grads.w[k][row * cols..(row + 1) * cols].iter_mut().zip(v) {
                        *gv += gs * T::from_f64(ur * vv);
                    }
                }
            }
        }
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

/// GloRo's ⊥-class cross-entropy of one sample with logits `z`, logit shifts `h` (h_y = 0, see
/// [`LipMargin::shifts`]) and true class `y`: the logits get the extra entry
/// z_⊥ = max_{j≠y}(z_j + h_j), and the loss is −log softmax(z_1 … z_C, z_⊥)_y. Returns the loss,
/// ∂/∂z and ∂/∂h. The maximum's gradient goes to the first maximiser (a subgradient at ties).
pub fn bottom_ce_row<T: Real>(z: &[T], h: &[T], y: usize) -> (T, Vec<T>, Vec<T>) {
    let c = z.len();
    let mut star = None::<(usize, T)>;
    for (j, (&zj, &hj)) in z.iter().zip(h).enumerate() {
        if j != y && star.is_none_or(|(_, s)| zj + hj > s) {
            star = Some((j, zj + hj));
        }
    }
    let (mut dz, mut dh) = (vec![T::ZERO; c], vec![T::ZERO; c]);
    let Some((js, bot)) = star else {
        // One class: nothing to separate from.
        return (T::ZERO, dz, dh);
    };
    let top = z.iter().fold(bot, |m, &v| if v > m { v } else { m });
    let sum = z.iter().map(|&v| (v - top).exp()).sum::<T>() + (bot - top).exp();
    let lse = top + sum.ln();
    for (d, &v) in dz.iter_mut().zip(z) {
        *d = (v - lse).exp();
    }
    let p_bot = (bot - lse).exp();
    dz[y] -= T::ONE;
    dz[js] += p_bot;
    dh[js] = p_bot;
    (lse - z[y], dz, dh)
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

#[cfg(test)]
mod tests {
    use super::*;
    use lifted_core::Activation;

    fn net(seed: u64) -> Net<f64> {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let mut n: Net<f64> =
            Net::<f32>::init(5, &[7, 6, 4], Activation::Relu, &[1.0; 3], 1.0, &mut rng).cast();
        for (k, l) in n.layers.iter_mut().enumerate() {
            for (i, b) in l.b.iter_mut().enumerate() {
                *b = ((i * 3 + k) % 7) as f64 / 20.0 - 0.13;
            }
        }
        n
    }

    #[test]
    fn power_iteration_finds_the_spectral_norm() {
        let n = net(3);
        let mut v = init_vectors(&n, 0);
        power_iterate(&n, &mut v, 500);
        let m = LipMargin::new(&n, &v, 0.1);
        for k in 0..2 {
            let (rows, cols) = (n.width(k + 1), n.width(k));
            let w: Vec<f32> = n.layers[k].w.iter().map(|&x| x as f32).collect();
            let up = lifted_core::bounds::spectral::spectral_upper(&w, rows, cols, 12).upper;
            let s = m.sigmas()[k];
            assert!(s <= up && s >= up * (1.0 - 1e-6), "σ {s} vs Gram {up}");
        }
        let lam = m.sigmas()[0] * m.sigmas()[1];
        assert_eq!(m.lambda(), lam);
        assert_eq!(m.k(2, 2), 0.0);
        assert_eq!(m.k(1, 3), m.k(3, 1));
        assert!(m.k(0, 1) > 0.0);
        let h = m.shifts(&[1, 3], None);
        assert_eq!(h.row(0)[1], 0.0);
        assert_eq!(h.row(1)[0], 0.1 * m.k(3, 0));
    }

    #[test]
    fn k_gradient_matches_finite_differences() {
        // J(θ) = Σ_i Σ_j c_ij h_ij(θ) for fixed vectors: the gradient is exact.
        let n = net(5);
        let mut v = init_vectors(&n, 1);
        power_iterate(&n, &mut v, 3);
        let labels = [0u8, 2, 3, 2];
        let mut coef = Mat::zeros(4, 4);
        for (i, c) in coef.data.iter_mut().enumerate() {
            *c = ((i * 7 % 11) as f64 - 5.0) / 4.0;
        }
        // Magnitudes held fixed (as in training, where they are treated as constants).
        let x = Mat::from_vec(4, 5, (0..20).map(|i| (i % 7) as f64 / 6.0).collect());
        let mags = magnitudes(&n.forward(&x));
        for weight in [0.0, 1.0, 250.0] {
            let lm = |m: &Net<f64>| LipMargin::new(m, &v, 0.3).with_float(weight);
            let j = |m: &Net<f64>| -> f64 {
                let f = lm(m).float_part_from_magnitudes(m, &mags);
                let h = lm(m).shifts(&labels, f.as_ref());
                h.data.iter().zip(&coef.data).map(|(a, b)| a * b).sum()
            };
            let mut g = Grads::zeros_like(&n);
            let f = lm(&n).float_part_from_magnitudes(&n, &mags);
            assert_eq!(f.is_some(), weight > 0.0);
            lm(&n).grad_acc(&n, &labels, &coef, 1.0, f.as_ref(), &mut g);
            let mut rng = ChaCha8Rng::seed_from_u64(9);
            for _ in 0..3 {
                let mut d = Grads::zeros_like(&n);
                d.w.iter_mut()
                    .chain(d.b.iter_mut())
                    .flatten()
                    .for_each(|x| *x = normal(&mut rng));
                let at = |t: f64| {
                    let mut m = n.clone();
                    for (l, (dw, db)) in m.layers.iter_mut().zip(d.w.iter().zip(&d.b)) {
                        l.w.iter_mut().zip(dw).for_each(|(w, x)| *w += t * x);
                        l.b.iter_mut().zip(db).for_each(|(b, x)| *b += t * x);
                    }
                    j(&m)
                };
                let h = 1e-6;
                let fd = (at(h) - at(-h)) / (2.0 * h);
                let an: f64 = g.values().zip(d.values()).map(|(a, b)| a * b).sum();
                assert!(
                    (fd - an).abs() <= 1e-7 * an.abs().max(1.0),
                    "λ_E {weight}: {an} vs {fd}"
                );
            }
            if weight == 0.0 {
                assert!(g.b.iter().flatten().all(|&x| x == 0.0));
            } else {
                assert!(g.b.iter().flatten().any(|&x| x != 0.0));
            }
        }
    }

    #[test]
    fn float_estimate_matches_the_certificate() {
        // Ê reproduces lifted-core's E(x) + E_ball of an exported forward model (seal factors
        // aside) on a few inputs.
        let n32 = {
            let mut rng = ChaCha8Rng::seed_from_u64(4);
            let mut n = Net::<f32>::init(5, &[7, 6, 4], Activation::Relu, &[1.0; 3], 1.0, &mut rng);
            for (k, l) in n.layers.iter_mut().enumerate() {
                for (i, b) in l.b.iter_mut().enumerate() {
                    *b = ((i + k) % 5) as f32 / 10.0 - 0.2;
                }
            }
            n
        };
        let n: Net<f64> = n32.cast();
        let mut v = init_vectors(&n, 0);
        power_iterate(&n, &mut v, 500);
        let cfg = crate::train::TrainConfig {
            widths: vec![7, 6, 4],
            objective: crate::train::Objective::Bp,
            ..crate::train::TrainConfig::default()
        };
        let names: Vec<String> = (0..4).map(|c| c.to_string()).collect();
        let params = crate::train::params::to_model_params(&n32, &cfg, (0.0, 1.0), &names, 0);
        let constants = lifted_core::bounds::compute(&params, &Limits::default());
        let blob = params.to_blob(&constants).unwrap();
        let model = lifted_core::ModelView::new_checked(blob.as_bytes()).unwrap();
        let mut buf = vec![0.0f32; lifted_core::Workspace::required(&model)];
        let x = Mat::from_vec(3, 5, (0..15).map(|i| (i % 4) as f64 / 3.0).collect());
        let m = LipMargin::new(&n, &v, 0.3).with_float(1.0);
        let f = m.float_part(&n, &n.forward(&x)).unwrap();
        for i in 0..3 {
            let xi: Vec<f32> = x.row(i).iter().map(|&a| a as f32).collect();
            let mut ws = lifted_core::Workspace::new(&mut buf);
            let o = lifted_core::infer(&model, &xi, &mut ws).unwrap();
            let c = lifted_core::certify(&model, &o, lifted_core::Norm::L2);
            let want = f64::from(c.float_error);
            let got = f.shift[i];
            assert!(
                got <= want && got >= 0.98 * want,
                "sample {i}: estimate {got} vs certificate {want}"
            );
        }
    }

    #[test]
    fn ramp_is_linear_per_minibatch() {
        assert_eq!(ramp(0.3, 0, 0, 0, 10), 0.3);
        assert_eq!(ramp(0.3, 2, 0, 5, 10), 0.0);
        assert_eq!(ramp(0.4, 2, 1, 0, 10), 0.4 / 20.0);
        assert_eq!(ramp(0.4, 2, 2, 9, 10), 0.4);
        assert_eq!(ramp(0.4, 2, 7, 3, 10), 0.4);
    }
}
