//! Arbitrary text → the parameter file reader (`best.params.json`, the input of `lifted export`,
//! `certify --params`, …) and, for what it accepts, the exporter: constants, blob, and a reload
//! of the blob by `lifted-core`. Nothing may panic; an accepted file exports to a blob that loads.
//!
//! Run: `cd fuzz && cargo +nightly fuzz run params_json` (seed corpus in `corpus/params_json/`).
#![no_main]

use libfuzzer_sys::fuzz_target;
use lifted::model::export::build_blob;
use lifted::model::params::from_json;
use lifted_core::bounds::Limits;
use lifted_core::ModelView;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(params) = from_json(text) else { return };
    // `from_json` validates: the exporter must accept what it accepts, or say why.
    match build_blob(&params, &Limits::default()) {
        Ok(blob) => {
            let model = ModelView::new_checked(blob.as_bytes()).expect("an exported blob loads");
            assert_eq!(model.input_dim(), params.input_dim);
            assert_eq!(model.layers(), params.layers.len());
        }
        Err(e) => assert!(!format!("{e:#}").contains("a bug in the exporter"), "{e:#}"),
    }
});
