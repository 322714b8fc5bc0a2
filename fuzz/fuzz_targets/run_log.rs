//! Arbitrary bytes → the per-epoch log reader of `lifted plot` (`log.csv` or `log.jsonl`, chosen
//! by the first byte). Nothing may panic; an accepted log has equally long, valid columns.
//!
//! Run: `cd fuzz && cargo +nightly fuzz run run_log` (seed corpus in `corpus/run_log/`).
#![no_main]

use libfuzzer_sys::fuzz_target;
use lifted::plot::read_log;
use lifted_fuzz::{flag, scratch_file};

fuzz_target!(|data: &[u8]| {
    let (f, bytes) = flag(data);
    let name = if f & 1 == 0 { "log.csv" } else { "log.jsonl" };
    let path = scratch_file(name, bytes);
    match read_log(&path) {
        Ok(log) => {
            let n = log.epoch.len();
            assert!(n > 0);
            for col in [
                &log.lip_estimate,
                &log.lip_bound,
                &log.val_acc,
                &log.test_acc,
            ] {
                assert_eq!(col.len(), n);
            }
            assert!(log.epoch.iter().all(|e| e.is_finite() && *e >= 0.0));
            assert!(log.lip_bound.iter().all(|v| v.is_finite() && *v > 0.0));
            assert!(log.val_acc.iter().all(|v| (0.0..=1.0).contains(v)));
        }
        Err(e) => assert!(format!("{e:#}").contains(name), "{e:#}"),
    }
});
