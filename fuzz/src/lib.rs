//! Helpers shared by the fuzz targets (`fuzz_targets/*.rs`): a per-process scratch file for the
//! parsers that read from a path, the digits splits, and re-sealing of checksummed inputs so that
//! mutations get past the checksum to the parser behind it.
//!
//! Every target feeds arbitrary bytes to one of the repository's parsers and checks that it returns
//! (a value or a typed error) without panicking; libFuzzer reports a panic, an out-of-memory or a
//! timeout as a crash.

use std::path::PathBuf;
use std::sync::OnceLock;

/// Writes `bytes` to `name` inside a scratch folder of this process and returns the path, for the
/// parsers that take a path (the file name, and so its extension, is chosen by the caller).
///
/// # Panics
/// If the scratch folder cannot be written (an environment problem, not a finding).
#[must_use]
pub fn scratch_file(name: &str, bytes: &[u8]) -> PathBuf {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    let dir = DIR.get_or_init(|| {
        let d = std::env::temp_dir().join(format!("lifted-fuzz-{}", std::process::id()));
        std::fs::create_dir_all(&d).expect("creating the fuzz scratch folder");
        d
    });
    let path = dir.join(name);
    std::fs::write(&path, bytes).expect("writing the fuzz scratch file");
    path
}

/// A scratch sub-folder `name` of this process, emptied.
///
/// # Panics
/// If the folder cannot be created.
#[must_use]
pub fn scratch_dir(name: &str) -> PathBuf {
    let dir = scratch_file(".keep", b"")
        .parent()
        .expect("the scratch folder")
        .join(name);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("creating a fuzz scratch sub-folder");
    dir
}

/// The embedded digits data set, split as `lifted train --dataset digits` splits it (loaded once).
///
/// # Panics
/// If the embedded data set does not load (a test of the host crate pins it).
pub fn digits() -> &'static lifted::data::Splits {
    static SPLITS: OnceLock<lifted::data::Splits> = OnceLock::new();
    SPLITS.get_or_init(|| {
        lifted::data::load(lifted::data::DatasetKind::Digits, None, None)
            .expect("the embedded digits set loads")
    })
}

/// `json` (an object) sealed the way checkpoints are: a last member `"crc32":"xxxxxxxx"` holding
/// the CRC-32 of the text without it (see `host/src/train/checkpoint.rs`).
#[must_use]
pub fn seal_json(json: &str) -> String {
    let crc = lifted_core::format::CRC32.checksum(json.as_bytes());
    let open = json.strip_suffix('}').unwrap_or(json);
    format!("{open},\"crc32\":\"{crc:08x}\"}}\n")
}

/// Splits off the first byte as a flag (0 when `data` is empty).
#[must_use]
pub fn flag(data: &[u8]) -> (u8, &[u8]) {
    match data.split_first() {
        Some((&f, rest)) => (f, rest),
        None => (0, data),
    }
}

/// Checks a data set that `OwnData::parse` accepted: at least one sample and one feature, `dim`
/// features in [0, 1] per sample, 1 to 256 classes (`classes` if given) and every label below
/// the class count.
///
/// # Panics
/// If one of these fails (a finding).
pub fn check_dataset(d: &lifted::data::Dataset, classes: Option<usize>) {
    assert!(
        !d.labels.is_empty() && d.dim >= 1,
        "{} samples of {}",
        d.labels.len(),
        d.dim
    );
    assert_eq!(d.inputs.len(), d.labels.len() * d.dim);
    assert!(d.inputs.iter().all(|x| (0.0..=1.0).contains(x)));
    assert!((1..=256).contains(&d.classes), "{} classes", d.classes);
    if let Some(c) = classes {
        assert_eq!(d.classes, c);
    }
    assert!(d.labels.iter().all(|&l| usize::from(l) < d.classes));
}
