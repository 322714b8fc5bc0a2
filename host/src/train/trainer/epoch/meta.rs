//! `meta_gamma = validation`: the hidden γ_k follow the validation loss (docs/method.md §5.10).
//!
//! Every `meta_every` optimiser steps, for each hidden layer k and s = ±δ: the batch's lifted
//! gradient is recomputed with γ_k·e^s, one look-ahead step is taken with it, and the loss of the
//! forward (free-state) prediction is measured on a block of the validation split. The central
//! difference h_k = (L⁺ − L⁻)/2δ estimates ∂L_val/∂log γ_k, and log γ_k takes a step of
//! `gamma_lr` against its sign.
//!
//! The look-ahead step is the gradient normalised per tensor, Δθ = −lr·√n·g/‖g‖: every lifted
//! gradient of layer k carries the explicit factor γ_k (docs/method.md §5.10), which Adam's
//! per-parameter normalisation removes from the real updates; normalising the look-ahead removes
//! it as well, so h_k measures only what γ changes in the phase states (the direction of the
//! update), not a step size Adam would undo.

use crate::train::linalg::Mat;
use crate::train::lipmargin::LipMargin;
use crate::train::net::{Grads, Net};
use crate::train::objectives::{free_state, free_state_pre, lifted_batch_from};
use crate::train::potential::loss_row;
use lifted_core::Family;

use super::super::Trainer;
use super::gather;

/// Validation samples per meta step (fewer when the validation split is smaller).
const VAL_BLOCK: usize = 256;

impl Trainer<'_> {
    /// The hidden γ after the meta step number `count` (0, 1, …) at the parameters of `net`, with
    /// the batch `x`, `labels`, its targets `g`, the block steps `st` and the Lipschitz margin of
    /// the batch step; `None` when no step is taken (an estimate that is zero or not finite, or a
    /// γ the configuration forbids).
    #[allow(clippy::too_many_arguments)]
    pub(super) fn meta_validation_gamma(
        &self,
        net: &Net<f32>,
        x: &Mat<f32>,
        labels: &[u8],
        g: &[u8],
        st: &[f32],
        margin: Option<&LipMargin<f32>>,
        lr: f64,
        count: usize,
    ) -> Option<Vec<f32>> {
        let cfg = &self.cfg;
        let val = &self.splits.val;
        if val.is_empty() {
            return None;
        }
        let block = VAL_BLOCK.min(val.len());
        let start = (count * block) % (val.len() - block + 1).max(1);
        let idx: Vec<usize> = (start..start + block).collect();
        let (xv, lv) = gather(val, &idx);
        let l = net.depth();
        let delta = cfg.meta_delta;
        let mut new: Vec<f64> = net.gamma.iter().map(|&v| f64::from(v)).collect();
        for (k, gk) in new.iter_mut().enumerate().take(l - 1) {
            let mut side = [0.0f64; 2];
            for (slot, s) in side.iter_mut().zip([delta, -delta]) {
                let mut cand = net.clone();
                cand.gamma[k] = (f64::from(net.gamma[k]) * s.exp()) as f32;
                let (free, free_pre) = free_state_pre(&cand, &self.spec, st, x, labels);
                let r = lifted_batch_from(
                    &cand, &self.spec, st, x, labels, g, &free, &free_pre, margin,
                );
                let ahead = look_ahead(&cand, &r.grads, lr);
                *slot = val_loss(self, &ahead, &xv, &lv);
            }
            let h = (side[0] - side[1]) / (2.0 * delta);
            if !h.is_finite() {
                return None;
            }
            if h != 0.0 {
                *gk = (gk.ln() - cfg.gamma_lr * h.signum()).exp();
            }
        }
        // Family B keeps λ_min(T) ≥ hopfield_mu_min, which needs every γ_k above it.
        let floor = if cfg.potential.family() == Family::Hopfield {
            2.0 * cfg.hopfield_mu_min.max(0.0)
        } else {
            0.0
        };
        let ok = new.iter().all(|v| v.is_finite() && *v > floor && *v > 0.0);
        ok.then(|| new.iter().map(|&v| v as f32).collect())
    }
}

/// θ − lr·√n·g/‖g‖ for every tensor (a zero gradient leaves its tensor alone).
fn look_ahead(net: &Net<f32>, grads: &Grads<f32>, lr: f64) -> Net<f32> {
    let mut out = net.clone();
    let step = |p: &mut [f32], g: &[f32]| {
        let norm = g.iter().map(|&v| f64::from(v).powi(2)).sum::<f64>().sqrt();
        if norm > 0.0 && norm.is_finite() {
            let s = lr * (g.len() as f64).sqrt() / norm;
            for (pv, gv) in p.iter_mut().zip(g) {
                *pv = (f64::from(*pv) - s * f64::from(*gv)) as f32;
            }
        }
    };
    for (layer, (gw, gb)) in out.layers.iter_mut().zip(grads.w.iter().zip(&grads.b)) {
        step(&mut layer.w, gw);
        step(&mut layer.b, gb);
    }
    out
}

/// Mean loss of the free-state prediction of `net` on `x` (family A: the forward pass).
fn val_loss(t: &Trainer<'_>, net: &Net<f32>, x: &Mat<f32>, labels: &[u8]) -> f64 {
    let ones = vec![1.0f32; net.depth() + 1];
    let z = free_state(net, &t.spec, &ones, x, labels);
    let out = &z[net.depth()];
    let sum: f64 = labels
        .iter()
        .enumerate()
        .map(|(i, &c)| f64::from(loss_row(t.cfg.loss, out.row(i), usize::from(c))))
        .sum();
    sum / labels.len().max(1) as f64
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand_chacha::rand_core::SeedableRng;

    fn net() -> Net<f32> {
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(3);
        Net::init(
            4,
            &[5, 3],
            lifted_core::Activation::Relu,
            &[1.0, 1.0],
            1.0,
            &mut rng,
        )
    }

    #[test]
    fn look_ahead_takes_steps_of_lr_root_n_and_ignores_the_gradient_scale() {
        let n = net();
        let mut g = Grads::zeros_like(&n);
        for (i, v) in g.w.iter_mut().flatten().enumerate() {
            *v = (i as f32 * 0.37).sin();
        }
        g.b[0][1] = 2.0;
        let a = look_ahead(&n, &g, 0.01);
        // A tensor's step has length lr·√n; a zero gradient leaves its tensor alone.
        for (k, (la, ln)) in a.layers.iter().zip(&n.layers).enumerate() {
            let d: f64 =
                la.w.iter()
                    .zip(&ln.w)
                    .map(|(p, q)| (f64::from(*p) - f64::from(*q)).powi(2))
                    .sum::<f64>()
                    .sqrt();
            let want = 0.01 * (ln.w.len() as f64).sqrt();
            assert!((d - want).abs() < 1e-6, "layer {k}: step {d} vs {want}");
        }
        assert_eq!(a.layers[1].b, n.layers[1].b);
        assert_ne!(a.layers[0].b, n.layers[0].b);
        // The explicit γ_k factor of a lifted gradient does not change the look-ahead.
        let mut g3 = g.clone();
        g3.w.iter_mut().flatten().for_each(|v| *v *= 4.0);
        g3.b.iter_mut().flatten().for_each(|v| *v *= 4.0);
        let b = look_ahead(&n, &g3, 0.01);
        for (la, lb) in a.layers.iter().zip(&b.layers) {
            assert_eq!(la.w, lb.w);
            assert_eq!(la.b, lb.b);
        }
    }
}
