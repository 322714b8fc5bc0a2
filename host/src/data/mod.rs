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
//!
//! Files: this one holds [`DatasetKind`] and the IDX file names; `dataset` the in-memory types
//! [`Dataset`] and [`RawData`]; `loading` the loading dispatch ([`read`], [`load`], [`read_any`],
//! …); [`split`] the split rules and [`Splits`].

pub mod cli;
mod dataset;
pub mod digits;
pub mod fetch;
pub mod idx;
pub mod info;
mod loading;
pub mod npy;
pub mod own;
pub mod split;

use std::fmt;
use std::path::Path;
use std::str::FromStr;

use anyhow::{bail, Result};

pub use dataset::{Dataset, RawData};
pub use fetch::{fetch, FetchTarget};
pub use info::{info, DataInfo, PartInfo};
pub use loading::{idx_dir, idx_file, load, load_any, load_with, read, read_any};
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
