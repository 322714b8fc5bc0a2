//! The one error type of the crate.

use core::fmt;

/// Why a model blob, an input or a workspace was refused.
///
/// Loading errors come from [`crate::ModelView::new_checked`]; input and workspace errors from
/// [`crate::infer`]. Certificate refusals are not errors: see [`crate::Rejection`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum Error {
    /// The blob ended before a complete model: `needed` bytes at least, `got` bytes given.
    Truncated {
        /// Bytes the blob needs at least.
        needed: u32,
        /// Bytes given.
        got: u32,
    },
    /// The blob is longer than the model it describes (trailing bytes).
    TrailingBytes,
    /// The first four bytes are not the lifted magic `LIFT`.
    BadMagic,
    /// The format version is not the one this build reads.
    UnsupportedVersion {
        /// Version found in the blob.
        found: u16,
        /// Version this build reads.
        expected: u16,
    },
    /// The CRC-32 stored at the end does not match the content.
    BadChecksum {
        /// Checksum stored in the blob.
        stored: u32,
        /// Checksum of the content.
        computed: u32,
    },
    /// The blob does not start on a 4-byte boundary; f32 tensors could not be read in place.
    /// Embed it with [`crate::Aligned`] or copy it into a `u32`-backed buffer.
    Misaligned,
    /// The header could not be decoded, or a reserved field is set.
    MalformedHeader,
    /// Layer widths do not chain, a width is zero, or a count is out of range.
    InconsistentDims,
    /// The inference configuration is not allowed (K too large, output not identity, bad damping…).
    InvalidConfig,
    /// A weight, bias or configuration value is NaN or infinite.
    NonFiniteParameter,
    /// A certificate constant is missing, negative, NaN or infinite although marked valid, or a
    /// stored norm (‖W‖∞, ‖W‖₁, ‖b‖∞) is below the value the weights themselves give.
    BadConstant,
    /// The input has the wrong number of values.
    InputLength {
        /// Length the model expects.
        expected: u32,
        /// Length given.
        got: u32,
    },
    /// Input value `index` is NaN or infinite.
    InputNonFinite {
        /// Position of the offending value.
        index: u32,
    },
    /// Input value `index` lies outside the model's declared input range.
    InputOutOfRange {
        /// Position of the offending value.
        index: u32,
    },
    /// The caller's workspace buffer is too small: `needed` f32 values, `got` given.
    WorkspaceTooSmall {
        /// f32 values needed ([`crate::Workspace::required`]).
        needed: u32,
        /// f32 values given.
        got: u32,
    },
    /// The computation overflowed: an activity became NaN or infinite.
    NonFiniteResult,
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Error::Truncated { needed, got } => write!(
                f,
                "model blob truncated: needs at least {needed} bytes, got {got}; re-export or re-copy the file"
            ),
            Error::TrailingBytes => write!(f, "model blob has trailing bytes after the checksum"),
            Error::BadMagic => write!(f, "not a lifted model blob (bad magic; expected `LIFT`)"),
            Error::UnsupportedVersion { found, expected } => write!(
                f,
                "model format version {found} is not supported (this build reads version {expected}); re-export the model with a matching `lifted`"
            ),
            Error::BadChecksum { stored, computed } => write!(
                f,
                "model blob corrupt: CRC-32 {computed:#010x} does not match stored {stored:#010x}"
            ),
            Error::Misaligned => write!(
                f,
                "model blob is not 4-byte aligned; embed it with `lifted_core::Aligned` or a u32-backed buffer"
            ),
            Error::MalformedHeader => write!(f, "model header cannot be decoded"),
            Error::InconsistentDims => write!(f, "model layer dimensions are inconsistent"),
            Error::InvalidConfig => write!(f, "model inference configuration is not allowed"),
            Error::NonFiniteParameter => write!(f, "model holds a NaN or infinite parameter"),
            Error::BadConstant => write!(
                f,
                "model certificate constants are missing, not finite, or below the norms of the weights they bound"
            ),
            Error::InputLength { expected, got } => {
                write!(f, "input has {got} values, the model expects {expected}")
            }
            Error::InputNonFinite { index } => write!(f, "input value {index} is NaN or infinite"),
            Error::InputOutOfRange { index } => {
                write!(f, "input value {index} lies outside the model's declared input range")
            }
            Error::WorkspaceTooSmall { needed, got } => write!(
                f,
                "workspace too small: {needed} f32 values needed, {got} given (use Workspace::required)"
            ),
            Error::NonFiniteResult => write!(f, "inference overflowed (NaN or infinite activity)"),
        }
    }
}

impl core::error::Error for Error {}
