//! Tests of the Lipschitz margin: power iteration, the gradient of the shift (with and without
//! the float part) against finite differences, the float estimate against the certificate, and
//! the warm-up ramp.

use lifted_core::bounds::Limits;
use rand_chacha::rand_core::SeedableRng;
use rand_chacha::ChaCha8Rng;

use super::*;
use crate::rng::normal;
use lifted_core::Activation;

fn net(seed: u64) -> Net<f64> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut n: Net<f64> =
        Net::<f32>::init(5, &[7, 6, 4], Activation::Relu, &[1.0; 3], 1.0, &mut rng).cast();
    for (k, l) in n.layers.iter_mut().enumerate() {
        for (i, b) in l.b.iter_mut().enumerate() {
            *b = ((i * 3 + k) % 7) as f64 / 20.0 - 0.13;
        }
    }
    n
}

#[test]
fn power_iteration_finds_the_spectral_norm() {
    let n = net(3);
    let mut v = init_vectors(&n, 0);
    power_iterate(&n, &mut v, 500);
    let m = LipMargin::new(&n, &v, 0.1);
    for k in 0..2 {
        let (rows, cols) = (n.width(k + 1), n.width(k));
        let w: Vec<f32> = n.layers[k].w.iter().map(|&x| x as f32).collect();
        let up = lifted_core::bounds::spectral::spectral_upper(&w, rows, cols, 12).upper;
        let s = m.sigmas()[k];
        assert!(s <= up && s >= up * (1.0 - 1e-6), "σ {s} vs Gram {up}");
    }
    let lam = m.sigmas()[0] * m.sigmas()[1];
    assert_eq!(m.lambda(), lam);
    assert_eq!(m.k(2, 2), 0.0);
    assert_eq!(m.k(1, 3), m.k(3, 1));
    assert!(m.k(0, 1) > 0.0);
    let h = m.shifts(&[1, 3], None);
    assert_eq!(h.row(0)[1], 0.0);
    assert_eq!(h.row(1)[0], 0.1 * m.k(3, 0));
}

#[test]
fn k_gradient_matches_finite_differences() {
    // J(θ) = Σ_i Σ_j c_ij h_ij(θ) for fixed vectors: the gradient is exact.
    let n = net(5);
    let mut v = init_vectors(&n, 1);
    power_iterate(&n, &mut v, 3);
    let labels = [0u8, 2, 3, 2];
    let mut coef = Mat::zeros(4, 4);
    for (i, c) in coef.data.iter_mut().enumerate() {
        *c = ((i * 7 % 11) as f64 - 5.0) / 4.0;
    }
    // Magnitudes held fixed (as in training, where they are treated as constants).
    let x = Mat::from_vec(4, 5, (0..20).map(|i| (i % 7) as f64 / 6.0).collect());
    let mags = magnitudes(&n.forward(&x));
    for weight in [0.0, 1.0, 250.0] {
        let lm = |m: &Net<f64>| LipMargin::new(m, &v, 0.3).with_float(weight);
        let j = |m: &Net<f64>| -> f64 {
            let f = lm(m).float_part_from_magnitudes(m, &mags);
            let h = lm(m).shifts(&labels, f.as_ref());
            h.data.iter().zip(&coef.data).map(|(a, b)| a * b).sum()
        };
        let mut g = Grads::zeros_like(&n);
        let f = lm(&n).float_part_from_magnitudes(&n, &mags);
        assert_eq!(f.is_some(), weight > 0.0);
        lm(&n).grad_acc(&n, &labels, &coef, 1.0, f.as_ref(), &mut g);
        let mut rng = ChaCha8Rng::seed_from_u64(9);
        for _ in 0..3 {
            let mut d = Grads::zeros_like(&n);
            d.w.iter_mut()
                .chain(d.b.iter_mut())
                .flatten()
                .for_each(|x| *x = normal(&mut rng));
            let at = |t: f64| {
                let mut m = n.clone();
                for (l, (dw, db)) in m.layers.iter_mut().zip(d.w.iter().zip(&d.b)) {
                    l.w.iter_mut().zip(dw).for_each(|(w, x)| *w += t * x);
                    l.b.iter_mut().zip(db).for_each(|(b, x)| *b += t * x);
                }
                j(&m)
            };
            let h = 1e-6;
            let fd = (at(h) - at(-h)) / (2.0 * h);
            let an: f64 = g.values().zip(d.values()).map(|(a, b)| a * b).sum();
            assert!(
                (fd - an).abs() <= 1e-7 * an.abs().max(1.0),
                "λ_E {weight}: {an} vs {fd}"
            );
        }
        if weight == 0.0 {
            assert!(g.b.iter().flatten().all(|&x| x == 0.0));
        } else {
            assert!(g.b.iter().flatten().any(|&x| x != 0.0));
        }
    }
}

#[test]
fn float_estimate_matches_the_certificate() {
    // Ê reproduces lifted-core's E(x) + E_ball of an exported forward model (seal factors
    // aside) on a few inputs.
    let n32 = {
        let mut rng = ChaCha8Rng::seed_from_u64(4);
        let mut n = Net::<f32>::init(5, &[7, 6, 4], Activation::Relu, &[1.0; 3], 1.0, &mut rng);
        for (k, l) in n.layers.iter_mut().enumerate() {
            for (i, b) in l.b.iter_mut().enumerate() {
                *b = ((i + k) % 5) as f32 / 10.0 - 0.2;
            }
        }
        n
    };
    let n: Net<f64> = n32.cast();
    let mut v = init_vectors(&n, 0);
    power_iterate(&n, &mut v, 500);
    let cfg = crate::train::TrainConfig {
        widths: vec![7, 6, 4],
        objective: crate::train::Objective::Bp,
        ..crate::train::TrainConfig::default()
    };
    let names: Vec<String> = (0..4).map(|c| c.to_string()).collect();
    let params = crate::train::params::to_model_params(&n32, &cfg, (0.0, 1.0), &names, 0);
    let constants = lifted_core::bounds::compute(&params, &Limits::default());
    let blob = params.to_blob(&constants).unwrap();
    let model = lifted_core::ModelView::new_checked(blob.as_bytes()).unwrap();
    let mut buf = vec![0.0f32; lifted_core::Workspace::required(&model)];
    let x = Mat::from_vec(3, 5, (0..15).map(|i| (i % 4) as f64 / 3.0).collect());
    let m = LipMargin::new(&n, &v, 0.3).with_float(1.0);
    let f = m.float_part(&n, &n.forward(&x)).unwrap();
    for i in 0..3 {
        let xi: Vec<f32> = x.row(i).iter().map(|&a| a as f32).collect();
        let mut ws = lifted_core::Workspace::new(&mut buf);
        let o = lifted_core::infer(&model, &xi, &mut ws).unwrap();
        let c = lifted_core::certify(&model, &o, lifted_core::Norm::L2);
        let want = f64::from(c.float_error);
        let got = f.shift[i];
        assert!(
            got <= want && got >= 0.98 * want,
            "sample {i}: estimate {got} vs certificate {want}"
        );
    }
}

#[test]
fn ramp_is_linear_per_minibatch() {
    assert_eq!(ramp(0.3, 0, 0, 0, 10), 0.3);
    assert_eq!(ramp(0.3, 2, 0, 5, 10), 0.0);
    assert_eq!(ramp(0.4, 2, 1, 0, 10), 0.4 / 20.0);
    assert_eq!(ramp(0.4, 2, 2, 9, 10), 0.4);
    assert_eq!(ramp(0.4, 2, 7, 3, 10), 0.4);
}
