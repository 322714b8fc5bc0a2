//! Certificate soundness (docs/method.md §6 rows 16–18, §8): no perturbation inside a certified radius
//! changes the f32 prediction; constants bound the exact map's Lipschitz ratios; the f32 radius
//! never exceeds the exact-arithmetic radius; the exploit cases never certify wrongly.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::{add, attack, blob, boundary, class_of, input, params, Config, Rng};
use lifted_core::bounds::Limits;
use lifted_core::format::pair_index;
use lifted_core::write::ModelParams;
use lifted_core::{
    certify, certify_with_internal, infer, reference, Family, Init, ModelView, Norm, Rejection,
    Schedule, Workspace,
};

fn wide(mut p: ModelParams) -> ModelParams {
    p.input_range = (-8.0, 8.0);
    p
}

struct Case {
    blob: lifted_core::write::Blob,
    n0: usize,
}

fn random_case(rng: &mut Rng, i: usize) -> Case {
    let families = [Family::FenchelYoung, Family::Hopfield];
    let inits = [Init::Forward, Init::Zero];
    let mut cfg = Config::small(
        families[i % 2],
        inits[(i / 2) % 2],
        [0u16, 1, 3, 8][(i / 4) % 4],
    );
    cfg.widths = match i % 3 {
        0 => vec![5, 3],
        1 => vec![6, 5, 3],
        _ => vec![4, 6, 3, 4],
    };
    cfg.input_dim = 2 + i % 4;
    cfg.gamma = cfg
        .widths
        .iter()
        .enumerate()
        .map(|(k, _)| {
            if k + 1 == cfg.widths.len() {
                1.0
            } else {
                [1.0, 0.5, 0.25][(i + k) % 3]
            }
        })
        .collect();
    cfg.clipped = i.is_multiple_of(5);
    cfg.schedule = if i.is_multiple_of(7) {
        Schedule::BwdFwdTopDown
    } else {
        Schedule::BwdFwd
    };
    let p = wide(params(rng, &cfg));
    Case {
        blob: blob(
            &p,
            &Limits {
                eps_l2_max: 1.0,
                eps_inf_max: 0.5,
                eps_internal_max: 1.0,
                gram_steps: 10,
            },
        ),
        n0: cfg.input_dim,
    }
}

fn f64_margins(m: &ModelView<'_>, x: &[f32], c: usize) -> Vec<(usize, f64)> {
    let s = reference::infer(m, x);
    let out = &s[m.layers()];
    (0..out.len())
        .filter(|&j| j != c)
        .map(|j| (j, out[c] - out[j]))
        .collect()
}

#[test]
fn no_perturbation_inside_the_certified_radius_changes_the_class() {
    let mut rng = Rng(0x5eed);
    let mut certified = 0;
    for i in 0..240 {
        let case = random_case(&mut rng, i);
        let m = ModelView::new_checked(case.blob.as_bytes()).unwrap();
        for _ in 0..3 {
            let x: Vec<f32> = input(&mut rng, case.n0);
            let mut buf = vec![0.0f32; Workspace::required(&m)];
            let mut ws = Workspace::new(&mut buf);
            let o = infer(&m, &x, &mut ws).unwrap();
            for norm in [Norm::L2, Norm::Linf] {
                let cert = certify(&m, &o, norm);
                if cert.rejection.is_some() {
                    assert_eq!(cert.radius, 0.0);
                    continue;
                }
                certified += 1;
                let r = cert.radius;
                assert!(r > 0.0);
                // (d) never above the exact-arithmetic radius with the same constants.
                let pairs = if norm == Norm::L2 {
                    m.pairs_l2()
                } else {
                    m.pairs_inf()
                };
                for (j, mj) in f64_margins(&m, &x, o.class) {
                    let k = f64::from(pairs[pair_index(m.classes(), o.class, j)]);
                    assert!(
                        f64::from(r) * k <= mj,
                        "radius {r} exceeds exact bound {} against {j}",
                        mj / k
                    );
                }
                // (a) random perturbations on the boundary of the certified ball.
                for _ in 0..20 {
                    let d = boundary(&mut rng, case.n0, r, norm);
                    assert_eq!(
                        class_of(&m, &add(&x, &d)),
                        o.class,
                        "case {i}: random {norm:?} perturbation broke radius {r}"
                    );
                }
                // (b) gradient-based attack at the certified radius.
                assert!(
                    !attack(&m, &x, o.class, r, norm, &mut rng),
                    "case {i}: attack broke radius {r} ({norm:?})"
                );
            }
        }
    }
    assert!(
        certified > 300,
        "too few certified points to mean anything: {certified}"
    );
}

