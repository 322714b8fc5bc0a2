//! Arbitrary bytes → the safetensors import of `lifted export --safetensors` (`import_bytes`, the
//! function behind `import_file`) and, for what it accepts, the exporter and a reload of the blob
//! by `lifted-core`. The first byte is a flag: its low two bits pick `--tensor-names` (detected,
//! `layers.{k}`, `fc{k}`, the list `0,2`), bits 2–3 `--activation` (relu, identity,
//! clipped-relu:6). Nothing may panic; an accepted file is a model whose last layer is the
//! identity, and it exports to a blob that loads, or the exporter says why not.
//!
//! Run: `cd fuzz && cargo +nightly fuzz run safetensors` (seed corpus in `corpus/safetensors/`).
#![no_main]

use libfuzzer_sys::fuzz_target;
use lifted::model::export::build_blob;
use lifted::model::import_safetensors::{import_bytes, ImportOptions};
use lifted_core::bounds::Limits;
use lifted_core::{Activation, ModelView};
use lifted_fuzz::flag;

fuzz_target!(|data: &[u8]| {
    let (f, bytes) = flag(data);
    let opts = ImportOptions {
        tensor_names: match f & 3 {
            0 => None,
            1 => Some("layers.{k}".to_owned()),
            2 => Some("fc{k}".to_owned()),
            _ => Some("0,2".to_owned()),
        },
        activation: match (f >> 2) & 3 {
            0 | 3 => Activation::Relu,
            1 => Activation::Identity,
            _ => Activation::ClippedRelu { bound: 6.0 },
        },
        ..ImportOptions::default()
    };
    let Ok(params) = import_bytes(bytes, &opts) else {
        return;
    };
    let last = params.layers.last().expect("an imported model has a layer");
    assert_eq!(last.activation, Activation::Identity);
    match build_blob(&params, &Limits::default()) {
        Ok(blob) => {
            let model = ModelView::new_checked(blob.as_bytes()).expect("an exported blob loads");
            assert_eq!(model.input_dim(), params.input_dim);
            assert_eq!(model.layers(), params.layers.len());
        }
        Err(e) => assert!(!format!("{e:#}").contains("a bug in the exporter"), "{e:#}"),
    }
});
