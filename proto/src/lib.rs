//! Formats shared by the lifted host (`lifted remote`, the golden tests) and the firmware
//! (`serve`, `golden`), so that both sides use one definition:
//!
//! - [`frame`]: the serial protocol of `serve` — postcard-encoded [`frame::Request`] /
//!   [`frame::Response`] messages, each COBS-encoded and ended by a `0x00` byte;
//! - [`server`]: the device side of that protocol without I/O ([`server::Server`]: bytes in,
//!   response frames out), shared by the QEMU `serve` program and the nRF52840-DK board;
//! - [`serve`]: the device's serial loop around a [`server::Server`] and its fixed
//!   [`serve::Memory`], generic over the board (`embedded_io` link, `embedded_hal` LED and delay);
//! - [`golden`]: the golden input file (`firmware/golden/*.lgi`: dataset pixels as `u8`, PackBits
//!   compressed) and the one-line text form of an inference + certificate result that the `golden`
//!   program prints and the host recomputes, bit patterns included.
//!
//! `no_std` and heap-free; the `std` feature adds `Vec`-returning helpers for the host.
#![cfg_attr(not(any(test, feature = "std")), no_std)]
#![forbid(unsafe_code)]
#![deny(missing_docs)]
#![warn(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

pub mod frame;
pub mod golden;
pub mod serve;
pub mod server;
