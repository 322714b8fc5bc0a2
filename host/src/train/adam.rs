//! Adam (Kingma & Ba) with bias correction; its state is part of the checkpoint.

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

    /// One step θ ← θ − lr·m̂/(√v̂ + ε). Elementwise and sequential: bit-reproducible.
    pub fn step(&mut self, net: &mut Net<f32>, g: &Grads<f32>, c: &AdamConfig) {
        self.t += 1;
        let t = i32::try_from(self.t).unwrap_or(i32::MAX);
        let (b1, b2) = (c.beta1 as f32, c.beta2 as f32);
        let c1 = (1.0 - c.beta1.powi(t)) as f32;
        let c2 = (1.0 - c.beta2.powi(t)) as f32;
        let (lr, eps) = (c.lr as f32, c.eps as f32);
        let (m, v) = (&mut self.m, &mut self.v);
        let mut i = 0usize;
        let mut update = |p: &mut [f32], gv: &[f32]| {
            for (theta, &gi) in p.iter_mut().zip(gv) {
                let mi = b1 * m[i] + (1.0 - b1) * gi;
                let vi = b2 * v[i] + (1.0 - b2) * gi * gi;
                m[i] = mi;
                v[i] = vi;
                *theta -= lr * (mi / c1) / ((vi / c2).sqrt() + eps);
                i += 1;
            }
        };
        for (l, gv) in net.layers.iter_mut().zip(&g.w) {
            update(&mut l.w, gv);
        }
        for (l, gv) in net.layers.iter_mut().zip(&g.b) {
            update(&mut l.b, gv);
        }
    }
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
