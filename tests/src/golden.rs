//! The host side of a golden run (moved to `lifted::golden`, shared with `lifted demo`).
pub use lifted::golden::*;
