#![doc = include_str!("../README.md")]
#![cfg_attr(not(any(test, feature = "std")), no_std)]
#![forbid(unsafe_code)]
#![deny(missing_docs)]
#![warn(clippy::unwrap_used, clippy::expect_used)]

#[cfg(feature = "alloc")]
extern crate alloc;

pub mod config;
mod error;
pub mod format;
pub mod kernels;
mod model;
pub mod schedule;

#[cfg(feature = "alloc")]
pub mod bounds;

pub use config::{Activation, Family, Init, Schedule, MAX_LAYERS, MAX_SWEEPS};
pub use error::Error;
pub use format::{BoundMethod, CertSpec, Header, LayerBounds, LayerSpec, FORMAT_VERSION};
pub use model::{Aligned, ModelView};
