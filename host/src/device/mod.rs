//! Talking to devices: the serial/QEMU link of `lifted remote` ([`remote`]), golden files
//! ([`golden`]), building and running the firmware under QEMU ([`firmware`]) and finding the
//! checkout the firmware is built from ([`repo`]).

pub mod firmware;
pub mod golden;
pub mod remote;
pub mod repo;
