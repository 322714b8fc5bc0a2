//! The float-aware Lipschitz margin certificate (docs/method.md §8.1, §8.6, §8.7).

use heapless::Vec;

use crate::config::MAX_LAYERS;
use crate::format::LayerSpec;
use crate::fp::{add_up, down_rel, gamma, keep_rolled, mul_up, next_up, seal, AllFinite, NU, TINY};
use crate::infer::Outcome;
use crate::model::ModelView;

/// The norm of an input perturbation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum Norm {
    /// Euclidean norm ‖δ‖₂.
    L2,
    /// Max norm ‖δ‖_∞.
    Linf,
}

/// Why a certificate was refused. A refusal is a regular outcome, not an error.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum Rejection {
    /// The model's certificate constants are marked invalid: it never certifies.
    ConstantsInvalid,
    /// A logit is NaN or infinite.
    NonFinite,
    /// The top two logits are equal (or the outcome's class is not the arg-max).
    Tie,
    /// The margin against class `against` does not exceed the float error bound.
    Margin {
        /// The competing class.
        against: u16,
    },
}

/// A certificate for one [`Outcome`].
#[derive(Debug, Clone, PartialEq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Certificate {
    /// The certified class (the outcome's prediction).
    pub class: u16,
    /// Logit margin to the runner-up, in f32.
    pub margin: f32,
    /// The perturbation norm.
    pub norm: Norm,
    /// Certified radius: every input x′ with ‖x′ − x‖ ≤ `radius` is given the same class by the
    /// f32 [`crate::infer()`]. 0 when rejected; never more than the model's radius limit.
    pub radius: f32,
    /// The class that limits the radius (the `j` of the smallest bound).
    pub binding: u16,
    /// Bound on the float error of the margin used (E(x) + E_ball), already subtracted.
    pub float_error: f32,
    /// Why the input certificate was refused, if it was.
    pub rejection: Option<Rejection>,
    /// ℓ2 radii for perturbations of hidden blocks z_1 … z_{L−1} (the remaining layers run
    /// forward), one per hidden layer; 0 where refused. Computed by [`certify_with_internal`]
    /// only (they do not depend on the input norm), and only when the model deploys the forward
    /// pass; empty otherwise.
    pub internal: Vec<f32, MAX_LAYERS>,
}

impl Certificate {
    /// Whether every perturbation of norm ≤ `eps` is certified.
    pub fn certifies(&self, eps: f32) -> bool {
        self.rejection.is_none() && eps <= self.radius
    }
}

/// The radius of one column: (radius, binding class, rejection).
type Radius = (f32, usize, Option<Rejection>);

/// Radius from margins: a lower bound of min_j (m_cj − err) / K_cj, capped at `cap`, or the
/// rejection; `None` if a logit is NaN or infinite (checked before anything else).
///
/// The rule, for each j ≠ c in index order: a margin m_cj ≤ 0 is a [`Rejection::Tie`] at j; a
/// margin that does not exceed the error bound is a [`Rejection::Margin`] at j; otherwise
/// r_j = `down_rel(lhs / k)` with k = K_cj (a constant k ≤ 0, or one missing, counts as
/// r_j = +∞), and the radius is the first smallest r_j (or `cap`), refused below [`TINY`].
///
/// Two shortcuts give exactly that result in one pass:
/// - The pair index ([`crate::format::pair_index`]) is advanced incrementally: for j < c the
///   pair (j, c) sits in row j, C − j − 2 entries after the pair (j − 1, c) of the row before;
///   the pairs (c, j) for j > c are contiguous (the test `pair_walks_follow_pair_index`).
/// - Radii are compared as bit patterns (unsigned): the radius starts at the finite cap > 0
///   and only takes values r_j ≥ +0, and for such values the bit order is the numeric order,
///   while the quotients of a constant k = ±0 (+∞, −∞) and NaN order above every finite radius
///   and never replace it, just as r_j = +∞. (A checked model's constants are finite and ≥ 0.)
#[inline(never)]
fn margin_radius(logits: &[f32], c: usize, pairs: &[f32], err: f32, cap: f32) -> Option<Radius> {
    let classes = logits.len();
    let sc = logits.get(c).copied();
    let mut finite = AllFinite::new();
    if let Some(v) = sc {
        finite.add(v);
    }
    let sc = sc.unwrap_or(f32::NAN);
    let mut radius = cap.to_bits();
    let mut binding = c;
    let mut visit = |j: usize, sj: f32, idx: usize| -> Result<(), Radius> {
        finite.add(sj);
        let m = sc - sj;
        if !(m > 0.0) {
            return Err((0.0, j, Some(Rejection::Tie)));
        }
        // m = fl(s_c − s_j) ≥ true margin·(1 − u): `down_rel` gives a lower bound of the true
        // margin, then of the margin minus the error bound, then of the quotient (see `fp`).
        let lhs = down_rel(down_rel(m) - err);
        if !(lhs > TINY) {
            return Err(margin_failure(j));
        }
        let k = pairs.get(idx).copied().unwrap_or(f32::INFINITY);
        let r = down_rel(lhs / k).to_bits();
        if r < radius {
            radius = r;
            binding = j;
        }
        Ok(())
    };
    // pair_index(classes, 0, c) for c > 0; for c = 0 it wraps and is first used after `+ 1`.
    let mut idx = c.wrapping_sub(1);
    let mut step = classes.wrapping_sub(2);
    for (j, &sj) in logits.iter().enumerate() {
        if j != c {
            if let Err(r) = visit(j, sj, idx) {
                return all_finite(logits).then_some(r);
            }
        }
        // Past class c (skipped with its virtual index, one before row c) the pairs (c, j)
        // are contiguous.
        idx = idx.wrapping_add(if j < c { step } else { 1 });
        step = step.wrapping_sub(1);
    }
    if !finite.ok() {
        return None;
    }
    let radius = f32::from_bits(radius);
    if !(radius > TINY) {
        return Some(margin_failure(binding));
    }
    Some((radius, binding, None))
}