/// docs/method.md §6 row 18: the stored pair constants bound the exact map's margin Lipschitz ratios.
#[test]
fn pair_constants_bound_empirical_lipschitz_ratios() {
    let mut rng = Rng(0xface);
    for i in 0..120 {
        let case = random_case(&mut rng, i);
        let m = ModelView::new_checked(case.blob.as_bytes()).unwrap();
        let c = m.classes();
        for _ in 0..10 {
            let x = input(&mut rng, case.n0);
            let d: Vec<f32> = (0..case.n0).map(|_| (rng.normal() * 0.05) as f32).collect();
            let y = add(&x, &d);
            let sx = reference::infer(&m, &x);
            let sy = reference::infer(&m, &y);
            let (ox, oy) = (&sx[m.layers()], &sy[m.layers()]);
            let dx: Vec<f64> = y
                .iter()
                .zip(&x)
                .map(|(a, b)| f64::from(*a) - f64::from(*b))
                .collect();
            let l2 = dx.iter().map(|a| a * a).sum::<f64>().sqrt();
            let linf = dx.iter().fold(0.0f64, |a, b| a.max(b.abs()));
            for a in 0..c {
                for b in a + 1..c {
                    let change = ((oy[a] - oy[b]) - (ox[a] - ox[b])).abs();
                    let p = pair_index(c, a, b);
                    assert!(
                        change <= f64::from(m.pairs_l2()[p]) * l2 * (1.0 + 1e-9) + 1e-12,
                        "case {i}: ℓ2 ratio above K"
                    );
                    assert!(
                        change <= f64::from(m.pairs_inf()[p]) * linf * (1.0 + 1e-9) + 1e-12,
                        "case {i}: ℓ∞ ratio above K"
                    );
                }
            }
        }
    }
}

/// Exploit case: two identical output rows tie exactly; the certificate must refuse.
#[test]
fn exact_ties_are_rejected() {
    let mut rng = Rng(31);
    let mut p = wide(params(
        &mut rng,
        &Config::small(Family::FenchelYoung, Init::Forward, 2),
    ));
    let fan = p.layers[1].bias.len();
    let row0: Vec<f32> = p.layers[2].weights[..fan].to_vec();
    p.layers[2].weights[fan..2 * fan].copy_from_slice(&row0);
    p.layers[2].bias[1] = p.layers[2].bias[0];
    p.layers[2].weights[2 * fan..]
        .iter_mut()
        .for_each(|w| *w = -10.0);
    p.layers[2].bias[2] = -100.0;
    let b = blob(&p, &Limits::default());
    let m = ModelView::new_checked(b.as_bytes()).unwrap();
    for _ in 0..20 {
        let x = input(&mut rng, 4);
        let mut buf = vec![0.0f32; Workspace::required(&m)];
        let mut ws = Workspace::new(&mut buf);
        let o = infer(&m, &x, &mut ws).unwrap();
        assert_eq!(o.margin, 0.0);
        for norm in [Norm::L2, Norm::Linf] {
            let c = certify(&m, &o, norm);
            assert_eq!(c.rejection, Some(Rejection::Tie));
            assert_eq!(c.radius, 0.0);
            assert!(!c.certifies(0.0));
        }
    }
}

/// Exploit cases: tiny weights (margins near the rounding level), subnormal inputs, K = 0 and
/// K = 200. Whatever is certified must survive perturbations at the radius.
#[test]
fn tiny_weights_subnormal_inputs_and_extreme_k_never_certify_wrongly() {
    let mut rng = Rng(32);
    let mut checked = 0;
    for (scale, sweeps) in [
        (1e-5, 0u16),
        (1e-5, 200),
        (1e-12, 3),
        (1e-19, 0),
        (1.0, 200),
        (3.0, 0),
    ] {
        for family in [Family::FenchelYoung, Family::Hopfield] {
            for init in [Init::Forward, Init::Zero] {
                let mut cfg = Config::small(family, init, sweeps);
                cfg.scale = scale;
                let p = wide(params(&mut rng, &cfg));
                let b = blob(&p, &Limits::default());
                let m = ModelView::new_checked(b.as_bytes()).unwrap();
                for t in 0..6 {
                    let x: Vec<f32> = match t {
                        0 => vec![1e-40; 4],
                        1 => vec![0.0, f32::MIN_POSITIVE, 1e-45, -1e-39],
                        _ => input(&mut rng, 4),
                    };
                    let mut buf = vec![0.0f32; Workspace::required(&m)];
                    let mut ws = Workspace::new(&mut buf);
                    let o = infer(&m, &x, &mut ws).unwrap();
                    for norm in [Norm::L2, Norm::Linf] {
                        let c = certify(&m, &o, norm);
                        if c.rejection.is_some() {
                            continue;
                        }
                        checked += 1;
                        for _ in 0..30 {
                            let d = boundary(&mut rng, 4, c.radius, norm);
                            assert_eq!(
                                class_of(&m, &add(&x, &d)),
                                o.class,
                                "scale {scale} K {sweeps} {family:?} {init:?}"
                            );
                        }
                        // The rounding-level cases: the certificate subtracted a positive error bound.
                        assert!(c.float_error > 0.0);
                    }
                }
            }
        }
    }
    assert!(checked > 20, "{checked}");
}

