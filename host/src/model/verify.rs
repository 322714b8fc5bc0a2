//! Checking a blob's certificate constants against the weights it carries.
//!
//! The firmware trusts a blob whose CRC matches: the CRC protects against damage, not against a
//! blob written by something other than `lifted export` (or edited and resealed). The host does
//! not have to trust it: [`verify_constants`] recomputes every stored constant from the weights
//! with `lifted_core::bounds` and reports each one that is smaller than what the core can prove.
//!
//! The Gram-iteration step count the exporter used is not stored, and different counts give
//! slightly different sound bounds. A stored constant is accepted when it is at least the
//! *smallest* of the bounds computed for every count `lifted export` accepts (1 … 30): that
//! minimum is itself a sound upper bound, so an accepted constant is sound, and no blob written
//! by `lifted export` is refused.

use std::fmt;

use anyhow::{bail, Result};
use lifted_core::bounds::{compute, Limits};
use lifted_core::write::{Constants, ModelParams};
use lifted_core::ModelView;
use serde::Serialize;

/// Gram-iteration step counts `lifted export --gram-steps` accepts.
pub const GRAM_STEPS: std::ops::RangeInclusive<u32> = 1..=30;

/// One stored constant below the smallest sound bound recomputed from the weights.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Understated {
    /// Which constant, e.g. `layer 2 ‖W‖₂` or `ℓ2 pair (0, 3)`.
    pub what: String,
    /// The value stored in the blob.
    pub stored: f32,
    /// The smallest sound bound recomputed from the weights.
    pub recomputed: f32,
}

/// The result of [`verify_constants`].
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Verification {
    /// Whether the blob marks its constants valid (a blob marked invalid never certifies and
    /// needs no check).
    pub constants_valid: bool,
    /// How many stored constants were compared.
    pub checked: usize,
    /// The constants that understate the recomputed bound (empty when the blob is sound).
    pub understated: Vec<Understated>,
}

impl Verification {
    /// Whether every stored constant is at least a sound bound.
    #[must_use]
    pub fn ok(&self) -> bool {
        self.understated.is_empty()
    }

    /// Fails with a message listing the first understated constants.
    ///
    /// # Errors
    /// Some stored constant is below the recomputed sound bound.
    pub fn require(&self, path: &str) -> Result<()> {
        if self.ok() {
            return Ok(());
        }
        let list: Vec<String> = self
            .understated
            .iter()
            .take(5)
            .map(|u| {
                format!(
                    "{}: stored {:e} < sound bound {:e}",
                    u.what, u.stored, u.recomputed
                )
            })
            .collect();
        bail!(
            "{path}: {} of {} certificate constants understate what the weights allow ({}{}) — \
             certificates from this blob could be wrong; re-export it from its parameters with \
             `lifted export` (never edit a blob's constants)",
            self.understated.len(),
            self.checked,
            list.join("; "),
            if self.understated.len() > 5 {
                "; …"
            } else {
                ""
            }
        )
    }
}

impl fmt::Display for Verification {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if !self.constants_valid {
            return writeln!(
                f,
                "constants    marked invalid: the model never certifies (nothing to verify)"
            );
        }
        if self.ok() {
            return writeln!(
                f,
                "constants    verified: all {} are ≥ the sound bounds recomputed from the weights",
                self.checked
            );
        }
        writeln!(
            f,
            "constants    UNDERSTATED: {} of {} below the sound bounds recomputed from the weights",
            self.understated.len(),
            self.checked
        )?;
        for u in &self.understated {
            writeln!(
                f,
                "  {:<28} stored {:e} < {:e}",
                u.what, u.stored, u.recomputed
            )?;
        }
        Ok(())
    }
}

/// Element-wise minimum of two constant sets of the same model.
fn min_into(acc: &mut Constants, c: &Constants) {
    let mins = |a: &mut [f32], b: &[f32]| {
        for (x, &y) in a.iter_mut().zip(b) {
            // NaN never replaces a number (a NaN bound proves nothing).
            if y < *x || x.is_nan() {
                *x = y;
            }
        }
    };
    for (a, b) in acc.layers.iter_mut().zip(&c.layers) {
        let mut va = [a.w_l2, a.w_inf, a.w_one, a.b_inf, a.lip_l2, a.lip_inf];
        mins(
            &mut va,
            &[b.w_l2, b.w_inf, b.w_one, b.b_inf, b.lip_l2, b.lip_inf],
        );
        [a.w_l2, a.w_inf, a.w_one, a.b_inf, a.lip_l2, a.lip_inf] = va;
        mins(&mut a.hidden_l2, &b.hidden_l2);
    }
    mins(&mut acc.pairs_l2, &c.pairs_l2);
    mins(&mut acc.pairs_inf, &c.pairs_inf);
    for (a, b) in acc.pairs_internal.iter_mut().zip(&c.pairs_internal) {
        mins(a, b);
    }
    acc.cert.valid |= c.cert.valid;
    if c.cert.contraction < acc.cert.contraction || acc.cert.contraction.is_nan() {
        acc.cert.contraction = c.cert.contraction;
    }
}

