//! Adam (Kingma & Ba) with bias correction; its state is part of the checkpoint.

use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use super::net::{Grads, Net};

/// Adam hyperparameters.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct AdamConfig {
    /// Learning rate.
    pub lr: f64,
    /// First-moment decay β₁.
    pub beta1: f64,
    /// Second-moment decay β₂.
    pub beta2: f64,
    /// ε.
    pub eps: f64,
}

/// Adam moments, in the layout of [`Grads::values`] (weights layer by layer, then biases).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Adam {
    /// Steps taken.
    pub t: u64,
    /// First moments.
    pub m: Vec<f32>,
    /// Second moments.
    pub v: Vec<f32>,
}

impl Adam {
    /// Zero moments for `net`.
    pub fn new(net: &Net<f32>) -> Self {
        let n: usize = net.layers.iter().map(|l| l.w.len() + l.b.len()).sum();
        Adam {
            t: 0,
            m: vec![0.0; n],
            v: vec![0.0; n],
        }
    }

    /// One step θ ← θ − lr·m̂/(√v̂ + ε). Elementwise: bit-reproducible whatever the split.
    pub fn step(&mut self, net: &mut Net<f32>, g: &Grads<f32>, c: &AdamConfig) {
        self.step_checked(net, g, c);
    }

    /// As [`Adam::step`], and reports in the same pass whether every gradient value and every
    /// updated parameter is finite (`(gradients finite, parameters finite)`). Large tensors are
    /// split over the current rayon pool; every element is updated by the same expression, so
    /// the result does not depend on the split.
    pub fn step_checked(
        &mut self,
        net: &mut Net<f32>,
        g: &Grads<f32>,
        c: &AdamConfig,
    ) -> (bool, bool) {
        self.t += 1;
        let t = i32::try_from(self.t).unwrap_or(i32::MAX);
        let k = Consts {
            b1: c.beta1 as f32,
            b2: c.beta2 as f32,
            c1: (1.0 - c.beta1.powi(t)) as f32,
            c2: (1.0 - c.beta2.powi(t)) as f32,
            lr: c.lr as f32,
            eps: c.eps as f32,
        };
        let (mut m, mut v) = (&mut self.m[..], &mut self.v[..]);
        let (ws, bs): (Vec<_>, Vec<_>) =
            net.layers.iter_mut().map(|l| (&mut l.w, &mut l.b)).unzip();
        let params = ws.into_iter().zip(&g.w).chain(bs.into_iter().zip(&g.b));
        let mut finite = (true, true);
        for (p, gv) in params {
            let n = p.len();
            let (mh, mt) = std::mem::take(&mut m).split_at_mut(n);
            let (vh, vt) = std::mem::take(&mut v).split_at_mut(n);
            (m, v) = (mt, vt);
            let f = if n >= PAR_MIN {
                p.par_chunks_mut(PAR_CHUNK)
                    .zip(gv.par_chunks(PAR_CHUNK))
                    .zip(mh.par_chunks_mut(PAR_CHUNK))
                    .zip(vh.par_chunks_mut(PAR_CHUNK))
                    .map(|(((p, g), m), v)| update(p, g, m, v, &k))
                    .reduce(|| (true, true), |a, b| (a.0 && b.0, a.1 && b.1))
            } else {
                update(p, gv, mh, vh, &k)
            };
            finite = (finite.0 && f.0, finite.1 && f.1);
        }
        finite
    }
}

/// Elements per parallel chunk of the Adam update, and the tensor size from which it splits.
const PAR_CHUNK: usize = 1 << 14;
const PAR_MIN: usize = 1 << 15;

/// The step's constants in f32.
struct Consts {
    b1: f32,
    b2: f32,
    c1: f32,
    c2: f32,
    lr: f32,
    eps: f32,
}

/// The Adam update of one slice (a straight zip, so it vectorises); returns whether every
/// gradient and every new parameter is finite.
#[inline]
fn update(p: &mut [f32], g: &[f32], m: &mut [f32], v: &mut [f32], k: &Consts) -> (bool, bool) {
    let (mut g_ok, mut p_ok) = (true, true);
    for (((theta, &gi), mi), vi) in p.iter_mut().zip(g).zip(m.iter_mut()).zip(v.iter_mut()) {
        let mn = k.b1 * *mi + (1.0 - k.b1) * gi;
        let vn = k.b2 * *vi + (1.0 - k.b2) * gi * gi;
        *mi = mn;
        *vi = vn;
        *theta -= k.lr * (mn / k.c1) / ((vn / k.c2).sqrt() + k.eps);
        // Boolean (not floating-point) reductions, so the loop still vectorises.
        g_ok &= gi.is_finite();
        p_ok &= theta.is_finite();
    }
    (g_ok, p_ok)
}

#[cfg(test)]
mod tests {
    use super::super::net::Layer;
    use super::*;
    use lifted_core::Activation;

    #[test]
    fn first_step_moves_by_lr_against_the_gradient_sign() {
        let mut net = Net {
            input_dim: 1,
            layers: vec![Layer {
                w: vec![1.0, 1.0],
                b: vec![0.0, 0.0],
                act: Activation::Identity,
            }],
            gamma: vec![1.0],
        };
        let mut adam = Adam::new(&net);
        let g = Grads {
            w: vec![vec![3.0, -0.5]],
            b: vec![vec![0.0, 2.0]],
        };
        adam.step(
            &mut net,
            &g,
            &AdamConfig {
                lr: 1e-3,
                beta1: 0.9,
                beta2: 0.999,
                eps: 1e-8,
            },
        );
        // m̂ = g, v̂ = g², so the step is lr·g/(|g| + ε) ≈ lr·sign(g).
        assert!((net.layers[0].w[0] - 0.999).abs() < 1e-6);
        assert!((net.layers[0].w[1] - 1.001).abs() < 1e-6);
        assert_eq!(net.layers[0].b[0], 0.0);
        assert!((net.layers[0].b[1] + 0.001).abs() < 1e-6);
    }
}