/// Whether every value is finite (for the rare early ends of [`margin_radius`]).
#[cold]
#[inline(never)]
fn all_finite(v: &[f32]) -> bool {
    v.iter().all(|x| x.is_finite())
}

/// A refusal because the margin against class `j` is too small.
fn margin_failure(j: usize) -> Radius {
    (0.0, j, Some(Rejection::Margin { against: j as u16 }))
}

/// Certifies the prediction of `outcome` against input perturbations in `norm`, following
/// docs/method.md §8.7: the float error of the margin at x and over the ball is subtracted before
/// dividing by the per-class-pair Lipschitz constant. The internal radii are left empty; ask for
/// them with [`certify_with_internal`].
///
/// Costs one pass over the classes after [`crate::infer()`].
///
/// ```
/// # use lifted_core::{certify, infer, Norm, ModelView, Workspace};
/// # fn demo(model: &ModelView<'_>, x: &[f32], buf: &mut [f32]) -> Result<(), lifted_core::Error> {
/// let mut ws = Workspace::new(buf);
/// let outcome = infer(model, x, &mut ws)?;
/// let cert = certify(model, &outcome, Norm::L2);
/// if cert.certifies(0.3) {
///     // every x′ with ‖x′ − x‖₂ ≤ 0.3 gets `cert.class` from `infer`
/// }
/// # Ok(()) }
/// ```
pub fn certify(model: &ModelView<'_>, outcome: &Outcome<'_>, norm: Norm) -> Certificate {
    let spec = &model.header().cert;
    if HAS_FPU && spec.valid && outcome.logits.len() == model.classes() {
        return certify_input(model, outcome, norm);
    }
    certify_any(model, outcome, norm, false)
}

/// [`certify`] in [`Norm::L2`] together with the ℓ2 radii for perturbations of the hidden blocks
/// (docs/method.md §8.7; [`Certificate::internal`]), which are computed only when the model
/// deploys the forward pass (empty otherwise). The input certificate is the one [`certify`] gives.
///
/// Costs O(C·L) after [`crate::infer()`]: one pass over the classes for the input certificate and
/// (usually in the same pass) the first internal radius, and one more per further hidden layer.
pub fn certify_with_internal(model: &ModelView<'_>, outcome: &Outcome<'_>) -> Certificate {
    if model.layers() < 2 || !model.is_forward_deployment() {
        // No internal radius to compute.
        return certify(model, outcome, Norm::L2);
    }
    let spec = &model.header().cert;
    if spec.valid && outcome.logits.len() == model.classes() {
        return certify_forward_l2(model, outcome);
    }
    certify_any(model, outcome, Norm::L2, true)
}

/// Whether f32 arithmetic and comparisons are instructions (every target but soft-float Arm, as in
/// [`AllFinite`]). Only then does [`certify_input`] pay: on the M0 and M3 its float comparisons
/// are library calls, which make it slower than [`margin_radius`] (whose radii are compared as
/// integers) and 770 bytes larger. Both give the same certificate.
const HAS_FPU: bool = cfg!(not(all(target_arch = "arm", not(target_abi = "eabihf"))));

