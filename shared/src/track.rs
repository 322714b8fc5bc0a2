//! Float error tracking along the update list (docs/method.md §8.6), run alongside inference.
//!
//! For every block j the tracker keeps ξ_j ≥ ‖ẑ_j − z_j‖_∞, the distance between the f32 state and
//! the state the same schedule would reach in exact arithmetic, and the same bound ξᵇ_j for any
//! input in the certified ball. One update of block k costs O(1) scalar work: the local rounding
//! error of the update is bounded from the ∞-norms of its inputs and the stored per-layer norms, and
//! the inherited error is propagated with the update's ∞-norm Lipschitz constants.
//!
//! Alongside, it keeps ℓ2 bounds ε_j ≥ ‖ẑ_j − z_j‖₂ (and εᵇ_j over the ball), propagated with the
//! update's ℓ2 block constants (‖W‖₂, the family-A self term) and fed with the local rounding
//! error converted by ‖v‖₂ ≤ √n‖v‖_∞. The ∞-norm constants grow like the layer width, so through
//! many sweeps the ∞ recursion multiplies the error by large factors; the ℓ2 recursion multiplies
//! it by the block gains of one sweep, which stay below 1 for a contractive sweep, so the bound
//! stays bounded in K (docs/method.md, "Contraction and iterative deployments"). After every update
//! each bound tightens the other: ‖e‖_∞ ≤ ‖e‖₂ ≤ √n‖e‖_∞.

use crate::config::{Family, MAX_LAYERS};
use crate::fp::{gamma, keep_rolled, seal, NU, U};
use crate::model::ModelView;
use crate::schedule::Update;

/// Error bounds and magnitudes recorded by inference for the certificate.
#[derive(Debug, Clone, Copy, PartialEq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Track {
    /// ‖ẑ_j‖_∞ of every block of the final state (j = 0 is the input).
    pub mag: [f32; MAX_LAYERS + 1],
    /// ξ_j at the input x.
    pub xi: [f32; MAX_LAYERS + 1],
    /// ξᵇ_j, valid for every input of the certified ball (radius `eps_l2_max` in ℓ2 and
    /// `eps_inf_max` in ℓ∞).
    pub xi_ball: [f32; MAX_LAYERS + 1],
    /// ε_j ≥ ‖ẑ_j − z_j‖₂ at the input x.
    pub eps2: [f32; MAX_LAYERS + 1],
    /// εᵇ_j, the ℓ2 bound valid for every input of the certified ball.
    pub eps2_ball: [f32; MAX_LAYERS + 1],
}

/// Per-layer quantities the error bounds need, all from the header.
struct Norms {
    n_in: usize,
    w_inf: f32,
    w_one: f32,
    b_inf: f32,
}

fn norms(model: &ModelView<'_>, m: usize) -> Norms {
    // W_m maps block m to block m+1; its bounds are stored with layer m+1.
    let b = model.layer(m + 1).map(|l| l.bounds).unwrap_or_default();
    Norms {
        n_in: model.width(m),
        w_inf: b.w_inf,
        w_one: b.w_one,
        b_inf: b.b_inf,
    }
}

/// `a.max(b)` without the `fmaxf` library call: the NaN operand loses, as in `f32::max`; of two
/// zeros it returns `a` (`f32::max` may return either), which cannot change the ball bounds below:
/// the reach is added to a sum ≥ +0.
fn max(a: f32, b: f32) -> f32 {
    if a.is_nan() || a < b {
        b
    } else {
        a
    }
}

/// Error and magnitude bound of `fl(W_m z + b_m)` for ‖z‖_∞ ≤ `z`.
fn affine_err(n: &Norms, z: f32) -> (f32, f32) {
    let g = gamma(n.n_in + 1);
    let s = n.w_inf * z + n.b_inf;
    let err = g * s + (n.n_in + 1) as f32 * NU;
    (err, s + err)
}

/// One per-block array of the tracker.
type Blocks = [f32; MAX_LAYERS + 1];

/// ⌈√n⌉ as f32: an upper bound of √n (exact integer arithmetic; n < 2²⁴ in a checked model).
fn sqrt_width(n: usize) -> f32 {
    let n = u32::try_from(n).unwrap_or(u32::MAX);
    let r = n.isqrt();
    let up = if r.saturating_mul(r) < n { r + 1 } else { r };
    up as f32
}

/// `a.min(b)` without the `fminf` call: a NaN operand loses (as in `f32::min`).
fn min(a: f32, b: f32) -> f32 {
    if a.is_nan() || b < a {
        b
    } else {
        a
    }
}

