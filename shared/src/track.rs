//! Float error tracking along the update list (docs/method.md §8.6, §8.11), run alongside
//! inference.
//!
//! For every block j the tracker keeps ξ_j ≥ ‖ẑ_j − z_j‖₂ — and so also ≥ ‖ẑ_j − z_j‖_∞ — the
//! distance between the f32 state and the state the same schedule would reach in exact
//! arithmetic, and the same bound ξᵇ_j for any input in the certified ball. One update of block k
//! costs O(1) scalar work: the local rounding error of the update is bounded in the ∞-norm from the
//! ∞-norms of its inputs and the stored per-layer norms, converted by ‖v‖₂ ≤ √n_k‖v‖_∞, and the
//! inherited error is propagated with the update's ℓ2 block constants (‖W‖₂, the family-A self
//! term). ∞-norm block constants (‖W‖_∞, ‖W‖₁) grow like the layer width and would multiply the
//! error at every update of every sweep; the ℓ2 ones multiply it by the block gains of one sweep,
//! which stay below 1 for a contractive sweep, so the bound stays bounded in K
//! (docs/method.md §8.11, "Contraction and iterative deployments").

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
    /// ξ_j ≥ ‖ẑ_j − z_j‖₂ (≥ ‖ẑ_j − z_j‖_∞) at the input x.
    pub xi: [f32; MAX_LAYERS + 1],
    /// ξᵇ_j, valid for every input of the certified ball (radius `eps_l2_max` in ℓ2 and
    /// `eps_inf_max` in ℓ∞).
    pub xi_ball: [f32; MAX_LAYERS + 1],
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

/// ℓ2 block constants (c⁻, c⁰, c⁺) of update `u` of block k, as stored by the exporter: the
/// exact update moves by at most c⁻‖Δz_{k−1}‖₂ + c⁰‖Δz_k‖₂ + c⁺‖Δz_{k+1}‖₂ (docs/method.md,
/// "The block recursion"); a forward or output update depends on block k − 1 only, through
/// W_{k−1}.
fn gains(b: &crate::format::LayerBounds, u: Update) -> [f32; 3] {
    if matches!(u, Update::Hidden(_)) {
        b.hidden_l2
    } else {
        [b.w_l2, 0.0, 0.0]
    }
}

/// Σ gains·errors over the three blocks; a zero gain drops its term, so it never meets the
/// (possibly infinite) error of a block that does not enter the update.
// An index loop over the fixed-size arrays: no iterator adapters in the device code.
#[allow(clippy::needless_range_loop)]
fn inherit(gains: [f32; 3], errors: [f32; 3]) -> f32 {
    let mut sum = 0.0f32;
    for i in 0..3 {
        keep_rolled();
        if gains[i] > 0.0 {
            sum += gains[i] * errors[i];
        }
    }
    sum
}

impl Track {
    pub(crate) fn new(input_mag: f32) -> Self {
        let mut t = Track {
            mag: [0.0; MAX_LAYERS + 1],
            xi: [0.0; MAX_LAYERS + 1],
            xi_ball: [0.0; MAX_LAYERS + 1],
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
            if j <= model.layers() && j <= MAX_LAYERS {
                ball_mag[i] = mag[i] + xi[i] + Self::reach(model, j) + xi_ball[i];
            }
        }
        let b = model.layer(k).map(|l| l.bounds).unwrap_or_default();
        let (g, root_n) = (gains(&b, u), b.sqrt_width);
        self.xi[k] = Self::propagate(model, u, k, mag, xi, g, root_n);
        self.xi_ball[k] = Self::propagate(model, u, k, ball_mag, xi_ball, g, root_n);
        self.mag[k] = new_mag;
    }

    /// The new ξ_k after update `u` from the inputs' magnitudes `z` and error bounds `xi`
    /// (blocks k−1, k, k+1): the ℓ2 recursion with the block constants `g2`, fed by the local
    /// rounding bound of [`Track::local`] times `root_n` ≥ √n_k.
    #[inline(never)]
    fn propagate(
        model: &ModelView<'_>,
        u: Update,
        k: usize,
        z: [f32; 3],
        xi: [f32; 3],
        g2: [f32; 3],
        root_n: f32,
    ) -> f32 {
        let local = Self::local(model, u, k, z);
        seal(inherit(g2, xi) + root_n * local)
    }

    fn get(a: &Blocks, j: usize) -> f32 {
        a.get(j).copied().unwrap_or(0.0)
    }

    /// ∞-norm bound on the local rounding error of update `u` of block k — the distance between
    /// the f32 update and the exact update evaluated at the same (computed) inputs — from the
    /// magnitudes `z` of blocks k−1, k and k+1.
    fn local(model: &ModelView<'_>, u: Update, k: usize, z: [f32; 3]) -> f32 {
        let [z_below, zk, zn] = z;
        let below = norms(model, k - 1);
        let (e_a, a_mag) = affine_err(&below, z_below);
        if !matches!(u, Update::Hidden(_)) {
            return e_a;
        }
        let (rho, step) = model.layer(k).map_or((0.0, 1.0), |l| (l.rho, l.step));
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
                step * (1.0 + gamma(4)) * (e_a + rho * e_c)
                    + gamma(2) * (4.0 * a_mag + 5.0 * zk + 4.0 * rho * c_mag)
                    + 2.0 * NU
            }
            Family::Hopfield => {
                // c = W_kᵀ z_{k+1}, z_k ← f(a + ρc).
                let g_t = gamma(n_out);
                let e_c = g_t * above.w_one * zn + n_out as f32 * NU;
                let c_mag = above.w_one * zn * (1.0 + g_t) + n_out as f32 * NU;
                e_a + rho * (1.0 + U) * e_c + gamma(2) * (a_mag + 2.0 * rho * c_mag) + NU
            }
        }
    }
}
