//! Arbitrary text → the experiment file parser of `lifted experiment run|list|report` and the
//! grid it expands to. Nothing may panic.
//!
//! Run: `cd fuzz && cargo +nightly fuzz run experiment_toml` (seed corpus in
//! `corpus/experiment_toml/`, the files of `experiments/`).
#![no_main]

use libfuzzer_sys::fuzz_target;
use lifted::experiment::Experiment;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    match Experiment::parse(text) {
        Ok(exp) => {
            if let Ok(jobs) = exp.jobs() {
                for job in jobs.iter().take(64) {
                    assert!(
                        exp.row(&job.row).is_some(),
                        "job of an unknown row {}",
                        job.row
                    );
                    let _ = exp.run_dir(job);
                }
            }
        }
        Err(e) => assert!(!e.to_string().is_empty()),
    }
});
