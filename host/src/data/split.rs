//! Seeded, deterministic train / validation / test splits.
//!
//! - **MNIST-like sets** (docs/method.md §7.1): validation is samples 50 000…59 999 of the 60 000-sample
//!   training file, test is the official 10 000-sample test file, and training is selected from
//!   the first 50 000 samples of the training file: the first N (default all 50 000), or a seeded
//!   class-balanced random subset of N.
//! - **Digits**: the 1797 samples are shuffled with [`ChaCha8Rng`] seeded by
//!   [`DIGITS_SPLIT_SEED`]; the first 1297 of the permutation are the training pool, the next 250
//!   validation and the last 250 test. Training is then selected from the pool as above.
//!
//! Shuffles use the kit's own Fisher–Yates over `ChaCha8Rng::next_u64` ([`crate::rng::shuffle`],
//! with unbiased rejection sampling), so a split depends only on the seed and the ChaCha8 stream, not on the
//! sampling algorithms of a `rand` release. The tests pin the resulting indices.

use std::ops::Range;

use anyhow::{bail, ensure, Result};
use rand_chacha::rand_core::SeedableRng;
use rand_chacha::ChaCha8Rng;

use super::Dataset;
use crate::rng::shuffle;

/// Samples in the training file of MNIST and Fashion-MNIST.
pub const MNIST_TRAIN_FILE_SAMPLES: usize = 60_000;
/// Samples in the test file of MNIST and Fashion-MNIST.
pub const MNIST_TEST_FILE_SAMPLES: usize = 10_000;
/// The training pool: the first 50 000 samples of the training file.
pub const MNIST_TRAIN_POOL: Range<usize> = 0..50_000;
/// The validation split: samples 50 000…59 999 of the training file.
pub const MNIST_VAL: Range<usize> = 50_000..60_000;
/// Default number of MNIST training samples (the whole pool).
pub const MNIST_DEFAULT_N_TRAIN: usize = 50_000;

/// Seed of the fixed digits split (the year the UCI set was donated).
pub const DIGITS_SPLIT_SEED: u64 = 1998;
/// Digits training-pool size.
pub const DIGITS_TRAIN: usize = 1297;
/// Digits validation size.
pub const DIGITS_VAL: usize = 250;
/// Digits test size.
pub const DIGITS_TEST: usize = 250;

/// Default seed of the class-balanced training subset.
pub const DEFAULT_SUBSET_SEED: u64 = 0;

/// How the training split is taken from the training pool.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TrainSubset {
    /// The first `n` samples of the pool, in file (or, for the digits, permutation) order.
    First(usize),
    /// A seeded random subset with `n / classes` samples of every class, kept in pool order.
    /// `n` must be a multiple of the number of classes.
    Balanced {
        /// Total size; a multiple of the number of classes.
        n: usize,
        /// Seed of the [`ChaCha8Rng`] that picks the samples.
        seed: u64,
    },
}

impl TrainSubset {
    /// The number of training samples selected.
    #[must_use]
    pub fn len(&self) -> usize {
        match *self {
            Self::First(n) | Self::Balanced { n, .. } => n,
        }
    }

    /// True if no training sample is selected.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// Training, validation and test sets.
#[derive(Debug, Clone, PartialEq)]
pub struct Splits {
    /// Training set.
    pub train: Dataset,
    /// Validation set.
    pub val: Dataset,
    /// Test set.
    pub test: Dataset,
}

/// Sample indices of a split, into the data set it was made from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SplitIndices {
    /// Training pool (before any [`TrainSubset`] selection).
    pub train: Vec<usize>,
    /// Validation.
    pub val: Vec<usize>,
    /// Test.
    pub test: Vec<usize>,
}

/// The digits split indices for `seed`: a permutation of `0..1797` cut into 1297 / 250 / 250.
#[must_use]
pub fn digits_split_indices(seed: u64) -> SplitIndices {
    shuffled_split_indices(DIGITS_TRAIN + DIGITS_VAL + DIGITS_TEST, seed)
}

