//! Models: parameter files, the blob and its certificate constants, export and inspection.
//!
//! A model enters as a parameter file ([`params`]), becomes a blob with sound constants
//! ([`export`]), is read back with its integrity checks ([`mod@file`]) and is shown and re-verified
//! by [`inspect`] and [`verify`]. `cli_export` and `cli_inspect` are the two commands.

pub mod cli_export;
pub mod cli_inspect;
pub mod export;
pub mod file;
pub mod import_safetensors;
pub mod inspect;
pub mod onnx;
pub mod params;
pub mod verify;
