//! `lifted data info`: sample and class counts of a data set, its files and its splits.

use std::fmt;
use std::path::Path;

use anyhow::Result;
use serde::Serialize;

use super::{read, split, Dataset, DatasetKind, RawData, TrainSubset};

/// Counts of one file or split.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PartInfo {
    /// Name, e.g. `mnist:train`.
    pub name: String,
    /// Number of samples.
    pub samples: usize,
    /// Samples per class, indexed by label.
    pub class_counts: Vec<usize>,
}

impl PartInfo {
    fn of(d: &Dataset) -> Self {
        Self {
            name: d.name.clone(),
            samples: d.len(),
            class_counts: d.class_counts(),
        }
    }
}

/// The three splits.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SplitsInfo {
    /// How the splits were made.
    pub rule: String,
    /// Training split.
    pub train: PartInfo,
    /// Validation split.
    pub val: PartInfo,
    /// Test split.
    pub test: PartInfo,
}

/// What `lifted data info` reports (also its `--json` output).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DataInfo {
    /// `digits`, `mnist` or `fashion-mnist`.
    pub dataset: String,
    /// Where the data was read from.
    pub source: String,
    /// Input dimension.
    pub dim: usize,
    /// Number of classes.
    pub classes: usize,
    /// Class names in label order.
    pub class_names: Vec<String>,
    /// Range of every input.
    pub input_range: [f32; 2],
    /// Samples in all files together.
    pub samples: usize,
    /// Samples per class in all files together.
    pub class_counts: Vec<usize>,
    /// Per-file counts.
    pub files: Vec<PartInfo>,
    /// Split sizes and counts.
    pub splits: SplitsInfo,
}

/// Reads `kind` (validating every file) and reports its counts and the splits `train` gives.
///
/// # Errors
/// As [`super::read`] and [`split::select_train`].
pub fn info(kind: DatasetKind, data_dir: Option<&Path>, train: TrainSubset) -> Result<DataInfo> {
    let raw = read(kind, data_dir)?;
    let splits = raw.splits(train)?;
    let files: Vec<PartInfo> = raw.files().into_iter().map(PartInfo::of).collect();
    let mut class_counts = vec![0; kind.classes()];
    for f in &files {
        for (total, c) in class_counts.iter_mut().zip(&f.class_counts) {
            *total += c;
        }
    }
    let selection = match train {
        TrainSubset::First(n) => format!("the first {n}"),
        TrainSubset::Balanced { n, seed } => {
            format!("a class-balanced subset of {n} (ChaCha8 seed {seed})")
        }
    };
    let rule = match &raw {
        RawData::Digits { .. } => format!(
            "ChaCha8 permutation with seed {}: {} train pool / {} val / {} test; train = {selection} of the pool",
            split::DIGITS_SPLIT_SEED,
            split::DIGITS_TRAIN,
            split::DIGITS_VAL,
            split::DIGITS_TEST
        ),
        RawData::Idx { .. } => format!(
            "train = {selection} of training-file samples 0..50000; val = training-file samples 50000..60000; test = test file"
        ),
        RawData::Own { seed, all, .. } => {
            let (v, t) = split::shuffled_sizes(all.len());
            format!(
                "ChaCha8 permutation with seed {seed}: {} train pool / {v} val / {t} test; train = {selection} of the pool",
                all.len().saturating_sub(v + t)
            )
        }
    };
    let (lo, hi) = splits.train.input_range();
    Ok(DataInfo {
        dataset: kind.name().to_owned(),
        source: raw.source(),
        dim: kind.dim(),
        classes: kind.classes(),
        class_names: kind.class_names().iter().map(|s| (*s).to_owned()).collect(),
        input_range: [lo, hi],
        samples: files.iter().map(|f| f.samples).sum(),
        class_counts,
        files,
        splits: SplitsInfo {
            rule,
            train: PartInfo::of(&splits.train),
            val: PartInfo::of(&splits.val),
            test: PartInfo::of(&splits.test),
        },
    })
}

fn counts(c: &[usize]) -> String {
    c.iter()
        .map(|n| format!("{n:>5}"))
        .collect::<Vec<_>>()
        .join(" ")
}

impl fmt::Display for DataInfo {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "dataset      {}", self.dataset)?;
        writeln!(f, "source       {}", self.source)?;
        writeln!(
            f,
            "inputs       {} values in [{}, {}], {} classes",
            self.dim, self.input_range[0], self.input_range[1], self.classes
        )?;
        writeln!(f, "classes      {}", self.class_names.join(", "))?;
        writeln!(f)?;
        writeln!(
            f,
            "{:<26} {:>7}  per class (0…{})",
            "",
            "samples",
            self.classes.saturating_sub(1)
        )?;
        for p in &self.files {
            writeln!(
                f,
                "{:<26} {:>7}  {}",
                p.name,
                p.samples,
                counts(&p.class_counts)
            )?;
        }
        writeln!(
            f,
            "{:<26} {:>7}  {}",
            "all",
            self.samples,
            counts(&self.class_counts)
        )?;
        writeln!(f)?;
        writeln!(f, "split: {}", self.splits.rule)?;
        for p in [&self.splits.train, &self.splits.val, &self.splits.test] {
            writeln!(
                f,
                "{:<26} {:>7}  {}",
                p.name,
                p.samples,
                counts(&p.class_counts)
            )?;
        }
        Ok(())
    }
}
