//! Sound f64 bounds for the certificate constants (host side, at export time).
pub mod norms;
pub mod spectral;
mod constants;
pub use constants::{compute, layer_norms, monotone_step, sensitivity, LayerNorms, Limits, RecursionNorm, Sensitivity};
