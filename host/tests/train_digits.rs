//! Training on the embedded 8×8 digits: accuracy, loss decrease, every objective, bit
//! reproducibility, resume, divergence handling and construction-time errors.

use std::time::Instant;

use lifted::train::{
    self, train_in_dir, Attack, Checkpoint, LossKind, MetaGamma, Objective, Potential, Progress,
    RelaxedDistance, TrainConfig,
};

mod train_support;
use train_support::{digits, rows, run, small};

#[test]
fn arovr_on_digits_reaches_90_percent() {
    let splits = digits();
    let cfg = TrainConfig {
        widths: vec![64, 64, 10],
        objective: Objective::Arovr,
        epochs: 12,
        lr: 3e-3,
        threads: 2,
        ..TrainConfig::default()
    };
    let t0 = Instant::now();
    let r = run(&cfg, &splits);
    let secs = t0.elapsed().as_secs_f64();
    eprintln!(
        "arovr digits: best epoch {} test {:.3} in {secs:.2}s",
        r.best_epoch, r.best_test_acc
    );
    assert!(r.diverged.is_none());
    assert_eq!(r.history.len(), 13);
    assert!(
        r.best_test_acc >= 0.90,
        "test accuracy {:.3} < 0.90",
        r.best_test_acc
    );
    // The loss decreases: every epoch below the measurement pass, the last far below the first.
    let l: Vec<f64> = r.history.iter().map(|h| h.train_loss).collect();
    assert!(l[1..].iter().all(|&v| v < l[0]), "{l:?}");
    assert!(l[12] < 0.5 * l[1], "{l:?}");
    // Selection rule: the best epoch has the highest val_acc, and no earlier epoch ties it.
    let best = r.history[r.best_epoch].val_acc;
    assert_eq!(r.best_val_acc, best);
    assert!(r.history.iter().all(|h| h.val_acc <= best));
    assert!(r.history[..r.best_epoch].iter().all(|h| h.val_acc < best));
    // Logged Lipschitz columns: the sound bound dominates the product-norm estimate.
    assert!(r
        .history
        .iter()
        .all(|h| h.lip_bound >= h.lip_estimate && h.lip_estimate > 0.0));
    // The exported parameters describe the trained network.
    assert_eq!(r.best.widths(), vec![64, 64, 10]);
    assert_eq!(r.best.input_dim, 64);
    assert!(r.best.layers[..2]
        .iter()
        .all(|l| l.step > 0.0 && l.step <= 1.0 && l.rho == 1.0));
    assert_eq!((r.best.layers[2].rho, r.best.layers[2].step), (0.0, 1.0));
}

/// Test accuracy of `p` through `lifted-core`'s deployed inference (blob → ModelView → infer).
fn core_accuracy(p: &lifted_core::write::ModelParams, d: &lifted::data::Dataset) -> f64 {
    let constants = lifted_core::bounds::compute(p, &lifted_core::bounds::Limits::default());
    let blob = p.to_blob(&constants).expect("blob");
    let model = lifted_core::ModelView::new_checked(blob.as_bytes()).expect("valid blob");
    let mut buf = vec![0.0f32; lifted_core::Workspace::required(&model)];
    let correct = d
        .iter()
        .filter(|(x, t)| {
            let mut ws = lifted_core::Workspace::new(&mut buf);
            lifted_core::infer(&model, x, &mut ws)
                .expect("inference")
                .class
                == usize::from(*t)
        })
        .count();
    correct as f64 / d.len() as f64
}

#[test]
fn exported_parameters_reproduce_the_logged_accuracy_in_lifted_core() {
    let splits = digits();
    for cfg in [
        small(Objective::Arovr, 3),
        TrainConfig {
            potential: Potential::Hopfield,
            beta: 0.05,
            ..small(Objective::Arovr, 3)
        },
    ] {
        let r = run(&cfg, &splits);
        let acc = core_accuracy(&r.best, &splits.test);
        // Same map, different summation order: allow one flipped near-tie out of 250.
        assert!(
            (acc - r.best_test_acc).abs() <= 1.0 / 250.0 + 1e-12,
            "{:?}: core {acc} vs logged {}",
            cfg.potential,
            r.best_test_acc
        );
    }
}

