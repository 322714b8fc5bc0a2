//! Arbitrary bytes (plain or gzip) → the digits CSV reader (`--dataset digits --data-dir`).
//! Nothing may panic; an accepted file holds 64 inputs in [0, 1] and a label below 10 per sample.
//!
//! Run: `cd fuzz && cargo +nightly fuzz run digits_csv` (seed corpus in `corpus/digits_csv/`).
#![no_main]

use libfuzzer_sys::fuzz_target;
use lifted::data::digits::parse_csv;

fuzz_target!(|data: &[u8]| {
    match parse_csv(data, "fuzz.csv") {
        Ok(d) => {
            assert_eq!(d.inputs.len(), d.labels.len() * d.dim);
            assert!(!d.labels.is_empty());
            assert!(d.labels.iter().all(|&l| usize::from(l) < d.classes));
            assert!(d.inputs.iter().all(|x| (0.0..=1.0).contains(x)));
        }
        Err(e) => assert!(e.to_string().contains("fuzz.csv"), "{e:#}"),
    }
});
