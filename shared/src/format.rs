//! Layout of a version-1 model blob (see `docs/model-format.md`).
//!
//! ```text
//! offset  size  field
//! 0       4     magic  b"LIFT"
//! 4       2     format version (u16 LE) = 1
//! 6       2     flags (u16 LE), reserved, must be 0
//! 8       4     header length H (u32 LE)
//! 12      H     header, postcard-encoded [`Header`]
//! 12+H    0..3  zero padding to a multiple of 4
//! …       4·P   tensors, f32 LE: for k in 0..L: W_k (row-major, n_{k+1}×n_k), b_k (n_{k+1});
//!               then the pair tables (see [`TensorLayout`])
//! end−4   4     CRC-32/ISO-HDLC (u32 LE) of every byte before it
//! ```

use heapless::Vec;
use serde::{Deserialize, Serialize};

use crate::config::{Activation, Family, Init, Schedule, MAX_LAYERS};

/// The four magic bytes that open every blob.
pub const MAGIC: [u8; 4] = *b"LIFT";
/// The format version this build reads and writes.
pub const FORMAT_VERSION: u16 = 2;
/// Bytes before the header: magic, version, flags, header length.
pub const PREFIX_LEN: usize = 12;
/// The CRC used for the trailing checksum.
pub const CRC32: crc::Crc<u32> = crc::Crc::<u32>::new(&crc::CRC_32_ISO_HDLC);

/// The decoded header of a model blob.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Header<'a> {
    /// Input dimension n₀.
    pub input_dim: u32,
    /// Smallest valid input value (inclusive).
    pub input_min: f32,
    /// Largest valid input value (inclusive).
    pub input_max: f32,
    /// Potential family.
    pub family: Family,
    /// State initialisation.
    pub init: Init,
    /// Sweep order.
    pub schedule: Schedule,
    /// Number of sweeps K.
    pub sweeps: u16,
    /// Layers 1 … L (the blocks z_1 … z_L); `layers[k-1]` describes block k and `W_{k-1}`.
    pub layers: Vec<LayerSpec, MAX_LAYERS>,
    /// Certificate constants that are not per layer.
    pub cert: CertSpec,
    /// Class names separated by `\n`, or empty.
    #[serde(borrow)]
    pub class_names: &'a str,
    /// Free-form training metadata (the host writes JSON), or empty.
    #[serde(borrow)]
    pub metadata: &'a str,
}

/// One layer: block z_k and the weights `W_{k-1}`, `b_{k-1}` into it.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct LayerSpec {
    /// Width n_k.
    pub width: u32,
    /// Activation f_k.
    pub activation: Activation,
    /// Potential weight γ_k (> 0). Informational under family A.
    pub gamma: f32,
    /// ρ_k = γ_{k+1}/γ_k as used by the sweeps (hidden layers; 0 for the output layer).
    pub rho: f32,
    /// Family-A damped step η_k = 1/(1+L_k) ∈ (0, 1] (hidden layers; 1 for the output layer).
    pub step: f32,
    /// Certificate constants of this layer, each an upper bound rounded up to f32.
    pub bounds: LayerBounds,
}

/// Per-layer certificate constants; every value is a sound upper bound rounded up to f32.
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize, Deserialize)]
pub struct LayerBounds {
    /// ‖W_{k-1}‖₂ (spectral norm).
    pub w_l2: f32,
    /// ‖W_{k-1}‖_∞ (max row abs-sum).
    pub w_inf: f32,
    /// ‖W_{k-1}‖₁ (max column abs-sum).
    pub w_one: f32,
    /// ‖b_{k-1}‖_∞.
    pub b_inf: f32,
    /// Largest ℓ2→ℓ2 sensitivity of block k to the input over the whole schedule.
    pub lip_l2: f32,
    /// Largest ℓ∞→ℓ∞ sensitivity of block k to the input over the whole schedule.
    pub lip_inf: f32,
    /// ℓ2 block constants (c⁻, c⁰, c⁺) of the hidden update of block k: it moves by at most
    /// c⁻‖Δz_{k−1}‖₂ + c⁰‖Δz_k‖₂ + c⁺‖Δz_{k+1}‖₂ (all 0 for the output layer; format version 2).
    pub hidden_l2: [f32; 3],
    /// ⌈√n_k⌉, an integer: converts ∞-norm rounding bounds of block k to ℓ2 (format version 2).
    pub sqrt_width: f32,
}

/// How a certificate constant was obtained (recorded for inspection).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum BoundMethod {
    /// No constant (the model cannot certify).
    None,
    /// Product of per-layer norms (the forward map).
    ProductOfNorms,
    /// Block recursion over the K-sweep schedule.
    SweepRecursion,
    /// The minimum of several sound bounds.
    Minimum,
}

