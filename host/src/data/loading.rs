//! The loading dispatch: your own file or a built-in data set ([`read_any`], [`load_any`]), the
//! digits CSV and the MNIST-like IDX files ([`read`], [`idx_dir`], [`idx_file`]), and loading
//! with a split ([`load`], [`load_with`]).

use std::path::{Path, PathBuf};

use anyhow::{bail, ensure, Result};

use super::{
    digits, idx, split, Dataset, DatasetKind, OwnData, RawData, Splits, TrainSubset, IDX_FILES,
};

/// Reads your own file if `own` names one, else the built-in data set `kind` (the one
/// data-loading path of `train`, `certify`, `evaluate` and `remote`).
///
/// # Errors
/// As [`own::OwnData::read`](super::own::OwnData::read) or [`read`]; neither a file nor a data set given.
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
/// - With `data_dir`: `data_dir/<name>` if that folder holds any of the [`IDX_FILES`] (raw or
///   `.gz`; the layout `lifted data fetch --data-dir` writes), since MNIST and Fashion-MNIST share
///   the file names and loose files beside it may be the other data set's; otherwise the folder
///   itself if it holds any of them; otherwise `data_dir/<name>` if that is a folder; otherwise
///   `data_dir` (and the loader reports which file is missing).
/// - Without: the first `data/<name>` folder found in the current directory or one of its
///   parents, then `data/<name>` at the root of the repository this crate was built from; if none
///   exists, `data/<name>` relative to the current directory.
#[must_use]
pub fn idx_dir(kind: DatasetKind, data_dir: Option<&Path>) -> PathBuf {
    let rel = Path::new("data").join(kind.name());
    if let Some(d) = data_dir {
        let has_files = |dir: &Path| {
            IDX_FILES
                .iter()
                .any(|f| dir.join(f).is_file() || dir.join(format!("{f}.gz")).is_file())
        };
        // MNIST and Fashion-MNIST use the same file names: a folder named for the data set wins
        // over loose files beside it, which may belong to the other one.
        let sub = d.join(kind.name());
        return if sub.is_dir() && (has_files(&sub) || !has_files(d)) {
            sub
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
