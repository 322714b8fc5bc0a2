//! All certificate constants of a model, computed soundly in f64 (docs/method.md §8.2–§8.5).

use alloc::vec;
use alloc::vec::Vec;

use super::norms::{
    add_up, max_abs, mul_up, norm_inf_upper, norm_one_upper, row_diff_l1_upper, row_diff_l2_upper,
    sqrt_up, to_f32_up,
};
use super::spectral::spectral_upper;
use crate::config::{Family, Init, Schedule};
use crate::format::{BoundMethod, CertSpec, LayerBounds};
use crate::schedule::{deploys_forward_pass, Update, Updates};
use crate::write::{Constants, ModelParams};

/// Settings for [`compute`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Limits {
    /// Largest ℓ2 input radius to certify (the float error terms are computed for it).
    pub eps_l2_max: f32,
    /// Largest ℓ∞ input radius to certify.
    pub eps_inf_max: f32,
    /// Largest ℓ2 radius for hidden-activity perturbations.
    pub eps_internal_max: f32,
    /// Gram-iteration steps for the spectral bounds.
    pub gram_steps: u32,
}

impl Default for Limits {
    fn default() -> Self {
        // The float error over the ball grows with the limit, so the defaults sit just above the
        // radii that small fully connected nets certify (ℓ2 ≈ 0.1–0.5, ℓ∞ ≈ 0.01–0.05).
        Limits {
            eps_l2_max: 0.5,
            eps_inf_max: 0.1,
            eps_internal_max: 1.0,
            gram_steps: 10,
        }
    }
}

/// Sound per-layer norms (f64, upper bounds) of `W_m`, `b_m`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LayerNorms {
    /// ‖W_m‖₂ upper bound.
    pub l2: f64,
    /// ‖W_m‖_∞ upper bound.
    pub inf: f64,
    /// ‖W_m‖₁ upper bound.
    pub one: f64,
    /// ‖b_m‖_∞ (exact).
    pub bias: f64,
}

/// Per-layer norms of every layer of `model`.
pub fn layer_norms(model: &ModelParams, gram_steps: u32) -> Vec<LayerNorms> {
    let mut fan_in = model.input_dim;
    let mut out = Vec::with_capacity(model.layers.len());
    for l in &model.layers {
        let rows = l.bias.len();
        out.push(LayerNorms {
            l2: spectral_upper(&l.weights, rows, fan_in, gram_steps).upper,
            inf: norm_inf_upper(&l.weights, rows, fan_in),
            one: norm_one_upper(&l.weights, rows, fan_in),
            bias: max_abs(&l.bias),
        });
        fan_in = rows;
    }
    out
}

/// Which induced norm a sensitivity recursion works in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RecursionNorm {
    /// ℓ2 → ℓ2 (spectral constants; family-A self term uses symmetry).
    L2,
    /// ℓ∞ → ℓ∞ (row/column abs-sum constants).
    Inf,
}

/// Result of the block recursion over the schedule (docs/method.md §8.2).
#[derive(Debug, Clone, PartialEq)]
pub struct Sensitivity {
    /// δ_k after the last update: a Lipschitz bound of x ↦ z_k^{(K)} (k = 0 … L).
    pub last: Vec<f64>,
    /// max over all update times of δ_k.
    pub max: Vec<f64>,
}

/// Runs the sensitivity recursion δ_k ← c⁻δ_{k−1} + c⁰δ_k + c⁺δ_{k+1} along the model's update
/// list, with upward rounding. For K = 0 and forward init it is exactly the product of norms.
pub fn sensitivity(model: &ModelParams, norms: &[LayerNorms], which: RecursionNorm) -> Sensitivity {
    let l = model.layers.len();
    let mut d = vec![0.0f64; l + 2];
    d[0] = 1.0;
    let mut max = vec![0.0f64; l + 1];
    max[0] = 1.0;
    // The list `infer` runs: for a forward deployment the forward updates only.
    for u in Updates::deployed(
        l,
        model.family,
        model.init,
        usize::from(model.sweeps),
        model.schedule,
    ) {
        let k = match u {
            Update::Forward(k) | Update::Hidden(k) => k,
            Update::Output => l,
        };
        let new = step(gains(model, norms, which, u), &d, k);
        d[k] = new;
        if new > max[k] || new.is_nan() {
            max[k] = new;
        }
    }
    d.truncate(l + 1);
    Sensitivity { last: d, max }
}

