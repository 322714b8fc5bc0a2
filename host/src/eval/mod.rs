//! Evaluation of exported models: predictions and certificates through `lifted_core`
//! ([`mod@predict`]), attacks ([`attack`], [`grad`] with its products in [`matvec`]), certificate
//! reports ([`report`]), and the `certify` and `evaluate` commands with their shared arguments
//! ([`args`]).

pub mod args;
pub mod attack;
pub mod cli_certify;
pub mod cli_evaluate;
pub mod forward_gap;
pub mod grad;
pub mod matvec;
pub mod predict;
pub mod report;
pub mod vnnlib;

pub use predict::{
    accuracy, check_compatible, fraction, predict, progress_bar, robust_accuracy,
    robust_accuracy_relative, stream, Prediction, RobustResult, Target,
};
