//! The forward map from a hidden block to the logits: what an internal certificate protects.

use crate::error::Error;
use crate::fp::keep_rolled;
use crate::kernels::affine;
use crate::model::ModelView;

/// Number of f32 values [`downstream`] needs as scratch for `model`: 2·max_{k≥1} n_k.
pub fn downstream_scratch(model: &ModelView<'_>) -> usize {
    let mut widest = 0;
    for k in 1..=model.layers() {
        keep_rolled();
        widest = widest.max(model.width(k));
    }
    2 * widest
}

/// Runs layers k+1 … L forward from a hidden state `zk` of block k (1 ≤ k < L) with the same
/// f32 kernels as [`infer`](crate::infer)'s forward updates, and returns the logits z_L, borrowed
/// from `scratch` (at least [`downstream_scratch`] values).
///
/// An internal certificate of block k bounds how far z_k may move before this map changes its
/// decision; attacks on hidden layers judge their candidates with it.
///
/// # Errors
/// [`Error::InputLength`] if k is not a hidden block or `zk` has the wrong length,
/// [`Error::WorkspaceTooSmall`] if `scratch` is too short, [`Error::NonFiniteResult`] if a
/// pre-activation is NaN or infinite.
///
/// ```
/// # fn demo(model: &lifted_core::ModelView<'_>, z1: &[f32]) -> Result<(), lifted_core::Error> {
/// let mut scratch = [0.0f32; 512];
/// let logits = lifted_core::downstream(model, 1, z1, &mut scratch)?;
/// let (class, _) = lifted_core::top_two(logits);
/// # let _ = class; Ok(()) }
/// ```
pub fn downstream<'s>(
    model: &ModelView<'_>,
    k: usize,
    zk: &[f32],
    scratch: &'s mut [f32],
) -> Result<&'s [f32], Error> {
    let layers = model.layers();
    if k == 0 || k >= layers || zk.len() != model.width(k) {
        return Err(Error::InputLength {
            expected: model.width(k) as u32,
            got: zk.len() as u32,
        });
    }
    let need = downstream_scratch(model);
    if scratch.len() < need {
        return Err(Error::WorkspaceTooSmall {
            needed: need as u32,
            got: scratch.len() as u32,
        });
    }
    let (front, back) = scratch.split_at_mut(need / 2);
    let (mut cur, mut next) = (front, back);
    cur[..zk.len()].copy_from_slice(zk);
    let mut width = zk.len();
    for j in k + 1..=layers {
        keep_rolled();
        let out = model.width(j);
        affine(
            model.weights(j - 1),
            model.bias(j - 1),
            &cur[..width],
            &mut next[..out],
        );
        let act = model.layer(j).ok_or(Error::InvalidConfig)?.activation;
        let mut finite = true;
        for v in &mut next[..out] {
            keep_rolled();
            finite &= v.is_finite();
            *v = act.apply(*v);
        }
        if !finite {
            return Err(Error::NonFiniteResult);
        }
        core::mem::swap(&mut cur, &mut next);
        width = out;
    }
    Ok(&cur[..width])
}
