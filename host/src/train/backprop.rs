//! The baselines (docs/method.md §5.1–5.2): back-propagation through the forward pass, and input
//! adversarial training with one η-step or PGD in an ℓ2 / ℓ∞ ball.

use rand_chacha::ChaCha8Rng;

use super::linalg::{col_sum_acc, outer_acc, times, Mat};
use super::lipmargin::{bottom_ce_row, LipMargin};
use super::net::{act, dact, Grads, Net};
use super::options::{Attack, LossKind};
use super::phases::{loss_grad_row, loss_row, predict};
use super::real::Real;
use crate::rng::{normal, uniform};

/// Result of [`backprop`].
#[derive(Debug, Clone, PartialEq)]
pub struct Backprop<T> {
    /// Σ_i ℓ(F(x_i); y_i).
    pub loss_sum: f64,
    /// Correct forward-pass predictions.
    pub correct: usize,
    /// ∇_θ of the batch mean of ℓ (if requested).
    pub grads: Option<Grads<T>>,
    /// ∂ℓ_i/∂x_i per sample (if requested).
    pub dx: Option<Mat<T>>,
}

/// Loss, accuracy and gradients of ℓ(F_θ(x); y) by back-propagation.
pub fn backprop<T: Real>(
    net: &Net<T>,
    loss: LossKind,
    x: &Mat<T>,
    labels: &[u8],
    want_grads: bool,
    want_dx: bool,
) -> Backprop<T> {
    backprop_with(net, loss, x, labels, None, want_grads, want_dx)
}

/// As [`backprop`]; with `margin`, the loss is the Lipschitz-margin loss ℓ(F_θ(x) + h; y) of
/// [`super::lipmargin`] and the gradient includes the term through K (the accuracy stays that
/// of the unshifted logits).
pub fn backprop_with<T: Real>(
    net: &Net<T>,
    loss: LossKind,
    x: &Mat<T>,
    labels: &[u8],
    margin: Option<&LipMargin<T>>,
    want_grads: bool,
    want_dx: bool,
) -> Backprop<T> {
    let l = net.depth();
    let n = x.rows;
    let mut zs = vec![x.clone()];
    let mut pre = Vec::with_capacity(l);
    for k in 1..=l {
        let a = net.pre(k, &zs[k - 1]);
        zs.push(a.map(|v| act(net.activation(k), v)));
        pre.push(a);
    }
    let out = &zs[l];
    let correct = predict(out)
        .iter()
        .zip(labels)
        .filter(|(p, t)| p == t)
        .count();
    let float = margin.and_then(|m| m.float_part(net, &zs));
    let mut grads = want_grads.then(|| Grads::zeros_like(net));
    let inv = T::ONE / T::from_f64(n as f64);
    let mut dz = Mat::zeros(n, out.cols);
    let loss_sum: f64 = if let Some(m) = margin.filter(|m| m.is_bottom()) {
        // GloRo's ⊥ class: ∂ℓ/∂z and ∂ℓ/∂h differ (only the closest competitor carries h).
        let h = m.shifts(labels, float.as_ref());
        let mut dh = Mat::zeros(n, out.cols);
        let mut sum = 0.0;
        for (i, &t) in labels.iter().enumerate().take(n) {
            let (l, gz, gh) = bottom_ce_row(out.row(i), h.row(i), usize::from(t));
            sum += l.to_f64();
            dz.row_mut(i).copy_from_slice(&gz);
            dh.row_mut(i).copy_from_slice(&gh);
        }
        if let Some(g) = grads.as_mut() {
            m.grad_acc(net, labels, &dh, inv, float.as_ref(), g);
        }
        sum
    } else {
        let shifted = margin.map(|m| m.shifted(out, labels, float.as_ref()));
        let scored = shifted.as_ref().unwrap_or(out);
        for (i, &t) in labels.iter().enumerate().take(n) {
            dz.row_mut(i)
                .copy_from_slice(&loss_grad_row(loss, scored.row(i), usize::from(t)));
        }
        if let (Some(m), Some(g)) = (margin, grads.as_mut()) {
            // ∂ℓ/∂h = ∂ℓ/∂s at the shifted logits.
            m.grad_acc(net, labels, &dz, inv, float.as_ref(), g);
        }
        (0..n)
            .map(|i| loss_row(loss, scored.row(i), usize::from(labels[i])).to_f64())
            .sum()
    };
    for k in (1..=l).rev() {
        let f = net.activation(k);
        for (d, &a) in dz.data.iter_mut().zip(&pre[k - 1].data) {
            *d *= dact(f, a);
        }
        if let Some(g) = grads.as_mut() {
            outer_acc(&dz, &zs[k - 1], inv, &mut g.w[k - 1]);
            col_sum_acc(&dz, inv, &mut g.b[k - 1]);
        }
        if k > 1 || want_dx {
            let mut next = Mat::zeros(0, 0);
            times(&dz, &net.layers[k - 1].w, net.width(k - 1), &mut next);
            dz = next;
        }
    }
    Backprop {
        loss_sum,
        correct,
        grads,
        dx: want_dx.then_some(dz),
    }
}

