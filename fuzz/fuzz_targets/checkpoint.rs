//! Arbitrary bytes → `checkpoint.json` as `lifted train --resume` reads it: the checksum, the
//! JSON, then the shapes against the run's configuration and the resumed trainer on the embedded
//! digits set. An odd first byte seals the rest with a valid checksum (as `Checkpoint::save` does),
//! so that mutations reach the JSON and the shape checks. Nothing may panic (D2 of the issue was a
//! panic here); a resumed trainer holds the checkpoint's state.
//!
//! Run: `cd fuzz && cargo +nightly fuzz run checkpoint` (seed corpus in `corpus/checkpoint/`).
#![no_main]

use libfuzzer_sys::fuzz_target;
use lifted::train::{Checkpoint, Trainer};
use lifted_fuzz::{digits, flag, scratch_file, seal_json};

fuzz_target!(|data: &[u8]| {
    let (f, bytes) = flag(data);
    let path = if f & 1 == 1 {
        let Ok(text) = std::str::from_utf8(bytes) else {
            return;
        };
        scratch_file("checkpoint.json", seal_json(text.trim_end()).as_bytes())
    } else {
        scratch_file("checkpoint.json", bytes)
    };
    let ckpt = match Checkpoint::load(&path) {
        Ok(c) => c,
        Err(e) => {
            assert!(format!("{e:#}").contains("checkpoint"), "{e:#}");
            return;
        }
    };
    let splits = digits();
    let mut cfg = ckpt.config.clone();
    cfg.epochs = cfg.epochs.max(ckpt.epoch);
    if ckpt.validate(&cfg, splits.train.dim).is_ok() {
        let net = ckpt.net();
        assert_eq!(net.layers.len(), ckpt.layers.len());
    }
    let (epoch, history) = (ckpt.epoch, ckpt.history.len());
    if let Ok(t) = Trainer::resume(&cfg, splits, ckpt) {
        assert_eq!(t.history().len(), history);
        let again = t.checkpoint();
        assert_eq!(again.epoch, epoch);
        let _ = t.params();
    }
});
