//! Sound f64 bounds for the certificate constants (host side, at export time).
mod constants;
pub mod norms;
pub mod spectral;
pub use constants::{
    ceil_sqrt, compute, family_a_self_l2, layer_norms, monotone_step, sensitivity, LayerNorms,
    Limits, RecursionNorm, Sensitivity,
};
