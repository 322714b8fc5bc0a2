//! Inference: f32 kernels against the f64 reference, and the oracles of docs/method.md §6.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::{bits, blob, input, params, run, Config, Rng};
use lifted_core::bounds::Limits;
use lifted_core::reference;
use lifted_core::schedule::Update;
use lifted_core::{Family, Init, ModelView, Schedule};
use proptest::prelude::*;

/// Named tolerance of the f32 inference against the f64 reference: |Δ| ≤ ATOL + RTOL·|ref|.
/// The f32 error of a few dozen length-≤16 dot products of O(1) values is ~1e-6; 1e-4 leaves room
/// for the sweeps' error amplification (≤ a few per sweep at these weight scales).
const ATOL: f64 = 1e-4;
const RTOL: f64 = 1e-4;

fn config() -> impl Strategy<Value = (Config, u64)> {
    (
        prop::collection::vec(1usize..7, 1..4),
        1usize..6,
        prop_oneof![Just(Family::FenchelYoung), Just(Family::Hopfield)],
        prop_oneof![Just(Init::Forward), Just(Init::Zero)],
        prop_oneof![Just(Schedule::BwdFwd), Just(Schedule::BwdFwdTopDown)],
        0u16..8,
        any::<bool>(),
        any::<u64>(),
    )
        .prop_map(
            |(mut widths, n0, family, init, schedule, sweeps, clipped, seed)| {
                widths.push(2 + (seed % 3) as usize);
                let l = widths.len();
                let cfg = Config {
                    gamma: (0..l)
                        .map(|k| {
                            if k + 1 == l {
                                1.0
                            } else {
                                [1.0, 0.5, 0.25][(seed as usize >> k) % 3]
                            }
                        })
                        .collect(),
                    widths,
                    input_dim: n0,
                    family,
                    init,
                    schedule,
                    sweeps,
                    scale: 1.0,
                    clipped,
                };
                (cfg, seed)
            },
        )
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    #[test]
    fn f32_inference_matches_f64_reference((cfg, seed) in config()) {
        let mut rng = Rng(seed | 1);
        let p = params(&mut rng, &cfg);
        let b = blob(&p, &Limits::default());
        let m = ModelView::new_checked(b.as_bytes()).unwrap();
        for _ in 0..4 {
            let x = input(&mut rng, cfg.input_dim);
            let (_, got) = run(&m, &x).unwrap();
            let want = reference::infer(&m, &x);
            for (g, w) in got.iter().zip(&want[m.layers()]) {
                let tol = ATOL + RTOL * w.abs();
                prop_assert!((f64::from(*g) - w).abs() <= tol, "f32 {g} vs f64 {w}");
            }
        }
    }

    /// The float error tracker's bound ξ_L must hold: |ŝ − s| ≤ ξ_L (the f64 reference is exact
    /// to far better than ξ at these sizes).
    #[test]
    fn tracked_error_bound_covers_the_actual_error((cfg, seed) in config()) {
        let mut rng = Rng(seed | 1);
        let p = params(&mut rng, &cfg);
        let b = blob(&p, &Limits::default());
        let m = ModelView::new_checked(b.as_bytes()).unwrap();
        let x = input(&mut rng, cfg.input_dim);
        let mut buf = vec![0.0f32; lifted_core::Workspace::required(&m)];
        let mut ws = lifted_core::Workspace::new(&mut buf);
        let o = lifted_core::infer(&m, &x, &mut ws).unwrap();
        let want = reference::infer(&m, &x);
        let xi = f64::from(o.track.xi[m.layers()]);
        for (g, w) in o.logits.iter().zip(&want[m.layers()]) {
            prop_assert!((f64::from(*g) - w).abs() <= xi, "error {} > bound {xi}", (f64::from(*g) - w).abs());
        }
    }
}

