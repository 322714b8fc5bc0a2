//! The f64 mirror of the deployed inference and its gradient, and PGD on real data.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

#[path = "eval_support/mod.rs"]
mod support;

use indicatif::ProgressBar;
use lifted::eval::attack::{Attacker, PgdConfig, StepSchedule};
use lifted::eval::grad::{Unrolled, MIRROR_TOL};
use lifted::eval::{accuracy, predict, robust_accuracy, Target};
use lifted::tol::Tol;
use lifted_core::{infer, Activation, Family, Init, ModelView, Norm, Schedule, Workspace};
use support::{blob, digits, params, random_net, trained, Deploy, Rng};

/// Central finite differences of the f64 mirror's margin agree with its gradient to this.
const FD_TOL: Tol = Tol::AbsRel {
    atol: 1e-7,
    rtol: 1e-5,
};

fn deployments() -> Vec<(&'static str, Deploy)> {
    vec![
        ("A forward K=5", Deploy::FORWARD),
        ("A zero K=4", Deploy::A_ZERO),
        (
            "A zero K=3 top-down",
            Deploy {
                schedule: Schedule::BwdFwdTopDown,
                sweeps: 3,
                rho: 0.5,
                ..Deploy::A_ZERO
            },
        ),
        ("B forward K=3 top-down", Deploy::HOPFIELD),
        (
            "B zero K=6",
            Deploy {
                family: Family::Hopfield,
                init: Init::Zero,
                schedule: Schedule::BwdFwd,
                sweeps: 6,
                rho: 0.3,
            },
        ),
    ]
}

/// Random deep models (two hidden layers, one clipped) so every update kind and coupling is used.
fn models() -> Vec<(String, lifted_core::write::ModelParams)> {
    let mut out = Vec::new();
    for (name, d) in deployments() {
        let net = random_net(&[64, 12, 9, 10], 1.0, 11);
        let mut p = params(&net, 64, d);
        p.layers[1].activation = Activation::ClippedRelu { bound: 0.7 };
        out.push((format!("random 64-12-9-10 {name}"), p));
        out.push((format!("trained 64-32-10 {name}"), params(trained(), 64, d)));
    }
    out
}

fn inputs(n: usize) -> Vec<Vec<f32>> {
    (0..n)
        .map(|i| digits().test.input(i).unwrap().to_vec())
        .collect()
}

#[test]
fn mirror_matches_lifted_core_infer() {
    for (name, p) in models() {
        let b = blob(&p);
        let model = ModelView::new_checked(b.as_bytes()).unwrap();
        let net = Unrolled::new(&model);
        let mut buf = vec![0.0f32; Workspace::required(&model)];
        for x in inputs(40) {
            let mut ws = Workspace::new(&mut buf);
            let o = infer(&model, &x, &mut ws).unwrap();
            let want: Vec<f64> = o.logits.iter().map(|&v| f64::from(v)).collect();
            let got = net.logits(&x.iter().map(|&v| f64::from(v)).collect::<Vec<_>>());
            assert_eq!(
                MIRROR_TOL.first_mismatch(&got, &want),
                None,
                "{name}: mirror {got:?} vs infer {want:?} ({MIRROR_TOL})"
            );
        }
    }
}

