//! The step every consumer runs: inference, then the ℓ2 and the ℓ∞ certificate of its decision.
//!
//! The serial server, the golden runs on host and device and the host's own answers all go
//! through [`infer_and_certify_with`], so that they cannot drift apart (e.g. certify one norm with
//! another rule, or skip one).

use crate::certify::{certify, certify_with_internal, Certificate, Norm};
use crate::error::Error;
use crate::infer::{infer_with, Outcome, Workspace};
use crate::kernels::{Kernels, Portable};
use crate::model::ModelView;

/// An inference with both input certificates (the ℓ2 one also carries the internal radii).
#[derive(Debug, Clone)]
pub struct Certified<'w> {
    /// The inference: logits, class, runner-up, margin, float-error track.
    pub outcome: Outcome<'w>,
    /// [`certify_with_internal`]: the ℓ2 certificate with the internal radii.
    pub l2: Certificate,
    /// [`certify`] in [`Norm::Linf`].
    pub linf: Certificate,
}

/// [`infer_with`] `kernels`, then [`certify_with_internal`] (ℓ2 and the internal radii) and
/// [`certify`] in ℓ∞.
///
/// # Errors
/// Those of [`infer_with`] (input length, NaN/Inf or out-of-range input, workspace too small).
pub fn infer_and_certify_with<'w, K: Kernels + ?Sized>(
    kernels: &K,
    model: &ModelView<'_>,
    input: &[f32],
    ws: &'w mut Workspace<'_>,
) -> Result<Certified<'w>, Error> {
    let outcome = infer_with(kernels, model, input, ws)?;
    let l2 = certify_with_internal(model, &outcome);
    let linf = certify(model, &outcome, Norm::Linf);
    Ok(Certified { outcome, l2, linf })
}

/// [`infer_and_certify_with`] the portable kernels, i.e. [`crate::infer()`] and both certificates.
///
/// # Errors
/// Those of [`crate::infer()`].
pub fn infer_and_certify<'w>(
    model: &ModelView<'_>,
    input: &[f32],
    ws: &'w mut Workspace<'_>,
) -> Result<Certified<'w>, Error> {
    infer_and_certify_with(&Portable, model, input, ws)
}
