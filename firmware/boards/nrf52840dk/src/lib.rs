//! The hardware-independent part of the nRF52840-DK firmware: [`serve`], the serial loop that runs
//! `lifted_proto::server::Server` (the protocol of the QEMU `serve` program and `lifted remote`)
//! over any `embedded_io::{Read, Write}` pair, and [`memory`], the server's buffers. `main.rs` binds
//! them to UARTE0 and logs with defmt.
//!
//! No nRF type appears here, so the library also builds for the host, where its tests run the
//! loop against in-memory readers and writers (see the package's `Cargo.toml`).
#![cfg_attr(not(test), no_std)]
#![forbid(unsafe_code)]
#![deny(missing_docs)]
#![warn(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

pub mod memory;
pub mod serve;