#[test]
fn gradient_matches_finite_differences() {
    let mut rng = Rng(99);
    for (name, p) in models() {
        let b = blob(&p);
        let model = ModelView::new_checked(b.as_bytes()).unwrap();
        let net = Unrolled::new(&model);
        for x in inputs(6) {
            let x: Vec<f64> = x.iter().map(|&v| f64::from(v) * 0.9 + 0.05).collect();
            let target = usize::from(digits().test.labels[0]);
            let (_, g) = net.margin_grad(&x, target);
            // Directional derivatives along random directions (kinks are crossed with
            // probability ~0 at this step size).
            for _ in 0..4 {
                let d: Vec<f64> = (0..x.len()).map(|_| rng.normal()).collect();
                let h = 1e-6;
                let f = |s: f64| {
                    let y: Vec<f64> = x.iter().zip(&d).map(|(a, b)| a + s * b).collect();
                    lifted::eval::grad::margin_loss(&net.logits(&y), target).0
                };
                let fd = (f(h) - f(-h)) / (2.0 * h);
                let an: f64 = g.iter().zip(&d).map(|(a, b)| a * b).sum();
                assert!(
                    FD_TOL.close(fd, an),
                    "{name}: finite difference {fd} vs gradient {an} ({FD_TOL})"
                );
            }
        }
        // Hidden-layer (downstream) gradients.
        let mut buf = vec![0.0f32; Workspace::required(&model)];
        let x = digits().test.input(3).unwrap();
        let mut ws = Workspace::new(&mut buf);
        let o = infer(&model, x, &mut ws).unwrap();
        for k in 1..model.layers() {
            let zk: Vec<f64> = o
                .block(&model, k)
                .iter()
                .map(|&v| f64::from(v) + 0.01)
                .collect();
            let (_, g) = net.downstream_margin_grad(k, &zk, 2);
            let d: Vec<f64> = (0..zk.len()).map(|_| rng.normal()).collect();
            let h = 1e-6;
            let f = |s: f64| {
                let y: Vec<f64> = zk.iter().zip(&d).map(|(a, b)| a + s * b).collect();
                lifted::eval::grad::margin_loss(&net.downstream_logits(k, &y), 2).0
            };
            let fd = (f(h) - f(-h)) / (2.0 * h);
            let an: f64 = g.iter().zip(&d).map(|(a, b)| a * b).sum();
            assert!(
                FD_TOL.close(fd, an),
                "{name} z{k}: finite difference {fd} vs gradient {an}"
            );
            // The f64 downstream map follows lifted-core's f32 kernels.
            let zf: Vec<f32> = zk.iter().map(|&v| v as f32).collect();
            let want: Vec<f64> = downstream(&model, k, &zf)
                .unwrap()
                .iter()
                .map(|&v| f64::from(v))
                .collect();
            let got =
                net.downstream_logits(k, &zf.iter().map(|&v| f64::from(v)).collect::<Vec<_>>());
            assert_eq!(MIRROR_TOL.first_mismatch(&got, &want), None, "{name} z{k}");
        }
    }
}

/// `lifted_core::downstream` with its own scratch, returning owned logits.
fn downstream(model: &ModelView<'_>, k: usize, zk: &[f32]) -> Result<Vec<f32>, lifted_core::Error> {
    let mut scratch = vec![0.0f32; lifted_core::downstream_scratch(model)];
    lifted_core::downstream(model, k, zk, &mut scratch).map(<[f32]>::to_vec)
}

#[test]
fn downstream_of_the_final_state_reproduces_infer_for_forward_models() {
    let p = params(trained(), 64, Deploy::FORWARD);
    let b = blob(&p);
    let model = ModelView::new_checked(b.as_bytes()).unwrap();
    let mut buf = vec![0.0f32; Workspace::required(&model)];
    for x in inputs(20) {
        let mut ws = Workspace::new(&mut buf);
        let o = infer(&model, &x, &mut ws).unwrap();
        let logits = downstream(&model, 1, o.block(&model, 1)).unwrap();
        assert_eq!(
            logits.iter().map(|v| v.to_bits()).collect::<Vec<_>>(),
            o.logits.iter().map(|v| v.to_bits()).collect::<Vec<_>>()
        );
    }
    assert!(downstream(&model, 1, &[0.0; 3]).is_err());
    assert!(downstream(&model, 2, &[0.0; 10]).is_err());
    let short = &mut [0.0f32; 4];
    assert!(matches!(
        lifted_core::downstream(&model, 1, &vec![0.0; model.width(1)], short),
        Err(lifted_core::Error::WorkspaceTooSmall { .. })
    ));
}

