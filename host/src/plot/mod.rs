//! Figures: the drawing primitives ([`draw`]) and the `plot` command ([`cli`]).

pub mod cli;
pub mod draw;

pub use draw::axes;
pub(crate) use draw::{panel, render};
pub use draw::{
    radius_histogram, read_log, selected_row, training_curves, RunLog, LOG_AXIS_COLUMNS,
    LOG_COLUMNS,
};
