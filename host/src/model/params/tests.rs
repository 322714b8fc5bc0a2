use super::*;

#[test]
fn save_params_failure_leaves_no_temp_file() {
    let dir = tempfile::tempdir().unwrap();
    let target = dir.path().join("best.params.json");
    fs::create_dir(&target).unwrap();
    fs::write(target.join("keep"), b"x").unwrap();
    let e = format!("{:#}", save_params(&target, &tiny()).unwrap_err());
    assert!(e.contains("best.params.json"), "{e}");
    assert!(
        !dir.path().join(".best.params.json.tmp").exists(),
        "temp file left behind"
    );
}

fn tiny() -> ModelParams {
    let mut s = 0x9e37_79b9_7f4a_7c15u64;
    let mut next = move || {
        s ^= s << 13;
        s ^= s >> 7;
        s ^= s << 17;
        // Values of every magnitude, including subnormals and exact ties of the f64 path.
        let e = (s % 80) as i32 - 60;
        let m = (s >> 20) as f32 / (1u64 << 44) as f32;
        let v = (1.0 + m) * 2f32.powi(e);
        if s & 1 == 0 {
            v
        } else {
            -v
        }
    };
    let mut layer = |rows: usize, cols: usize, act| LayerParams {
        weights: (0..rows * cols).map(|_| next()).collect(),
        bias: (0..rows).map(|_| next()).collect(),
        activation: act,
        gamma: 0.5,
        rho: 2.0,
        step: 0.125,
    };
    ModelParams {
        input_dim: 5,
        input_range: (0.0, 1.0),
        family: Family::Hopfield,
        init: Init::Zero,
        schedule: Schedule::BwdFwdTopDown,
        sweeps: 3,
        layers: vec![
            layer(4, 5, Activation::ClippedRelu { bound: 2.5 }),
            layer(3, 4, Activation::Relu),
            layer(2, 3, Activation::Identity),
        ],
        class_names: vec!["no".into(), "yes".into()],
        metadata: "{\"seed\":7}".into(),
    }
}

#[test]
fn round_trip_is_bit_exact() {
    let p = tiny();
    let text = to_json(&p).unwrap();
    let q = from_json(&text).unwrap();
    assert_eq!(p, q);
    for (a, b) in p.layers.iter().zip(&q.layers) {
        let bits = |v: &[f32]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
        assert_eq!(bits(&a.weights), bits(&b.weights));
        assert_eq!(bits(&a.bias), bits(&b.bias));
    }
    assert!(text.contains("\"clipped-relu\": 2.5"));
    assert!(text.contains("\"bwd-fwd+topdown\""));
}

#[test]
fn many_random_f32_survive_json() {
    let mut s = 12345u64;
    let values: Vec<f32> = (0..200_000)
        .map(|_| {
            s = s
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407);
            f32::from_bits((s >> 32) as u32)
        })
        .filter(|v| v.is_finite())
        .collect();
    let text = serde_json::to_string(&values).unwrap();
    let back: Vec<f32> = serde_json::from_str(&text).unwrap();
    assert!(values
        .iter()
        .zip(&back)
        .all(|(a, b)| a.to_bits() == b.to_bits()));
}

#[test]
fn refuses_bad_files_with_reasons() {
    let p = tiny();
    let mut nan = p.clone();
    nan.layers[1].weights[5] = f32::NAN;
    let e = to_json(&nan).unwrap_err().to_string();
    assert!(e.contains("layer 2") && e.contains("diverged"), "{e}");

    let text = to_json(&p).unwrap();
    let e = from_json(&text.replace("lifted-params", "other"))
        .unwrap_err()
        .to_string();
    assert!(e.contains("not a lifted parameter file"), "{e}");
    let e = from_json(&text.replace("\"version\": 1", "\"version\": 9"))
        .unwrap_err()
        .to_string();
    assert!(e.contains("version 9"), "{e}");
    let e = format!(
        "{:#}",
        from_json(&text.replace("\"gamma\"", "\"gama\"")).unwrap_err()
    );
    assert!(e.contains("gama"), "{e}");
    let mut v: serde_json::Value = serde_json::from_str(&text).unwrap();
    v["layers"][1]["weights"][0].as_array_mut().unwrap().pop();
    let e = from_json(&v.to_string()).unwrap_err().to_string();
    assert!(e.contains("layer 2: weight row 0"), "{e}");
    let e = from_json("{").unwrap_err().to_string();
    assert!(e.contains("not valid JSON"), "{e}");
}

