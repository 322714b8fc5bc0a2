//! Talking to devices: the serial/QEMU link of `lifted remote` ([`remote`]), golden files
//! ([`golden`]) and building and running the firmware under QEMU ([`firmware`]).

pub mod firmware;
pub mod golden;
pub mod remote;