/// Validation and test sizes of a single-file data set of `n` samples: each the nearest integer
/// to `n · 250 / 1797` (the digits' proportion; 1797 samples give exactly 250 and 250).
#[must_use]
pub fn shuffled_sizes(n: usize) -> (usize, usize) {
    let total = DIGITS_TRAIN + DIGITS_VAL + DIGITS_TEST;
    let v = (n * DIGITS_VAL + total / 2) / total;
    (v, v)
}

/// The split indices of a single-file data set of `n` samples: a seeded permutation of `0..n`
/// whose last [`shuffled_sizes`] samples are test, the ones before validation, the rest the
/// training pool.
#[must_use]
pub fn shuffled_split_indices(n: usize, seed: u64) -> SplitIndices {
    let (n_val, n_test) = shuffled_sizes(n);
    let mut perm: Vec<usize> = (0..n).collect();
    shuffle(&mut perm, &mut ChaCha8Rng::seed_from_u64(seed));
    let test = perm.split_off(n.saturating_sub(n_test));
    let val = perm.split_off(perm.len().saturating_sub(n_val));
    SplitIndices {
        train: perm,
        val,
        test,
    }
}

/// Splits the 1797 digits with the permutation of [`digits_split_indices`]`(seed)`, then takes
/// the training set from the 1297-sample pool as `train` says.
///
/// # Errors
/// `all` does not have 1797 samples, or `train` cannot be satisfied by the pool.
pub fn split_digits(all: &Dataset, seed: u64, train: TrainSubset) -> Result<Splits> {
    let n = DIGITS_TRAIN + DIGITS_VAL + DIGITS_TEST;
    ensure!(
        all.len() == n,
        "{}: expected {n} digits samples, got {}",
        all.name,
        all.len()
    );
    split_shuffled(all, seed, train, "digits")
}

/// Splits a single-file data set with [`shuffled_split_indices`]`(all.len(), seed)` (the digits'
/// rule for any size), then takes the training set from the pool as `train` says. The parts
/// are called `base:train`, `base:val` and `base:test`.
///
/// # Errors
/// Fewer than 4 samples, or `train` cannot be satisfied by the pool.
pub fn split_shuffled(all: &Dataset, seed: u64, train: TrainSubset, base: &str) -> Result<Splits> {
    ensure!(
        shuffled_sizes(all.len()).0 >= 1,
        "{}: {} samples are too few to split into training, validation and test (at least 4)",
        all.name,
        all.len()
    );
    let idx = shuffled_split_indices(all.len(), seed);
    let name = format!("{base}:train");
    let pool_labels: Vec<u8> = idx.train.iter().map(|&i| all.labels[i]).collect();
    let chosen: Vec<usize> = train_indices(&pool_labels, all.classes, train, &name)?
        .into_iter()
        .map(|i| idx.train[i])
        .collect();
    Ok(Splits {
        train: all.select(&chosen, &name),
        val: all.select(&idx.val, &format!("{base}:val")),
        test: all.select(&idx.test, &format!("{base}:test")),
    })
}

/// Splits an MNIST-like data set per docs/method.md §7.1 (see the module docs).
///
/// # Errors
/// The training file does not have 60 000 samples, or `train` cannot be satisfied by the
/// 50 000-sample pool.
pub fn split_mnist(
    train_file: &Dataset,
    test_file: &Dataset,
    train: TrainSubset,
) -> Result<Splits> {
    ensure!(
        train_file.len() == MNIST_TRAIN_FILE_SAMPLES,
        "{}: expected {MNIST_TRAIN_FILE_SAMPLES} training-file samples, got {}",
        train_file.name,
        train_file.len()
    );
    let base = train_file.name.trim_end_matches(":train-file");
    let name = format!("{base}:train");
    let chosen = train_indices(
        &train_file.labels[MNIST_TRAIN_POOL],
        train_file.classes,
        train,
        &name,
    )?;
    let mut test = test_file.clone();
    test.name = format!("{base}:test");
    Ok(Splits {
        train: train_file.select(&chosen, &name),
        val: train_file.slice(MNIST_VAL, &format!("{base}:val")),
        test,
    })
}