/// E(x) + E_ball for the input certificate. The tracked bounds are ℓ2 norms of the logits' error
/// vector e, and a margin's error is |e_i − e_j| ≤ √2·‖e‖₂ (since (a − b)² ≤ 2(a² + b²)), at x and
/// at any x′ of the ball: E = √2(ξ_L + ξᵇ_L), with √2 rounded up.
fn input_error(model: &ModelView<'_>, outcome: &Outcome<'_>) -> f32 {
    let l = model.layers();
    let t = &outcome.track;
    let xi = t.xi.get(l).copied().unwrap_or(f32::INFINITY);
    let xb = t.xi_ball.get(l).copied().unwrap_or(f32::INFINITY);
    seal(SQRT2_UP * (xi + xb))
}

/// The smallest f32 above √2 (√2 rounds down to 0x3fb504f3 in f32).
const SQRT2_UP: f32 = f32::from_bits(0x3fb5_04f4);

/// [`certify`] (or with `internal`, [`certify_with_internal`]) by the reference rule,
/// [`margin_radius`], for every case.
#[inline(never)]
fn certify_any(
    model: &ModelView<'_>,
    outcome: &Outcome<'_>,
    norm: Norm,
    internal_radii: bool,
) -> Certificate {
    let spec = &model.header().cert;
    let l = model.layers();
    let logits = outcome.logits;
    let mut internal = Vec::new();
    let mut float_error = f32::INFINITY;
    let (radius, binding, rejection) = if !spec.valid {
        (0.0, outcome.runner_up, Some(Rejection::ConstantsInvalid))
    } else if logits.len() != model.classes() {
        (0.0, outcome.runner_up, Some(Rejection::NonFinite))
    } else {
        let err = input_error(model, outcome);
        let c = outcome.class;
        let first = match norm {
            Norm::L2 => margin_radius(logits, c, model.pairs_l2(), err, spec.eps_l2_max),
            Norm::Linf => margin_radius(logits, c, model.pairs_inf(), err, spec.eps_inf_max),
        };
        // Internal radii only on request, with ℓ2, on a forward deployment; a non-finite logit
        // (`None`) leaves them empty.
        if internal_radii && first.is_some() && norm == Norm::L2 && model.is_forward_deployment() {
            for k in 1..l {
                let _ = internal.push(internal_radius(model, outcome, k));
            }
        }
        match first {
            Some(r) => {
                float_error = err;
                r
            }
            None => (0.0, outcome.runner_up, Some(Rejection::NonFinite)),
        }
    };
    Certificate {
        class: outcome.class as u16,
        margin: outcome.margin,
        norm,
        radius,
        binding: binding as u16,
        float_error,
        rejection,
        internal,
    }
}

/// The internal radius for hidden block k (0 where refused), by [`margin_radius`].
#[inline(never)]
fn internal_radius(model: &ModelView<'_>, outcome: &Outcome<'_>, k: usize) -> f32 {
    let cap = model.header().cert.eps_internal_max;
    let err = internal_error(model, outcome, k);
    match margin_radius(
        outcome.logits,
        outcome.class,
        model.pairs_internal(k),
        err,
        cap,
    ) {
        Some((r, _, None)) => r,
        _ => 0.0,
    }
}

/// [`certify_with_internal`] on a forward deployment with valid constants, L ≥ 2 and C logits: the input
/// certificate and the first internal radius from one pass over the classes ([`radii_two`]), the
/// further internal radii from [`margin_radius`]; what that pass does not decide goes to
/// [`certify_any`].
#[inline(never)]
fn certify_forward_l2(model: &ModelView<'_>, outcome: &Outcome<'_>) -> Certificate {
    match radii_two(model, outcome) {
        Some((radius, binding, r1, err)) => {
            let mut internal = Vec::new();
            let _ = internal.push(r1);
            for k in 2..model.layers() {
                let _ = internal.push(internal_radius(model, outcome, k));
            }
            Certificate {
                class: outcome.class as u16,
                margin: outcome.margin,
                norm: Norm::L2,
                radius,
                binding: binding as u16,
                float_error: err,
                rejection: None,
                internal,
            }
        }
        None => certify_any(model, outcome, Norm::L2, true),
    }
}

