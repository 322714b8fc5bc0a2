//! Arbitrary bytes to `new_checked`, and arbitrary inputs to `infer`/`certify`, never panic.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::{blob, params, Config, Rng};
use lifted_core::bounds::Limits;
use lifted_core::format::CRC32;
use lifted_core::write::Blob;
use lifted_core::{certify, infer, Family, Init, ModelView, Norm, Workspace};
use proptest::prelude::*;

fn exercise(bytes: &[u8], input: &[f32]) {
    let b = Blob::from_bytes(bytes);
    if let Ok(m) = ModelView::new_checked(b.as_bytes()) {
        let n = Workspace::required(&m).min(1 << 16);
        let mut buf = vec![0.0f32; n];
        let mut ws = Workspace::new(&mut buf);
        let x: Vec<f32> = input
            .iter()
            .cycle()
            .take(m.input_dim().min(4096))
            .copied()
            .collect();
        if let Ok(o) = infer(&m, &x, &mut ws) {
            let _ = certify(&m, &o, Norm::L2);
            let _ = certify(&m, &o, Norm::Linf);
        }
        let _ = m.class_name(0);
    }
}

fn valid_blob(seed: u64) -> Vec<u8> {
    let mut rng = Rng(seed | 1);
    let fam = if seed.is_multiple_of(2) {
        Family::FenchelYoung
    } else {
        Family::Hopfield
    };
    let init = if seed.is_multiple_of(3) {
        Init::Zero
    } else {
        Init::Forward
    };
    blob(
        &params(&mut rng, &Config::small(fam, init, (seed % 4) as u16)),
        &Limits::default(),
    )
    .as_bytes()
    .to_vec()
}

fn any_f32() -> impl Strategy<Value = f32> {
    prop_oneof![
        any::<f32>(),
        -2.0f32..2.0,
        Just(f32::NAN),
        Just(f32::INFINITY),
        Just(-0.0f32),
        Just(1e-40f32),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn arbitrary_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..600), input in prop::collection::vec(any_f32(), 1..8)) {
        exercise(&bytes, &input);
        let mut with_magic = b"LIFT\x01\x00\x00\x00".to_vec();
        with_magic.extend_from_slice(&bytes);
        exercise(&with_magic, &input);
    }

    /// Mutations of a valid blob, re-sealed with a correct CRC so that they reach the decoder and
    /// the inference: any byte values in the header, the weights or the constants.
    #[test]
    fn resealed_mutations_never_panic(seed in any::<u64>(), edits in prop::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..6), input in prop::collection::vec(any_f32(), 1..8)) {
        let mut bytes = valid_blob(seed);
        let n = bytes.len() - 4;
        for (at, v) in edits {
            let i = at.index(n);
            bytes[i] = v;
        }
        let crc = CRC32.checksum(&bytes[..n]);
        bytes[n..].copy_from_slice(&crc.to_le_bytes());
        exercise(&bytes, &input);
    }
}
