//! The potentials and losses of a state (docs/method.md §3, §5.10): per-sample φ_k, the phase objective
//! Φ, the parameter gradient of Σ_k γ_k φ_k (the Danskin tables), and the loss helpers.

use lifted_core::Family;

use super::linalg::{col_sum_acc, outer_acc, Mat};
use super::net::{act, dact, Grads, Net, State};
use super::options::LossKind;
use super::phases::{post, HiddenRule, PhaseSpec, Targets};
use super::real::Real;

/// Softmax of one row (max-shifted).
pub fn softmax<T: Real>(z: &[T]) -> Vec<T> {
    let m = z
        .iter()
        .copied()
        .fold(z.first().copied().unwrap_or(T::ZERO), |m, v| {
            if v > m {
                v
            } else {
                m
            }
        });
    let e: Vec<T> = z.iter().map(|&v| (v - m).exp()).collect();
    let s: T = e.iter().copied().sum();
    e.into_iter().map(|v| v / s).collect()
}

/// ℓ(z; c) for one row.
pub fn loss_row<T: Real>(loss: LossKind, z: &[T], c: usize) -> T {
    match loss {
        LossKind::Squared => {
            let half = T::from_f64(0.5);
            z.iter()
                .enumerate()
                .map(|(j, &v)| {
                    let d = if j == c { v - T::ONE } else { v };
                    half * d * d
                })
                .sum()
        }
        LossKind::CrossEntropy => {
            let m = z
                .iter()
                .copied()
                .fold(z[0], |m, v| if v > m { v } else { m });
            let lse = m + z.iter().map(|&v| (v - m).exp()).sum::<T>().ln();
            lse - z[c]
        }
    }
}

/// ∂ℓ/∂z for one row (z − e_c, or σ(z) − e_c).
pub fn loss_grad_row<T: Real>(loss: LossKind, z: &[T], c: usize) -> Vec<T> {
    let mut g = match loss {
        LossKind::Squared => z.to_vec(),
        LossKind::CrossEntropy => softmax(z),
    };
    g[c] -= T::ONE;
    g
}

/// Per-block residuals R_k (B × n_k) and inputs (post z_{k−1}) with ∇_{W_{k−1}} Σγφ = −γ_k R_kᵀ z_{k−1}
/// and ∇_{b_{k−1}} = −γ_k Σ_i R_k (docs/method.md §5.10): family A r_k = z_k − f_k(a_k); family B z_k;
/// d_γ post f'_k(a_k) ⊙ r_k; d_γ pre u_k − a_k.
fn residual<T: Real>(
    net: &Net<T>,
    family: Family,
    rule: HiddenRule,
    z: &State<T>,
    a: &Mat<T>,
    k: usize,
) -> (Mat<T>, Mat<T>) {
    let input = post(net, rule, z, k - 1).into_owned();
    let f = net.activation(k);
    let mut r = z[k].clone();
    match (rule, family) {
        (HiddenRule::Potential, Family::Hopfield) => {}
        (HiddenRule::Potential, Family::FenchelYoung) => {
            for (ri, &ai) in r.data.iter_mut().zip(&a.data) {
                *ri -= act(f, ai);
            }
        }
        (HiddenRule::RelaxedPost, _) => {
            for (ri, &ai) in r.data.iter_mut().zip(&a.data) {
                *ri = dact(f, ai) * (*ri - act(f, ai));
            }
        }
        (HiddenRule::RelaxedPre, _) => {
            for (ri, &ai) in r.data.iter_mut().zip(&a.data) {
                *ri -= ai;
            }
        }
    }
    (r, input)
}

/// The pre-activations a_k = W_{k−1} post(z_{k−1}) + b_{k−1} of a state, k = 1 … L (index k − 1).
pub fn pres<T: Real>(net: &Net<T>, rule: HiddenRule, z: &State<T>) -> Vec<Mat<T>> {
    (1..=net.depth())
        .map(|k| net.pre(k, &post(net, rule, z, k - 1)))
        .collect()
}

/// Adds `scale`·Σ_i ∇_θ[Σ_k γ_k φ_k(z_i)] to `grads`.
pub fn potential_grad_acc<T: Real>(
    net: &Net<T>,
    family: Family,
    rule: HiddenRule,
    z: &State<T>,
    scale: T,
    grads: &mut Grads<T>,
) {
    potential_grad_acc_pre(net, family, rule, z, &pres(net, rule, z), scale, grads);
}

/// As [`potential_grad_acc`], with the pre-activations `a` of `z` given ([`pres`]).
pub fn potential_grad_acc_pre<T: Real>(
    net: &Net<T>,
    family: Family,
    rule: HiddenRule,
    z: &State<T>,
    a: &[Mat<T>],
    scale: T,
    grads: &mut Grads<T>,
) {
    for k in 1..=net.depth() {
        let (r, input) = residual(net, family, rule, z, &a[k - 1], k);
        let s = -scale * net.gamma_k(k);
        outer_acc(&r, &input, s, &mut grads.w[k - 1]);
        col_sum_acc(&r, s, &mut grads.b[k - 1]);
    }
}