/// [`certify`] with valid constants and C logits (no internal radius): the input certificate from
/// [`column_pass`] with one column; what that pass does not decide goes to [`certify_any`].
#[inline(never)]
fn certify_input(model: &ModelView<'_>, outcome: &Outcome<'_>, norm: Norm) -> Certificate {
    match radius_one(model, outcome, norm) {
        Some((radius, binding, err)) => Certificate {
            class: outcome.class as u16,
            margin: outcome.margin,
            norm,
            radius,
            binding: binding as u16,
            float_error: err,
            rejection: None,
            internal: Vec::new(),
        },
        None => certify_any(model, outcome, norm, false),
    }
}

/// [`margin_radius`] for the input column alone, in the common case (every logit finite, every
/// margin above the error bound, the radius above [`TINY`]): (radius, binding class, error bound),
/// exactly what [`certify_any`] gives then; `None` in every other case. The shortcuts are those of
/// [`radii_two`] for its input column.
#[inline(always)]
fn radius_one(
    model: &ModelView<'_>,
    outcome: &Outcome<'_>,
    norm: Norm,
) -> Option<(f32, usize, f32)> {
    let e0 = input_error(model, outcome);
    let spec = &model.header().cert;
    let logits = outcome.logits;
    let c = outcome.class;
    let sc = *logits.get(c)?;
    if !(e0 >= 0.0) {
        return None;
    }
    let (pairs, cap0) = match norm {
        Norm::L2 => (model.pairs_l2(), spec.eps_l2_max),
        Norm::Linf => (model.pairs_inf(), spec.eps_inf_max),
    };
    let cols = Columns {
        sc,
        errs: (e0, e0),
        pairs: (pairs, pairs),
        cap0,
    };
    let (radius, binding, _) = column_pass::<true, false>(logits, c, &cols)?;
    if !(radius > TINY) {
        return None;
    }
    Some((radius, binding, e0))
}

/// [`margin_radius`] for two columns at once, the ℓ2 input certificate (with its binding class)
/// and the first internal radius, in the common case: every logit finite, every margin above
/// both error bounds, both radii above [`TINY`]. Returns (input radius, binding class, internal
/// radius, input error bound), which are then exactly what [`margin_radius`] and
/// [`certify_any`] give; `None` in every other case.
///
/// It runs the operations of [`margin_radius`] on the same values, with the same incremental
/// pair index (classes below c, then above), and four more shortcuts:
/// - One margin test for both columns: `down_rel(dm − e)` is nonincreasing in e (both roundings
///   are monotone), so lhs > [`TINY`] for the column with the larger bound implies it for the
///   other.
/// - With E ≥ 0 in both columns, m_cj ≤ 0 (or NaN) gives lhs ≤ 0 (or NaN), so the margin test
///   also rejects ties. (A negative or NaN E, only possible from a hand-made `Track`, takes the
///   slow path.)
/// - The internal column needs no binding class: it keeps the least quotient q_j and applies
///   `down_rel` once at the end, min(cap, down_rel(min_j q_j)) = min(cap, min_j down_rel(q_j))
///   because `down_rel` is nondecreasing.
/// - Radii are compared as floats: a constant k = −0 gives a quotient −∞, which ends as a
///   radius ≤ [`TINY`] and takes the slow path; k = +0 gives +∞, which never lowers a radius
///   (they start at their finite caps), as the radius +∞ of [`margin_radius`].
#[inline(always)]
fn radii_two(model: &ModelView<'_>, outcome: &Outcome<'_>) -> Option<(f32, usize, f32, f32)> {
    let e0 = input_error(model, outcome);
    let spec = &model.header().cert;
    let logits = outcome.logits;
    let c = outcome.class;
    let sc = *logits.get(c)?;
    if !(e0 >= 0.0) {
        return None;
    }
    let e1 = last_internal_error(model, outcome, 1);
    if !(e1 >= 0.0) {
        return None;
    }
    let (p0, p1) = (model.pairs_l2(), model.pairs_internal(1));
    // One bound for both tables (a checked model's are equally long).
    let n = p0.len().min(p1.len());
    let (p0, p1) = (p0.get(..n)?, p1.get(..n)?);
    let cols = Columns {
        sc,
        errs: (e0, e1),
        pairs: (p0, p1),
        cap0: spec.eps_l2_max,
    };
    // The margin test of the column with the larger error bound implies the other's.
    let (radius, binding, least) = if e0 >= e1 {
        column_pass::<true, true>(logits, c, &cols)?
    } else {
        column_pass::<false, true>(logits, c, &cols)?
    };
    let cap1 = spec.eps_internal_max;
    let r1 = down_rel(least);
    let r1 = if r1 < cap1 { r1 } else { cap1 };
    if !(radius > TINY) || !(r1 > TINY) {
        return None;
    }
    Some((radius, binding, r1, e0))
}

