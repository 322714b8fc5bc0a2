//! The optional float-error part of the shift ([`FloatPart`]): the certificate's forward error
//! recursion Ê evaluated with the sample's forward-pass magnitudes, its derivatives in ‖W_k‖_∞,
//! ‖b_k‖_∞ and σ_k, and their way into the parameter gradient.

use lifted_core::bounds::Limits;
use lifted_core::fp::{gamma, NU};

use super::super::linalg::Mat;
use super::super::net::{Grads, Net};
use super::super::real::Real;
use super::LipMargin;

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
    pub(super) fn float_grad_acc(
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
}