/// docs/method.md §6 row 1: U(forward(x)) = 0 exactly, for any γ.
#[test]
fn potential_is_zero_at_the_forward_pass() {
    let mut rng = Rng(21);
    for _ in 0..50 {
        let mut cfg = Config::small(Family::FenchelYoung, Init::Forward, 0);
        cfg.gamma = vec![rng.unit() as f32 + 0.1, rng.unit() as f32 + 0.1, 1.0];
        cfg.clipped = rng.unit() < 0.5;
        let b = blob(&params(&mut rng, &cfg), &Limits::default());
        let m = ModelView::new_checked(b.as_bytes()).unwrap();
        let z = reference::forward(&m, &input(&mut rng, 4));
        assert_eq!(reference::potential_a(&m, &z).to_bits(), 0f64.to_bits());
    }
}

/// docs/method.md §6 rows 3 and 11: under family A the f32 forward pass is a fixed point of the f32 sweeps,
/// bit for bit, whatever K and γ; so the prediction does not depend on γ either.
#[test]
fn sweeps_leave_the_forward_pass_unchanged_bit_for_bit() {
    let mut rng = Rng(22);
    for trial in 0..40 {
        let mut cfg = Config::small(Family::FenchelYoung, Init::Forward, 0);
        cfg.widths = vec![7, 5, 6, 4];
        cfg.clipped = trial % 2 == 0;
        let mut p = params(&mut rng, &cfg);
        let b0 = blob(&p, &Limits::default());
        let m0 = ModelView::new_checked(b0.as_bytes()).unwrap();
        let x = input(&mut rng, 4);
        let (c0, l0) = run(&m0, &x).unwrap();
        for (k, sched) in [
            (1, Schedule::BwdFwd),
            (5, Schedule::BwdFwd),
            (37, Schedule::BwdFwdTopDown),
        ] {
            p.sweeps = k;
            p.schedule = sched;
            for (layer, g) in p.layers.iter_mut().zip([0.25f32, 2.0, 0.5, 1.0]) {
                layer.gamma = g;
            }
            p.layers[0].rho = 8.0;
            p.layers[1].rho = 0.25;
            p.layers[2].rho = 2.0;
            common::set_monotone_steps(&mut p);
            let b = blob(&p, &Limits::default());
            let m = ModelView::new_checked(b.as_bytes()).unwrap();
            let (c, l) = run(&m, &x).unwrap();
            assert_eq!(c, c0);
            assert_eq!(bits(&l), bits(&l0), "K = {k}");
        }
    }
}

/// docs/method.md §6 rows 5 and 15: the free-phase potential never increases after any block update
/// (family A with monotone damping from zero init; family B, exact block minimisation).
#[test]
fn potential_never_increases_over_sweeps() {
    let mut rng = Rng(23);
    for family in [Family::FenchelYoung, Family::Hopfield] {
        for _ in 0..40 {
            let mut cfg = Config::small(family, Init::Zero, 30);
            cfg.widths = vec![6, 5, 4, 3];
            cfg.gamma = vec![0.5, 1.0, 0.25, 1.0];
            let b = blob(&params(&mut rng, &cfg), &Limits::default());
            let m = ModelView::new_checked(b.as_bytes()).unwrap();
            let x = input(&mut rng, 4);
            let energy = |z: &reference::State| match family {
                Family::FenchelYoung => reference::potential_a(&m, z),
                Family::Hopfield => reference::energy_b(&m, z),
            };
            let mut last = f64::INFINITY;
            let mut updates = 0;
            reference::infer_traced(&m, &x, |u, z| {
                // The output block's free update is exact minimisation in both families.
                let e = energy(z);
                assert!(
                    e <= last + 1e-12 * last.abs().max(1.0),
                    "{family:?}: {u:?} raised the potential {last} -> {e}"
                );
                last = e;
                updates += 1;
            });
            assert!(updates > 30);
        }
    }
}