/// c⁻δ_{k−1} + c⁰δ_k + c⁺δ_{k+1}, rounded up; a zero constant drops its term (so a forward or
/// output update is exactly `mul_up(c⁻, δ_{k−1})`, and a zero gain never meets an infinite δ).
fn step((below, own, above): (f64, f64, f64), d: &[f64], k: usize) -> f64 {
    let mut v = mul_up(below, d[k - 1]);
    if own != 0.0 {
        v = add_up(v, mul_up(own, d[k]));
    }
    if above != 0.0 {
        v = add_up(v, mul_up(above, d[k + 1]));
    }
    v
}

/// The block constants (c⁻, c⁰, c⁺) of update `u` in `which` norm: the updated block moves by
/// at most c⁻ times the change of the block below, c⁰ times its own and c⁺ times the block
/// above's (docs/method.md, "The block recursion"). Rounded up.
pub fn gains(
    model: &ModelParams,
    norms: &[LayerNorms],
    which: RecursionNorm,
    u: Update,
) -> (f64, f64, f64) {
    let l = model.layers.len();
    let w = |m: usize| -> f64 {
        norms.get(m).map_or(f64::INFINITY, |n| match which {
            RecursionNorm::L2 => n.l2,
            RecursionNorm::Inf => n.inf,
        })
    };
    let k = match u {
        Update::Forward(k) | Update::Hidden(k) => k,
        Update::Output => l,
    };
    {
        match u {
            Update::Forward(_) | Update::Output => (w(k - 1), 0.0, 0.0),
            Update::Hidden(_) => {
                let spec = &model.layers[k - 1];
                let (rho, eta) = (f64::from(spec.rho), f64::from(spec.step));
                let n = norms.get(k).copied();
                match (model.family, which) {
                    (Family::FenchelYoung, RecursionNorm::L2) => {
                        let s = n.map_or(f64::INFINITY, |n| n.l2);
                        (
                            mul_up(eta, w(k - 1)),
                            family_a_self_l2(eta, rho, s),
                            mul_up(mul_up(eta, rho), s),
                        )
                    }
                    (Family::FenchelYoung, RecursionNorm::Inf) => {
                        let (one, inf) =
                            n.map_or((f64::INFINITY, f64::INFINITY), |n| (n.one, n.inf));
                        let own = add_up(1.0 - eta, mul_up(mul_up(mul_up(eta, rho), one), inf));
                        (mul_up(eta, w(k - 1)), own, mul_up(mul_up(eta, rho), one))
                    }
                    (Family::Hopfield, RecursionNorm::L2) => {
                        let s = n.map_or(f64::INFINITY, |n| n.l2);
                        (w(k - 1), 0.0, mul_up(rho, s))
                    }
                    (Family::Hopfield, RecursionNorm::Inf) => {
                        let one = n.map_or(f64::INFINITY, |n| n.one);
                        (w(k - 1), 0.0, mul_up(rho, one))
                    }
                }
            }
        }
    }
}

