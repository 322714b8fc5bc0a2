//! The inference configuration stored in a model: potential family, activations, init and schedule.
//!
//! These enums are part of the model format (postcard encodes them by variant index), so variants
//! are only ever appended.

use serde::{Deserialize, Serialize};

/// Largest number of weight layers `L` a model may have.
pub const MAX_LAYERS: usize = 8;

/// Largest number of sweeps `K` a model may ask for.
pub const MAX_SWEEPS: u16 = 256;

/// The network potential whose minimiser the inference computes (docs/method.md §3).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum Family {
    /// Family A, Fenchel–Young / LPOM divergence: the free state is the forward pass.
    FenchelYoung,
    /// Family B, layered Hopfield energy with top-down feedback.
    Hopfield,
}

/// Activation of one layer, as the projection onto its constraint set (docs/method.md §2).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum Activation {
    /// `a ↦ a`; required for the output layer.
    Identity,
    /// `a ↦ max(a, 0)`.
    Relu,
    /// `a ↦ min(max(a, 0), bound)` with a finite `bound > 0`.
    ClippedRelu {
        /// Upper clip value `h`.
        bound: f32,
    },
}

/// How the state is initialised before the sweeps (docs/method.md §4.4).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum Init {
    /// Every block starts at the feed-forward pass.
    Forward,
    /// Every block starts at zero.
    Zero,
}

/// Order of the block updates inside the sweeps (docs/method.md §4.4).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum Schedule {
    /// Hidden blocks backward (L−1 … 1), then forward (2 … L−1), then the output block.
    BwdFwd,
    /// As [`Schedule::BwdFwd`], plus one extra top-down pass (L−1 … 1, then the output) at the end.
    BwdFwdTopDown,
}

impl Activation {
    /// Applies the activation to one value. NaN stays NaN; `-0.0` maps to `+0.0` for the ReLUs.
    #[inline(always)]
    pub fn apply(self, v: f32) -> f32 {
        match self {
            Activation::Identity => v,
            // `!(v <= 0)` keeps NaN visible and sends -0.0 to +0.0, which keeps the forward pass an
            // exact fixed point of the family-A sweep (see `sweep`).
            Activation::Relu => {
                if !(v <= 0.0) {
                    v
                } else {
                    0.0
                }
            }
            Activation::ClippedRelu { bound } => {
                if !(v <= 0.0) {
                    if v > bound {
                        bound
                    } else {
                        v
                    }
                } else {
                    0.0
                }
            }
        }
    }
}
