//! End-to-end tests of the lifted kit live in `tests/tests/`:
//!
//! - `golden.rs`: the `golden` firmware program under QEMU (M4F, M7, M3, M0) against the host's
//!   `lifted-core` results, bit for bit;
//! - `serve.rs`: the `serve` firmware under QEMU, driven over its emulated UART by the
//!   `lifted remote` client, plus malformed frames.
//!
//! This library holds what they share, and what the `make_golden` generator uses:
//!
//! - [`events`]: the machine-readable end-of-test events that `scripts/firmware-ci.sh` counts;
//! - [`firmware`]: building firmware programs (one build per target and configuration) and
//!   running them under QEMU;
//! - [`golden`]: the host side of a golden run and the line-by-line comparison;
//! - [`models`]: the deterministic MNIST-sized model (random weights fitted with a few SGD
//!   epochs).
#![warn(clippy::unwrap_used)]

pub mod events;
pub mod firmware;
pub mod golden;
pub mod models;
