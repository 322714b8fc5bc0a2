//! Tests of the training configuration: TOML round trip and defaults, count bounds, and the
//! well-posedness checks.

use super::*;

#[test]
fn toml_round_trip_and_defaults() {
    let c = TrainConfig {
        widths: vec![64, 10],
        gamma: vec![0.5, 1.0],
        ..TrainConfig::default()
    };
    let t = c.to_toml().unwrap();
    assert_eq!(TrainConfig::from_toml(&t).unwrap(), c);
    let d = TrainConfig::from_toml(
        "objective = \"mixed\"\nalpha = 0.25\n[data]\ndataset = \"mnist\"\n",
    )
    .unwrap();
    assert_eq!(d.objective, Objective::Mixed);
    assert_eq!(d.data.dataset, "mnist");
    assert_eq!(d.sweeps, 5);
    assert!(TrainConfig::from_toml("bogus = 1").is_err());
}

#[test]
fn counts_have_upper_bounds_that_name_the_flag() {
    let ok = TrainConfig {
        widths: vec![16, 10],
        ..TrainConfig::default()
    };
    let cases = [
        (
            TrainConfig {
                damping: "power:4294967295:1".parse().unwrap(),
                ..ok.clone()
            },
            ["--damping", "4294967295", "1000"],
        ),
        (
            TrainConfig {
                damping: "sound-gram:31".parse().unwrap(),
                ..ok.clone()
            },
            ["--damping", "31", "30"],
        ),
        (
            TrainConfig {
                epochs: 1_000_000_000,
                ..ok.clone()
            },
            ["--epochs", "1000000000", "10000"],
        ),
        (
            TrainConfig {
                objective: Objective::InputAt,
                attack: Attack::PgdL2,
                attack_steps: 1_000_000_000,
                ..ok.clone()
            },
            ["--attack-steps", "1000000000", "10000"],
        ),
        (
            TrainConfig {
                lip_margin_power_iters: 100_000,
                ..ok.clone()
            },
            ["--lip-margin-power-iters", "100000", "1000"],
        ),
        (
            TrainConfig {
                threads: 1_000_000,
                ..ok.clone()
            },
            ["--threads", "1000000", "1024"],
        ),
        (
            TrainConfig {
                widths: vec![1 << 20, 10],
                ..ok.clone()
            },
            ["--widths", "1048576", "65536"],
        ),
    ];
    for (cfg, words) in cases {
        let e = cfg.validate(64, 10).unwrap_err().to_string();
        for w in words {
            assert!(e.contains(w), "{w} missing in: {e}");
        }
    }
    TrainConfig {
        epochs: crate::limits::MAX_EPOCHS,
        damping: "power:1000:1".parse().unwrap(),
        ..ok
    }
    .validate(64, 10)
    .unwrap();
}

#[test]
fn well_posedness_is_checked() {
    let ok = TrainConfig {
        widths: vec![16, 10],
        ..TrainConfig::default()
    };
    ok.validate(64, 10).unwrap();
    let bad = TrainConfig {
        beta: 1.0,
        ..ok.clone()
    };
    let e = bad.validate(64, 10).unwrap_err().to_string();
    assert!(e.contains("β·(λ_u − λ_t) < γ_L"), "{e}");
    // A larger γ_L makes β = 1 admissible.
    TrainConfig {
        gamma: vec![1.0, 2.0],
        ..bad.clone()
    }
    .validate(64, 10)
    .unwrap();
    // Targeted with λ_u ≤ λ_t is well posed for every β.
    TrainConfig {
        objective: Objective::Targeted,
        beta: 10.0,
        ..ok.clone()
    }
    .validate(64, 10)
    .unwrap();
    let mixed = TrainConfig {
        objective: Objective::Mixed,
        alpha: 0.0,
        beta: 1.5,
        ..ok.clone()
    };
    assert!(mixed.validate(64, 10).is_err());
    TrainConfig {
        alpha: 0.5,
        ..mixed
    }
    .validate(64, 10)
    .unwrap();
    assert!(TrainConfig {
        widths: vec![16, 9],
        ..ok.clone()
    }
    .validate(64, 10)
    .is_err());
    assert!(TrainConfig {
        gamma: vec![1.0],
        ..ok.clone()
    }
    .validate(64, 10)
    .is_err());
    let bp_b = TrainConfig {
        objective: Objective::Bp,
        potential: Potential::Hopfield,
        ..ok
    };
    assert!(bp_b
        .validate(64, 10)
        .unwrap_err()
        .to_string()
        .contains("fenchel-young"));
}
