//! Which deployed maps are forward passes, and the constants of those that are not: regression
//! tests for configurations whose certificates once broke, and the family-A self term of the
//! block recursion checked against the exact spectral norm with free activation patterns.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::Rng;
use lifted_core::bounds::spectral::spectral_upper;
use lifted_core::bounds::{compute, family_a_self_l2, Limits};
use lifted_core::write::{LayerParams, ModelParams};
use lifted_core::{certify, infer, Activation, Family, Init, ModelView, Norm, Schedule, Workspace};
use nalgebra::DMatrix;

fn identity_layer(activation: Activation, rho: f32) -> LayerParams {
    LayerParams {
        weights: vec![1.0, 0.0, 0.0, 1.0],
        bias: vec![0.0, 0.0],
        activation,
        gamma: 1.0,
        rho,
        step: 1.0,
    }
}

/// The 2-2-2-2 family-B model with W = I in every layer, K = 0 and the top-down tail.
///
/// Its deployed map: forward init gives z1 = z2 = z3 = x; the tail sets z2 = x + x, then
/// z1 = x + 2x, then the logits s = z2 = 2x. So s_0 − s_1 = 2(x_0 − x_1) has gradient norm
/// 2√2 ≈ 2.828, twice the forward pass's √2.
fn top_down_identity_model() -> ModelParams {
    ModelParams {
        input_dim: 2,
        input_range: (0.0, 1.0),
        family: Family::Hopfield,
        init: Init::Forward,
        schedule: Schedule::BwdFwdTopDown,
        sweeps: 0,
        layers: vec![
            identity_layer(Activation::Relu, 1.0),
            identity_layer(Activation::Relu, 1.0),
            identity_layer(Activation::Identity, 0.0),
        ],
        class_names: vec![],
        metadata: String::new(),
    }
}

fn run(m: &ModelView<'_>, x: &[f32], norm: Norm) -> (usize, Vec<f32>, lifted_core::Certificate) {
    let mut buf = vec![0.0f32; Workspace::required(m)];
    let mut ws = Workspace::new(&mut buf);
    let o = infer(m, x, &mut ws).unwrap();
    let cert = certify(m, &o, norm);
    (o.class, o.logits.to_vec(), cert)
}

#[test]
fn family_b_top_down_tail_at_k0_is_not_certified_as_a_forward_pass() {
    let p = top_down_identity_model();
    let blob = p.to_blob(&compute(&p, &Limits::default())).unwrap();
    let m = ModelView::new_checked(blob.as_bytes()).unwrap();
    assert!(!m.is_forward_deployment());

    // The deployed map really is 2x (not the forward pass x).
    let (c, logits, cert) = run(&m, &[0.6, 0.4], Norm::L2);
    assert_eq!(c, 0);
    assert_eq!(logits, [1.2f32, 0.8]);

    // The pair constant covers the true Lipschitz constant 2√2 of s_0 − s_1.
    let k01 = m.pairs_l2()[0];
    assert!(
        f64::from(k01) >= 2.0 * 2f64.sqrt(),
        "stored K_01 = {k01} < 2√2"
    );
    // The exact boundary is at distance 0.2/√2 ≈ 0.14142: the certificate must stay below it
    // (or refuse), and a point just across it is classified 1.
    let boundary = 0.2 / 2f64.sqrt();
    assert!(
        f64::from(cert.radius) <= boundary,
        "ℓ2 radius {} beyond the decision boundary at {boundary}",
        cert.radius
    );
    let (c2, _, _) = run(&m, &[0.4999, 0.5001], Norm::L2);
    assert_eq!(c2, 1);
    // No internal radii, even on request: the final hidden state does not feed forward to the
    // logits.
    assert!(cert.internal.is_empty());
    let mut buf = vec![0.0f32; Workspace::required(&m)];
    let mut ws = Workspace::new(&mut buf);
    let o = infer(&m, &[0.6, 0.4], &mut ws).unwrap();
    let full = lifted_core::certify_with_internal(&m, &o);
    assert!(full.internal.is_empty());
    assert_eq!(full.radius.to_bits(), cert.radius.to_bits());

    // ℓ∞ at (0.56, 0.44): the corner (0.46, 0.54) at ℓ∞ distance 0.1 is classified 1, so the
    // ℓ∞ radius must stay below 0.06 (the exact ℓ∞ distance to the boundary).
    let (c, _, cert) = run(&m, &[0.56, 0.44], Norm::Linf);
    assert_eq!(c, 0);
    assert!(
        cert.radius <= 0.06,
        "ℓ∞ radius {} beyond the boundary at 0.06",
        cert.radius
    );
    assert_eq!(run(&m, &[0.46, 0.54], Norm::Linf).0, 1);
}