/// How early builds spelled lifted-core's enums: serde's default, the Rust variant names.
fn legacy_activation(a: Activation) -> serde_json::Value {
    match a {
        Activation::ClippedRelu { bound } => serde_json::json!({"ClippedRelu": {"bound": bound}}),
        other => serde_json::json!(format!("{other:?}")),
    }
}

#[test]
fn reads_the_legacy_trainer_mirror() {
    let p = tiny();
    let layers: Vec<serde_json::Value> = p
        .layers
        .iter()
        .map(|l| {
            serde_json::json!({"weights": l.weights, "bias": l.bias,
                "activation": legacy_activation(l.activation),
                "gamma": l.gamma, "rho": l.rho, "step": l.step})
        })
        .collect();
    let legacy = serde_json::json!({
        "input_dim": p.input_dim, "input_range": p.input_range,
        "family": format!("{:?}", p.family), "init": format!("{:?}", p.init),
        "schedule": format!("{:?}", p.schedule), "sweeps": p.sweeps, "layers": layers,
        "class_names": p.class_names, "metadata": p.metadata,
    });
    let text = legacy.to_string();
    assert!(text.contains("\"ClippedRelu\""), "{text}");
    assert!(
        text.contains("\"FenchelYoung\"") || text.contains("\"Hopfield\""),
        "{text}"
    );
    assert_eq!(from_json(&text).unwrap(), p);
}

#[test]
fn enums_use_the_method_names_in_json_and_text() {
    use lifted_core::{Family, Init, Schedule};
    for (v, name) in [
        (serde_json::json!(Family::FenchelYoung), "fenchel-young"),
        (serde_json::json!(Family::Hopfield), "hopfield"),
        (serde_json::json!(Init::Forward), "forward"),
        (serde_json::json!(Init::Zero), "zero"),
        (serde_json::json!(Schedule::BwdFwd), "bwd-fwd"),
        (
            serde_json::json!(Schedule::BwdFwdTopDown),
            "bwd-fwd+topdown",
        ),
        (serde_json::json!(Activation::Relu), "relu"),
        (serde_json::json!(Activation::Identity), "identity"),
    ] {
        assert_eq!(v, serde_json::json!(name));
    }
    for f in [Family::FenchelYoung, Family::Hopfield] {
        assert_eq!(f.to_string().parse::<Family>(), Ok(f));
    }
    for s in [Schedule::BwdFwd, Schedule::BwdFwdTopDown] {
        assert_eq!(s.to_string().parse::<Schedule>(), Ok(s));
    }
    for a in [
        Activation::Identity,
        Activation::Relu,
        Activation::ClippedRelu { bound: 0.1 },
        Activation::ClippedRelu { bound: 6.0 },
    ] {
        assert_eq!(a.to_string().parse::<Activation>(), Ok(a), "{a}");
    }
    assert!("clipped-relu(inf)".parse::<Activation>().is_err());
    assert!("Relu".parse::<Activation>().is_err());
    let e = "lpom".parse::<Family>().unwrap_err().to_string();
    assert!(e.contains("fenchel-young | hopfield"), "{e}");
}

#[test]
fn save_and_load_files() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("best.params.json");
    save_params(&path, &tiny()).unwrap();
    assert_eq!(load_params(&path).unwrap(), tiny());
    let e = format!(
        "{:#}",
        load_params(&dir.path().join("missing.json")).unwrap_err()
    );
    assert!(
        e.contains("missing.json") && e.contains("best.params.json"),
        "{e}"
    );
}
