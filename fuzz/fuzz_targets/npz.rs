//! Arbitrary bytes → the `.npy` parser and the `.npz` reader (the sidecar arrays that
//! `lifted export` writes next to a blob). The first byte's low bit picks one. Nothing may panic;
//! an accepted array holds exactly the number of values its shape declares.
//!
//! Run: `cd fuzz && cargo +nightly fuzz run npz` (seed corpus in `corpus/npz/`).
#![no_main]

use libfuzzer_sys::fuzz_target;
use lifted::npz::{parse_npy, read_npz, Array};
use lifted_fuzz::{flag, scratch_file};

fn check(a: &Array) {
    let count = a.shape.iter().try_fold(1usize, |n, &d| n.checked_mul(d));
    assert_eq!(count, Some(a.data.len()), "shape {:?}", a.shape);
}

fuzz_target!(|data: &[u8]| {
    let (f, bytes) = flag(data);
    if f & 1 == 0 {
        if let Ok(a) = parse_npy(bytes) {
            check(&a);
        }
    } else {
        let path = scratch_file("sidecar.npz", bytes);
        if let Ok(arrays) = read_npz(&path) {
            arrays.values().for_each(check);
        }
    }
});