#[test]
fn every_objective_lowers_its_loss_on_digits() {
    let splits = digits();
    let base = |o| TrainConfig {
        widths: vec![64, 64, 10],
        ..small(o, 4)
    };
    let cases = vec![
        ("bp", base(Objective::Bp)),
        (
            "bp cross-entropy",
            TrainConfig {
                loss: LossKind::CrossEntropy,
                ..base(Objective::Bp)
            },
        ),
        ("input-at", base(Objective::InputAt)),
        (
            "input-at pgd-linf",
            TrainConfig {
                attack: Attack::PgdLinf,
                attack_eps: 0.05,
                attack_steps: 3,
                ..base(Objective::InputAt)
            },
        ),
        (
            "input-at pgd-l2",
            TrainConfig {
                attack: Attack::PgdL2,
                attack_eps: 0.5,
                attack_steps: 3,
                ..base(Objective::InputAt)
            },
        ),
        ("rovr", base(Objective::Rovr)),
        ("arovr", base(Objective::Arovr)),
        (
            "arovr γ",
            TrainConfig {
                gamma: vec![1.0, 0.5, 1.0],
                ..base(Objective::Arovr)
            },
        ),
        (
            "arovr cross-entropy",
            TrainConfig {
                loss: LossKind::CrossEntropy,
                ..base(Objective::Arovr)
            },
        ),
        (
            "mixed",
            TrainConfig {
                alpha: 0.5,
                ..base(Objective::Mixed)
            },
        ),
        ("relaxed", base(Objective::Relaxed)),
        (
            "relaxed pre",
            TrainConfig {
                relaxed_distance: RelaxedDistance::PreActivation,
                ..base(Objective::Relaxed)
            },
        ),
        (
            "targeted",
            TrainConfig {
                lambda_u: 1.0,
                lambda_t: 0.5,
                ..base(Objective::Targeted)
            },
        ),
        (
            "hopfield arovr",
            TrainConfig {
                potential: Potential::Hopfield,
                beta: 0.05,
                ..base(Objective::Arovr)
            },
        ),
        (
            "meta γ",
            TrainConfig {
                meta_gamma: MetaGamma::Constrained,
                gamma_lr: 0.05,
                ..base(Objective::Arovr)
            },
        ),
        (
            "meta γ validation",
            TrainConfig {
                meta_gamma: MetaGamma::Validation,
                gamma_lr: 0.05,
                meta_every: 5,
                ..base(Objective::Arovr)
            },
        ),
        (
            "hopfield meta γ validation",
            TrainConfig {
                potential: Potential::Hopfield,
                beta: 0.05,
                meta_gamma: MetaGamma::Validation,
                gamma_lr: 0.05,
                meta_every: 5,
                ..base(Objective::Arovr)
            },
        ),
    ];
    for (name, cfg) in cases {
        let r = run(&cfg, &splits);
        assert!(r.diverged.is_none(), "{name}: {:?}", r.diverged);
        let (first, last) = (&r.history[0], &r.history[4]);
        assert!(
            last.train_loss < first.train_loss,
            "{name}: loss {} → {}",
            first.train_loss,
            last.train_loss
        );
        eprintln!(
            "{name}: loss {:.4} → {:.4}, val {:.3} → {:.3}",
            first.train_loss, last.train_loss, first.val_acc, last.val_acc
        );
        assert!(last.val_acc > 0.6, "{name}: val accuracy {}", last.val_acc);
        if cfg.potential == Potential::Hopfield {
            assert!(
                r.history
                    .iter()
                    .all(|h| h.mu_lower.is_some_and(|m| m >= 0.05 - 1e-9)),
                "{name}: λ_min(T) below the projection margin"
            );
        }
        if cfg.meta_gamma == MetaGamma::Validation {
            // Only the hidden γ_k move, in whole steps of gamma_lr in log space.
            let g = &last.gamma;
            assert_eq!(g[g.len() - 1], 1.0, "{name}: γ_L moved: {g:?}");
            assert!(
                g[..g.len() - 1].iter().all(|v| (v - 1.0).abs() > 1e-3),
                "{name}: a hidden γ did not move: {g:?}"
            );
            for v in &g[..g.len() - 1] {
                let steps = v.ln() / cfg.gamma_lr;
                assert!(
                    (steps - steps.round()).abs() < 1e-3,
                    "{name}: log γ = {} is not a whole number of steps",
                    v.ln()
                );
            }
        }
        if cfg.meta_gamma == MetaGamma::Constrained {
            let g = &last.gamma;
            let log_sum: f64 = g.iter().map(|v| v.ln()).sum();
            assert!(log_sum.abs() < 1e-4, "{name}: Σ log γ drifted to {log_sum}");
            assert!(
                g.iter().any(|v| (v - 1.0).abs() > 1e-3),
                "{name}: γ did not move: {g:?}"
            );
        }
    }
}