/// q, a sound upper bound on the ℓ2 Lipschitz constant of one sweep of the model's family
/// (hidden blocks backward, forward, then the output) as a map of the state z_1 … z_L, in the
/// weighted block norm ‖z‖_w = max_k ‖z_k‖₂ / w_k (docs/method.md, "Contraction and iterative
/// deployments").
///
/// One sweep maps per-block changes δ to at most 𝐆δ, with the nonnegative comparison matrix 𝐆
/// read off by running the sweep's updates on unit vectors. For any positive w,
/// max_k (𝐆δ)_k / w_k ≤ q·max_k δ_k / w_k with q = max_k (𝐆w)_k / w_k; w comes from power
/// steps on 𝐆 (any positive w is sound), so q approaches the spectral radius of 𝐆. 0 for L = 1
/// (no hidden block); +∞ if a gain is not finite.
pub fn contraction(model: &ModelParams, norms: &[LayerNorms]) -> f64 {
    let l = model.layers.len();
    if l < 2 {
        return 0.0;
    }
    // One sweep: the zero-init list with K = 1 is [Output, sweep …]; drop the leading output.
    let sweep: Vec<Update> = Updates::new(l, 1, Init::Zero, Schedule::BwdFwd)
        .skip(1)
        .collect();
    let apply = |start: &[f64]| -> Vec<f64> {
        // Blocks 0 … L+1: the input does not move (0), block L+1 does not exist (0).
        let mut d = vec![0.0f64; l + 2];
        d[1..=l].copy_from_slice(start);
        for &u in &sweep {
            let k = match u {
                Update::Forward(k) | Update::Hidden(k) => k,
                Update::Output => l,
            };
            d[k] = step(gains(model, norms, RecursionNorm::L2, u), &d, k);
        }
        d[1..=l].to_vec()
    };
    // Power steps for the weights (plain arithmetic: any positive w is sound).
    let mut w = vec![1.0f64; l];
    for _ in 0..60 {
        let next = apply(&w);
        let top = next.iter().copied().fold(0.0f64, f64::max);
        if !top.is_finite() || top <= 0.0 {
            break;
        }
        w = next.iter().map(|v| (v / top).max(1e-9)).collect();
    }
    let gw = apply(&w);
    let mut q = 0.0f64;
    for (g, wk) in gw.iter().zip(&w) {
        let r = super::norms::up(g / wk);
        if r.is_nan() {
            return f64::INFINITY;
        }
        q = q.max(r);
    }
    q
}

/// ℓ2 Lipschitz constant, in its own block z_k, of the family-A damped update
/// z_k ← f_k(z_k + η((a_k − z_k) + ρ W_kᵀ(z_{k+1} − f_{k+1}(W_k z_k + b_k)))), for a step
/// η ∈ (0, 1], ρ ≥ 0 and `sigma` ≥ ‖W_k‖₂; rounded up.
///
/// Proof (`docs/method.md`, "The block recursion"): for two states z, z′ the activation gives
/// f(u) − f(u′) = D(u − u′) with D diagonal, 0 ⪯ D ⪯ I (D depends on the pair). So the argument
/// of f_k moves by M(z − z′) with M = (1 − η)I − ηρ W_kᵀ D W_k, a symmetric matrix whose
/// eigenvalues lie in [(1 − η) − ηρσ², 1 − η]; f_k is 1-Lipschitz. Hence the constant is
/// ‖M‖₂ ≤ max(1 − η, ηρσ² − (1 − η)). Both terms matter: with ηρσ² between 1 − η and
/// 2(1 − η) the first one is the larger (all units inactive gives D = 0 and M = (1 − η)I).
pub fn family_a_self_l2(eta: f64, rho: f64, sigma: f64) -> f64 {
    let one_minus = 1.0 - eta; // exact: η ∈ (0, 1] is an f32
    let curv = mul_up(mul_up(mul_up(eta, rho), sigma), sigma);
    // `up` covers the rounding of the subtraction; a NaN (σ = ∞ with ρη = 0 cannot occur: the
    // product is then 0·∞ = NaN) propagates through `max` only as the other operand, so it is
    // tested explicitly.
    let excess = super::norms::up(curv - one_minus);
    if excess.is_nan() {
        return f64::INFINITY;
    }
    one_minus.max(excess)
}