/// ℓ2 block constants (c⁻, c⁰, c⁺) of update `u` of block k: the update moves by at most
/// c⁻‖Δz_{k−1}‖₂ + c⁰‖Δz_k‖₂ + c⁺‖Δz_{k+1}‖₂ (docs/method.md, "The block recursion").
fn l2_gains(model: &ModelView<'_>, u: Update, k: usize) -> [f32; 3] {
    let w = |j: usize| model.layer(j).map_or(f32::INFINITY, |l| l.bounds.w_l2);
    match u {
        Update::Forward(_) | Update::Output => [w(k), 0.0, 0.0],
        Update::Hidden(_) => {
            let (rho, eta) = model.layer(k).map_or((0.0, 1.0), |l| (l.rho, l.step));
            let s = w(k + 1);
            match model.family() {
                Family::FenchelYoung => {
                    // max(1 − η, ηρσ² − (1 − η)): the eigenvalue range of the symmetric
                    // Jacobian (1 − η)I − ηρWᵀDW. A few roundings of relative size ≤ 4u; the
                    // seal of the caller covers them.
                    let one_minus = 1.0 - eta;
                    let excess = eta * rho * s * s - one_minus;
                    let own = if excess > one_minus {
                        excess
                    } else {
                        one_minus
                    };
                    [eta * w(k), own, eta * rho * s]
                }
                Family::Hopfield => [w(k), 0.0, rho * s],
            }
        }
    }
}

impl Track {
    pub(crate) fn new(input_mag: f32) -> Self {
        let mut t = Track {
            mag: [0.0; MAX_LAYERS + 1],
            xi: [0.0; MAX_LAYERS + 1],
            xi_ball: [0.0; MAX_LAYERS + 1],
            eps2: [0.0; MAX_LAYERS + 1],
            eps2_ball: [0.0; MAX_LAYERS + 1],
        };
        t.mag[0] = input_mag;
        t
    }

    /// Radius-induced bound R_j on |z_j(x') − z_j(x)| over the certified ball.
    fn reach(model: &ModelView<'_>, j: usize) -> f32 {
        let c = &model.header().cert;
        if j == 0 {
            return max(c.eps_l2_max, c.eps_inf_max);
        }
        let b = model.layer(j).map(|l| l.bounds).unwrap_or_default();
        let r2 = c.eps_l2_max * b.lip_l2;
        let ri = c.eps_inf_max * b.lip_inf;
        max(r2, ri) * 1.0001
    }

    /// Records update `u` of block `k`, whose new ∞-norm is `new_mag`. Call *before* overwriting
    /// `mag[k]`: the bounds use the magnitudes of the update's inputs.
    #[inline(never)]
    pub(crate) fn step(&mut self, model: &ModelView<'_>, u: Update, new_mag: f32) {
        let k = match u {
            Update::Forward(k) | Update::Hidden(k) => k,
            Update::Output => model.layers(),
        };
        if k == 0 || k > MAX_LAYERS {
            return;
        }
        let hidden = matches!(u, Update::Hidden(_));
        // Only blocks k−1, k and k+1 enter the update (k and k+1 only for a hidden block); the
        // ball bound is valid for blocks up to L (0 beyond).
        let (mut mag, mut xi, mut xi_ball, mut ball_mag) =
            ([0.0f32; 3], [0.0; 3], [0.0; 3], [0.0; 3]);
        let (mut e2, mut e2_ball) = ([0.0f32; 3], [0.0f32; 3]);
        for i in 0..3 {
            keep_rolled();
            let j = k - 1 + i;
            if i > 0 && !hidden {
                break;
            }
            (mag[i], xi[i], xi_ball[i]) = (
                Self::get(&self.mag, j),
                Self::get(&self.xi, j),
                Self::get(&self.xi_ball, j),
            );
            (e2[i], e2_ball[i]) = (Self::get(&self.eps2, j), Self::get(&self.eps2_ball, j));
            if j <= model.layers() && j <= MAX_LAYERS {
                ball_mag[i] = mag[i] + xi[i] + Self::reach(model, j) + xi_ball[i];
            }
        }
        let gains = l2_gains(model, u, k);
        let root_n = sqrt_width(model.width(k));
        let (xi, e2) = Self::both(model, u, k, mag, xi, e2, gains, root_n);
        let (xb, e2b) = Self::both(model, u, k, ball_mag, xi_ball, e2_ball, gains, root_n);
        self.xi[k] = xi;
        self.xi_ball[k] = xb;
        self.eps2[k] = e2;
        self.eps2_ball[k] = e2b;
        self.mag[k] = new_mag;
    }

