#![doc = include_str!("../README.md")]
#![cfg_attr(not(any(test, feature = "std")), no_std)]
#![forbid(unsafe_code)]
#![deny(missing_docs)]
#![warn(clippy::unwrap_used, clippy::expect_used)]
// `!(x > 0.0)` is how this crate rejects NaN together with the failing comparison; it is deliberate.
#![allow(clippy::neg_cmp_op_on_partial_ord)]

#[cfg(feature = "alloc")]
extern crate alloc;

mod certify;
pub mod config;
mod decide;
mod downstream;
mod error;
#[cfg(feature = "approx")]
pub mod fast;
pub mod format;
pub mod fp;
mod infer;
pub mod kernels;
mod model;
pub mod schedule;
mod track;

#[cfg(feature = "alloc")]
pub mod bounds;
#[cfg(feature = "_reference")]
#[allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    missing_docs
)]
pub mod reference;
#[cfg(feature = "alloc")]
pub mod write;

pub use certify::{certify, certify_with_internal, Certificate, Norm, Rejection};
pub use config::{Activation, Family, Init, Schedule, MAX_LAYERS, MAX_SWEEPS};
pub use decide::{infer_and_certify, infer_and_certify_with, Certified};
pub use downstream::{downstream, downstream_scratch};
pub use error::Error;
pub use format::{BoundMethod, CertSpec, Header, LayerBounds, LayerSpec, FORMAT_VERSION};
pub use infer::{check_input, infer, infer_with, top_two, Outcome, Workspace};
pub use kernels::{Kernels, Portable};
pub use model::{Aligned, ModelView};
pub use track::Track;
