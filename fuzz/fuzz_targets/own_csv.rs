//! Arbitrary bytes (plain or gzip) → the CSV reader of `--data FILE.csv` (`OwnData::parse`, the
//! function behind `OwnData::read` that `train`, `certify`, `evaluate` and `remote` call). The
//! first byte is a flag: its low three bits are the `--label-column` index, bit 3 names the
//! column `label` instead, bit 4 gives `--classes` (bits 5–7, plus 1), otherwise the classes
//! follow from the labels. Nothing may panic; a refusal names the file; an accepted file holds
//! `dim` features in [0, 1] and a label below the class count per sample.
//!
//! Run: `cd fuzz && cargo +nightly fuzz run own_csv` (seed corpus in `corpus/own_csv/`).
#![no_main]

use libfuzzer_sys::fuzz_target;
use lifted::data::OwnData;
use lifted_fuzz::{check_dataset, flag};

fuzz_target!(|data: &[u8]| {
    let (f, bytes) = flag(data);
    let own = OwnData {
        file: Some("fuzz.csv".into()),
        input_range: Some("0,16".to_owned()),
        label_column: Some(if f & 8 == 0 {
            (f & 7).to_string()
        } else {
            "label".to_owned()
        }),
        classes: (f & 16 != 0).then_some(usize::from(f >> 5) + 1),
        ..OwnData::default()
    };
    match own.parse(bytes.to_vec(), None) {
        Ok(d) => check_dataset(&d, own.classes),
        Err(e) => assert!(format!("{e:#}").contains("fuzz.csv"), "{e:#}"),
    }
});