    /// The new (ξ_k, ε_k) after update `u`: the ∞-norm recursion of [`Track::propagate`], the ℓ2
    /// recursion with `gains` fed by the local error times `root_n` ≥ √n_k, each tightened by the
    /// other (‖e‖_∞ ≤ ‖e‖₂ ≤ √n_k‖e‖_∞).
    #[allow(clippy::too_many_arguments)]
    fn both(
        model: &ModelView<'_>,
        u: Update,
        k: usize,
        z: [f32; 3],
        xi: [f32; 3],
        e2: [f32; 3],
        gains: [f32; 3],
        root_n: f32,
    ) -> (f32, f32) {
        let (inherited, local) = Self::propagate(model, u, k, z, xi);
        let inf = seal(inherited + local);
        let mut l2 = root_n * local;
        for i in 0..3 {
            keep_rolled();
            // A zero gain meets an infinite error of a block that does not enter: skip it.
            if gains[i] > 0.0 {
                l2 += gains[i] * e2[i];
            }
        }
        let l2 = seal(l2);
        let inf = min(inf, l2);
        (inf, min(l2, root_n * inf))
    }

    fn get(a: &Blocks, j: usize) -> f32 {
        a.get(j).copied().unwrap_or(0.0)
    }

    /// The inherited and the local part of the new ξ_k after update `u`, from magnitudes `z` and
    /// errors `xi` of the inputs, each given for blocks k−1, k and k+1 (their sum, sealed, is the
    /// ∞-norm bound).
    fn propagate(
        model: &ModelView<'_>,
        u: Update,
        k: usize,
        z: [f32; 3],
        xi: [f32; 3],
    ) -> (f32, f32) {
        let [z_below, zk, zn] = z;
        let [xi_below, xi_k, xi_next] = xi;
        let below = norms(model, k - 1);
        let (e_a, a_mag) = affine_err(&below, z_below);
        let inherited_below = below.w_inf * xi_below;
        let hidden = matches!(u, Update::Hidden(_));
        if !hidden {
            return (inherited_below, e_a);
        }
        let spec = model.layer(k).copied();
        let (rho, step) = spec.map_or((0.0, 1.0), |l| (l.rho, l.step));
        let above = norms(model, k);
        let n_out = model.width(k + 1);
        match model.family() {
            Family::FenchelYoung => {
                // p = f(W_k z_k + b_k), d = z_{k+1} − p, c = W_kᵀ d, z_k ← f(z_k + η((a − z_k) + ρc)).
                let (e_p, p_mag) = affine_err(&above, zk);
                let d_mag = (zn + p_mag) * (1.0 + U);
                let e_d = e_p + U * d_mag;
                let g_t = gamma(n_out);
                let e_c = above.w_one * e_d + g_t * above.w_one * d_mag + n_out as f32 * NU;
                let c_mag = above.w_one * d_mag * (1.0 + g_t) + n_out as f32 * NU;
                let local = step * (1.0 + gamma(4)) * (e_a + rho * e_c)
                    + gamma(2) * (4.0 * a_mag + 5.0 * zk + 4.0 * rho * c_mag)
                    + 2.0 * NU;
                // ∞-norm Lipschitz constants of the exact update in (z_{k−1}, z_k, z_{k+1}).
                // 1 − η: exact for η ≥ ½ (Sterbenz), otherwise within u; the seal covers it.
                let one_minus = 1.0 - step;
                let c_self = one_minus + step * rho * above.w_one * above.w_inf;
                let c_up = step * rho * above.w_one;
                let inherited = step * inherited_below + c_self * xi_k + c_up * xi_next;
                (inherited, local)
            }
            Family::Hopfield => {
                // c = W_kᵀ z_{k+1}, z_k ← f(a + ρc).
                let g_t = gamma(n_out);
                let e_c = g_t * above.w_one * zn + n_out as f32 * NU;
                let c_mag = above.w_one * zn * (1.0 + g_t) + n_out as f32 * NU;
                let local =
                    e_a + rho * (1.0 + U) * e_c + gamma(2) * (a_mag + 2.0 * rho * c_mag) + NU;
                let inherited = inherited_below + rho * above.w_one * xi_next;
                (inherited, local)
            }
        }
    }
}
