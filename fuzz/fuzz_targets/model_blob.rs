//! Arbitrary bytes → `ModelView::new_checked`; whatever loads runs `infer` and `certify` on an
//! input taken from the tail of the same bytes. Nothing may panic.
//!
//! Run: `cd fuzz && cargo +nightly fuzz run model_blob` (seed corpus in `corpus/model_blob/`).
#![no_main]

use libfuzzer_sys::fuzz_target;
use lifted_core::write::Blob;
use lifted_core::{certify, certify_with_internal, infer, ModelView, Norm, Workspace};

fuzz_target!(|data: &[u8]| {
    // The first byte splits the data into a blob and input bytes.
    let Some((&split, rest)) = data.split_first() else {
        return;
    };
    let cut = (usize::from(split) * rest.len()) / 255;
    let (blob_bytes, input_bytes) = rest.split_at(cut.min(rest.len()));
    // Odd split bytes re-seal the CRC, so that mutations reach the header decoder and inference.
    let mut owned = blob_bytes.to_vec();
    if split & 1 == 1 && owned.len() >= 4 {
        let n = owned.len() - 4;
        let crc = lifted_core::format::CRC32.checksum(&owned[..n]);
        owned[n..].copy_from_slice(&crc.to_le_bytes());
    }
    let blob = Blob::from_bytes(&owned);
    let Ok(model) = ModelView::new_checked(blob.as_bytes()) else {
        return;
    };
    let need = Workspace::required(&model);
    if need > 1 << 20 {
        return;
    }
    let mut buf = vec![0.0f32; need];
    let mut ws = Workspace::new(&mut buf);
    let x: Vec<f32> = input_bytes
        .chunks_exact(4)
        .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
        .chain(core::iter::repeat(0.5))
        .take(model.input_dim())
        .collect();
    if let Ok(out) = infer(&model, &x, &mut ws) {
        let _ = certify(&model, &out, Norm::L2);
        let _ = certify_with_internal(&model, &out);
        let _ = certify(&model, &out, Norm::Linf);
    }
});
