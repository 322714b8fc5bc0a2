//! `lifted`: the host side of the lifted kit (training, evaluation, certification, export).

pub mod data;
pub mod demo;
pub mod demo_firmware;
pub mod experiment;
pub mod golden;
pub mod train;

// Evaluation, attacks, certification reports, export and inspection.
pub mod attack;
pub mod certify_report;
pub mod cli_certify;
pub mod cli_common;
pub mod cli_evaluate;
pub mod cli_export;
pub mod cli_inspect;
pub mod cli_plot;
pub mod eval;
pub mod export;
pub mod grad;
pub mod import_safetensors;
pub mod inspect;
pub mod limits;
pub mod model_file;
pub mod npz;
pub mod params_io;
pub mod plot;
pub mod remote;
pub mod tol;
pub mod verify;
