//! The inference configuration stored in a model: potential family, activations, init and schedule.
//!
//! These enums are part of the model format (postcard encodes them by variant index), so variants
//! are only ever appended.
//!
//! Their text names (serde's, [`Display`](core::fmt::Display), [`FromStr`]) are those of
//! docs/method.md §9: `fenchel-young` | `hopfield`, `forward` | `zero`, `bwd-fwd` |
//! `bwd-fwd+topdown`, `identity` | `relu` | `clipped-relu` (`clipped-relu(h)` as text). Serde also
//! reads the Rust variant names (`"FenchelYoung"`, `"Relu"`, …) that early host builds wrote.
//!
//! ```
//! use lifted_core::{Activation, Schedule};
//! assert_eq!("bwd-fwd+topdown".parse(), Ok(Schedule::BwdFwdTopDown));
//! assert_eq!(Activation::ClippedRelu { bound: 6.0 }.to_string(), "clipped-relu(6)");
//! assert_eq!("clipped-relu(6)".parse(), Ok(Activation::ClippedRelu { bound: 6.0 }));
//! ```

use core::fmt;
use core::str::FromStr;

use serde::{Deserialize, Serialize};

/// Largest number of weight layers `L` a model may have.
pub const MAX_LAYERS: usize = 8;

/// Largest number of sweeps `K` a model may ask for.
pub const MAX_SWEEPS: u16 = 256;

/// The network potential whose minimiser the inference computes (docs/method.md §3).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[serde(rename_all = "kebab-case")]
pub enum Family {
    /// Family A, Fenchel–Young / LPOM divergence: the free state is the forward pass.
    #[serde(alias = "FenchelYoung")]
    FenchelYoung,
    /// Family B, layered Hopfield energy with top-down feedback.
    #[serde(alias = "Hopfield")]
    Hopfield,
}

/// Activation of one layer, as the projection onto its constraint set (docs/method.md §2).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[serde(rename_all = "kebab-case")]
pub enum Activation {
    /// `a ↦ a`; required for the output layer.
    #[serde(alias = "Identity")]
    Identity,
    /// `a ↦ max(a, 0)`.
    #[serde(alias = "Relu")]
    Relu,
    /// `a ↦ min(max(a, 0), bound)` with a finite `bound > 0`.
    #[serde(alias = "ClippedRelu")]
    ClippedRelu {
        /// Upper clip value `h`.
        bound: f32,
    },
}

/// How the state is initialised before the sweeps (docs/method.md §4.4).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[serde(rename_all = "kebab-case")]
pub enum Init {
    /// Every block starts at the feed-forward pass.
    #[serde(alias = "Forward")]
    Forward,
    /// Every block starts at zero.
    #[serde(alias = "Zero")]
    Zero,
}

/// Order of the block updates inside the sweeps (docs/method.md §4.4).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum Schedule {
    /// Hidden blocks backward (L−1 … 1), then forward (2 … L−1), then the output block.
    #[serde(rename = "bwd-fwd", alias = "BwdFwd")]
    BwdFwd,
    /// As [`Schedule::BwdFwd`], plus one extra top-down pass (L−1 … 1, then the output) at the end.
    #[serde(rename = "bwd-fwd+topdown", alias = "BwdFwdTopDown")]
    BwdFwdTopDown,
}

/// A text that names none of an enum's variants ([`FromStr`] of the config enums).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UnknownName {
    /// What was expected, e.g. `fenchel-young | hopfield`.
    pub expected: &'static str,
}

impl fmt::Display for UnknownName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "expected one of: {}", self.expected)
    }
}

/// `Display` and `FromStr` for a fieldless enum from one table of names.
macro_rules! names {
    ($ty:ty, $expected:literal, $($variant:path => $name:literal),+ $(,)?) => {
        impl $ty {
            /// The docs/method.md §9 name.
            pub const fn name(self) -> &'static str {
                match self {
                    $($variant => $name),+
                }
            }
        }

        impl fmt::Display for $ty {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.name())
            }
        }

        impl FromStr for $ty {
            type Err = UnknownName;

            fn from_str(s: &str) -> Result<Self, UnknownName> {
                match s {
                    $($name => Ok($variant),)+
                    _ => Err(UnknownName { expected: $expected }),
                }
            }
        }
    };
}

names!(Family, "fenchel-young | hopfield",
    Family::FenchelYoung => "fenchel-young", Family::Hopfield => "hopfield");
names!(Init, "forward | zero", Init::Forward => "forward", Init::Zero => "zero");
names!(Schedule, "bwd-fwd | bwd-fwd+topdown",
    Schedule::BwdFwd => "bwd-fwd", Schedule::BwdFwdTopDown => "bwd-fwd+topdown");

impl fmt::Display for Activation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Activation::Identity => f.write_str("identity"),
            Activation::Relu => f.write_str("relu"),
            Activation::ClippedRelu { bound } => write!(f, "clipped-relu({bound})"),
        }
    }
}

impl FromStr for Activation {
    type Err = UnknownName;

    /// `identity`, `relu` or `clipped-relu(h)` (any finite `h`; the model loader checks `h > 0`).
    fn from_str(s: &str) -> Result<Self, UnknownName> {
        const EXPECTED: &str = "identity | relu | clipped-relu(h)";
        match s {
            "identity" => Ok(Activation::Identity),
            "relu" => Ok(Activation::Relu),
            _ => s
                .strip_prefix("clipped-relu(")
                .and_then(|r| r.strip_suffix(')'))
                .and_then(|h| h.trim().parse::<f32>().ok())
                .filter(|h| h.is_finite())
                .map(|bound| Activation::ClippedRelu { bound })
                .ok_or(UnknownName { expected: EXPECTED }),
        }
    }
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