/// A margin of a few ulps must not certify: the float error bound exceeds it.
#[test]
fn margin_below_the_float_error_is_rejected() {
    let mut rng = Rng(33);
    let mut p = wide(params(
        &mut rng,
        &Config::small(Family::FenchelYoung, Init::Forward, 0),
    ));
    // Output rows 0 and 1 differ by one ulp in the bias only.
    let fan = p.layers[1].bias.len();
    let row0: Vec<f32> = p.layers[2].weights[..fan].to_vec();
    p.layers[2].weights[fan..2 * fan].copy_from_slice(&row0);
    p.layers[2].bias[0] = 1.0;
    p.layers[2].bias[1] = 1.0f32.next_down();
    p.layers[2].weights[2 * fan..]
        .iter_mut()
        .for_each(|w| *w = 0.0);
    p.layers[2].bias[2] = -100.0;
    let b = blob(&p, &Limits::default());
    let m = ModelView::new_checked(b.as_bytes()).unwrap();
    let x = input(&mut rng, 4);
    let mut buf = vec![0.0f32; Workspace::required(&m)];
    let mut ws = Workspace::new(&mut buf);
    let o = infer(&m, &x, &mut ws).unwrap();
    let c = certify(&m, &o, Norm::L2);
    assert!(
        matches!(
            c.rejection,
            Some(Rejection::Margin { .. }) | Some(Rejection::Tie)
        ),
        "{c:?}"
    );
}

/// Invalid constants never certify.
#[test]
fn invalid_constants_never_certify() {
    let mut rng = Rng(34);
    let p = wide(params(
        &mut rng,
        &Config::small(Family::FenchelYoung, Init::Forward, 0),
    ));
    let mut k = lifted_core::bounds::compute(&p, &Limits::default());
    k.cert.valid = false;
    let b = p.to_blob(&k).unwrap();
    let m = ModelView::new_checked(b.as_bytes()).unwrap();
    let mut buf = vec![0.0f32; Workspace::required(&m)];
    let mut ws = Workspace::new(&mut buf);
    let o = infer(&m, &input(&mut rng, 4), &mut ws).unwrap();
    assert_eq!(
        certify(&m, &o, Norm::L2).rejection,
        Some(Rejection::ConstantsInvalid)
    );
}

/// Internal radii: perturbing hidden block k within its radius and running the remaining layers
/// forward in f32 never changes the class.
#[test]
fn internal_radii_hold_for_hidden_perturbations() {
    let mut rng = Rng(35);
    let mut checked = 0;
    for _ in 0..60 {
        let mut cfg = Config::small(Family::FenchelYoung, Init::Forward, 2);
        cfg.widths = vec![6, 5, 4, 3];
        let p = wide(params(&mut rng, &cfg));
        let b = blob(&p, &Limits::default());
        let m = ModelView::new_checked(b.as_bytes()).unwrap();
        let x = input(&mut rng, 4);
        let mut buf = vec![0.0f32; Workspace::required(&m)];
        let mut ws = Workspace::new(&mut buf);
        let o = infer(&m, &x, &mut ws).unwrap();
        assert!(certify(&m, &o, Norm::L2).internal.is_empty());
        let cert = certify_with_internal(&m, &o);
        assert_eq!(cert.internal.len(), 3);
        for k in 1..4 {
            let r = cert.internal[k - 1];
            if r <= 0.0 {
                continue;
            }
            checked += 1;
            let zk = o.block(&m, k).to_vec();
            for _ in 0..30 {
                let d = boundary(&mut rng, zk.len(), r, Norm::L2);
                let mut z = add(&zk, &d);
                for j in k + 1..=m.layers() {
                    let mut next = vec![0.0f32; m.width(j)];
                    lifted_core::kernels::affine(m.weights(j - 1), m.bias(j - 1), &z, &mut next);
                    let act = m.layer(j).unwrap().activation;
                    next.iter_mut().for_each(|v| *v = act.apply(*v));
                    z = next;
                }
                assert_eq!(lifted_core::top_two(&z).0, o.class, "layer {k} radius {r}");
            }
        }
    }
    assert!(checked > 30, "{checked}");
}
