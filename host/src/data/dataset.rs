//! The in-memory data types: [`Dataset`] (labelled samples with inputs in [0, 1]) and
//! [`RawData`] (a data set as stored, before splitting).

use std::ops::Range;
use std::path::PathBuf;

use anyhow::{bail, ensure, Result};

use super::{split, DatasetKind, Splits, TrainSubset};

/// Labelled samples with inputs in [0, 1].
#[derive(Debug, Clone, PartialEq)]
pub struct Dataset {
    /// Name, e.g. `mnist:train`.
    pub name: String,
    /// `len() × dim` inputs, row-major (one sample after another), each in [0, 1].
    pub inputs: Vec<f32>,
    /// One label per sample, each below `classes`.
    pub labels: Vec<u8>,
    /// Input dimension.
    pub dim: usize,
    /// Number of classes.
    pub classes: usize,
}

impl Dataset {
    /// Builds a data set from bytes, scaling every input by `1 / max` (255 for IDX, 16 for the
    /// digits).
    ///
    /// # Errors
    /// `pixels.len() != labels.len() * dim`, a pixel above `max`, or a label not below `classes`.
    pub fn from_bytes(
        name: &str,
        pixels: &[u8],
        labels: Vec<u8>,
        dim: usize,
        classes: usize,
        max: u8,
    ) -> Result<Self> {
        ensure!(
            dim > 0 && pixels.len() == labels.len() * dim,
            "{name}: {} pixels do not make {} samples of {dim}",
            pixels.len(),
            labels.len()
        );
        ensure!(max > 0, "{name}: the pixel maximum must be positive");
        if let Some(p) = pixels.iter().find(|&&p| p > max) {
            bail!("{name}: pixel {p} is above the maximum {max}");
        }
        if let Some(l) = labels.iter().find(|&&l| usize::from(l) >= classes) {
            bail!("{name}: label {l} is out of range (expected 0..{classes})");
        }
        let scale = f32::from(max);
        Ok(Self {
            name: name.to_owned(),
            inputs: pixels.iter().map(|&p| f32::from(p) / scale).collect(),
            labels,
            dim,
            classes,
        })
    }

    /// Number of samples.
    #[must_use]
    pub fn len(&self) -> usize {
        self.labels.len()
    }

    /// True if there are no samples.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.labels.is_empty()
    }

    /// The range every input lies in: always (0.0, 1.0).
    #[must_use]
    pub fn input_range(&self) -> (f32, f32) {
        (0.0, 1.0)
    }

    /// The input of sample `i`, or `None` if `i >= len()`.
    #[must_use]
    pub fn input(&self, i: usize) -> Option<&[f32]> {
        self.inputs.get(i * self.dim..(i + 1) * self.dim)
    }

    /// Iterates over `(input, label)` pairs.
    pub fn iter(&self) -> impl ExactSizeIterator<Item = (&[f32], u8)> + '_ {
        self.inputs
            .chunks_exact(self.dim.max(1))
            .zip(self.labels.iter().copied())
    }

    /// Samples per class, indexed by label.
    #[must_use]
    pub fn class_counts(&self) -> Vec<usize> {
        let mut counts = vec![0; self.classes];
        for &l in &self.labels {
            if let Some(c) = counts.get_mut(usize::from(l)) {
                *c += 1;
            }
        }
        counts
    }

    /// The samples in `range` (clamped to the data set) as a new data set called `name`.
    #[must_use]
    pub fn slice(&self, range: Range<usize>, name: &str) -> Self {
        let end = range.end.min(self.len());
        let start = range.start.min(end);
        Self {
            name: name.to_owned(),
            inputs: self.inputs[start * self.dim..end * self.dim].to_vec(),
            labels: self.labels[start..end].to_vec(),
            dim: self.dim,
            classes: self.classes,
        }
    }

    /// The samples at `indices` (in that order; out-of-range indices are skipped) as a new data
    /// set called `name`.
    #[must_use]
    pub fn select(&self, indices: &[usize], name: &str) -> Self {
        let mut inputs = Vec::with_capacity(indices.len() * self.dim);
        let mut labels = Vec::with_capacity(indices.len());
        for &i in indices {
            if let (Some(x), Some(&l)) = (self.input(i), self.labels.get(i)) {
                inputs.extend_from_slice(x);
                labels.push(l);
            }
        }
        Self {
            name: name.to_owned(),
            inputs,
            labels,
            dim: self.dim,
            classes: self.classes,
        }
    }
}

/// A data set as stored, before splitting.
#[derive(Debug, Clone, PartialEq)]
pub enum RawData {
    /// The 1797 digits, from `source` (the embedded file or a CSV path).
    Digits {
        /// Where the samples came from.
        source: String,
        /// All samples.
        all: Dataset,
    },
    /// An MNIST-like pair of files.
    Idx {
        /// Which data set.
        kind: DatasetKind,
        /// The folder the files were read from.
        dir: PathBuf,
        /// The 60 000-sample training file.
        train_file: Dataset,
        /// The 10 000-sample test file.
        test_file: Dataset,
    },
    /// Your own file (`--data`, see [`own`](super::own)), split like the digits.
    Own {
        /// The file.
        source: String,
        /// All samples, inputs in [0, 1].
        all: Dataset,
        /// Seed of the shuffle.
        seed: u64,
    },
}

impl RawData {
    /// Where the data came from, for reports.
    #[must_use]
    pub fn source(&self) -> String {
        match self {
            Self::Digits { source, .. } | Self::Own { source, .. } => source.clone(),
            Self::Idx { dir, .. } => dir.display().to_string(),
        }
    }

    /// The stored files as data sets (one for the digits, training and test file for IDX).
    #[must_use]
    pub fn files(&self) -> Vec<&Dataset> {
        match self {
            Self::Digits { all, .. } | Self::Own { all, .. } => vec![all],
            Self::Idx {
                train_file,
                test_file,
                ..
            } => vec![train_file, test_file],
        }
    }

    /// Splits the data (see [`split`]); the digits use [`split::DIGITS_SPLIT_SEED`].
    ///
    /// # Errors
    /// `train` cannot be satisfied (see [`split::select_train`]).
    pub fn splits(&self, train: TrainSubset) -> Result<Splits> {
        match self {
            Self::Digits { all, .. } => split::split_digits(all, split::DIGITS_SPLIT_SEED, train),
            Self::Idx {
                train_file,
                test_file,
                ..
            } => split::split_mnist(train_file, test_file, train),
            Self::Own { all, seed, .. } => split::split_shuffled(all, *seed, train, &all.name),
        }
    }

    /// The default size of the training split: the whole training pool.
    #[must_use]
    pub fn default_n_train(&self) -> usize {
        match self {
            Self::Digits { .. } => split::DIGITS_TRAIN,
            Self::Idx { kind, .. } => kind.default_n_train(),
            Self::Own { all, .. } => {
                let (v, t) = split::shuffled_sizes(all.len());
                all.len().saturating_sub(v + t)
            }
        }
    }
}
