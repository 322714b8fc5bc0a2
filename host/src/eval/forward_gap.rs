//! How far an iterative deployment is from its own forward pass.
//!
//! A model whose deployed update list is not the forward pass (family B, zero init, a top-down
//! tail, … — [`ModelView::is_forward_deployment`]) could still compute almost the same logits as
//! the plain forward pass z_k = f_k(W_{k−1} z_{k−1} + b_{k−1}) of the same weights. This module
//! measures the difference on a data set, so that a report never passes such a model off as
//! "genuinely iterative" without the number that says how iterative it is.

use lifted_core::{infer, top_two, Kernels, ModelView, Portable, Workspace};
use rayon::prelude::*;
use serde::Serialize;

use crate::data::Dataset;

/// Deployed logits s_K against the forward-pass logits s_fwd of the same weights, over the
/// samples whose inference succeeded.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct ForwardGap {
    /// Samples compared.
    pub samples: usize,
    /// Mean of ‖s_K − s_fwd‖₂.
    pub mean_l2: f64,
    /// Largest ‖s_K − s_fwd‖₂.
    pub max_l2: f64,
    /// Mean of ‖s_K − s_fwd‖₂ / ‖s_K‖₂ (0 where ‖s_K‖₂ = 0).
    pub mean_relative: f64,
    /// Largest ‖s_K − s_fwd‖₂ / ‖s_K‖₂.
    pub max_relative: f64,
    /// Share of samples on which both predict the same class.
    pub class_agreement: f64,
}

/// The forward pass of `model`'s weights in f32 (the portable kernel and the layers'
/// activations): the logits z_L. `None` on a non-finite value.
#[must_use]
pub fn forward_logits(model: &ModelView<'_>, x: &[f32]) -> Option<Vec<f32>> {
    let mut z = x.to_vec();
    for k in 1..=model.layers() {
        let act = model.layer(k)?.activation;
        let mut next = vec![0.0f32; model.width(k)];
        Portable.affine(model.weights(k - 1), model.bias(k - 1), &z, &mut next);
        next.iter_mut().for_each(|v| *v = act.apply(*v));
        z = next;
    }
    z.iter().all(|v| v.is_finite()).then_some(z)
}

/// The gap between the deployed map and its forward pass on `data`; `None` for a forward
/// deployment (the two are the same map) or when no sample could be compared.
#[must_use]
pub fn forward_gap(model: &ModelView<'_>, data: &Dataset) -> Option<ForwardGap> {
    if model.is_forward_deployment() {
        return None;
    }
    let need = Workspace::required(model);
    let rows: Vec<(f64, f64, bool)> = (0..data.len())
        .into_par_iter()
        .map_init(
            || vec![0.0f32; need],
            |buf, i| {
                let x = data.input(i)?;
                let mut ws = Workspace::new(buf);
                let o = infer(model, x, &mut ws).ok()?;
                let f = forward_logits(model, x)?;
                let diff: f64 = o
                    .logits
                    .iter()
                    .zip(&f)
                    .map(|(&a, &b)| (f64::from(a) - f64::from(b)).powi(2))
                    .sum::<f64>()
                    .sqrt();
                let norm: f64 = o
                    .logits
                    .iter()
                    .map(|&a| f64::from(a).powi(2))
                    .sum::<f64>()
                    .sqrt();
                let rel = if norm > 0.0 { diff / norm } else { 0.0 };
                Some((diff, rel, top_two(&f).0 == o.class))
            },
        )
        .flatten()
        .collect();
    if rows.is_empty() {
        return None;
    }
    let n = rows.len() as f64;
    Some(ForwardGap {
        samples: rows.len(),
        mean_l2: rows.iter().map(|r| r.0).sum::<f64>() / n,
        max_l2: rows.iter().map(|r| r.0).fold(0.0, f64::max),
        mean_relative: rows.iter().map(|r| r.1).sum::<f64>() / n,
        max_relative: rows.iter().map(|r| r.1).fold(0.0, f64::max),
        class_agreement: rows.iter().filter(|r| r.2).count() as f64 / n,
    })
}

#[cfg(test)]
mod tests;