/// What [`column_pass`] needs besides the logits: s_c, the error bounds and pair tables of
/// the input and the internal column (equally long), and the input radius cap.
struct Columns<'a> {
    sc: f32,
    errs: (f32, f32),
    pairs: (&'a [f32], &'a [f32]),
    cap0: f32,
}

/// The loop of [`radii_two`] and [`radius_one`]: (input radius, binding class, least internal
/// quotient), or `None` where the slow path decides. `CHECK_INPUT`: the input column has the
/// larger error bound (≥), so its margin test covers both columns; otherwise the internal
/// column's does. Without `TWO` only the input column is computed (the least quotient is then
/// +∞).
// Index loops over the logits: they compile to fewer instructions here than the iterator forms
// (`j < c < C` is known from `logits.get(c)`, so the indexing has no bounds check).
#[allow(clippy::needless_range_loop)]
#[inline(always)]
fn column_pass<const CHECK_INPUT: bool, const TWO: bool>(
    logits: &[f32],
    c: usize,
    cols: &Columns<'_>,
) -> Option<(f32, usize, f32)> {
    let classes = logits.len();
    let Columns {
        sc,
        errs: (e0, e1),
        pairs: (p0, p1),
        cap0,
    } = *cols;
    let mut radius = cap0;
    let mut binding = c;
    let mut least = f32::INFINITY;
    let mut finite = AllFinite::new();
    finite.add(sc);
    let mut visit = |j: usize, sj: f32, idx: usize| -> Option<()> {
        finite.add(sj);
        let dm = down_rel(sc - sj);
        let lhs0 = down_rel(dm - e0);
        let lhs = if CHECK_INPUT || !TWO {
            lhs0
        } else {
            down_rel(dm - e1)
        };
        let (true, Some(&k0)) = (lhs > TINY, p0.get(idx)) else {
            return None;
        };
        let r = down_rel(lhs0 / k0);
        if r < radius {
            radius = r;
            binding = j;
        }
        if TWO {
            let lhs1 = down_rel(dm - e1);
            let q = lhs1 / *p1.get(idx)?;
            if q < least {
                least = q;
            }
        }
        Some(())
    };
    // pair_index(classes, 0, c) for c > 0; for c = 0 it wraps and is first used after `+ 1`.
    let mut idx = c.wrapping_sub(1);
    let mut step = classes.wrapping_sub(2);
    for j in 0..c {
        visit(j, logits[j], idx)?;
        idx = idx.wrapping_add(step);
        step = step.wrapping_sub(1);
    }
    for j in c + 1..classes {
        idx = idx.wrapping_add(1);
        visit(j, logits[j], idx)?;
    }
    if !finite.ok() {
        return None;
    }
    Some((radius, binding, least))
}

/// E for a perturbation of hidden block k: twice the float error of the downstream forward pass
/// from ẑ_k, at ẑ_k and over the ℓ2 ball of radius `eps_internal_max` around it.
#[inline(never)]
fn internal_error(model: &ModelView<'_>, outcome: &Outcome<'_>, k: usize) -> f32 {
    let t = &outcome.track;
    let layers: &[LayerSpec] = &model.header().layers;
    let mut xi = 0.0f32;
    let mut xb = 0.0f32;
    let mut reach = model.header().cert.eps_internal_max;
    for j in k + 1..=layers.len() {
        let (Some(below), Some(spec), Some(&z)) =
            (layers.get(j - 2), layers.get(j - 1), t.mag.get(j - 1))
        else {
            return f32::INFINITY;
        };
        let b = spec.bounds;
        let n_in = below.width as usize;
        // add_up(add_up(add_up(z, reach), ξᵇ), ξ), as a loop (one copy of the rounding).
        let mut zb = z;
        for a in [reach, xb, xi] {
            keep_rolled();
            zb = add_up(zb, a);
        }
        let g = gamma(n_in + 1);
        let under = (n_in + 1) as f32 * NU;
        xi = seal(b.w_inf * xi + g * (b.w_inf * z + b.b_inf) + under);
        xb = seal(b.w_inf * xb + g * (b.w_inf * zb + b.b_inf) + under);
        reach = mul_up(reach, b.w_l2);
    }
    seal(2.0 * xi + 2.0 * xb)
}

