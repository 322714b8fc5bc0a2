//! `lifted experiment report` (being written).

use std::path::Path;

use anyhow::{bail, Result};

use super::Experiment;

/// Writes the plots and tables of `exp` into `out`.
///
/// # Errors
/// Not written yet.
pub fn report(exp: &Experiment, out: &Path) -> Result<()> {
    bail!("report of {} into {} is not written yet", exp.name, out.display())
}
