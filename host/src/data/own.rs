//! Your own data: `--data FILE` as `.npz`, `.csv` or IDX, for `train`, `certify`, `evaluate` and
//! `remote` (docs/data.md).
//!
//! - **Formats**, chosen by the file name: `*.npz` (arrays `--x-array`, default `x`, shape
//!   `(N, …)`, flattened per sample, and `--y-array`, default `y`, shape `(N,)`; stored or
//!   compressed, dtypes f4/f8/i1…i8/u1…u8, little-endian); `*.csv` or `*.csv.gz` (`--label-column
//!   NAME|INDEX` is the label, every other column a feature; a first row with a non-numeric field
//!   is a header); anything else is an IDX image file (raw or gzip) with its labels in
//!   `--labels FILE`.
//! - **Inputs**: `--input-range LO,HI` is required; every feature must lie in [LO, HI] and is
//!   mapped to `(v − LO) / (HI − LO)` in f32, so the model's input domain is [0, 1] as for the
//!   built-in sets (the digits are `--input-range 0,16`, MNIST `0,255`, bit for bit).
//! - **Labels**: integers 0 … C−1 with C = `--classes` (default: the largest label + 1, at most
//!   256).
//! - **Splits**: the same seeded rule as the digits ([`super::split::split_shuffled`]): the N
//!   samples are shuffled with `--split-seed` (default 1998, the digits' seed), validation and
//!   test are each the nearest integer to N·250/1797 samples (250 of the 1797 digits), the rest
//!   is the training pool. The digits written to a file in their embedded order therefore split
//!   exactly as `--dataset digits` does.
//! - **Sizes**: a file is read up to [`MAX_DATA_BYTES`] (gzip and `.npz` entries inflate up to as
//!   much), and the values are checked against the memory limit of [`crate::train::memory`]
//!   before they are allocated.
//! - **Errors** name the file and the row and column (rows count samples from 1; columns count
//!   from 0, as `--label-column INDEX` does, and are named when the CSV has a header).
//!
//! Files: this one holds the flags ([`OwnData`]), the format choice ([`Format`]) and the scaling
//! and checks common to every format; `csv`, `npz` and `idx_images` the readers of each format.

mod csv;
mod idx_images;
mod npz;

use std::path::{Path, PathBuf};

use anyhow::{bail, ensure, Context, Result};
use serde::{Deserialize, Serialize};

use self::csv::read_csv;
use self::idx_images::read_idx;
use self::npz::read_npz;
use super::{split, Dataset};
use crate::limits::{read_at_most, MAX_DATA_BYTES};

/// The `--data` flags (also the `[data.own]` table of a training config).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, clap::Args)]
#[serde(default, deny_unknown_fields)]
pub struct OwnData {
    /// Your own data file: .npz, .csv (or .csv.gz), or an IDX image file (raw or .gz) with
    /// --labels; see docs/data.md.
    #[arg(long = "data", value_name = "FILE", help_heading = "Own data")]
    pub file: Option<PathBuf>,
    /// Range LO,HI of the features, mapped to [0, 1]; required with --data (e.g. 0,255).
    #[arg(
        long = "input-range",
        value_name = "LO,HI",
        requires = "file",
        help_heading = "Own data"
    )]
    pub input_range: Option<String>,
    /// .npz: the array of inputs, shape (N, …) [default: x].
    #[arg(
        long,
        value_name = "NAME",
        requires = "file",
        help_heading = "Own data"
    )]
    pub x_array: Option<String>,
    /// .npz: the array of labels, shape (N,) [default: y].
    #[arg(
        long,
        value_name = "NAME",
        requires = "file",
        help_heading = "Own data"
    )]
    pub y_array: Option<String>,
    /// .csv: the label column, by header name or index from 0; required for CSV files.
    #[arg(
        long,
        value_name = "NAME|INDEX",
        requires = "file",
        help_heading = "Own data"
    )]
    pub label_column: Option<String>,
    /// IDX: the labels file (IDX1, raw or .gz); required for IDX image files.
    #[arg(
        long,
        value_name = "FILE",
        requires = "file",
        help_heading = "Own data"
    )]
    pub labels: Option<PathBuf>,
    /// Number of classes C (labels 0 … C−1) [default: the largest label + 1].
    #[arg(long, value_name = "C", requires = "file", help_heading = "Own data")]
    pub classes: Option<usize>,
    /// Seed of the train / validation / test shuffle [default: 1998, the digits' seed].
    #[arg(
        long,
        value_name = "SEED",
        requires = "file",
        help_heading = "Own data"
    )]
    pub split_seed: Option<u64>,
}

/// File formats of `--data`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// NumPy `.npz`.
    Npz,
    /// Comma-separated values.
    Csv,
    /// IDX images plus an IDX labels file.
    Idx,
}

impl Format {
    /// The format of `path`, by its name.
    #[must_use]
    pub fn of(path: &Path) -> Self {
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().to_ascii_lowercase())
            .unwrap_or_default();
        if name.ends_with(".npz") {
            Self::Npz
        } else if name.ends_with(".csv") || name.ends_with(".csv.gz") {
            Self::Csv
        } else {
            Self::Idx
        }
    }
}

impl OwnData {
    /// The data file, if `--data` was given.
    #[must_use]
    pub fn path(&self) -> Option<&Path> {
        self.file.as_deref()
    }

    /// A short name for reports and run folders: the file name without its extensions.
    #[must_use]
    pub fn name(&self) -> String {
        let n = self
            .file
            .as_deref()
            .and_then(Path::file_name)
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        n.split('.').next().unwrap_or("data").to_owned()
    }

