//! Fixed-iteration activity minimisation: [`infer`] runs the model's stored schedule.

use crate::config::{Activation, Family, Init};
use crate::error::Error;
use crate::fp::{keep_rolled, max_abs, AllFinite};
use crate::kernels::{Kernels, Portable};
use crate::model::ModelView;
use crate::schedule::{Update, Updates};
use crate::track::Track;

/// Caller-owned scratch memory for [`infer`]: the state z_1 … z_L and three work vectors.
///
/// ```
/// # fn demo(model: &lifted_core::ModelView<'_>) {
/// let mut buf = [0.0f32; 1024];
/// let needed = lifted_core::Workspace::required(model);
/// assert!(needed <= buf.len());
/// let mut ws = lifted_core::Workspace::new(&mut buf);
/// # }
/// ```
#[derive(Debug)]
pub struct Workspace<'b> {
    buf: &'b mut [f32],
}

impl<'b> Workspace<'b> {
    /// Wraps a buffer; its size is checked by [`infer`] against [`Workspace::required`].
    pub fn new(buf: &'b mut [f32]) -> Self {
        Workspace { buf }
    }

    /// Number of f32 values [`infer`] needs for `model`: Σ_{k≥1} n_k + 3·max_{k≥1} n_k.
    pub fn required(model: &ModelView<'_>) -> usize {
        let mut widest = 0;
        for k in 1..=model.layers() {
            keep_rolled();
            widest = widest.max(model.width(k));
        }
        widths_before(model, model.layers() + 1) + 3 * widest
    }

    /// Bytes of RAM [`infer`] needs for `model`.
    pub fn required_bytes(model: &ModelView<'_>) -> usize {
        Self::required(model) * 4
    }
}

/// The result of [`infer`].
#[derive(Debug, Clone, Copy)]
pub struct Outcome<'w> {
    /// Output activities z_L (the logits), borrowed from the workspace.
    pub logits: &'w [f32],
    /// Predicted class: the first index of the largest logit.
    pub class: usize,
    /// Runner-up class: the first index of the largest logit among the others.
    pub runner_up: usize,
    /// `logits[class] − logits[runner_up]` in f32 (0 on a tie).
    pub margin: f32,
    /// Float error bounds recorded for the certificate.
    pub track: Track,
    /// Final state blocks, for internal certificates and diagnostics.
    state: &'w [f32],
}

impl<'w> Outcome<'w> {
    /// Block z_k of the final state (1 ≤ k ≤ L); empty otherwise.
    pub fn block(&self, model: &ModelView<'_>, k: usize) -> &'w [f32] {
        if k == 0 || k > model.layers() {
            return &[];
        }
        let at = widths_before(model, k);
        self.state.get(at..at + model.width(k)).unwrap_or(&[])
    }
}

/// Applies `act` in place. Returns ‖v‖_∞ of the result (as [`max_abs`] computes it), or `None`
/// if any pre-activation is NaN or infinite.
///
/// The identity leaves `v` as it is. The ReLUs give +0, a positive value or NaN, whose absolute
/// value is the value itself, so their loop skips the `abs`.
#[inline(never)]
fn activate(act: Activation, v: &mut [f32]) -> Option<f32> {
    let mut finite = AllFinite::new();
    let mut mag = 0.0f32;
    if act == Activation::Identity {
        for &x in v.iter() {
            keep_rolled();
            finite.add(x);
            let a = x.abs();
            if a > mag {
                mag = a;
            }
        }
    } else {
        for x in v.iter_mut() {
            keep_rolled();
            finite.add(*x);
            *x = act.apply(*x);
            if *x > mag {
                mag = *x;
            }
        }
    }
    finite.ok().then_some(mag)
}

/// n_1 + … + n_{k−1}: where block k starts in the state.
#[inline(never)]
fn widths_before(model: &ModelView<'_>, k: usize) -> usize {
    let mut at = 0;
    for j in 1..k {
        keep_rolled();
        at += model.width(j);
    }
    at
}

/// Splits the state into (z_{k−1}, z_k, z_{k+1}) for 1 ≤ k ≤ L (z_{L+1} is empty; z_0 is `input`).
fn blocks<'s>(
    model: &ModelView<'_>,
    state: &'s mut [f32],
    input: &'s [f32],
    k: usize,
) -> (&'s [f32], &'s mut [f32], &'s [f32]) {
    let start = widths_before(model, k);
    let (before, rest) = state.split_at_mut(start.min(state.len()));
    let (cur, after) = rest.split_at_mut(model.width(k).min(rest.len()));
    let prev = if k == 1 {
        input
    } else {
        let w = model.width(k - 1);
        before.get(before.len().saturating_sub(w)..).unwrap_or(&[])
    };
    let next = after
        .get(..model.width(k + 1).min(after.len()))
        .unwrap_or(&[]);
    (prev, cur, next)
}