/// ⌈√n⌉ as an f32 (exact: an integer far below 2²⁴).
pub fn ceil_sqrt(n: usize) -> f32 {
    let r = n.isqrt();
    let up = if r * r < n { r + 1 } else { r };
    up.max(1) as f32
}

/// Forward-pass products Π_{m<k} ‖W_m‖ (k = 0 … L), rounded up.
fn forward_products(norms: &[LayerNorms], which: RecursionNorm) -> Vec<f64> {
    let mut out = vec![1.0f64];
    let mut p = 1.0f64;
    for n in norms {
        p = mul_up(
            p,
            if which == RecursionNorm::L2 {
                n.l2
            } else {
                n.inf
            },
        );
        out.push(p);
    }
    out
}

fn is_forward_deployment(model: &ModelParams) -> bool {
    deploys_forward_pass(
        model.layers.len(),
        model.family,
        model.init,
        usize::from(model.sweeps),
        model.schedule,
    )
}

/// Computes every certificate constant of `model` (docs/method.md §8.8), rounded up to f32.
///
/// Under forward deployment (family A with forward init, or K = 0) the deployed map is the forward
/// pass, so the product-of-norms bound applies; the minimum with the sweep recursion is stored.
/// A constant that is not finite marks the whole set invalid: the model then never certifies.
pub fn compute(model: &ModelParams, limits: &Limits) -> Constants {
    let l = model.layers.len();
    let norms = layer_norms(model, limits.gram_steps);
    let fwd = is_forward_deployment(model);
    let mut lip = [RecursionNorm::L2, RecursionNorm::Inf].map(|which| {
        let s = sensitivity(model, &norms, which);
        if fwd {
            let p = forward_products(&norms, which);
            let pick = |a: &[f64]| {
                a.iter()
                    .zip(&p)
                    .map(|(&x, &y)| x.min(y))
                    .collect::<Vec<_>>()
            };
            Sensitivity {
                last: pick(&s.last),
                max: pick(&s.max),
            }
        } else {
            s
        }
    });
    let [l2, inf] = &mut lip;
    // ‖Δz‖_∞ ≤ ‖Δz‖₂ ≤ Λ₂‖Δx‖₂ ≤ Λ₂√n₀‖Δx‖_∞: the ∞-norm sensitivities never need to exceed
    // √n₀ times the ℓ2 ones. The ∞-norm recursion multiplies by ∞-norm block constants that grow
    // with the width, so through the sweeps of an iterative deployment this bound is the smaller
    // one by orders of magnitude (and with it the ball reach of the float-error bound).
    let sqrt_n0 = sqrt_up(model.input_dim as f64);
    for (sense_inf, sense_l2) in [(&mut inf.last, &l2.last), (&mut inf.max, &l2.max)] {
        for (i, &s2) in sense_inf.iter_mut().zip(sense_l2.iter()) {
            *i = i.min(mul_up(sqrt_n0, s2));
        }
    }
    let classes = model.layers.last().map_or(0, |x| x.bias.len());
    let fan_last = if l >= 2 {
        model.layers[l - 2].bias.len()
    } else {
        model.input_dim
    };
    let w_last = model.layers.last().map_or(&[][..], |x| &x.weights[..]);
    let mut pairs_l2 = Vec::new();
    let mut pairs_inf = Vec::new();
    let mut pairs_internal = vec![Vec::new(); l.saturating_sub(1)];
    // Internal constants: Π_{m=k}^{L−2} ‖W_m‖₂ for k = 1 … L−1.
    let tail = |k: usize| -> f64 { (k..l - 1).fold(1.0, |p, m| mul_up(p, norms[m].l2)) };
    for i in 0..classes {
        for j in i + 1..classes {
            let d2 = row_diff_l2_upper(w_last, fan_last, i, j);
            let d1 = row_diff_l1_upper(w_last, fan_last, i, j);
            let k2 = mul_up(d2, l2.last[l - 1]);
            let kinf = mul_up(d1, inf.last[l - 1]).min(mul_up(sqrt_n0, k2));
            pairs_l2.push(to_f32_up(k2));
            pairs_inf.push(to_f32_up(kinf));
            for (k, t) in pairs_internal.iter_mut().enumerate() {
                t.push(to_f32_up(mul_up(d2, tail(k + 1))));
            }
        }
    }
    let layers: Vec<LayerBounds> = (0..l)
        .map(|k| LayerBounds {
            w_l2: to_f32_up(norms[k].l2),
            w_inf: to_f32_up(norms[k].inf),
            w_one: to_f32_up(norms[k].one),
            b_inf: to_f32_up(norms[k].bias),
            lip_l2: to_f32_up(l2.max[k + 1]),
            lip_inf: to_f32_up(inf.max[k + 1]),
            hidden_l2: if k + 1 < l {
                let (b, o, a) = gains(model, &norms, RecursionNorm::L2, Update::Hidden(k + 1));
                [to_f32_up(b), to_f32_up(o), to_f32_up(a)]
            } else {
                [0.0; 3]
            },
            sqrt_width: ceil_sqrt(model.layers[k].bias.len()),
        })
        .collect();
    // q is a constant of the set too: a blob that claims a valid certificate must store it finite.
    let q = to_f32_up(contraction(model, &norms));
    let all_finite = q.is_finite()
        && layers.iter().all(|b| {
            [b.w_l2, b.w_inf, b.w_one, b.b_inf, b.lip_l2, b.lip_inf]
                .iter()
                .chain(&b.hidden_l2)
                .all(|v| v.is_finite())
        })
        && pairs_l2
            .iter()
            .chain(&pairs_inf)
            .chain(pairs_internal.iter().flatten())
            .all(|v| v.is_finite());
    let method = if !all_finite {
        BoundMethod::None
    } else if fwd {
        BoundMethod::Minimum
    } else {
        BoundMethod::SweepRecursion
    };
    Constants {
        layers,
        cert: CertSpec {
            valid: all_finite,
            eps_l2_max: limits.eps_l2_max,
            eps_inf_max: limits.eps_inf_max,
            eps_internal_max: limits.eps_internal_max,
            l2_method: method,
            inf_method: method,
            contraction: q,
        },
        pairs_l2: if all_finite {
            pairs_l2
        } else {
            pairs_l2.iter().map(|_| 0.0).collect()
        },
        pairs_inf: if all_finite {
            pairs_inf
        } else {
            pairs_inf.iter().map(|_| 0.0).collect()
        },
        pairs_internal: if all_finite {
            pairs_internal
        } else {
            pairs_internal
                .iter()
                .map(|t| t.iter().map(|_| 0.0).collect())
                .collect()
        },
    }
}

/// The largest family-A step η = 1/(1 + ρσ̄²) that keeps the damped update monotone (docs/method.md §4.2),
/// rounded down to f32 so that the stored step never exceeds it.
pub fn monotone_step(rho: f32, sigma_upper: f64) -> f32 {
    let l = mul_up(mul_up(f64::from(rho), sigma_upper), sigma_upper);
    let eta = 1.0 / add_up(1.0, l);
    let v = eta as f32;
    let v = if f64::from(v) > eta { v.next_down() } else { v };
    if v > 0.0 && v <= 1.0 {
        v
    } else {
        f32::MIN_POSITIVE
    }
}

#[cfg(test)]
mod tests {
    use super::ceil_sqrt;

    #[test]
    fn ceil_sqrt_is_the_least_integer_root_bound() {
        for n in 0..5000usize {
            let r = ceil_sqrt(n) as usize;
            assert!(r >= 1 && r * r >= n, "n = {n}: {r}");
            assert!(
                r == 1 || (r - 1) * (r - 1) < n,
                "n = {n}: {r} is not the least"
            );
        }
    }
}
