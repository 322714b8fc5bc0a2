//! Data sets: the embedded UCI 8×8 digits, MNIST and Fashion-MNIST.
//!
//! ```text
//! DatasetKind ──read()──▶ RawData (whole files) ──splits()──▶ Splits { train, val, test }
//!             ╰──────────────────────── load() ─────────────────────────╯
//! ```
//!
//! - [`DatasetKind::Digits`] is embedded in the crate ([`digits::DIGITS_CSV_GZ`]); nothing to
//!   fetch. Inputs are `pixel / 16`.
//! - [`DatasetKind::Mnist`] and [`DatasetKind::FashionMnist`] are read from a folder of IDX files
//!   (raw or `.gz`) with the standard names ([`IDX_FILES`]); `lifted data fetch` (or
//!   `scripts/fetch-data.sh`) puts them in `data/<name>/` at the repository root. Inputs are
//!   `pixel / 255`.
//! - Every [`Dataset`] has inputs in [0, 1] ([`Dataset::input_range`]).
//! - Splits follow docs/method.md §7.1 and are seeded and deterministic; see [`split`].
//!
//! Errors name the file and the command that fixes it, e.g. "data/mnist/train-images-idx3-ubyte
//! missing — run `lifted data fetch --dataset mnist`".

pub mod cli;
pub mod digits;
pub mod fetch;
pub mod idx;
pub mod info;
pub mod npy;
pub mod own;
pub mod split;

use std::fmt;
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::str::FromStr;

use anyhow::{bail, ensure, Result};

pub use fetch::{fetch, FetchTarget};
pub use info::{info, DataInfo, PartInfo};
pub use own::OwnData;
pub use split::{Splits, TrainSubset};

/// The standard IDX file names (each may also end in `.gz`): train images, train labels, test
/// images, test labels.
pub const IDX_FILES: [&str; 4] = [
    "train-images-idx3-ubyte",
    "train-labels-idx1-ubyte",
    "t10k-images-idx3-ubyte",
    "t10k-labels-idx1-ubyte",
];

/// A data set the loader knows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, clap::ValueEnum)]
pub enum DatasetKind {
    /// UCI optical digits 8×8, 1797 samples, embedded in the crate.
    Digits,
    /// MNIST, 60 000 + 10 000 images of 28×28.
    Mnist,
    /// Fashion-MNIST, 60 000 + 10 000 images of 28×28.
    FashionMnist,
}

impl DatasetKind {
    /// All kinds, in CLI order.
    pub const ALL: [Self; 3] = [Self::Digits, Self::Mnist, Self::FashionMnist];

    /// The name used on the command line and as the folder name under `data/`.
    #[must_use]
    pub fn name(self) -> &'static str {
        match self {
            Self::Digits => "digits",
            Self::Mnist => "mnist",
            Self::FashionMnist => "fashion-mnist",
        }
    }

    /// Input dimension (64 or 784).
    #[must_use]
    pub fn dim(self) -> usize {
        match self {
            Self::Digits => digits::DIGITS_DIM,
            Self::Mnist | Self::FashionMnist => 28 * 28,
        }
    }

    /// Number of classes (10 for all three).
    #[must_use]
    pub fn classes(self) -> usize {
        10
    }

    /// Class names in label order.
    #[must_use]
    pub fn class_names(self) -> [&'static str; 10] {
        match self {
            Self::Digits | Self::Mnist => ["0", "1", "2", "3", "4", "5", "6", "7", "8", "9"],
            Self::FashionMnist => [
                "T-shirt/top",
                "Trouser",
                "Pullover",
                "Dress",
                "Coat",
                "Sandal",
                "Shirt",
                "Sneaker",
                "Bag",
                "Ankle boot",
            ],
        }
    }

    /// The default size of the training split (the whole training pool).
    #[must_use]
    pub fn default_n_train(self) -> usize {
        match self {
            Self::Digits => split::DIGITS_TRAIN,
            Self::Mnist | Self::FashionMnist => split::MNIST_DEFAULT_N_TRAIN,
        }
    }

    /// The command that fetches this data set into `data_dir` (or the default location).
    #[must_use]
    pub fn fetch_command(self, data_dir: Option<&Path>) -> String {
        match data_dir {
            None => format!("lifted data fetch --dataset {}", self.name()),
            Some(d) => {
                // `fetch --data-dir R` writes R/<name>/; suggest R so that both forms of
                // `--data-dir` (the folder itself or its parent) find the files afterwards.
                let root = match (d.file_name(), d.parent()) {
                    (Some(f), Some(p)) if f == self.name() && !p.as_os_str().is_empty() => p,
                    _ => d,
                };
                format!(
                    "lifted data fetch --dataset {} --data-dir {}",
                    self.name(),
                    root.display()
                )
            }
        }
    }
}

impl fmt::Display for DatasetKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for DatasetKind {
    type Err = anyhow::Error;

