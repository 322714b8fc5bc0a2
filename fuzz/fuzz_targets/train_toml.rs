//! Arbitrary text → the training configuration (`config.toml` of a run folder, the rows of an
//! experiment) and its validation for the digits and MNIST shapes. Nothing may panic; an accepted
//! configuration writes back to TOML that reads as the same configuration.
//!
//! Run: `cd fuzz && cargo +nightly fuzz run train_toml` (seed corpus in `corpus/train_toml/`).
#![no_main]

use libfuzzer_sys::fuzz_target;
use lifted::train::TrainConfig;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(cfg) = TrainConfig::from_toml(text) else {
        return;
    };
    for (dim, classes) in [(64, 10), (784, 10)] {
        if cfg.validate(dim, classes).is_ok() {
            let _ = (
                cfg.layers(),
                cfg.gammas(),
                cfg.phase_terms(),
                cfg.deploys_forward_pass(),
            );
        }
    }
    let back = cfg
        .to_toml()
        .expect("an accepted configuration writes as TOML");
    let again = TrainConfig::from_toml(&back).expect("written TOML reads back");
    assert_eq!(again, cfg, "{back}");
});
