//! The float-aware Lipschitz margin certificate (SPEC §8.1, §8.6, §8.7).

use heapless::Vec;

use crate::config::MAX_LAYERS;
use crate::format::pair_index;
use crate::fp::{add_up, down_rel, gamma, mul_up, seal, NU, TINY};
use crate::infer::Outcome;
use crate::model::ModelView;

/// The norm of an input perturbation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum Norm {
    /// Euclidean norm ‖δ‖₂.
    L2,
    /// Max norm ‖δ‖_∞.
    Linf,
}

/// Why a certificate was refused. A refusal is a regular outcome, not an error.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum Rejection {
    /// The model's certificate constants are marked invalid: it never certifies.
    ConstantsInvalid,
    /// A logit is NaN or infinite.
    NonFinite,
    /// The top two logits are equal (or the outcome's class is not the arg-max).
    Tie,
    /// The margin against class `against` does not exceed the float error bound.
    Margin {
        /// The competing class.
        against: u16,
    },
}

/// A certificate for one [`Outcome`].
#[derive(Debug, Clone, PartialEq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Certificate {
    /// The certified class (the outcome's prediction).
    pub class: u16,
    /// Logit margin to the runner-up, in f32.
    pub margin: f32,
    /// The perturbation norm.
    pub norm: Norm,
    /// Certified radius: every input x′ with ‖x′ − x‖ ≤ `radius` is given the same class by the
    /// f32 [`crate::infer`]. 0 when rejected; never more than the model's radius limit.
    pub radius: f32,
    /// The class that limits the radius (the `j` of the smallest bound).
    pub binding: u16,
    /// Bound on the float error of the margin used (E(x) + E_ball), already subtracted.
    pub float_error: f32,
    /// Why the input certificate was refused, if it was.
    pub rejection: Option<Rejection>,
    /// ℓ2 radii for perturbations of hidden blocks z_1 … z_{L−1} (the remaining layers run
    /// forward), one per hidden layer; 0 where refused. Computed with the ℓ2 certificate only
    /// (they do not depend on the input norm) and only when the model deploys the forward pass;
    /// empty otherwise.
    pub internal: Vec<f32, MAX_LAYERS>,
}

impl Certificate {
    /// Whether every perturbation of norm ≤ `eps` is certified.
    pub fn certifies(&self, eps: f32) -> bool {
        self.rejection.is_none() && eps <= self.radius
    }
}

/// Radius from margins: a lower bound of min_j (m_cj − err) / K_cj, capped at `cap`.
/// Returns (radius, binding class, rejection).
fn margin_radius(
    logits: &[f32],
    c: usize,
    pairs: &[f32],
    err: f32,
    cap: f32,
) -> (f32, usize, Option<Rejection>) {
    let classes = logits.len();
    let sc = logits.get(c).copied().unwrap_or(f32::NAN);
    let mut radius = cap;
    let mut binding = c;
    for (j, &sj) in logits.iter().enumerate() {
        if j == c {
            continue;
        }
        let m = sc - sj;
        if !(m > 0.0) {
            return (0.0, j, Some(Rejection::Tie));
        }
        // m = fl(s_c − s_j) ≥ true margin·(1 − u): `down_rel` gives a lower bound of the true
        // margin, then of the margin minus the error bound, then of the quotient (see `fp`).
        let lhs = down_rel(down_rel(m) - err);
        if !(lhs > TINY) {
            return (0.0, j, Some(Rejection::Margin { against: j as u16 }));
        }
        let k = pairs
            .get(pair_index(classes, c, j))
            .copied()
            .unwrap_or(f32::INFINITY);
        let r = if k > 0.0 {
            down_rel(lhs / k)
        } else {
            f32::INFINITY
        };
        if r < radius {
            radius = r;
            binding = j;
        }
    }
    if !(radius > TINY) {
        return (
            0.0,
            binding,
            Some(Rejection::Margin {
                against: binding as u16,
            }),
        );
    }
    (radius, binding, None)
}

/// Certifies the prediction of `outcome` against input perturbations in `norm` (and, with
/// [`Norm::L2`], hidden-layer perturbations), following SPEC §8.7: the float error of the margin at x and over the
/// ball is subtracted before dividing by the per-class-pair Lipschitz constant.
///
/// Costs O(C + L²) after [`crate::infer`].
pub fn certify(model: &ModelView<'_>, outcome: &Outcome<'_>, norm: Norm) -> Certificate {
    let spec = &model.header().cert;
    let l = model.layers();
    let mut cert = Certificate {
        class: outcome.class as u16,
        margin: outcome.margin,
        norm,
        radius: 0.0,
        binding: outcome.runner_up as u16,
        float_error: f32::INFINITY,
        rejection: None,
        internal: Vec::new(),
    };
    let logits = outcome.logits;
    if !spec.valid {
        cert.rejection = Some(Rejection::ConstantsInvalid);
        return cert;
    }
    if logits.len() != model.classes() || !logits.iter().all(|v| v.is_finite()) {
        cert.rejection = Some(Rejection::NonFinite);
        return cert;
    }
    let t = &outcome.track;
    let xi = t.xi.get(l).copied().unwrap_or(f32::INFINITY);
    let xb = t.xi_ball.get(l).copied().unwrap_or(f32::INFINITY);
    let err = seal(2.0 * xi + 2.0 * xb);
    cert.float_error = err;
    let (pairs, cap) = match norm {
        Norm::L2 => (model.pairs_l2(), spec.eps_l2_max),
        Norm::Linf => (model.pairs_inf(), spec.eps_inf_max),
    };
    let (r, binding, rej) = margin_radius(logits, outcome.class, pairs, err, cap);
    cert.radius = r;
    cert.binding = binding as u16;
    cert.rejection = rej;

    if norm == Norm::L2 && model.is_forward_deployment() {
        for k in 1..l {
            let err_k = internal_error(model, outcome, k);
            let (r, _, rej) = margin_radius(
                logits,
                outcome.class,
                model.pairs_internal(k),
                err_k,
                spec.eps_internal_max,
            );
            let _ = cert.internal.push(if rej.is_some() { 0.0 } else { r });
        }
    }
    cert
}

/// E for a perturbation of hidden block k: twice the float error of the downstream forward pass
/// from ẑ_k, at ẑ_k and over the ℓ2 ball of radius `eps_internal_max` around it.
fn internal_error(model: &ModelView<'_>, outcome: &Outcome<'_>, k: usize) -> f32 {
    let t = &outcome.track;
    let mut xi = 0.0f32;
    let mut xb = 0.0f32;
    let mut reach = model.header().cert.eps_internal_max;
    for j in k + 1..=model.layers() {
        let Some(spec) = model.layer(j) else {
            return f32::INFINITY;
        };
        let b = spec.bounds;
        let n_in = model.width(j - 1);
        let z = t.mag.get(j - 1).copied().unwrap_or(f32::INFINITY);
        let zb = add_up(add_up(add_up(z, reach), xb), xi);
        let g = gamma(n_in + 1);
        let under = (n_in + 1) as f32 * NU;
        xi = seal(b.w_inf * xi + g * (b.w_inf * z + b.b_inf) + under);
        xb = seal(b.w_inf * xb + g * (b.w_inf * zb + b.b_inf) + under);
        reach = mul_up(reach, b.w_l2);
    }
    seal(2.0 * xi + 2.0 * xb)
}
