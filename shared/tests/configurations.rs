//! The certificate over the whole configuration space the CLI accepts: family × init ×
//! K ∈ {0, 1, 2, 5} × schedule × small random widths, with family-B feedback strong enough that
//! iterative deployments differ from their forward pass. For every generated model:
//! (a) random and gradient attacks at the certified radius, replayed through `infer`, never
//!     change the class;
//! (b) every stored pair constant is ≥ the largest Lipschitz ratio of s_i − s_j found by
//!     gradient ascent over inputs on the exact (f64) deployed map;
//! (c) the tracked float-error bound is ≥ the measured f32-vs-f64 error of the logits, at x and
//!     anywhere in the certified ball.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::{add, attack, boundary, class_of, params, set_monotone_steps, Config, Rng};
use lifted_core::bounds::{compute, Limits};
use lifted_core::format::pair_index;
use lifted_core::write::ModelParams;
use lifted_core::{certify, infer, reference, Family, Init, ModelView, Norm, Schedule, Workspace};
use proptest::prelude::*;

/// Relative accuracy of a Lipschitz ratio measured in f64 by a difference quotient with step
/// `H` on these small models (|s| ≲ 10³): rounding contributes ≲ 10⁻¹⁶·10³/10⁻⁶ = 10⁻⁷.
const RATIO_REL: f64 = 1e-6;
const H: f64 = 1e-6;

const LIMITS: Limits = Limits {
    eps_l2_max: 0.5,
    eps_inf_max: 0.25,
    eps_internal_max: 0.5,
    gram_steps: 10,
};

#[derive(Debug, Clone)]
struct Case {
    family: Family,
    init: Init,
    sweeps: u16,
    schedule: Schedule,
    hidden: Vec<usize>,
    classes: usize,
    input_dim: usize,
    scale: f64,
    feedback: f64,
    seed: u64,
}

fn case() -> impl Strategy<Value = Case> {
    (
        prop::sample::select(vec![Family::FenchelYoung, Family::Hopfield]),
        prop::sample::select(vec![Init::Forward, Init::Zero]),
        prop::sample::select(vec![0u16, 1, 2, 5]),
        prop::sample::select(vec![Schedule::BwdFwd, Schedule::BwdFwdTopDown]),
        prop::collection::vec(1usize..=5, 0..=2),
        2usize..=4,
        1usize..=4,
        prop::sample::select(vec![0.5f64, 1.0, 2.0]),
        prop::sample::select(vec![1.0f64, 2.5]),
        any::<u64>(),
    )
        .prop_map(
            |(
                family,
                init,
                sweeps,
                schedule,
                hidden,
                classes,
                input_dim,
                scale,
                feedback,
                seed,
            )| {
                Case {
                    family,
                    init,
                    sweeps,
                    schedule,
                    hidden,
                    classes,
                    input_dim,
                    scale,
                    feedback,
                    seed,
                }
            },
        )
}

fn model(c: &Case) -> ModelParams {
    let mut rng = Rng(c.seed | 1);
    let mut cfg = Config::small(c.family, c.init, c.sweeps);
    cfg.schedule = c.schedule;
    cfg.widths = c.hidden.iter().copied().chain([c.classes]).collect();
    cfg.gamma = vec![1.0; cfg.widths.len()];
    cfg.input_dim = c.input_dim;
    cfg.scale = c.scale;
    let mut p = params(&mut rng, &cfg);
    // The test-support generator keeps family-B feedback weak; strengthen it so that the
    // top-down updates move the state well away from the forward pass.
    for layer in p.layers.iter_mut().skip(1) {
        layer
            .weights
            .iter_mut()
            .for_each(|w| *w *= c.feedback as f32);
    }
    set_monotone_steps(&mut p);
    p.input_range = (-8.0, 8.0);
    p
}

/// s_i − s_j of the exact deployed map.
fn pair_margin(m: &ModelView<'_>, x: &[f64], i: usize, j: usize) -> f64 {
    let x32: Vec<f32> = x.iter().map(|&v| v as f32).collect();
    // The difference quotient needs exact f64 inputs: evaluate at the f32-rounded point.
    let s = reference::infer(m, &x32);
    let out = &s[m.layers()];
    out[i] - out[j]
}

