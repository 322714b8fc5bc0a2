//! `firmware/models/demo.lfm`, the firmware's default model, is made by `lifted train` and `lifted
//! export` with the flags of `scripts/make-demo-model.sh`: its metadata records the training
//! configuration, which must match the script, and it certifies what a margin-trained model does.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::Path;

use indicatif::ProgressBar;
use lifted::data::{load, DatasetKind};
use lifted_core::{ModelView, Norm};

fn repo() -> &'static Path {
    Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/.."))
}

/// The `--flag value` pairs of the script's `lifted train` command.
fn script_flags() -> Vec<(String, String)> {
    let script = std::fs::read_to_string(repo().join("scripts/make-demo-model.sh")).unwrap();
    let start = script.find("lifted train ").expect("a `lifted train` line");
    let command: String = script[start..]
        .split_inclusive('\n')
        .scan(true, |go, line| {
            let take = *go;
            *go = line.trim_end().ends_with('\\');
            take.then(|| line.replace('\\', " "))
        })
        .collect();
    let words: Vec<&str> = command.split_whitespace().skip(2).collect();
    words
        .chunks(2)
        .map(|p| {
            (
                p[0].trim_start_matches("--").replace('-', "_"),
                p[1].to_owned(),
            )
        })
        .filter(|(k, _)| k != "out")
        .collect()
}

#[test]
fn the_demo_model_is_made_by_lifted_train_with_the_scripts_flags() {
    let blob = lifted::model::file::read_blob(&repo().join("firmware/models/demo.lfm")).unwrap();
    let model = ModelView::new_checked(blob.as_bytes()).unwrap();
    let meta: serde_json::Value = serde_json::from_str(model.header().metadata).unwrap();
    assert_eq!(meta["trainer"], "lifted train");
    let config = &meta["config"];
    let flags = script_flags();
    assert!(flags.len() >= 9, "{flags:?}");
    for (key, value) in &flags {
        let stored = match key.as_str() {
            "dataset" => config["data"]["dataset"].clone(),
            _ => config[key.as_str()].clone(),
        };
        let matches = match &stored {
            serde_json::Value::Array(v) => {
                let want: Vec<u64> = value.split(',').map(|w| w.parse().unwrap()).collect();
                v.iter().map(|x| x.as_u64().unwrap()).collect::<Vec<_>>() == want
            }
            serde_json::Value::Number(n) => n.as_f64() == value.parse::<f64>().ok(),
            serde_json::Value::String(s) => s == value,
            _ => false,
        };
        assert!(
            matches,
            "--{key} {value} in the script, {stored} in the model"
        );
    }
    // The shape the firmware's budgets and README describe.
    assert_eq!(model.input_dim(), 64);
    assert_eq!((model.width(1), model.width(2)), (32, 10));
    assert!(model.is_forward_deployment());
}

#[test]
fn the_demo_model_certifies_most_test_digits() {
    let blob = lifted::model::file::read_blob(&repo().join("firmware/models/demo.lfm")).unwrap();
    let model = ModelView::new_checked(blob.as_bytes()).unwrap();
    let test = load(DatasetKind::Digits, None, None).unwrap().test;
    let preds = lifted::eval::predict(&model, &test, true, &ProgressBar::hidden());
    let n = preds.len() as f64;
    let share = |f: &dyn Fn(&lifted::eval::Prediction) -> bool| {
        preds.iter().filter(|p| f(p)).count() as f64 / n
    };
    let clean = share(&|p| p.correct());
    let l2 = share(&|p| p.certified_at(Norm::L2, 0.3));
    let linf = share(&|p| p.certified_at(Norm::Linf, 0.03));
    // Measured when it was made: 93.6 % clean, 75.2 % at ℓ2 0.3, 82.4 % at ℓ∞ 0.03 (250 digits).
    assert!(clean >= 0.9, "clean {clean}");
    assert!(l2 >= 0.7, "certified at ℓ2 0.3: {l2}");
    assert!(linf >= 0.75, "certified at ℓ∞ 0.03: {linf}");
}