#[test]
fn same_seed_same_bits_and_other_seed_differs() {
    let splits = digits();
    for cfg in [
        small(Objective::Arovr, 2),
        TrainConfig {
            attack: Attack::PgdL2,
            attack_steps: 2,
            ..small(Objective::InputAt, 2)
        },
    ] {
        let (a, b) = (run(&cfg, &splits), run(&cfg, &splits));
        assert_eq!(rows(&a), rows(&b));
        assert_eq!(
            a.last, b.last,
            "same seed and threads must give the same bits"
        );
        assert_eq!(a.best, b.best);
        let c = run(&TrainConfig { seed: 1, ..cfg }, &splits);
        assert_ne!(a.last.layers[0].weights, c.last.layers[0].weights);
    }
}

#[test]
fn resume_continues_bit_identically() {
    let splits = digits();
    let dir = tempfile::tempdir().unwrap();
    let (full, part) = (dir.path().join("full"), dir.path().join("part"));
    let cfg = TrainConfig {
        target: train::Target::Random,
        lambda_u: 1.0,
        lambda_t: 0.5,
        ..small(Objective::Targeted, 4)
    };
    let a = train_in_dir(
        &cfg,
        &splits,
        &mut Progress::hidden(),
        &full,
        train::Start::Fresh,
    )
    .unwrap();
    let half = TrainConfig {
        epochs: 2,
        ..cfg.clone()
    };
    let first = train_in_dir(
        &half,
        &splits,
        &mut Progress::hidden(),
        &part,
        train::Start::Fresh,
    )
    .unwrap();
    assert_eq!(first.history.len(), 3);
    assert_eq!(
        Checkpoint::load(&part.join("checkpoint.json"))
            .unwrap()
            .epoch,
        2
    );
    let b = train_in_dir(
        &cfg,
        &splits,
        &mut Progress::hidden(),
        &part,
        train::Start::Resume,
    )
    .unwrap();
    assert_eq!(rows(&a), rows(&b));
    assert_eq!(a.last, b.last);
    assert_eq!(a.best, b.best);
    let csv = |p: &std::path::Path| -> Vec<String> {
        std::fs::read_to_string(p.join("log.csv"))
            .unwrap()
            .lines()
            .map(|l| {
                let mut f: Vec<&str> = l.split(',').collect();
                f[7] = "";
                f.join(",")
            })
            .collect()
    };
    assert_eq!(csv(&full), csv(&part));
    assert_eq!(csv(&part).len(), 6);
    // A changed hyperparameter is refused.
    let other = TrainConfig { beta: 0.4, ..cfg };
    let e = train_in_dir(
        &other,
        &splits,
        &mut Progress::hidden(),
        &part,
        train::Start::Resume,
    )
    .unwrap_err()
    .to_string();
    assert!(e.contains("differs from the checkpoint"), "{e}");
}

#[test]
fn divergence_stops_and_keeps_the_last_good_checkpoint() {
    let splits = digits();
    let dir = tempfile::tempdir().unwrap();
    let cfg = TrainConfig {
        lr: 1e30,
        ..small(Objective::Arovr, 3)
    };
    let r = train_in_dir(
        &cfg,
        &splits,
        &mut Progress::hidden(),
        dir.path(),
        train::Start::Fresh,
    )
    .unwrap();
    let msg = r.diverged.clone().expect("lr = 1e30 must diverge");
    assert!(
        msg.contains("diverged in epoch 1") && msg.contains("last good checkpoint (epoch 0)"),
        "{msg}"
    );
    assert_eq!(r.history.len(), 1);
    let ck = Checkpoint::load(&dir.path().join("checkpoint.json")).unwrap();
    assert_eq!(ck.epoch, 0);
    assert!(ck
        .layers
        .iter()
        .all(|l| l.weights.iter().all(|w| w.is_finite())));
    let best = train::read_params_json(&dir.path().join("best.params.json")).unwrap();
    assert!(best
        .layers
        .iter()
        .all(|l| l.weights.iter().all(|w| w.is_finite())));
    assert_eq!(r.last, best);
}

#[test]
fn ill_posed_and_mismatched_configs_are_rejected() {
    let splits = digits();
    let e = train::train(
        &TrainConfig {
            beta: 1.0,
            ..small(Objective::Arovr, 1)
        },
        &splits,
        &mut Progress::hidden(),
    )
    .unwrap_err()
    .to_string();
    assert!(e.contains("β·(λ_u − λ_t) < γ_L"), "{e}");
    let e = train::train(
        &TrainConfig {
            widths: vec![32, 9],
            ..small(Objective::Arovr, 1)
        },
        &splits,
        &mut Progress::hidden(),
    )
    .unwrap_err()
    .to_string();
    assert!(e.contains("10 classes"), "{e}");
}