/// docs/method.md §4.4/§6: family A from zero init approaches the forward pass as K grows.
#[test]
fn zero_init_iterates_approach_the_forward_pass() {
    let mut rng = Rng(24);
    for _ in 0..20 {
        let mut cfg = Config::small(Family::FenchelYoung, Init::Zero, 0);
        cfg.scale = 0.7;
        let p0 = params(&mut rng, &cfg);
        let x = input(&mut rng, 4);
        let mut errs = vec![];
        for k in [2u16, 10, 60, 250] {
            let mut p = p0.clone();
            p.sweeps = k;
            let b = blob(&p, &Limits::default());
            let m = ModelView::new_checked(b.as_bytes()).unwrap();
            let fwd = reference::forward(&m, &x);
            let (_, l) = run(&m, &x).unwrap();
            let err = l
                .iter()
                .zip(&fwd[3])
                .map(|(a, b)| (f64::from(*a) - b).abs())
                .fold(0.0, f64::max);
            errs.push(err);
        }
        assert!(errs[3] < 1e-3, "{errs:?}");
        assert!(errs[3] <= errs[0], "{errs:?}");
    }
}

/// The update list of the reference and of the f32 inference is the same list (L = 3: 2, 1, 2, 3).
#[test]
fn reference_visits_the_documented_order() {
    let mut rng = Rng(25);
    let b = blob(
        &params(&mut rng, &Config::small(Family::Hopfield, Init::Zero, 1)),
        &Limits::default(),
    );
    let m = ModelView::new_checked(b.as_bytes()).unwrap();
    let mut seen = vec![];
    reference::infer_traced(&m, &input(&mut rng, 4), |u, _| seen.push(u));
    assert_eq!(
        seen,
        [
            Update::Output,
            Update::Hidden(2),
            Update::Hidden(1),
            Update::Hidden(2),
            Update::Output
        ]
    );
}

/// Bad inputs and workspaces are errors, never panics or silent output.
#[test]
fn bad_inputs_are_named_errors() {
    use lifted_core::Error;
    let mut rng = Rng(26);
    let b = blob(
        &params(
            &mut rng,
            &Config::small(Family::FenchelYoung, Init::Forward, 1),
        ),
        &Limits::default(),
    );
    let m = ModelView::new_checked(b.as_bytes()).unwrap();
    assert_eq!(
        run(&m, &[0.5; 3]).unwrap_err(),
        Error::InputLength {
            expected: 4,
            got: 3
        }
    );
    assert_eq!(
        run(&m, &[0.5, f32::NAN, 0.5, 0.5]).unwrap_err(),
        Error::InputNonFinite { index: 1 }
    );
    assert_eq!(
        run(&m, &[0.5, 0.5, f32::INFINITY, 0.5]).unwrap_err(),
        Error::InputNonFinite { index: 2 }
    );
    assert_eq!(
        run(&m, &[0.5, 0.5, 0.5, 1.5]).unwrap_err(),
        Error::InputOutOfRange { index: 3 }
    );
    let mut small = vec![0.0f32; lifted_core::Workspace::required(&m) - 1];
    let mut ws = lifted_core::Workspace::new(&mut small);
    assert_eq!(
        lifted_core::infer(&m, &[0.5; 4], &mut ws).unwrap_err(),
        Error::WorkspaceTooSmall {
            needed: lifted_core::Workspace::required(&m) as u32,
            got: small_len(&m)
        }
    );
}

fn small_len(m: &ModelView<'_>) -> u32 {
    lifted_core::Workspace::required(m) as u32 - 1
}

/// Weights so large that the activities overflow give `NonFiniteResult`, not garbage.
#[test]
fn overflow_is_an_error() {
    let mut rng = Rng(27);
    let mut cfg = Config::small(Family::FenchelYoung, Init::Forward, 0);
    cfg.scale = 1e30;
    let b = blob(&params(&mut rng, &cfg), &Limits::default());
    let m = ModelView::new_checked(b.as_bytes()).unwrap();
    assert_eq!(
        run(&m, &[1.0; 4]).unwrap_err(),
        lifted_core::Error::NonFiniteResult
    );
}
