//! `lifted`: the host side of the lifted kit (training, evaluation, certification, export).
//!
//! One folder per concern; each command's argument struct and `run` function sit in the folder
//! of the work they do:
//!
//! | module | holds | commands |
//! |---|---|---|
//! | [`data`] | data sets, splits, IDX/CSV readers, fetching | `data fetch`, `data info` |
//! | [`train`] | potentials, objectives, gradients, the trainer, run folders | `train` |
//! | [`model`] | parameter files, blobs and their constants, export, inspection | `export`, `inspect` |
//! | [`eval`] | predictions, attacks, certificates, reports | `certify`, `evaluate` |
//! | [`device`] | the serial/QEMU link, golden files, firmware builds | `remote` (and the demo's device stage) |
//! | [`plot`] | figures | `plot` |
//! | [`experiment`] | grids of runs and their reports | `experiment` |
//! | [`demo`] | the end-to-end demo | `demo` |
//!
//! [`limits`], [`rng`], [`tol`] and [`npz`] are small helpers used across folders.

pub mod data;
pub mod demo;
pub mod device;
pub mod eval;
pub mod experiment;
pub mod limits;
pub mod model;
pub mod npz;
pub mod plot;
pub mod rng;
pub mod tol;
pub mod train;
