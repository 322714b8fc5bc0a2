//! Arbitrary bytes (raw or gzip) → the IDX image and label readers that `lifted train --dataset
//! mnist` uses. Nothing may panic; a refusal is an `IdxFileError` naming the file, and an accepted
//! image file holds exactly `count × rows × cols` pixels.
//!
//! Run: `cd fuzz && cargo +nightly fuzz run idx` (seed corpus in `corpus/idx/`).
#![no_main]

use libfuzzer_sys::fuzz_target;
use lifted::data::idx::{read_images, read_labels, IdxFileError};
use lifted_fuzz::{flag, scratch_file};

fuzz_target!(|data: &[u8]| {
    let (f, bytes) = flag(data);
    let path = scratch_file("input-idx-ubyte", bytes);
    if f & 1 == 0 {
        match read_images(&path, "fetch") {
            Ok(img) => assert_eq!(img.pixels.len(), img.count * img.rows * img.cols),
            Err(e) => assert!(e.downcast_ref::<IdxFileError>().is_some(), "{e:#}"),
        }
    } else {
        let classes = usize::from(f >> 1).max(1);
        match read_labels(&path, classes, "fetch") {
            Ok(labels) => assert!(labels.iter().all(|&l| usize::from(l) < classes)),
            Err(e) => assert!(e.downcast_ref::<IdxFileError>().is_some(), "{e:#}"),
        }
    }
});