#[test]
fn pgd_breaks_a_non_robust_model_at_large_eps() {
    for d in [Deploy::FORWARD, Deploy::HOPFIELD] {
        let p = params(trained(), 64, d);
        let b = blob(&p);
        let model = ModelView::new_checked(b.as_bytes()).unwrap();
        let test = digits().test.slice(0..100, "digits:test[..100]");
        let preds = predict(&model, &test, false, &ProgressBar::hidden());
        let clean = accuracy(&preds);
        let cfg = PgdConfig::default();
        let mut last = clean;
        for eps in [0.02, 0.1, 0.3] {
            let r = robust_accuracy(
                &model,
                &test,
                &preds,
                Target::InputLinf,
                eps,
                &cfg,
                &ProgressBar::hidden(),
            );
            println!(
                "{d:?} ℓ∞ ε = {eps}: PGD accuracy {} (clean {clean})",
                r.robust_accuracy
            );
            assert!(
                r.robust_accuracy <= last + 1e-12,
                "PGD accuracy rose with ε"
            );
            last = r.robust_accuracy;
        }
        assert!(last < 0.05, "{d:?}: PGD at ℓ∞ 0.3 left accuracy {last}");
        let r = robust_accuracy(
            &model,
            &test,
            &preds,
            Target::InputL2,
            3.0,
            &cfg,
            &ProgressBar::hidden(),
        );
        assert!(
            r.robust_accuracy < 0.1,
            "{d:?}: PGD at ℓ2 3.0 left accuracy {}",
            r.robust_accuracy
        );
        // The adversarial points are genuine: inside the ball and the range, misclassified by infer.
        let attacker = Attacker::new(&model, cfg);
        let x = test.input(0).unwrap();
        let t = usize::from(test.labels[0]);
        let hit = attacker.input(x, t, Norm::Linf, 0.3, 5);
        let adv = hit.point.expect("an adversarial example");
        assert!(adv
            .iter()
            .zip(x)
            .all(|(a, c)| (a - c).abs() <= 0.3 && (0.0..=1.0).contains(a)));
        let mut buf = vec![0.0f32; Workspace::required(&model)];
        assert_ne!(
            infer(&model, &adv, &mut Workspace::new(&mut buf))
                .unwrap()
                .class,
            t
        );
    }
}

#[test]
fn hidden_layer_pgd_lowers_accuracy() {
    let p = params(trained(), 64, Deploy::FORWARD);
    let b = blob(&p);
    let model = ModelView::new_checked(b.as_bytes()).unwrap();
    let test = digits().test.slice(0..60, "digits:test[..60]");
    let preds = predict(&model, &test, false, &ProgressBar::hidden());
    let r = robust_accuracy(
        &model,
        &test,
        &preds,
        Target::Hidden(1),
        5.0,
        &PgdConfig::default(),
        &ProgressBar::hidden(),
    );
    assert!(
        r.robust_accuracy < 0.2,
        "PGD on z1 at 5.0 left {}",
        r.robust_accuracy
    );
}

#[test]
fn results_do_not_depend_on_the_thread_count() {
    let p = params(trained(), 64, Deploy::HOPFIELD);
    let b = blob(&p);
    let model = ModelView::new_checked(b.as_bytes()).unwrap();
    let test = digits().test.slice(0..80, "digits:test[..80]");
    let cfg = PgdConfig {
        restarts: 2,
        schedule: StepSchedule::Cosine,
        ..PgdConfig::default()
    };
    let run = |threads: usize| {
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .unwrap();
        pool.install(|| {
            let preds = predict(&model, &test, true, &ProgressBar::hidden());
            let r = robust_accuracy(
                &model,
                &test,
                &preds,
                Target::InputL2,
                0.8,
                &cfg,
                &ProgressBar::hidden(),
            );
            (preds, r)
        })
    };
    let (p1, r1) = run(1);
    let (p3, r3) = run(3);
    assert_eq!(p1, p3);
    assert_eq!(r1, r3);
    assert!(
        r1.robust < r1.attacked,
        "the attack should succeed sometimes at ℓ2 0.8"
    );
}