/// Certificate constants that are not per layer.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct CertSpec {
    /// Whether the constants were computed successfully; `false` means the model never certifies.
    pub valid: bool,
    /// Largest ℓ2 input radius the float error terms were computed for.
    pub eps_l2_max: f32,
    /// Largest ℓ∞ input radius the float error terms were computed for.
    pub eps_inf_max: f32,
    /// Largest ℓ2 radius for perturbations of hidden activities.
    pub eps_internal_max: f32,
    /// How the ℓ2 pair constants were obtained.
    pub l2_method: BoundMethod,
    /// How the ℓ∞ pair constants were obtained.
    pub inf_method: BoundMethod,
    /// q: a sound upper bound on the Lipschitz constant of one sweep of the model's family in the
    /// state, in a weighted block norm (rounded up; format version 2). Below 1 the sweep is a
    /// contraction: sensitivities and float errors stay bounded however large K is. Recorded
    /// for inspection; the certificate itself follows the update list.
    pub contraction: f32,
}

/// Offsets (in f32 values) of the tensors inside the tensor section.
///
/// After the weights and biases come C(C−1)/2-entry tables of per-class-pair constants, upper
/// triangle in row order ((0,1), (0,2), …, (C−2,C−1)): ℓ2 input, ℓ∞ input, then one ℓ2 table per
/// hidden layer k = 1 … L−1 for internal perturbations.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TensorLayout {
    /// Offset of `W_k` for each k (only the first L entries are used).
    pub weights: [usize; MAX_LAYERS],
    /// Offset of `b_k` for each k.
    pub biases: [usize; MAX_LAYERS],
    /// Offset of the ℓ2 pair table.
    pub pairs_l2: usize,
    /// Offset of the ℓ∞ pair table.
    pub pairs_inf: usize,
    /// Offset of the first internal pair table.
    pub pairs_internal: usize,
    /// Entries per pair table.
    pub pair_count: usize,
    /// Total number of f32 values.
    pub total: usize,
}

impl TensorLayout {
    /// Computes the layout for an input dimension and layer widths; `None` on overflow or bad counts.
    pub fn new(input_dim: usize, widths: &[usize]) -> Option<Self> {
        let layers = widths.len();
        if layers == 0 || layers > MAX_LAYERS {
            return None;
        }
        let mut weights = [0usize; MAX_LAYERS];
        let mut biases = [0usize; MAX_LAYERS];
        let mut off = 0usize;
        let mut fan_in = input_dim;
        for (k, &w) in widths.iter().enumerate() {
            *weights.get_mut(k)? = off;
            off = off.checked_add(w.checked_mul(fan_in)?)?;
            *biases.get_mut(k)? = off;
            off = off.checked_add(w)?;
            fan_in = w;
        }
        let classes = fan_in;
        let pair_count = classes.checked_mul(classes.checked_sub(1)?)? / 2;
        let pairs_l2 = off;
        let pairs_inf = pairs_l2.checked_add(pair_count)?;
        let pairs_internal = pairs_inf.checked_add(pair_count)?;
        let total = pairs_internal.checked_add(pair_count.checked_mul(layers - 1)?)?;
        Some(TensorLayout {
            weights,
            biases,
            pairs_l2,
            pairs_inf,
            pairs_internal,
            pair_count,
            total,
        })
    }
}

/// Index of the pair (i, j), i ≠ j, in a pair table of `classes` classes (order-independent).
#[inline]
pub fn pair_index(classes: usize, i: usize, j: usize) -> usize {
    let (a, b) = if i < j { (i, j) } else { (j, i) };
    // Rows 0..a hold (C-1) + (C-2) + … + (C-a) entries.
    a * (2 * classes - a - 1) / 2 + (b - a - 1)
}

/// Bytes of padding after the header so that the tensors start on a 4-byte boundary.
#[inline]
pub fn header_padding(header_len: usize) -> usize {
    (4 - (PREFIX_LEN + header_len) % 4) % 4
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn pair_index_enumerates_upper_triangle_in_order() {
        let c = 5;
        let mut n = 0;
        for i in 0..c {
            for j in i + 1..c {
                assert_eq!(pair_index(c, i, j), n);
                assert_eq!(pair_index(c, j, i), n);
                n += 1;
            }
        }
        assert_eq!(n, c * (c - 1) / 2);
    }

    #[test]
    fn layout_of_small_model() {
        let l = TensorLayout::new(4, &[3, 2]).unwrap();
        assert_eq!(l.weights[0], 0);
        assert_eq!(l.biases[0], 12);
        assert_eq!(l.weights[1], 15);
        assert_eq!(l.biases[1], 21);
        assert_eq!(l.pairs_l2, 23);
        assert_eq!(l.pair_count, 1);
        assert_eq!(l.total, 23 + 1 + 1 + 1);
    }
}