/// [`internal_error`] for the last hidden block, k = L − 1 (a single downstream layer): the same
/// values with ξ = ξᵇ = +0 folded in. There `w·(+0)` is ±0 (w is finite) and adding ±0 to a sum
/// that then gets `under` > 0 added changes nothing, and `add_up(a, +0)` is `next_up(a)` (also
/// for a = −0).
#[inline(always)]
fn last_internal_error(model: &ModelView<'_>, outcome: &Outcome<'_>, k: usize) -> f32 {
    let layers: &[LayerSpec] = &model.header().layers;
    let (Some(below), Some(spec), Some(&z), true) = (
        layers.get(k.wrapping_sub(1)),
        layers.get(k),
        outcome.track.mag.get(k),
        k + 1 == layers.len(),
    ) else {
        return internal_error(model, outcome, k);
    };
    let b = spec.bounds;
    let n_in = below.width as usize;
    let reach = model.header().cert.eps_internal_max;
    let zb = next_up(next_up(add_up(z, reach)));
    let g = gamma(n_in + 1);
    let under = (n_in + 1) as f32 * NU;
    let xi = seal(g * (b.w_inf * z + b.b_inf) + under);
    let xb = seal(g * (b.w_inf * zb + b.b_inf) + under);
    seal(2.0 * xi + 2.0 * xb)
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]
mod tests {
    extern crate std;
    use super::*;
    use crate::bounds::{compute, layer_norms, monotone_step, Limits};
    use crate::config::{Activation, Family, Init, Schedule};
    use crate::format::pair_index;
    use crate::fp::{add_up, gamma, mul_up};
    use crate::infer::{infer, Workspace};
    use crate::write::{LayerParams, ModelParams};
    use std::format;
    use std::string::String;
    use std::vec;
    use std::vec::Vec as StdVec;

    /// The rule of docs/method.md §8.7 written plainly, one column at a time with `pair_index` (the form
    /// `certify` had before its single-pass loops); `certify` (`internal_radii` false) and
    /// `certify_with_internal` (ℓ2, `internal_radii` true) must give the same bits.
    fn reference(
        model: &ModelView<'_>,
        outcome: &Outcome<'_>,
        norm: Norm,
        internal_radii: bool,
    ) -> Certificate {
        fn radius(
            logits: &[f32],
            c: usize,
            pairs: &[f32],
            err: f32,
            cap: f32,
        ) -> (f32, usize, Option<Rejection>) {
            let classes = logits.len();
            let sc = logits.get(c).copied().unwrap_or(f32::NAN);
            let (mut radius, mut binding) = (cap, c);
            for (j, &sj) in logits.iter().enumerate() {
                if j == c {
                    continue;
                }
                let m = sc - sj;
                if !(m > 0.0) {
                    return (0.0, j, Some(Rejection::Tie));
                }
                let lhs = down_rel(down_rel(m) - err);
                if !(lhs > TINY) {
                    return (0.0, j, Some(Rejection::Margin { against: j as u16 }));
                }
                let k = pairs
                    .get(pair_index(classes, c, j))
                    .copied()
                    .unwrap_or(f32::INFINITY);
                let r = if k > 0.0 {
                    down_rel(lhs / k)
                } else {
                    f32::INFINITY
                };
                if r < radius {
                    radius = r;
                    binding = j;
                }
            }
            if !(radius > TINY) {
                return (
                    0.0,
                    binding,
                    Some(Rejection::Margin {
                        against: binding as u16,
                    }),
                );
            }
            (radius, binding, None)
        }
        fn internal_err(model: &ModelView<'_>, outcome: &Outcome<'_>, k: usize) -> f32 {
            let t = &outcome.track;
            let (mut xi, mut xb) = (0.0f32, 0.0f32);
            let mut reach = model.header().cert.eps_internal_max;
            for j in k + 1..=model.layers() {
                let b = model.layer(j).unwrap().bounds;
                let n_in = model.width(j - 1);
                let z = t.mag[j - 1];
                let zb = add_up(add_up(add_up(z, reach), xb), xi);
                let g = gamma(n_in + 1);
                let under = (n_in + 1) as f32 * NU;
                xi = seal(b.w_inf * xi + g * (b.w_inf * z + b.b_inf) + under);
                xb = seal(b.w_inf * xb + g * (b.w_inf * zb + b.b_inf) + under);
                reach = mul_up(reach, b.w_l2);
            }
            seal(2.0 * xi + 2.0 * xb)
        }
        let spec = &model.header().cert;
        let l = model.layers();
        let mut cert = Certificate {
            class: outcome.class as u16,
            margin: outcome.margin,
            norm,
            radius: 0.0,
            binding: outcome.runner_up as u16,
            float_error: f32::INFINITY,
            rejection: None,
            internal: Vec::new(),
        };
        let logits = outcome.logits;
        if !spec.valid {
            cert.rejection = Some(Rejection::ConstantsInvalid);
            return cert;
        }
        if logits.len() != model.classes() || !logits.iter().all(|v| v.is_finite()) {
            cert.rejection = Some(Rejection::NonFinite);
            return cert;
        }
        let err = seal(super::SQRT2_UP * (outcome.track.xi[l] + outcome.track.xi_ball[l]));
        cert.float_error = err;
        let (pairs, cap) = match norm {
            Norm::L2 => (model.pairs_l2(), spec.eps_l2_max),
            Norm::Linf => (model.pairs_inf(), spec.eps_inf_max),
        };
        let (r, binding, rej) = radius(logits, outcome.class, pairs, err, cap);
        (cert.radius, cert.binding, cert.rejection) = (r, binding as u16, rej);
        if internal_radii && norm == Norm::L2 && model.is_forward_deployment() {
            for k in 1..l {
                let e = internal_err(model, outcome, k);
                let pairs = model.pairs_internal(k);
                let (r, _, rej) = radius(logits, outcome.class, pairs, e, spec.eps_internal_max);
                let _ = cert.internal.push(if rej.is_some() { 0.0 } else { r });
            }
        }
        cert
    }