/// φ_k(z_i) for k = 1 … L (outer index k − 1) and every sample i: family A D_k (stable form,
/// docs/method.md §3.1), family B E_k = ½‖z_k‖² − ⟨z_k, a_k⟩, d_γ ½‖z_k − f_k(a_k)‖² (post) or ½‖u_k − a_k‖² (pre).
pub fn phi<T: Real>(net: &Net<T>, family: Family, rule: HiddenRule, z: &State<T>) -> Vec<Vec<T>> {
    phi_pre(net, family, rule, z, &pres(net, rule, z))
}

/// As [`phi`], with the pre-activations `a` of `z` given ([`pres`]).
pub fn phi_pre<T: Real>(
    net: &Net<T>,
    family: Family,
    rule: HiddenRule,
    z: &State<T>,
    a: &[Mat<T>],
) -> Vec<Vec<T>> {
    let half = T::from_f64(0.5);
    (1..=net.depth())
        .map(|k| {
            let a = &a[k - 1];
            let f = net.activation(k);
            (0..a.rows)
                .map(|i| {
                    z[k].row(i)
                        .iter()
                        .zip(a.row(i))
                        .map(|(&zi, &ai)| match (rule, family) {
                            (HiddenRule::Potential, Family::FenchelYoung) => {
                                let p = act(f, ai);
                                half * (zi - p) * (zi - p) + (zi - p) * (p - ai)
                            }
                            (HiddenRule::Potential, Family::Hopfield) => half * zi * zi - zi * ai,
                            (HiddenRule::RelaxedPost, _) => {
                                let p = act(f, ai);
                                half * (zi - p) * (zi - p)
                            }
                            (HiddenRule::RelaxedPre, _) => half * (zi - ai) * (zi - ai),
                        })
                        .sum()
                })
                .collect()
        })
        .collect()
}

/// The phase objective Φ per sample; `phi_free` (family B) holds φ_k(z°) to normalise the energy.
pub fn objective<T: Real>(
    net: &Net<T>,
    spec: &PhaseSpec<'_, T>,
    tg: Targets<'_>,
    z: &State<T>,
    phi_free: Option<&[Vec<T>]>,
) -> Vec<T> {
    objective_shifted(net, spec, tg, None, z, phi_free)
}

/// As [`objective`], with the output loss at shifted logits ℓ(z_L + h; ·) (see
/// [`super::phases::run_shifted`]).
pub fn objective_shifted<T: Real>(
    net: &Net<T>,
    spec: &PhaseSpec<'_, T>,
    tg: Targets<'_>,
    shift: Option<&Mat<T>>,
    z: &State<T>,
    phi_free: Option<&[Vec<T>]>,
) -> Vec<T> {
    let ph = phi(net, spec.family, spec.rule, z);
    objective_from_phi(net, spec, tg, shift, z, &ph, phi_free)
}

/// As [`objective_shifted`], with φ_k(z) given ([`phi`] or [`phi_pre`]).
pub fn objective_from_phi<T: Real>(
    net: &Net<T>,
    spec: &PhaseSpec<'_, T>,
    tg: Targets<'_>,
    shift: Option<&Mat<T>>,
    z: &State<T>,
    ph: &[Vec<T>],
    phi_free: Option<&[Vec<T>]>,
) -> Vec<T> {
    let l = net.depth();
    let shifted = shift.map(|h| {
        let mut m = h.clone();
        for (o, &v) in m.data.iter_mut().zip(&z[l].data) {
            *o += v;
        }
        m
    });
    let scored = shifted.as_ref().unwrap_or(&z[l]);
    (0..z[l].rows)
        .map(|i| {
            let zl = scored.row(i);
            let mut v = T::ZERO;
            if spec.mu_y != T::ZERO {
                v += spec.mu_y * loss_row(spec.loss, zl, usize::from(tg.labels[i]));
            }
            if spec.mu_g != T::ZERO {
                v += spec.mu_g * loss_row(spec.loss, zl, usize::from(tg.g[i]));
            }
            let pot: T = (1..=l)
                .map(|k| {
                    net.gamma_k(k) * (ph[k - 1][i] - phi_free.map_or(T::ZERO, |p| p[k - 1][i]))
                })
                .sum();
            v + pot / spec.beta
        })
        .collect()
}

/// Runner-up classes argmax_{c≠t} of the rows of `logits` (first index on ties).
pub fn runner_up<T: Real>(logits: &Mat<T>, labels: &[u8]) -> Vec<u8> {
    (0..logits.rows)
        .map(|i| {
            let t = usize::from(labels[i]);
            let mut best: Option<usize> = None;
            for (j, &v) in logits.row(i).iter().enumerate() {
                if j != t && best.is_none_or(|b| v > logits.row(i)[b]) {
                    best = Some(j);
                }
            }
            best.unwrap_or(0) as u8
        })
        .collect()
}

/// Predicted classes (first index of the largest logit).
pub fn predict<T: Real>(logits: &Mat<T>) -> Vec<u8> {
    (0..logits.rows)
        .map(|i| {
            let r = logits.row(i);
            let mut best = 0usize;
            for (j, &v) in r.iter().enumerate() {
                if v > r[best] {
                    best = j;
                }
            }
            best as u8
        })
        .collect()
}
