//! The host side of a golden run (moved to `lifted::device::golden`, shared with `lifted demo`).
pub use lifted::device::golden::*;