/// Finite-difference gradient of s_i − s_j at x (forward differences, step `H`).
fn fd_gradient(m: &ModelView<'_>, x: &[f64], i: usize, j: usize) -> Vec<f64> {
    let f0 = pair_margin(m, x, i, j);
    (0..x.len())
        .map(|t| {
            let mut y = x.to_vec();
            y[t] += H;
            (pair_margin(m, &y, i, j) - f0) / H
        })
        .collect()
}

/// Lipschitz ratios |Δ(s_i − s_j)| / ‖Δx‖ along the steepest ℓ2 and ℓ∞ directions at x: genuine
/// lower bounds of the map's ℓ2 and ℓ∞ Lipschitz constants (the quotient of a segment).
fn ratios(m: &ModelView<'_>, x: &[f64], i: usize, j: usize) -> (f64, f64) {
    let g = fd_gradient(m, x, i, j);
    let norm = g.iter().map(|v| v * v).sum::<f64>().sqrt();
    if norm.is_nan() || norm <= 0.0 {
        return (0.0, 0.0);
    }
    // Inputs are f32 values: step by a multiple of the f32 grid so the segment is exact.
    let step = 1.0 / 1024.0;
    let f0 = pair_margin(m, x, i, j);
    let y2: Vec<f64> = x
        .iter()
        .zip(&g)
        .map(|(&a, &b)| f64::from((a + step * b / norm) as f32))
        .collect();
    let d2 = x
        .iter()
        .zip(&y2)
        .map(|(a, b)| (a - b) * (a - b))
        .sum::<f64>()
        .sqrt();
    let yi: Vec<f64> = x
        .iter()
        .zip(&g)
        .map(|(&a, &b)| f64::from((a + step * b.signum()) as f32))
        .collect();
    let di = x
        .iter()
        .zip(&yi)
        .map(|(a, b)| (a - b).abs())
        .fold(0.0f64, f64::max);
    let r2 = if d2 > 0.0 {
        (pair_margin(m, &y2, i, j) - f0).abs() / d2
    } else {
        0.0
    };
    let ri = if di > 0.0 {
        (pair_margin(m, &yi, i, j) - f0).abs() / di
    } else {
        0.0
    };
    (r2, ri)
}

/// Largest ratios found by random restarts and hill climbing over x ∈ [−3, 3]ⁿ.
fn largest_ratios(m: &ModelView<'_>, i: usize, j: usize, rng: &mut Rng) -> (f64, f64) {
    let n = m.input_dim();
    let (mut best2, mut besti) = (0.0f64, 0.0f64);
    for _ in 0..6 {
        let mut x: Vec<f64> = (0..n)
            .map(|_| f64::from((rng.unit() * 6.0 - 3.0) as f32))
            .collect();
        let (mut r2, mut ri) = ratios(m, &x, i, j);
        for _ in 0..12 {
            let y: Vec<f64> = x
                .iter()
                .map(|&a| f64::from((a + (rng.unit() - 0.5) * 0.6).clamp(-3.0, 3.0) as f32))
                .collect();
            let (s2, si) = ratios(m, &y, i, j);
            if s2 + si > r2 + ri {
                (x, r2, ri) = (y, s2, si);
            }
        }
        best2 = best2.max(r2);
        besti = besti.max(ri);
    }
    (best2, besti)
}

