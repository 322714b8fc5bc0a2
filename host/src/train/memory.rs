//! A memory estimate of a training run, checked before anything large is allocated.
//!
//! Widths are capped per layer ([`crate::limits::MAX_WIDTH`]), but a few wide layers still ask
//! for more memory than a machine has (`--widths 65536,65536,10` is 4.3 · 10⁹ parameters), and an
//! allocation failure aborts the process without a message. [`check`] estimates the run's peak
//! memory from the configuration and refuses it, naming the estimate and the limit, when it
//! exceeds the limit: `--max-memory` (of `lifted train` and `lifted experiment run`), else the
//! environment variable `LIFTED_MAX_MEMORY`, else the memory the operating system reports as
//! available (`MemAvailable` of `/proc/meminfo` on Linux; no check where it is unknown).
//!
//! The estimate ([`estimate`]) counts, with P the number of parameters (weights and biases):
//! - the network, the best epoch's copy and the checkpoint's copy: 3 × 4P bytes;
//! - Adam's two moments: 8P bytes, and their checkpoint copy: 8P bytes;
//! - gradients: 8P bytes per worker thread (f64 accumulators);
//! - the checkpoint and parameter files as JSON text, written from memory: about 24 bytes per
//!   stored number (≈ 6P numbers), twice (the text and its sealed copy);
//! - activations: 8 bytes × (n₀ + Σ n_k) × (K + 3) per sample of a minibatch or evaluation chunk
//!   (the larger of `batch` and 1000), per worker thread.
//!
//! It is an upper estimate of the dominant terms, not an exact count.

use std::sync::OnceLock;

use anyhow::{bail, ensure, Context, Result};

use super::config::TrainConfig;

/// Bytes of text per number in the JSON files (sign, digits, exponent, separator, with room).
const JSON_BYTES_PER_NUMBER: u64 = 24;
/// Samples per evaluation chunk (as in the trainer).
const EVAL_CHUNK: u64 = 1000;

/// The parts of a run's memory estimate, in bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MemoryEstimate {
    /// Number of parameters P (weights and biases of every layer).
    pub parameters: u64,
    /// Network, best copy, Adam moments and the checkpoint's copies.
    pub state: u64,
    /// Gradient accumulators of every worker thread.
    pub gradients: u64,
    /// JSON text of the checkpoint and parameter files.
    pub files: u64,
    /// Activations of a minibatch or evaluation chunk on every worker thread.
    pub activations: u64,
}

impl MemoryEstimate {
    /// The total, in bytes.
    #[must_use]
    pub fn total(&self) -> u64 {
        self.state
            .saturating_add(self.gradients)
            .saturating_add(self.files)
            .saturating_add(self.activations)
    }
}

/// The estimate for `cfg` on inputs of dimension `input_dim` with `threads` worker threads.
#[must_use]
pub fn estimate(cfg: &TrainConfig, input_dim: usize, threads: usize) -> MemoryEstimate {
    let mut fan_in = input_dim as u64;
    let mut p = 0u64;
    let mut units = fan_in;
    for &w in &cfg.widths {
        let w = w as u64;
        p = p.saturating_add(fan_in.saturating_mul(w).saturating_add(w));
        units = units.saturating_add(w);
        fan_in = w;
    }
    let t = threads.max(1) as u64;
    let rows = (cfg.batch as u64).max(EVAL_CHUNK);
    MemoryEstimate {
        parameters: p,
        state: p.saturating_mul(3 * 4 + 2 * 8),
        gradients: p.saturating_mul(8).saturating_mul(t),
        files: p.saturating_mul(6 * JSON_BYTES_PER_NUMBER * 2),
        activations: units
            .saturating_mul(8)
            .saturating_mul(u64::from(cfg.sweeps) + 3)
            .saturating_mul(rows)
            .saturating_mul(t),
    }
}

static MAX_MEMORY: OnceLock<u64> = OnceLock::new();

/// Sets the limit for this process (`--max-memory`); the first call wins.
pub fn set_limit(bytes: u64) {
    let _ = MAX_MEMORY.set(bytes);
}

/// The limit in bytes and where it comes from: [`set_limit`], `LIFTED_MAX_MEMORY`, or the
/// available memory; `None` when none is known.
///
/// # Errors
/// `LIFTED_MAX_MEMORY` is set but is not a size.
pub fn limit() -> Result<Option<(u64, &'static str)>> {
    if let Some(&b) = MAX_MEMORY.get() {
        return Ok(Some((b, "--max-memory")));
    }
    if let Ok(v) = std::env::var("LIFTED_MAX_MEMORY") {
        let b = parse_size(&v).context("in the environment variable LIFTED_MAX_MEMORY")?;
        return Ok(Some((b, "LIFTED_MAX_MEMORY")));
    }
    Ok(available().map(|b| (b, "the available memory (MemAvailable in /proc/meminfo)")))
}

/// Memory the operating system reports as available, in bytes (Linux only).
#[must_use]
pub fn available() -> Option<u64> {
    let text = std::fs::read_to_string("/proc/meminfo").ok()?;
    let line = text.lines().find(|l| l.starts_with("MemAvailable:"))?;
    let kib: u64 = line
        .trim_start_matches("MemAvailable:")
        .trim()
        .trim_end_matches("kB")
        .trim()
        .parse()
        .ok()?;
    kib.checked_mul(1024)
}

