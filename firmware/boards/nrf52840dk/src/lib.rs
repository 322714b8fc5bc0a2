//! The hardware-independent part of the nRF52840-DK firmware: [`memory`], the server's buffers.
//! The serial loop is `lifted_proto::serve::run`, shared with the QEMU `serve` program; `main.rs`
//! binds it to UARTE0, LED1 and TIMER0 (through their embedded-io / embedded-hal traits) and logs
//! with defmt.
//!
//! No nRF type appears here, so the library also builds for the host, where its tests run the
//! shared loop with this board's memory and embedded model against in-memory readers and writers
//! (see the package's `Cargo.toml`).
#![cfg_attr(not(test), no_std)]
#![forbid(unsafe_code)]
#![deny(missing_docs)]
#![warn(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

pub mod memory;

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]
mod tests;