/// Takes the training set from `pool` as `subset` says; the result keeps the pool's name.
///
/// # Errors
/// As [`train_indices`].
pub fn select_train(pool: &Dataset, subset: TrainSubset) -> Result<Dataset> {
    let chosen = train_indices(&pool.labels, pool.classes, subset, &pool.name)?;
    Ok(pool.select(&chosen, &pool.name))
}

/// The indices (ascending) into a training pool with labels `pool_labels` that `subset` selects;
/// `name` names the pool in errors.
///
/// # Errors
/// `n` is zero or larger than the pool; for [`TrainSubset::Balanced`], `n` is not a multiple of
/// `classes` or a class has fewer than `n / classes` samples.
pub fn train_indices(
    pool_labels: &[u8],
    classes: usize,
    subset: TrainSubset,
    name: &str,
) -> Result<Vec<usize>> {
    let n = subset.len();
    let len = pool_labels.len();
    ensure!(
        (1..=len).contains(&n),
        "n_train = {n} is out of range: {name} has {len} samples to train on (choose 1..={len})"
    );
    match subset {
        TrainSubset::First(n) => Ok((0..n).collect()),
        TrainSubset::Balanced { n, seed } => {
            if classes == 0 || n % classes != 0 {
                bail!(
                    "a class-balanced subset needs n_train to be a multiple of {classes}, got {n}"
                );
            }
            let per_class = n / classes;
            let mut rng = ChaCha8Rng::seed_from_u64(seed);
            let mut chosen = Vec::with_capacity(n);
            for class in 0..classes {
                let mut members: Vec<usize> = (0..len)
                    .filter(|&i| usize::from(pool_labels[i]) == class)
                    .collect();
                ensure!(
                    members.len() >= per_class,
                    "{name}: class {class} has only {} samples, fewer than the {per_class} a balanced subset of {n} needs",
                    members.len()
                );
                shuffle(&mut members, &mut rng);
                chosen.extend_from_slice(&members[..per_class]);
            }
            chosen.sort_unstable();
            Ok(chosen)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::below;

    #[test]
    fn shuffle_is_a_permutation_and_seeded() {
        let mut a: Vec<usize> = (0..100).collect();
        let mut b = a.clone();
        shuffle(&mut a, &mut ChaCha8Rng::seed_from_u64(1));
        shuffle(&mut b, &mut ChaCha8Rng::seed_from_u64(1));
        assert_eq!(a, b);
        let mut sorted = a.clone();
        sorted.sort_unstable();
        assert_eq!(sorted, (0..100).collect::<Vec<_>>());
        assert_ne!(a, (0..100).collect::<Vec<_>>());
    }

    #[test]
    fn below_stays_in_range() {
        let mut rng = ChaCha8Rng::seed_from_u64(7);
        for n in [1, 2, 3, 10, 1797] {
            for _ in 0..1000 {
                assert!(below(&mut rng, n) < n);
            }
        }
    }

    #[test]
    fn shuffled_sizes_follow_the_digits_proportion() {
        assert_eq!(shuffled_sizes(1797), (250, 250));
        assert_eq!(shuffled_sizes(100), (14, 14));
        assert_eq!(shuffled_sizes(3), (0, 0));
        let idx = shuffled_split_indices(100, 5);
        assert_eq!(
            (idx.train.len(), idx.val.len(), idx.test.len()),
            (72, 14, 14)
        );
        let mut all: Vec<usize> = [idx.train, idx.val, idx.test].concat();
        all.sort_unstable();
        assert_eq!(all, (0..100).collect::<Vec<_>>());
    }

    #[test]
    fn digits_indices_partition_all_samples() {
        let idx = digits_split_indices(DIGITS_SPLIT_SEED);
        assert_eq!(
            (idx.train.len(), idx.val.len(), idx.test.len()),
            (1297, 250, 250)
        );
        let mut all: Vec<usize> = [idx.train, idx.val, idx.test].concat();
        all.sort_unstable();
        assert_eq!(all, (0..1797).collect::<Vec<_>>());
    }
}
