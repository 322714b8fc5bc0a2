//! Arbitrary bytes → a run's `summary.json` as `experiment run|list|report` read it, and the grid
//! CSV written from it. Nothing may panic; the CSV starts with its fixed header.
//!
//! Run: `cd fuzz && cargo +nightly fuzz run summary_json` (seed corpus in `corpus/summary_json/`).
#![no_main]

use libfuzzer_sys::fuzz_target;
use lifted::experiment::summary::to_csv;
use lifted::experiment::RunSummary;
use lifted_fuzz::scratch_file;

fuzz_target!(|data: &[u8]| {
    let path = scratch_file("summary.json", data);
    match RunSummary::load(&path) {
        Ok(s) => {
            let csv = to_csv(std::slice::from_ref(&s));
            assert!(
                csv.starts_with(lifted::experiment::summary::CSV_FIXED),
                "{csv}"
            );
        }
        Err(e) => assert!(format!("{e:#}").contains("summary.json"), "{e:#}"),
    }
});