/// Checks an input against the model: length, finiteness, declared range.
pub fn check_input(model: &ModelView<'_>, input: &[f32]) -> Result<(), Error> {
    if input.len() != model.input_dim() {
        return Err(Error::InputLength {
            expected: model.input_dim() as u32,
            got: input.len() as u32,
        });
    }
    let h = model.header();
    for (i, &v) in input.iter().enumerate() {
        keep_rolled();
        if !v.is_finite() {
            return Err(Error::InputNonFinite { index: i as u32 });
        }
        if !(v >= h.input_min && v <= h.input_max) {
            return Err(Error::InputOutOfRange { index: i as u32 });
        }
    }
    Ok(())
}

/// Runs the model's inference schedule on `input`: the init, then exactly K sweeps of block
/// updates of the model's potential (docs/method.md §4), with no convergence test. For a forward
/// deployment ([`ModelView::is_forward_deployment`]) the sweeps provably change nothing and are
/// skipped: the result is the same, bit for bit.
///
/// Never panics; allocates nothing. Errors: a bad input, a workspace smaller than
/// [`Workspace::required`], or an overflow ([`Error::NonFiniteResult`]).
pub fn infer<'w>(
    model: &ModelView<'_>,
    input: &[f32],
    ws: &'w mut Workspace<'_>,
) -> Result<Outcome<'w>, Error> {
    infer_with(&Portable, model, input, ws)
}

/// [`infer()`] with the matrix products of `kernels` (a [`Kernels`] implementation must give the
/// same bits as [`Portable`], so the result is that of [`infer()`], bit for bit). The firmware
/// passes a hand-written kernel on the Cortex-M4F/M7 here.
pub fn infer_with<'w, K: Kernels + ?Sized>(
    kernels: &K,
    model: &ModelView<'_>,
    input: &[f32],
    ws: &'w mut Workspace<'_>,
) -> Result<Outcome<'w>, Error> {
    check_input(model, input)?;
    let needed = Workspace::required(model);
    let too_small = Error::WorkspaceTooSmall {
        needed: needed as u32,
        got: ws.buf.len() as u32,
    };
    if ws.buf.len() < needed {
        return Err(too_small);
    }
    let l = model.layers();
    let state_len = widths_before(model, l + 1);
    let widest = (needed - state_len) / 3;
    // The checked splits cannot fail after the test above; unlike `split_at_mut` they link no
    // panic path.
    let (state, scratch) = ws.buf.split_at_mut_checked(state_len).ok_or(too_small)?;
    let (s1, rest) = scratch.split_at_mut_checked(widest).ok_or(too_small)?;
    let (s2, s3) = rest.split_at_mut_checked(widest).ok_or(too_small)?;

    let (in_mag, _) = max_abs(input);
    let mut track = Track::new(in_mag);
    if model.init() == Init::Zero {
        state.iter_mut().for_each(|v| *v = 0.0);
    }

    // A forward deployment runs `Forward(1) … Forward(L)` only: its sweeps provably change
    // nothing (`Updates::deployed`), so skipping them gives the same bits with less work.
    let updates = Updates::deployed(
        l,
        model.family(),
        model.init(),
        model.sweeps(),
        model.schedule(),
    );
    for u in updates {
        let k = match u {
            Update::Forward(k) | Update::Hidden(k) => k,
            Update::Output => l,
        };
        let spec = model.layer(k).ok_or(Error::InvalidConfig)?;
        let (prev, cur, next) = blocks(model, state, input, k);
        let mag = match u {
            Update::Forward(_) | Update::Output => {
                kernels.affine(model.weights(k - 1), model.bias(k - 1), prev, cur);
                activate(spec.activation, cur)
            }
            Update::Hidden(_) => {
                let a = s1.get_mut(..cur.len()).unwrap_or(&mut []);
                let c = s3.get_mut(..cur.len()).unwrap_or(&mut []);
                match model.family() {
                    Family::FenchelYoung => {
                        let d = s2.get_mut(..next.len()).unwrap_or(&mut []);
                        hidden_fenchel_young(kernels, model, k, prev, cur, next, a, d, c)
                    }
                    Family::Hopfield => hidden_hopfield(kernels, model, k, prev, cur, next, a, c),
                }
            }
        }
        .ok_or(Error::NonFiniteResult)?;
        track.step(model, u, mag);
    }

    let state: &'w [f32] = state;
    let logits = state.get(state_len - model.classes()..).unwrap_or(&[]);
    let (class, runner_up) = top_two(logits);
    let margin =
        logits.get(class).copied().unwrap_or(0.0) - logits.get(runner_up).copied().unwrap_or(0.0);
    Ok(Outcome {
        logits,
        class,
        runner_up,
        margin,
        track,
        state,
    })
}