    fn from_str(s: &str) -> Result<Self> {
        match Self::ALL.into_iter().find(|k| k.name() == s) {
            Some(k) => Ok(k),
            None => bail!("unknown data set `{s}` — use digits, mnist or fashion-mnist"),
        }
    }
}

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
    /// Your own file (`--data`, see [`own`]), split like the digits.
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

/// Reads your own file if `own` names one, else the built-in data set `kind` (the one
/// data-loading path of `train`, `certify`, `evaluate` and `remote`).
///
/// # Errors
/// As [`own::OwnData::read`] or [`read`]; neither a file nor a data set given.
pub fn read_any(
    kind: Option<DatasetKind>,
    data_dir: Option<&Path>,
    own: &OwnData,
) -> Result<RawData> {
    match (own.path(), kind) {
        (Some(path), _) => Ok(RawData::Own {
            source: path.display().to_string(),
            all: own.read()?,
            seed: own.seed(),
        }),
        (None, Some(kind)) => read(kind, data_dir),
        (None, None) => bail!("give --dataset NAME or --data FILE"),
    }
}

/// [`read_any`], split with the first `n_train` samples of the pool as the training set
/// (default: the whole pool).
///
/// # Errors
/// As [`read_any`] and [`RawData::splits`].
pub fn load_any(
    kind: Option<DatasetKind>,
    data_dir: Option<&Path>,
    own: &OwnData,
    n_train: Option<usize>,
) -> Result<Splits> {
    let raw = read_any(kind, data_dir, own)?;
    let n = n_train.unwrap_or_else(|| raw.default_n_train());
    raw.splits(TrainSubset::First(n))
}

/// The folder the IDX files of `kind` are read from.
///
/// - With `data_dir`: the folder itself if it holds any of the [`IDX_FILES`] (raw or `.gz`);
///   otherwise `data_dir/<name>` if that is a folder (the layout `lifted data fetch --data-dir`
///   writes); otherwise `data_dir` (and the loader reports which file is missing).
/// - Without: the first `data/<name>` folder found in the current directory or one of its
///   parents, then `data/<name>` at the root of the repository this crate was built from; if none
///   exists, `data/<name>` relative to the current directory.
#[must_use]
pub fn idx_dir(kind: DatasetKind, data_dir: Option<&Path>) -> PathBuf {
    let rel = Path::new("data").join(kind.name());
    if let Some(d) = data_dir {
        let has_files = IDX_FILES
            .iter()
            .any(|f| d.join(f).is_file() || d.join(format!("{f}.gz")).is_file());
        return if !has_files && d.join(kind.name()).is_dir() {
            d.join(kind.name())
        } else {
            d.to_path_buf()
        };
    }
    if let Ok(cwd) = std::env::current_dir() {
        if let Some(found) = cwd.ancestors().map(|a| a.join(&rel)).find(|p| p.is_dir()) {
            return found;
        }
    }
    let repo = crate::device::repo::root().join(&rel);
    if repo.is_dir() {
        return repo;
    }
    rel
}

/// The path of IDX file `name` in `dir`: `dir/name` if it exists, else `dir/name.gz` if that
/// exists, else `dir/name` (so that the "missing" error names the plain file).
#[must_use]
pub fn idx_file(dir: &Path, name: &str) -> PathBuf {
    let raw = dir.join(name);
    let gz = dir.join(format!("{name}.gz"));
    if !raw.exists() && gz.exists() {
        gz
    } else {
        raw
    }
}

/// Reads a data set whole, validating every file.
///
/// For the digits, `data_dir` (if given) must hold `digits.csv.gz` or `digits.csv`; without it the
/// embedded copy is used. For MNIST-like sets see [`idx_dir`]; the training file must have 60 000
/// and the test file 10 000 images of 28×28 with as many labels.
///
/// # Errors
/// A file is missing, unreadable, corrupt or of the wrong shape; the message names the file and
/// the fetch command.
pub fn read(kind: DatasetKind, data_dir: Option<&Path>) -> Result<RawData> {
    match kind {
        DatasetKind::Digits => read_digits(data_dir),
        DatasetKind::Mnist | DatasetKind::FashionMnist => read_idx(kind, data_dir),
    }
}

fn read_digits(data_dir: Option<&Path>) -> Result<RawData> {
    let Some(dir) = data_dir else {
        return Ok(RawData::Digits {
            source: "embedded (host/data/digits.csv.gz)".to_owned(),
            all: digits::embedded()?,
        });
    };
    let Some(path) = digits::DIGITS_FILE_NAMES
        .iter()
        .map(|f| dir.join(f))
        .find(|p| p.is_file())
    else {
        bail!(
            "{} missing (or digits.csv) — omit --data-dir to use the embedded digits set",
            dir.join(digits::DIGITS_FILE_NAMES[0]).display()
        );
    };
    let all = digits::read_csv(&path)?;
    Ok(RawData::Digits {
        source: path.display().to_string(),
        all,
    })
}