/// Settings of the input attack.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct AttackSpec {
    /// Step or PGD flavour.
    pub attack: Attack,
    /// η of the one-step attack.
    pub eta: f64,
    /// PGD radius.
    pub eps: f64,
    /// PGD steps.
    pub steps: u32,
    /// PGD step size.
    pub step_size: f64,
    /// Clamp the one-step result to [0, 1].
    pub clamp: bool,
}

/// The attacked inputs x' (docs/method.md §5.2): x + η∇_xℓ, or PGD from a uniform random start in the ball,
/// projected onto ball ∩ [0, 1]ⁿ after every step.
pub fn attack<T: Real>(
    net: &Net<T>,
    loss: LossKind,
    spec: &AttackSpec,
    x: &Mat<T>,
    labels: &[u8],
    rng: &mut ChaCha8Rng,
) -> Mat<T> {
    let clamp01 = |v: T| {
        if v < T::ZERO {
            T::ZERO
        } else if v > T::ONE {
            T::ONE
        } else {
            v
        }
    };
    let grad = |xa: &Mat<T>| {
        backprop(net, loss, xa, labels, false, true)
            .dx
            .unwrap_or_else(|| Mat::zeros(xa.rows, xa.cols))
    };
    match spec.attack {
        Attack::Step => {
            let g = grad(x);
            let eta = T::from_f64(spec.eta);
            let mut xa = x.clone();
            for (v, &gi) in xa.data.iter_mut().zip(&g.data) {
                *v += eta * gi;
                if spec.clamp {
                    *v = clamp01(*v);
                }
            }
            xa
        }
        Attack::PgdLinf | Attack::PgdL2 => {
            let eps = spec.eps;
            let n = x.cols;
            let mut delta = Mat::zeros(x.rows, n);
            for i in 0..x.rows {
                let row = delta.row_mut(i);
                if spec.attack == Attack::PgdLinf {
                    row.iter_mut()
                        .for_each(|d| *d = T::from_f64(eps * (2.0 * uniform(rng) - 1.0)));
                } else {
                    let dir: Vec<f64> = (0..n).map(|_| normal(rng)).collect();
                    let norm = dir
                        .iter()
                        .map(|v| v * v)
                        .sum::<f64>()
                        .sqrt()
                        .max(f64::MIN_POSITIVE);
                    let r = eps * uniform(rng).powf(1.0 / n as f64);
                    row.iter_mut()
                        .zip(&dir)
                        .for_each(|(d, v)| *d = T::from_f64(r * v / norm));
                }
            }
            let mut xa = project(x, &delta, spec.attack, eps);
            let step = T::from_f64(spec.step_size);
            for _ in 0..spec.steps {
                let g = grad(&xa);
                for i in 0..x.rows {
                    let gi = g.row(i);
                    let scale = if spec.attack == Attack::PgdL2 {
                        let nrm = gi.iter().map(|&v| v * v).sum::<T>().sqrt();
                        if nrm > T::ZERO {
                            step / nrm
                        } else {
                            T::ZERO
                        }
                    } else {
                        step
                    };
                    let (xr, dr) = (x.row(i), delta.row_mut(i));
                    for ((d, &gv), (&x0, &xv)) in
                        dr.iter_mut().zip(gi).zip(xr.iter().zip(xa.row(i)))
                    {
                        let moved = if spec.attack == Attack::PgdLinf {
                            if gv > T::ZERO {
                                step
                            } else if gv < T::ZERO {
                                -step
                            } else {
                                T::ZERO
                            }
                        } else {
                            scale * gv
                        };
                        *d = xv - x0 + moved;
                    }
                }
                xa = project(x, &delta, spec.attack, eps);
            }
            xa
        }
    }
}

/// x + δ with δ projected onto the ball of radius `eps`, then clamped to [0, 1] (which keeps
/// it inside the ball, since x ∈ [0, 1]).
fn project<T: Real>(x: &Mat<T>, delta: &Mat<T>, attack: Attack, eps: f64) -> Mat<T> {
    let e = T::from_f64(eps);
    let mut out = x.clone();
    for i in 0..x.rows {
        let d = delta.row(i);
        let scale = if attack == Attack::PgdL2 {
            let nrm = d.iter().map(|&v| v * v).sum::<T>().sqrt();
            if nrm > e {
                e / nrm
            } else {
                T::ONE
            }
        } else {
            T::ONE
        };
        for (o, &dv) in out.row_mut(i).iter_mut().zip(d) {
            let mut dv = scale * dv;
            if attack == Attack::PgdLinf {
                dv = if dv > e {
                    e
                } else if dv < -e {
                    -e
                } else {
                    dv
                };
            }
            let v = *o + dv;
            *o = if v < T::ZERO {
                T::ZERO
            } else if v > T::ONE {
                T::ONE
            } else {
                v
            };
        }
    }
    out
}