    fn bits(c: &Certificate) -> String {
        let internal: StdVec<u32> = c.internal.iter().map(|v| v.to_bits()).collect();
        format!(
            "{} {:08x} {:?} {:08x} {} {:08x} {:?} {:x?}",
            c.class,
            c.margin.to_bits(),
            c.norm,
            c.radius.to_bits(),
            c.binding,
            c.float_error.to_bits(),
            c.rejection,
            internal
        )
    }

    /// xorshift64.
    struct Rng(u64);

    impl Rng {
        fn next(&mut self) -> u64 {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            self.0
        }
        fn below(&mut self, n: usize) -> usize {
            (self.next() % n as u64) as usize
        }
        fn unit(&mut self) -> f32 {
            (self.next() >> 40) as f32 / (1u64 << 24) as f32
        }
        fn normal(&mut self) -> f32 {
            (0..4).map(|_| self.unit()).sum::<f32>() * 1.7 - 3.4
        }
        fn odd(&mut self) -> f32 {
            const ODD: [f32; 10] = [
                0.0,
                -0.0,
                f32::INFINITY,
                f32::NEG_INFINITY,
                f32::NAN,
                1e-45,
                3e38,
                -3e38,
                1.0,
                -1.0,
            ];
            if self.below(2) == 0 {
                ODD[self.below(ODD.len())]
            } else {
                f32::from_bits(self.next() as u32)
            }
        }
    }

    fn model(rng: &mut Rng) -> ModelParams {
        let l = 1 + rng.below(4);
        let input_dim = 1 + rng.below(9);
        let family = [Family::FenchelYoung, Family::Hopfield][rng.below(2)];
        let scale = [0.05, 0.5, 1.0, 2.0][rng.below(4)];
        let mut fan_in = input_dim;
        let mut layers = StdVec::new();
        for k in 0..l {
            let last = k + 1 == l;
            let w = if last {
                2 + rng.below(10)
            } else {
                1 + rng.below(9)
            };
            let s = scale / (fan_in as f32).sqrt() * if k >= 1 { 0.3 } else { 1.0 };
            layers.push(LayerParams {
                weights: (0..w * fan_in).map(|_| rng.normal() * s).collect(),
                bias: (0..w).map(|_| rng.normal() * 0.1).collect(),
                activation: if last {
                    Activation::Identity
                } else {
                    [Activation::Relu, Activation::ClippedRelu { bound: 1.5 }][rng.below(2)]
                },
                gamma: 1.0,
                rho: if last { 0.0 } else { 1.0 },
                step: 1.0,
            });
            fan_in = w;
        }
        let mut m = ModelParams {
            input_dim,
            input_range: (0.0, 1.0),
            family,
            init: [Init::Forward, Init::Zero][rng.below(2)],
            schedule: Schedule::BwdFwd,
            sweeps: rng.below(3) as u16,
            layers,
            class_names: vec![],
            metadata: String::new(),
        };
        let norms = layer_norms(&m, 10);
        for k in 0..l - 1 {
            m.layers[k].step = monotone_step(1.0, norms[k + 1].l2);
        }
        m
    }

