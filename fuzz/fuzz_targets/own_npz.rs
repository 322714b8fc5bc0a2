//! Arbitrary bytes → the readers of `--data FILE` other than CSV: the `.npy` parser of any dtype
//! (`lifted::data::npy::parse_npy`), `.npz` archives through `OwnData::parse` (arrays `x` and `y`,
//! stored or deflated), and IDX images with an IDX labels file through `OwnData::parse`. The
//! first byte is a flag: its value modulo 3 picks the reader (0 `.npy`, 1 `.npz`, 2 IDX, whose
//! input is the images file, a 2-byte little-endian length taken modulo the rest, then the labels
//! file); bit 2 gives `--classes` (bits 3–7, plus 1). Nothing may panic; a refusal names the
//! file; an accepted array holds as many values as its shape declares, an accepted data set
//! `dim` features in [0, 1] and a label below the class count per sample.
//!
//! Run: `cd fuzz && cargo +nightly fuzz run own_npz` (seed corpus in `corpus/own_npz/`).
#![no_main]

use libfuzzer_sys::fuzz_target;
use lifted::data::npy::parse_npy;
use lifted::data::OwnData;
use lifted_fuzz::{check_dataset, flag};

fuzz_target!(|data: &[u8]| {
    let (f, bytes) = flag(data);
    let classes = (f & 4 != 0).then_some(usize::from(f >> 3) + 1);
    let (name, own, data, labels) = match f % 3 {
        0 => {
            if let Ok(a) = parse_npy(bytes) {
                let count = a.shape.iter().try_fold(1usize, |n, &d| n.checked_mul(d));
                assert_eq!(count, Some(a.data.len()), "shape {:?}", a.shape);
            }
            return;
        }
        1 => (
            "fuzz.npz",
            OwnData {
                file: Some("fuzz.npz".into()),
                ..OwnData::default()
            },
            bytes.to_vec(),
            None,
        ),
        _ => {
            let (len, rest) = match bytes {
                [a, b, rest @ ..] => (usize::from(u16::from_le_bytes([*a, *b])), rest),
                _ => (0, bytes),
            };
            let (images, labels) = rest.split_at(len % (rest.len() + 1));
            (
                // A refusal names the images or the labels file.
                "fuzz-",
                OwnData {
                    file: Some("fuzz-images-idx3-ubyte".into()),
                    labels: Some("fuzz-labels-idx1-ubyte".into()),
                    ..OwnData::default()
                },
                images.to_vec(),
                Some(labels.to_vec()),
            )
        }
    };
    let own = OwnData {
        input_range: Some("0,255".to_owned()),
        classes,
        ..own
    };
    match own.parse(data, labels) {
        Ok(d) => check_dataset(&d, own.classes),
        Err(e) => assert!(format!("{e:#}").contains(name), "{e:#}"),
    }
});