/// Checks (a)–(c) on one case; returns how many certificates were attacked.
fn check(c: &Case) -> Result<usize, TestCaseError> {
    let p = model(c);
    let blob = p.to_blob(&compute(&p, &LIMITS)).unwrap();
    let m = ModelView::new_checked(blob.as_bytes()).unwrap();
    let mut rng = Rng(c.seed ^ 0x9e37_79b9_7f4a_7c15 | 1);
    let classes = m.classes();
    let valid = m.header().cert.valid;

    // (b) constants against measured Lipschitz ratios of the exact deployed map.
    if valid {
        for i in 0..classes {
            for j in i + 1..classes {
                let (r2, ri) = largest_ratios(&m, i, j, &mut rng);
                let k2 = f64::from(m.pairs_l2()[pair_index(classes, i, j)]);
                let ki = f64::from(m.pairs_inf()[pair_index(classes, i, j)]);
                prop_assert!(
                    k2 >= r2 * (1.0 - RATIO_REL),
                    "ℓ2 K_{i}{j} = {k2} < measured ratio {r2} ({c:?})"
                );
                prop_assert!(
                    ki >= ri * (1.0 - RATIO_REL),
                    "ℓ∞ K_{i}{j} = {ki} < measured ratio {ri} ({c:?})"
                );
            }
        }
    }

    let mut buf = vec![0.0f32; Workspace::required(&m)];
    let mut attacked = 0;
    for _ in 0..4 {
        let x: Vec<f32> = (0..m.input_dim())
            .map(|_| (rng.unit() * 2.0 - 1.0) as f32)
            .collect();
        let mut ws = Workspace::new(&mut buf);
        let Ok(o) = infer(&m, &x, &mut ws) else {
            continue;
        };
        let (class, logits, track) = (o.class, o.logits.to_vec(), o.track);

        // (c) tracked float-error bound at x and over the ball.
        let l = m.layers();
        let exact = &reference::infer(&m, &x)[l];
        let xi = f64::from(track.xi[l]);
        for (g, w) in logits.iter().zip(exact) {
            prop_assert!(
                (f64::from(*g) - w).abs() <= xi,
                "f32 error {} > tracked bound {xi} at x ({c:?})",
                (f64::from(*g) - w).abs()
            );
        }
        let xb = f64::from(track.xi_ball[l]);
        for norm in [Norm::L2, Norm::Linf] {
            let eps = if norm == Norm::L2 {
                LIMITS.eps_l2_max
            } else {
                LIMITS.eps_inf_max
            };
            let y = add(&x, &boundary(&mut rng, x.len(), eps, norm));
            let mut ws = Workspace::new(&mut buf);
            let Ok(oy) = infer(&m, &y, &mut ws) else {
                continue;
            };
            let exact = &reference::infer(&m, &y)[l];
            for (g, w) in oy.logits.iter().zip(exact) {
                prop_assert!(
                    (f64::from(*g) - w).abs() <= xb,
                    "f32 error {} in the ball > tracked ball bound {xb} ({c:?})",
                    (f64::from(*g) - w).abs()
                );
            }
        }

        // (a) attacks at the certified radius, replayed through `infer`.
        let mut ws = Workspace::new(&mut buf);
        let o = infer(&m, &x, &mut ws).unwrap();
        let certs = [certify(&m, &o, Norm::L2), certify(&m, &o, Norm::Linf)];
        for cert in certs {
            if cert.rejection.is_some() {
                prop_assert_eq!(cert.radius, 0.0);
                continue;
            }
            let r = cert.radius;
            attacked += 1;
            for _ in 0..10 {
                let d = boundary(&mut rng, x.len(), r, cert.norm);
                prop_assert_eq!(
                    class_of(&m, &add(&x, &d)),
                    class,
                    "random {:?} perturbation broke radius {} ({:?})",
                    cert.norm,
                    r,
                    c
                );
            }
            prop_assert!(
                !attack(&m, &x, class, r, cert.norm, &mut rng),
                "gradient attack broke {:?} radius {} ({:?})",
                cert.norm,
                r,
                c
            );
        }
    }
    Ok(attacked)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 192, ..ProptestConfig::default() })]

    #[test]
    fn certificates_hold_over_the_configuration_space(c in case()) {
        check(&c)?;
    }
}

/// The configuration of the issue that once broke, with the strong feedback, at every K.
#[test]
fn family_b_top_down_configurations_hold() {
    let mut attacked = 0;
    for sweeps in [0u16, 1, 2, 5] {
        for seed in 1..=12u64 {
            let c = Case {
                family: Family::Hopfield,
                init: Init::Forward,
                sweeps,
                schedule: Schedule::BwdFwdTopDown,
                hidden: vec![3, 3],
                classes: 3,
                input_dim: 2,
                scale: 1.0,
                feedback: 2.5,
                seed,
            };
            attacked += check(&c).unwrap();
        }
    }
    // 48 models × 4 inputs × 2 norms: most must certify, or the attacks test nothing.
    assert!(attacked >= 150, "only {attacked} certificates attacked");
}