/// Family-A damped block update of hidden block k (docs/method.md §4.2), written as
/// z_k ← f_k(z_k + η((a − z_k) + ρ W_kᵀ(z_{k+1} − f_{k+1}(W_k z_k + b_k)))) so that the forward pass
/// is an exact fixed point in f32. Returns ‖z_k‖_∞, or `None` if a pre-activation was not finite.
#[inline(never)]
#[allow(clippy::too_many_arguments)]
fn hidden_fenchel_young<K: Kernels + ?Sized>(
    kernels: &K,
    model: &ModelView<'_>,
    k: usize,
    prev: &[f32],
    cur: &mut [f32],
    next: &[f32],
    a: &mut [f32],
    d: &mut [f32],
    c: &mut [f32],
) -> Option<f32> {
    let spec = model.layer(k)?;
    kernels.affine(model.weights(k - 1), model.bias(k - 1), prev, a);
    kernels.affine(model.weights(k), model.bias(k), cur, d);
    let up = model
        .layer(k + 1)
        .map_or(Activation::Identity, |s| s.activation);
    for (di, &zi) in d.iter_mut().zip(next) {
        keep_rolled();
        *di = zi - up.apply(*di);
    }
    kernels.affine_t(model.weights(k), d, c);
    let (rho, eta) = (spec.rho, spec.step);
    for ((zi, &ai), &ci) in cur.iter_mut().zip(a.iter()).zip(c.iter()) {
        keep_rolled();
        *zi = *zi + eta * ((ai - *zi) + rho * ci);
    }
    activate(spec.activation, cur)
}

/// Family-B exact block minimisation of hidden block k (docs/method.md §4.3):
/// z_k ← f_k(W_{k−1} z_{k−1} + b_{k−1} + ρ W_kᵀ z_{k+1}). Returns ‖z_k‖_∞, or `None` if a
/// pre-activation was not finite.
#[inline(never)]
#[allow(clippy::too_many_arguments)]
fn hidden_hopfield<K: Kernels + ?Sized>(
    kernels: &K,
    model: &ModelView<'_>,
    k: usize,
    prev: &[f32],
    cur: &mut [f32],
    next: &[f32],
    a: &mut [f32],
    c: &mut [f32],
) -> Option<f32> {
    let spec = model.layer(k)?;
    kernels.affine(model.weights(k - 1), model.bias(k - 1), prev, a);
    kernels.affine_t(model.weights(k), next, c);
    let rho = spec.rho;
    for ((zi, &ai), &ci) in cur.iter_mut().zip(a.iter()).zip(c.iter()) {
        keep_rolled();
        *zi = ai + rho * ci;
    }
    activate(spec.activation, cur)
}

/// Indices of the largest and second-largest values (first index wins ties).
pub fn top_two(v: &[f32]) -> (usize, usize) {
    let mut best = 0usize;
    for (i, &x) in v.iter().enumerate() {
        keep_rolled();
        if x > v.get(best).copied().unwrap_or(f32::NEG_INFINITY) {
            best = i;
        }
    }
    let mut second = if best == 0 { 1 } else { 0 };
    for (i, &x) in v.iter().enumerate() {
        keep_rolled();
        if i != best && x > v.get(second).copied().unwrap_or(f32::NEG_INFINITY) {
            second = i;
        }
    }
    (best, second)
}
