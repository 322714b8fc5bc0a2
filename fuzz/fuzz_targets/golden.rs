//! Arbitrary bytes → the golden input file reader (`firmware/golden/*.lgi`) and the host's golden
//! run on the firmware's demo model. An odd first byte re-seals the CRC, so that mutations reach
//! the header and the PackBits stream. Nothing may panic; an accepted file decodes into exactly
//! its declared number of samples or reports a typed error.
//!
//! Run: `cd fuzz && cargo +nightly fuzz run golden` (seed corpus in `corpus/golden/`).
#![no_main]

use libfuzzer_sys::fuzz_target;
use lifted_fuzz::flag;
use lifted_proto::golden::{Golden, GoldenError, HEADER_LEN};

const DEMO: &[u8] = include_bytes!("../../firmware/models/demo.lfm");

fuzz_target!(|data: &[u8]| {
    let (f, bytes) = flag(data);
    let mut owned = bytes.to_vec();
    if f & 1 == 1 && owned.len() >= HEADER_LEN {
        let crc = lifted_core::format::CRC32.checksum(&owned[HEADER_LEN..]);
        owned[20..24].copy_from_slice(&crc.to_le_bytes());
    }
    if let Ok(g) = Golden::new(&owned) {
        // A bounded scratch buffer: a header may declare any dimension.
        let dim = g.dim().min(1 << 12);
        let (mut pixels, mut x) = (vec![0u8; dim], vec![0f32; dim]);
        let mut samples = g.samples();
        let mut n = 0usize;
        while let Some(r) = samples.next_input(&mut pixels, &mut x) {
            match r {
                Ok(label) => {
                    assert_eq!(label, g.labels()[n]);
                    assert!(x.iter().all(|v| v.is_finite() && *v >= 0.0));
                    n += 1;
                }
                Err(e) => {
                    assert_eq!(e, GoldenError::BadPayload);
                    break;
                }
            }
        }
        assert!(n <= g.len());
        let _ = lifted::device::golden::expected_lines(DEMO, &owned);
    }
});