    /// The split seed.
    #[must_use]
    pub fn seed(&self) -> u64 {
        self.split_seed.unwrap_or(split::DIGITS_SPLIT_SEED)
    }

    /// Reads every sample, checked and mapped to [0, 1].
    ///
    /// # Errors
    /// No file, a missing or malformed flag, an unreadable, malformed or too large file (more
    /// than [`MAX_DATA_BYTES`], or more values than fit the memory limit of
    /// [`crate::train::memory`]), a feature outside the input range or a label that is not an
    /// integer 0 … C−1; the message names the file and the row and column.
    pub fn read(&self) -> Result<Dataset> {
        let path = self.file.as_deref().context("--data FILE missing")?;
        // Flags first: a missing flag is reported before a large file is read.
        self.required_flags(path)?;
        let bytes = read_bytes(path)?;
        let labels = match (Format::of(path), self.labels.as_deref()) {
            (Format::Idx, Some(l)) => Some(read_bytes(l)?),
            _ => None,
        };
        self.parse(bytes, labels)
    }

    /// As [`Self::read`], from the bytes of the data file (and, for an IDX file, of the
    /// `--labels` file) instead of reading the files: the format and the names in messages still
    /// come from the paths of `--data` and `--labels`.
    ///
    /// # Errors
    /// As [`Self::read`].
    pub fn parse(&self, bytes: Vec<u8>, labels: Option<Vec<u8>>) -> Result<Dataset> {
        let path = self.file.as_deref().context("--data FILE missing")?;
        let (lo, hi) = self.required_flags(path)?;
        let file = path.display().to_string();
        let table = match Format::of(path) {
            Format::Npz => read_npz(&file, bytes, self)?,
            Format::Csv => read_csv(&file, bytes, self)?,
            Format::Idx => read_idx(&file, bytes, labels, self)?,
        };
        let Table {
            dim,
            values,
            labels,
            column_name,
            label_name,
        } = table;
        ensure!(!labels.is_empty(), "{file}: no samples");
        ensure!(dim >= 1, "{file}: the samples have no features");
        let scale = hi - lo;
        let mut inputs = Vec::with_capacity(values.len());
        for (i, &v) in values.iter().enumerate() {
            if !(v >= f64::from(lo) && v <= f64::from(hi)) {
                let (row, col) = (i / dim + 1, i % dim);
                bail!(
                    "{file}: row {row}, {}: value {v} is outside the input range [{lo}, {hi}] \
                     (--input-range)",
                    column_name(col)
                );
            }
            // Exact for values read from integers or f32; f64 values round to nearest.
            #[allow(clippy::cast_possible_truncation)]
            let v = v as f32;
            inputs.push((v - lo) / scale);
        }
        let max = labels.iter().copied().max().unwrap_or(0);
        let classes = self
            .classes
            .unwrap_or(usize::try_from(max).unwrap_or(0) + 1);
        ensure!(
            (1..=256).contains(&classes),
            "{file}: {classes} classes; 1 to 256 are supported"
        );
        let mut out = Vec::with_capacity(labels.len());
        for (i, &l) in labels.iter().enumerate() {
            match u8::try_from(l) {
                Ok(b) if usize::from(b) < classes => out.push(b),
                _ => bail!(
                    "{file}: row {}, {label_name}: label {l} is out of range (expected an \
                     integer 0..={}{})",
                    i + 1,
                    classes - 1,
                    if self.classes.is_some() {
                        ", --classes"
                    } else {
                        ""
                    }
                ),
            }
        }
        Ok(Dataset {
            name: self.name(),
            inputs,
            labels: out,
            dim,
            classes,
        })
    }
}

impl OwnData {
    /// Checks the flags `path`'s format requires and returns the input range.
    fn required_flags(&self, path: &Path) -> Result<(f32, f32)> {
        let file = path.display();
        let range = self.input_range.as_deref().with_context(|| {
            format!(
                "{file}: --input-range LO,HI is required with --data (the range the features lie \
                 in, e.g. 0,255 for 8-bit pixels; it is mapped to [0, 1])"
            )
        })?;
        let range =
            crate::model::import_safetensors::parse_range(range).context("--input-range")?;
        match Format::of(path) {
            Format::Csv => ensure!(
                self.label_column.is_some(),
                "{file}: --label-column NAME|INDEX is required for a CSV file"
            ),
            Format::Idx => ensure!(
                self.labels.is_some(),
                "{file}: not .npz or .csv, so read as IDX images; --labels FILE (the IDX labels) \
                 is required"
            ),
            Format::Npz => {}
        }
        Ok(range)
    }
}

/// Samples as read, before scaling.
struct Table {
    dim: usize,
    values: Vec<f64>,
    labels: Vec<i64>,
    /// Names feature `c` (0-based) in errors.
    column_name: Box<dyn Fn(usize) -> String>,
    /// Names where the labels are, e.g. "column 64 `label`".
    label_name: String,
}

/// A label value: an integer, or a float with an integral value.
fn label_value(v: f64) -> Option<i64> {
    #[allow(clippy::cast_possible_truncation)]
    let i = v as i64;
    (v.is_finite() && (i as f64) == v).then_some(i)
}

fn read_bytes(path: &Path) -> Result<Vec<u8>> {
    read_at_most(path, MAX_DATA_BYTES).with_context(|| format!("cannot read {}", path.display()))
}

/// Refuses a data set of `values` features (held as f64 while read, then as f32) when it does
/// not fit the memory limit, before it is allocated.
fn check_memory(file: &str, values: u64) -> Result<()> {
    crate::train::memory::check_bytes(
        &format!("{file}: the data set (at most {values} values)"),
        values.saturating_mul(8 + 4),
        "use a smaller file",
    )
}