    #[test]
    fn certificates_match_the_plain_rule_bit_for_bit() {
        let mut rng = Rng(0x2545_f491_4f6c_dd1d);
        let (mut accepted, mut with_internal) = (0, 0);
        for _ in 0..400 {
            let p = model(&mut rng);
            let limits = Limits {
                eps_l2_max: [0.01, 0.1, 0.5][rng.below(3)],
                eps_inf_max: [0.001, 0.01][rng.below(2)],
                eps_internal_max: [0.01, 0.25][rng.below(2)],
                gram_steps: 10,
            };
            let mut c = compute(&p, &limits);
            if rng.below(3) == 0 {
                // Valid but odd constants: zeros of both signs, tiny and huge values.
                let tables = c
                    .pairs_internal
                    .iter_mut()
                    .chain([&mut c.pairs_l2, &mut c.pairs_inf]);
                for t in tables {
                    for v in t.iter_mut() {
                        if rng.below(3) == 0 {
                            *v = [0.0, -0.0, 1e-45, 1e-30, 3e38][rng.below(5)];
                        }
                    }
                }
            }
            let blob = p.to_blob(&c).unwrap();
            let m = ModelView::new_checked(blob.as_bytes()).unwrap();
            let mut buf = vec![0.0f32; Workspace::required(&m)];
            for _ in 0..4 {
                let x: StdVec<f32> = (0..m.input_dim()).map(|_| rng.unit()).collect();
                let mut ws = Workspace::new(&mut buf);
                let Ok(o) = infer(&m, &x, &mut ws) else {
                    continue;
                };
                for _ in 0..6 {
                    let mut t = o;
                    let mut logits: StdVec<f32> = o.logits.into();
                    match rng.below(8) {
                        0 => {
                            let i = rng.below(logits.len());
                            logits[i] = rng.odd();
                        }
                        1 => {
                            let i = rng.below(logits.len());
                            logits[i] = logits[o.class];
                        }
                        2 => t.class = rng.below(logits.len() + 2),
                        3 => {
                            let j = rng.below(crate::MAX_LAYERS + 1);
                            let v = rng.odd();
                            [&mut t.track.mag, &mut t.track.xi, &mut t.track.xi_ball]
                                [rng.below(3)][j] = v;
                        }
                        4 => logits.truncate(logits.len() - 1),
                        _ => {}
                    }
                    t.logits = &logits;
                    for norm in [Norm::L2, Norm::Linf] {
                        let got = certify(&m, &t, norm);
                        accepted += usize::from(got.rejection.is_none());
                        assert!(got.internal.is_empty());
                        assert_eq!(bits(&got), bits(&reference(&m, &t, norm, false)));
                    }
                    let got = certify_with_internal(&m, &t);
                    let want = reference(&m, &t, Norm::L2, true);
                    assert_eq!(bits(&got), bits(&want));
                    with_internal += usize::from(!got.internal.is_empty());
                }
            }
        }
        assert!(accepted > 100, "only {accepted} certificates accepted");
        assert!(
            with_internal > 100,
            "internal radii only {with_internal} times"
        );
    }

    #[test]
    fn pair_walks_follow_pair_index() {
        for classes in 2usize..14 {
            for c in 0..classes {
                // `margin_radius`: one loop over all classes.
                let mut idx = c.wrapping_sub(1);
                let mut step = classes.wrapping_sub(2);
                for j in 0..classes {
                    if j != c {
                        assert_eq!(idx, pair_index(classes, c, j));
                    }
                    idx = idx.wrapping_add(if j < c { step } else { 1 });
                    step = step.wrapping_sub(1);
                }
                // `column_pass`: classes below c, then above.
                let mut idx = c.wrapping_sub(1);
                let mut step = classes.wrapping_sub(2);
                for j in 0..c {
                    assert_eq!(idx, pair_index(classes, c, j));
                    idx = idx.wrapping_add(step);
                    step = step.wrapping_sub(1);
                }
                for j in c + 1..classes {
                    idx = idx.wrapping_add(1);
                    assert_eq!(idx, pair_index(classes, c, j));
                }
            }
        }
    }
}
