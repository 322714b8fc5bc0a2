//! Upper bounds of the count settings of `train`, `evaluate`, `certify` and `experiment`.
//!
//! Each bound is far above any useful value, and low enough that a mistyped count (an extra
//! digit, `4294967295`) is refused at once instead of running for hours or days. A value above
//! its bound is an error that names the flag (or configuration key), the value and the bound.

use std::io::Read;
use std::path::Path;

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

/// Bytes of a data file read into memory: `--data FILE` (after gzip or zip decompression) and
/// the IDX files of `--dataset mnist|fashion` (60 000 MNIST images are 47 MB).
pub const MAX_DATA_BYTES: u64 = 1 << 30;
/// Bytes of a `.safetensors` file (`lifted export --safetensors`): four times the largest model
/// blob, room for an f64 file of a model that fits one.
pub const MAX_SAFETENSORS_BYTES: u64 = 256 << 20;

/// Reads the file `path`, at most `max` bytes: a longer file, or an endless one such as
/// `/dev/zero`, is refused before it fills the memory.
///
/// # Errors
/// The file cannot be opened or read, or holds more than `max` bytes (an error of kind
/// [`std::io::ErrorKind::FileTooLarge`] whose message gives the limit); callers add the file name.
pub fn read_at_most(path: &Path, max: u64) -> std::io::Result<Vec<u8>> {
    let too_big = || {
        std::io::Error::new(
            std::io::ErrorKind::FileTooLarge,
            format!(
                "the file is larger than {} MiB, the most this command reads",
                max >> 20
            ),
        )
    };
    let file = std::fs::File::open(path)?;
    if file.metadata().is_ok_and(|m| m.is_file() && m.len() > max) {
        return Err(too_big());
    }
    let mut bytes = Vec::new();
    file.take(max.saturating_add(1)).read_to_end(&mut bytes)?;
    if bytes.len() as u64 > max {
        return Err(too_big());
    }
    Ok(bytes)
}

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
    fn read_at_most_refuses_longer_and_endless_files() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("f");
        std::fs::write(&p, [7u8; 10]).unwrap();
        assert_eq!(read_at_most(&p, 10).unwrap(), [7u8; 10]);
        let e = read_at_most(&p, 9).unwrap_err();
        assert_eq!(e.kind(), std::io::ErrorKind::FileTooLarge);
        // Not a regular file: the limit is found while reading.
        if Path::new("/dev/zero").exists() {
            let e = read_at_most(Path::new("/dev/zero"), 1 << 20).unwrap_err();
            assert_eq!(e.kind(), std::io::ErrorKind::FileTooLarge, "{e}");
            assert!(e.to_string().contains("larger than 1 MiB"), "{e}");
        }
    }

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