/// Parses a size: a whole number of bytes with an optional suffix K, M, G or T (powers of
/// 1024, an optional trailing `B` or `iB`), e.g. `512M`, `8G`, `8GiB`, `1000000`.
///
/// # Errors
/// Not of that form, zero, or above 2⁶⁴ bytes.
pub fn parse_size(text: &str) -> Result<u64> {
    let t = text.trim();
    let t = t
        .strip_suffix("iB")
        .or_else(|| t.strip_suffix('B'))
        .unwrap_or(t);
    let (digits, shift) = match t.char_indices().last() {
        Some((i, c)) if c.is_ascii_alphabetic() => {
            let shift = match c.to_ascii_uppercase() {
                'K' => 10,
                'M' => 20,
                'G' => 30,
                'T' => 40,
                _ => bail!("size {text:?}: the unit must be K, M, G or T (e.g. 8G)"),
            };
            (&t[..i], shift)
        }
        _ => (t, 0),
    };
    let n: u64 = digits
        .trim()
        .parse()
        .with_context(|| format!("size {text:?} is not a whole number with K, M, G or T"))?;
    ensure!(n > 0, "size {text:?} must be above 0");
    n.checked_mul(1u64 << shift)
        .with_context(|| format!("size {text:?} is too large"))
}

/// Formats bytes as GiB, MiB or bytes for messages.
#[must_use]
pub fn human(bytes: u64) -> String {
    let b = bytes as f64;
    if b >= (1u64 << 30) as f64 {
        format!("{:.1} GiB", b / (1u64 << 30) as f64)
    } else if b >= (1u64 << 20) as f64 {
        format!("{:.1} MiB", b / (1u64 << 20) as f64)
    } else {
        format!("{bytes} bytes")
    }
}

/// Refuses `bytes` of memory for `what` (e.g. "data.npz: the data set (10⁹ values)") when they exceed the
/// [`limit`], before they are allocated; `fix` is the first remedy the message names.
///
/// # Errors
/// `bytes` is above the limit (the message names `what`, both sizes, `fix` and how to raise the
/// limit), or the limit's environment variable is malformed.
pub fn check_bytes(what: &str, bytes: u64, fix: &str) -> Result<()> {
    if let Some((limit, source)) = limit()? {
        ensure!(
            bytes <= limit,
            "{what} needs about {} of memory, more than the {} of {source} — {fix}, or raise the \
             limit with --max-memory SIZE (lifted train, lifted experiment run) or the \
             environment variable LIFTED_MAX_MEMORY if the estimate is too cautious",
            human(bytes),
            human(limit),
        );
    }
    Ok(())
}

/// Refuses a run whose [`estimate`] exceeds the [`limit`]; returns the estimate.
///
/// # Errors
/// The estimate is above the limit (the message gives both, the parts and the fixes), or the
/// limit's environment variable is malformed.
pub fn check(cfg: &TrainConfig, input_dim: usize) -> Result<MemoryEstimate> {
    let threads = if cfg.threads == 0 {
        std::thread::available_parallelism().map_or(1, usize::from)
    } else {
        cfg.threads
    };
    let e = estimate(cfg, input_dim, threads);
    if let Some((limit, source)) = limit()? {
        ensure!(
            e.total() <= limit,
            "the run needs about {} of memory, more than the {} of {source}: {} parameters \
             (widths {:?} on {input_dim} inputs) take {} with Adam and the best copy, {} of \
             gradients on {threads} threads, {} of checkpoint text, and the activations {} — \
             use narrower --widths, fewer --threads or a smaller --batch, or raise the limit with \
             --max-memory SIZE if the estimate is too cautious for this machine",
            human(e.total()),
            human(limit),
            e.parameters,
            cfg.widths,
            human(e.state),
            human(e.gradients),
            human(e.files),
            human(e.activations),
        );
    }
    Ok(e)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parameters_and_parts_of_a_small_net() {
        let cfg = TrainConfig {
            widths: vec![3, 10],
            batch: 50,
            sweeps: 2,
            ..TrainConfig::default()
        };
        let e = estimate(&cfg, 64, 2);
        // 64·3 + 3 + 3·10 + 10
        assert_eq!(e.parameters, 235);
        assert_eq!(e.state, 235 * 28);
        assert_eq!(e.gradients, 235 * 16);
        assert_eq!(e.files, 235 * 288);
        // (64 + 3 + 10) units · 8 bytes · (K + 3) · 1000 rows · 2 threads
        assert_eq!(e.activations, 77 * 8 * 5 * 1000 * 2);
        assert_eq!(e.total(), e.state + e.gradients + e.files + e.activations);
    }

    #[test]
    fn the_widest_allowed_layers_saturate_instead_of_overflowing() {
        let cfg = TrainConfig {
            widths: vec![65_536; 64],
            ..TrainConfig::default()
        };
        let e = estimate(&cfg, 784, 1024);
        assert!(e.total() > 1 << 50, "{e:?}");
    }

    #[test]
    fn sizes_parse_with_binary_units() {
        assert_eq!(parse_size("1000").unwrap(), 1000);
        assert_eq!(parse_size("512M").unwrap(), 512 << 20);
        assert_eq!(parse_size("8G").unwrap(), 8 << 30);
        assert_eq!(parse_size("8GiB").unwrap(), 8 << 30);
        assert_eq!(parse_size(" 2k ").unwrap(), 2048);
        assert_eq!(parse_size("1T").unwrap(), 1 << 40);
        for bad in ["", "0", "-1", "8X", "G", "1.5G", "99999999999T"] {
            assert!(parse_size(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn human_sizes() {
        assert_eq!(human(3 << 29), "1.5 GiB");
        assert_eq!(human(5 << 20), "5.0 MiB");
        assert_eq!(human(1212), "1212 bytes");
    }
}