fn read_idx(kind: DatasetKind, data_dir: Option<&Path>) -> Result<RawData> {
    let dir = idx_dir(kind, data_dir);
    let fetch_cmd = kind.fetch_command(data_dir);
    let [train_images, train_labels, test_images, test_labels] = IDX_FILES;
    let train_file = read_idx_pair(
        kind,
        &dir,
        (train_images, train_labels),
        split::MNIST_TRAIN_FILE_SAMPLES,
        &fetch_cmd,
        "train-file",
    )?;
    let test_file = read_idx_pair(
        kind,
        &dir,
        (test_images, test_labels),
        split::MNIST_TEST_FILE_SAMPLES,
        &fetch_cmd,
        "test-file",
    )?;
    Ok(RawData::Idx {
        kind,
        dir,
        train_file,
        test_file,
    })
}

/// Reads one images/labels pair and checks it has `count` samples of the kind's shape.
fn read_idx_pair(
    kind: DatasetKind,
    dir: &Path,
    (images_name, labels_name): (&str, &str),
    count: usize,
    fetch_cmd: &str,
    role: &str,
) -> Result<Dataset> {
    let images_path = idx_file(dir, images_name);
    let labels_path = idx_file(dir, labels_name);
    // Labels first: they are small, so a missing folder is reported without reading images.
    let labels = idx::read_labels(&labels_path, kind.classes(), fetch_cmd)?;
    let images = idx::read_images(&images_path, fetch_cmd)?;
    ensure!(
        images.rows * images.cols == kind.dim() && images.count == count,
        "{}: expected {count} images of 28×28 for {kind}, found {} of {}×{} — re-run `{fetch_cmd}`",
        images_path.display(),
        images.count,
        images.rows,
        images.cols
    );
    ensure!(
        labels.len() == count,
        "{}: expected {count} labels to match {}, found {} — re-run `{fetch_cmd}`",
        labels_path.display(),
        images_path.display(),
        labels.len()
    );
    Dataset::from_bytes(
        &format!("{kind}:{role}"),
        &images.pixels,
        labels,
        kind.dim(),
        kind.classes(),
        u8::MAX,
    )
}

/// Loads a data set and splits it (docs/method.md §7.1): the training split is the first `n_train`
/// samples of the training pool (default [`DatasetKind::default_n_train`]: 50 000 for MNIST-like
/// sets, 1297 for the digits).
///
/// # Errors
/// As [`read`], or `n_train` is zero or larger than the pool.
pub fn load(kind: DatasetKind, data_dir: Option<&Path>, n_train: Option<usize>) -> Result<Splits> {
    let n = n_train.unwrap_or_else(|| kind.default_n_train());
    load_with(kind, data_dir, TrainSubset::First(n))
}

/// Loads a data set and splits it, selecting the training split as `train` says (e.g. a seeded,
/// class-balanced subset).
///
/// # Errors
/// As [`read`] and [`split::select_train`].
pub fn load_with(kind: DatasetKind, data_dir: Option<&Path>, train: TrainSubset) -> Result<Splits> {
    read(kind, data_dir)?.splits(train)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kind_names_round_trip() {
        for k in DatasetKind::ALL {
            assert_eq!(k.name().parse::<DatasetKind>().unwrap(), k);
            assert_eq!(k.to_string(), k.name());
        }
        assert!("MNIST".parse::<DatasetKind>().is_err());
    }

    #[test]
    fn fetch_command_suggests_the_data_root() {
        let k = DatasetKind::Mnist;
        assert_eq!(k.fetch_command(None), "lifted data fetch --dataset mnist");
        assert_eq!(
            k.fetch_command(Some(Path::new("/x/mnist"))),
            "lifted data fetch --dataset mnist --data-dir /x"
        );
        assert_eq!(
            k.fetch_command(Some(Path::new("/x/y"))),
            "lifted data fetch --dataset mnist --data-dir /x/y"
        );
    }

    #[test]
    fn dataset_helpers() {
        let d = Dataset::from_bytes("t", &[0, 255, 51, 102], vec![1, 0], 2, 2, 255).unwrap();
        assert_eq!(d.len(), 2);
        assert_eq!(d.input(1), Some(&[0.2f32, 0.4][..]));
        assert_eq!(d.input(2), None);
        assert_eq!(d.class_counts(), [1, 1]);
        assert_eq!(d.select(&[1, 7, 0], "s").labels, [0, 1]);
        assert_eq!(d.slice(1..9, "s").labels, [0]);
        assert_eq!(d.iter().count(), 2);
        assert!(Dataset::from_bytes("t", &[0, 1, 2], vec![0], 2, 2, 255).is_err());
        assert!(Dataset::from_bytes("t", &[0, 17], vec![0], 2, 2, 16).is_err());
        assert!(Dataset::from_bytes("t", &[0, 1], vec![2], 2, 2, 255).is_err());
    }
}