/// Pair (i, j), i < j, of the upper-triangle index `p` among `classes`.
fn pair_of(classes: usize, p: usize) -> (usize, usize) {
    let mut idx = p;
    for i in 0..classes {
        let row = classes - i - 1;
        if idx < row {
            return (i, i + 1 + idx);
        }
        idx -= row;
    }
    (classes, classes)
}

/// Recomputes every certificate constant of `model` from its weights and compares.
#[must_use]
pub fn verify_constants(model: &ModelView<'_>) -> Verification {
    let spec = &model.header().cert;
    if !spec.valid {
        return Verification {
            constants_valid: false,
            checked: 0,
            understated: Vec::new(),
        };
    }
    let params = ModelParams::from_view(model);
    let limits = |gram_steps| Limits {
        eps_l2_max: spec.eps_l2_max,
        eps_inf_max: spec.eps_inf_max,
        eps_internal_max: spec.eps_internal_max,
        gram_steps,
    };
    let mut best = compute(&params, &limits(*GRAM_STEPS.start()));
    for g in GRAM_STEPS.skip(1) {
        min_into(&mut best, &compute(&params, &limits(g)));
    }
    let mut understated = Vec::new();
    let mut checked = 0;
    let mut cmp = |what: &dyn Fn() -> String, stored: f32, sound: f32| {
        checked += 1;
        // A stored constant must be ≥ a sound bound; a non-finite sound bound means the
        // weights admit no finite constant, so a valid blob cannot be right.
        let sound_enough = stored >= sound && sound.is_finite();
        if !sound_enough {
            understated.push(Understated {
                what: what(),
                stored,
                recomputed: sound,
            });
        }
    };
    for k in 1..=model.layers() {
        let (Some(spec), Some(sound)) = (model.layer(k), best.layers.get(k - 1)) else {
            continue;
        };
        let s = spec.bounds;
        for (name, a, b) in [
            ("‖W‖₂", s.w_l2, sound.w_l2),
            ("‖W‖∞", s.w_inf, sound.w_inf),
            ("‖W‖₁", s.w_one, sound.w_one),
            ("‖b‖∞", s.b_inf, sound.b_inf),
            ("ℓ2 Lipschitz of z_k", s.lip_l2, sound.lip_l2),
            ("ℓ∞ Lipschitz of z_k", s.lip_inf, sound.lip_inf),
            ("ℓ2 hidden-update c⁻", s.hidden_l2[0], sound.hidden_l2[0]),
            ("ℓ2 hidden-update c⁰", s.hidden_l2[1], sound.hidden_l2[1]),
            ("ℓ2 hidden-update c⁺", s.hidden_l2[2], sound.hidden_l2[2]),
            ("⌈√n_k⌉", s.sqrt_width, sound.sqrt_width),
        ] {
            cmp(&|| format!("layer {k} {name}"), a, b);
        }
    }
    cmp(
        &|| "contraction factor q".to_string(),
        spec.contraction,
        best.cert.contraction,
    );
    let classes = model.classes();
    let tables: Vec<(String, &[f32], &[f32])> = [
        ("ℓ2".to_string(), model.pairs_l2(), &best.pairs_l2[..]),
        ("ℓ∞".to_string(), model.pairs_inf(), &best.pairs_inf[..]),
    ]
    .into_iter()
    .chain((1..model.layers()).map(|k| {
        (
            format!("internal z{k}"),
            model.pairs_internal(k),
            best.pairs_internal.get(k - 1).map_or(&[][..], |t| &t[..]),
        )
    }))
    .collect();
    for (name, stored, sound) in tables {
        for (p, (&a, &b)) in stored.iter().zip(sound).enumerate() {
            let (i, j) = pair_of(classes, p);
            cmp(&|| format!("{name} pair ({i}, {j})"), a, b);
        }
    }
    Verification {
        constants_valid: true,
        checked,
        understated,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use lifted_core::format::pair_index;

    #[test]
    fn pair_of_inverts_pair_index() {
        for classes in 2..12 {
            for i in 0..classes {
                for j in i + 1..classes {
                    assert_eq!(pair_of(classes, pair_index(classes, i, j)), (i, j));
                }
            }
        }
    }
}
