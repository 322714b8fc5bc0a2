//! Upper bounds of the count settings of `train`, `evaluate`, `certify` and `experiment`.
//!
//! Each bound is far above any useful value, and low enough that a mistyped count (an extra
//! digit, `4294967295`) is refused at once instead of running for hours or days. A value above
//! its bound is an error that names the flag (or configuration key), the value and the bound.

use anyhow::{ensure, Result};

/// Training epochs (`--epochs`, `epochs`).
pub const MAX_EPOCHS: usize = 10_000;
/// Gram-iteration steps of `--damping sound-gram:STEPS` (as `lifted export --gram-steps`).
pub const MAX_GRAM_STEPS: u32 = 30;
/// Power-iteration steps: `--damping power:ITERS:…` and `--lip-margin-power-iters`.
pub const MAX_POWER_ITERS: u32 = 1_000;
/// PGD steps per restart: `--steps` of certify/evaluate, `--attack-steps` of train, and
/// `pgd_steps` of an experiment.
pub const MAX_PGD_STEPS: usize = 10_000;
/// PGD restarts: `--restarts` of certify/evaluate and `pgd_restarts` of an experiment.
pub const MAX_PGD_RESTARTS: usize = 1_000;
/// Worker threads (`--threads`; 0 means one per core).
pub const MAX_THREADS: usize = 1_024;
/// Width of one layer (`--widths`).
pub const MAX_WIDTH: usize = 65_536;

/// Checks that the count `value` of `name` (a flag such as `--epochs`, or a configuration key)
/// is at most `max`.
///
/// # Errors
/// `value > max`; the message names `name`, the value and the bound.
pub fn check_max<T: PartialOrd + std::fmt::Display>(name: &str, value: T, max: T) -> Result<()> {
    ensure!(
        value <= max,
        "{name} {value} is above the limit of {max} — give at most {max}"
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn check_max_names_the_flag_the_value_and_the_limit() {
        check_max("--epochs", 10_000, MAX_EPOCHS).unwrap();
        let e = check_max("--epochs", 10_001, MAX_EPOCHS)
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("--epochs") && e.contains("10001") && e.contains("10000"),
            "{e}"
        );
    }
}
