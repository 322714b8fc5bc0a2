//! `lifted certify --vnnlib DIR`: one VNN-LIB property per certified sample and norm, whose
//! bounds read back bit for bit as the certificate's x ± radius (ℓ∞) or x ± radius/√n₀ (ℓ2).
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod cli_support;

use std::path::Path;

use cli_support::{ok, s};
use lifted::data::{self, DatasetKind};
use lifted::eval::vnnlib::{half_width, input_box, parse_box};
use lifted_core::Norm;

const SAMPLES: usize = 60;

fn radii(report: &serde_json::Value, norm: &str) -> Vec<f32> {
    report[norm]["radii"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_f64().unwrap() as f32)
        .collect()
}

#[test]
fn certify_writes_one_property_per_certified_point_with_exact_bounds() {
    let repo = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let model = repo.join("firmware/models/demo.lfm");
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("props");
    let limit = SAMPLES.to_string();
    let json = ok(&[
        "certify",
        "--model",
        s(&model),
        "--dataset",
        "digits",
        "--limit",
        &limit,
        "--json",
        "--vnnlib",
        s(&out),
    ]);
    let report: serde_json::Value = serde_json::from_str(&json).unwrap();
    let test = data::load(DatasetKind::Digits, None, None).unwrap().test;
    let table = std::fs::read_to_string(out.join("certificates.csv")).unwrap();
    let instances = std::fs::read_to_string(out.join("instances.csv")).unwrap();
    assert!(out.join("model.onnx").is_file());

    let mut files = 0;
    for (norm, name) in [(Norm::Linf, "linf"), (Norm::L2, "l2")] {
        let r = radii(&report, name);
        assert_eq!(r.len(), SAMPLES);
        let certified: Vec<usize> = (0..SAMPLES).filter(|&i| r[i] > 0.0).collect();
        assert!(
            certified.len() >= 5,
            "{name}: only {} certified",
            certified.len()
        );
        for (i, &ri) in r.iter().enumerate() {
            let file = format!("sample{i:02}_{name}.vnnlib");
            assert_eq!(out.join(&file).is_file(), ri > 0.0, "{file}");
            assert_eq!(instances.contains(&format!("model.onnx,{file},")), ri > 0.0);
        }
        files += certified.len();

        // Every certified point: the bounds are x ± h (h = r, or r/√64 rounded down for ℓ2),
        // clipped to [0, 1], read back bit for bit; the output constraints are "some j ≠ y has
        // Y_j ≥ Y_y".
        for &i in &certified {
            let x = test.input(i).unwrap();
            let label = usize::from(test.labels[i]);
            let file = format!("sample{i:02}_{name}.vnnlib");
            let text = std::fs::read_to_string(out.join(&file)).unwrap();
            let p = parse_box(&text).unwrap();
            assert_eq!(p.class, label, "{file}");
            let others: Vec<usize> = (0..10).filter(|&j| j != label).collect();
            assert_eq!(p.others, others, "{file}");
            assert!(
                text.contains(&format!("{name} radius {:e}", r[i])),
                "{file}"
            );
            let h = half_width(norm, r[i], 64);
            match norm {
                Norm::Linf => assert_eq!(h, f64::from(r[i])),
                Norm::L2 => {
                    assert!(h * 8.0 <= f64::from(r[i]), "the box leaves the ball");
                    assert!(h >= f64::from(r[i]) / 8.0 * (1.0 - 1e-14));
                }
            }
            let (lo, hi) = input_box(x, h, (0.0, 1.0));
            assert_eq!((&p.lo, &p.hi), (&lo, &hi), "{file}");
            for (j, &v) in x.iter().enumerate() {
                let v = f64::from(v);
                assert!(p.lo[j] <= v && v <= p.hi[j], "{file} X_{j}");
                if norm == Norm::Linf {
                    // Digits pixels are k/16 and r an f32: x ± r is exact in f64, nothing rounds.
                    assert_eq!(p.lo[j], (v - h).max(0.0), "{file} X_{j}");
                    assert_eq!(p.hi[j], (v + h).min(1.0), "{file} X_{j}");
                } else {
                    assert!(p.lo[j] >= v - h - 1e-15 && p.hi[j] <= v + h + 1e-15);
                    assert!(p.hi[j] - p.lo[j] <= 2.0 * h);
                }
            }
            assert!(table.contains(&format!(
                "{i},{label},{label},{name},{:e},{h:e},{file}",
                r[i]
            )));
        }
    }
    assert_eq!(instances.lines().count(), files);
    assert_eq!(table.lines().count(), files + 1);
}