#[test]
fn without_the_tail_the_same_model_is_a_forward_pass() {
    let mut p = top_down_identity_model();
    p.schedule = Schedule::BwdFwd;
    let blob = p.to_blob(&compute(&p, &Limits::default())).unwrap();
    let m = ModelView::new_checked(blob.as_bytes()).unwrap();
    assert!(m.is_forward_deployment());
    let (_, logits, cert) = run(&m, &[0.6, 0.4], Norm::L2);
    assert_eq!(logits, [0.6f32, 0.4]);
    // Boundary at 0.2/√2 ≈ 0.1414, forward constant √2: radius just below it.
    assert!(f64::from(cert.radius) <= 0.2 / 2f64.sqrt());
    assert!(cert.radius > 0.14, "radius {}", cert.radius);
}

/// Relative accuracy of the f64 eigen-decomposition below: a few ulps of ‖J‖ (it reports
/// 1 − η + 2 ulp for the exact eigenvalue 1 − η). Inside the window the old, unsound self term
/// fell short by at least 5 % of the window's width, far above this.
const EIGEN_REL: f64 = 1e-12;

/// ‖(1 − η)I − ηρ WᵀDW‖₂ by a symmetric eigen-decomposition in f64.
fn self_jacobian_norm(w: &DMatrix<f64>, d: &[f64], eta: f64, rho: f64) -> f64 {
    let m = w.ncols();
    let dm = DMatrix::from_diagonal(&nalgebra::DVector::from_column_slice(d));
    let j = DMatrix::identity(m, m) * (1.0 - eta) - (w.transpose() * dm * w) * (eta * rho);
    j.symmetric_eigen()
        .eigenvalues
        .iter()
        .fold(0.0f64, |a, &v| a.max(v.abs()))
}

#[test]
fn family_a_self_term_bounds_the_jacobian_for_every_activation_pattern() {
    let mut rng = Rng(0x5e1f);
    let mut inside_window = 0;
    for case in 0..400 {
        let rows = 1 + rng.below(5);
        let cols = 1 + rng.below(5);
        let scale = [0.3, 1.0, 3.0][case % 3];
        let w32: Vec<f32> = (0..rows * cols)
            .map(|_| (rng.normal() * scale) as f32)
            .collect();
        let sigma = spectral_upper(&w32, rows, cols, 10).upper;
        let w = DMatrix::from_row_slice(
            rows,
            cols,
            &w32.iter().map(|&v| f64::from(v)).collect::<Vec<_>>(),
        );
        let rho = f64::from([0.25f32, 1.0, 2.0][case % 3]);
        let c = rho * sigma * sigma;
        // The window (1 − η) < ηρσ² < 2(1 − η), i.e. 1/(1 + c) < η < 2/(2 + c), where the
        // larger eigenvalue magnitude is 1 − η; half the cases elsewhere in (0, 1].
        let eta = if case % 2 == 0 {
            let (lo, hi) = (1.0 / (1.0 + c), 2.0 / (2.0 + c));
            lo + (hi - lo) * (0.05 + 0.9 * rng.unit())
        } else {
            0.02 + 0.98 * rng.unit()
        };
        let eta = f64::from(eta as f32);
        if eta * c > 1.0 - eta && eta * c < 2.0 * (1.0 - eta) {
            inside_window += 1;
        }
        let bound = family_a_self_l2(eta, rho, sigma);
        // Free activation patterns: all inactive, all active, random 0/1, random in [0, 1].
        for pattern in 0..6 {
            let d: Vec<f64> = (0..rows)
                .map(|_| match pattern {
                    0 => 0.0,
                    1 => 1.0,
                    2 | 3 => f64::from(u8::from(rng.unit() < 0.5)),
                    _ => rng.unit(),
                })
                .collect();
            let got = self_jacobian_norm(&w, &d, eta, rho) * (1.0 - EIGEN_REL);
            assert!(
                bound >= got,
                "case {case}: stored self term {bound} < ‖J‖ = {got} (η = {eta}, ρ = {rho}, σ̄ = {sigma}, D = {d:?})"
            );
        }
    }
    assert!(
        inside_window > 150,
        "only {inside_window} cases in the window"
    );
}
