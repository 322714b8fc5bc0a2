//! Internal robustness relative to the activity (`lifted certify`'s `relative` column, `lifted
//! evaluate --pgd-internal-rel`): rescaling a ReLU layer by c and the next layer by 1/c leaves the
//! classifier unchanged, scales the absolute internal radius by c, and leaves radius / ‖z_1‖₂ and
//! PGD at a fraction of ‖z_1‖₂ unchanged.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use indicatif::ProgressBar;
use lifted::data::{load, DatasetKind};
use lifted::eval::attack::PgdConfig;
use lifted::eval::{predict, robust_accuracy, robust_accuracy_relative, Target};
use lifted_core::bounds::Limits;
use lifted_core::write::ModelParams;
use lifted_core::ModelView;

const C: f32 = 0.5; // a power of two: every scaled weight and activity is exact

fn demo() -> lifted_core::write::Blob {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../firmware/models/demo.lfm");
    lifted::model::file::read_blob(std::path::Path::new(path)).unwrap()
}

/// The demo model with layer 1 scaled by [`C`] and layer 2's weights by 1/[`C`], exported with
/// the internal-radius limit scaled alike (the certificate's float-error term covers a ball of
/// that absolute radius around ẑ_1, so both certificates then bound the same perturbations).
fn rescaled(model: &ModelView<'_>) -> lifted_core::write::Blob {
    let mut p = ModelParams::from_view(model);
    p.layers[0].weights.iter_mut().for_each(|w| *w *= C);
    p.layers[0].bias.iter_mut().for_each(|b| *b *= C);
    p.layers[1].weights.iter_mut().for_each(|w| *w /= C);
    let cert = &model.header().cert;
    let limits = Limits {
        eps_l2_max: cert.eps_l2_max,
        eps_inf_max: cert.eps_inf_max,
        eps_internal_max: cert.eps_internal_max * C,
        ..Limits::default()
    };
    lifted::model::export::build_blob(&p, &limits).unwrap()
}

#[test]
fn pgd_at_a_fraction_of_the_activity_does_not_change_when_a_relu_layer_is_rescaled() {
    let blob = demo();
    let model = ModelView::new_checked(blob.as_bytes()).unwrap();
    let scaled_blob = rescaled(&model);
    let scaled = ModelView::new_checked(scaled_blob.as_bytes()).unwrap();
    let test = load(DatasetKind::Digits, None, None).unwrap().test;
    let hidden = ProgressBar::hidden();
    let cfg = PgdConfig {
        steps: 10,
        ..PgdConfig::default()
    };
    let a = predict(&model, &test, true, &hidden);
    let b = predict(&scaled, &test, true, &hidden);
    let rel = |m: &ModelView<'_>, p: &[lifted::eval::Prediction]| {
        robust_accuracy_relative(m, &test, p, 1, 0.5, &cfg, &hidden)
    };
    let (ra, rb) = (rel(&model, &a), rel(&scaled, &b));
    assert!(ra.relative && ra.label() == "z1/‖z‖");
    assert_eq!(
        ra.survived, rb.survived,
        "relative radius: the same attack on the same function"
    );
    assert!(
        ra.robust > 0 && ra.robust < ra.attacked,
        "a fraction that separates samples: {} of {}",
        ra.robust,
        ra.attacked
    );
    // An absolute radius is not scale-free: the same ε is a larger attack on the smaller z_1.
    let abs = |m: &ModelView<'_>, p: &[lifted::eval::Prediction]| {
        robust_accuracy(m, &test, p, Target::Hidden(1), 1.0, &cfg, &hidden).robust
    };
    let (xa, xb) = (abs(&model, &a), abs(&scaled, &b));
    assert!(
        xb < xa,
        "absolute ε = 1: {xa} robust before, {xb} after rescaling by {C}"
    );
}

#[test]
fn relative_internal_radii_do_not_change_when_a_relu_layer_is_rescaled() {
    let blob = demo();
    let model = ModelView::new_checked(blob.as_bytes()).unwrap();
    assert!(model.is_forward_deployment() && model.layers() == 2);
    let test = load(DatasetKind::Digits, None, None).unwrap().test;

    let c = C;
    let cert = &model.header().cert;
    let scaled_blob = rescaled(&model);
    let scaled = ModelView::new_checked(scaled_blob.as_bytes()).unwrap();

    let a = predict(&model, &test, true, &ProgressBar::hidden());
    let b = predict(&scaled, &test, true, &ProgressBar::hidden());
    let cap = cert.eps_internal_max * c;
    let mut compared = 0;
    for (i, (pa, pb)) in a.iter().zip(&b).enumerate() {
        assert_eq!(
            pa.class, pb.class,
            "sample {i}: the rescaled network is the same classifier"
        );
        let (Some(ca), Some(cb)) = (&pa.l2, &pb.l2) else {
            continue;
        };
        let (ra, rb) = (ca.internal[0], cb.internal[0]);
        if !(ra > 0.0 && rb > 0.0 && rb < cap) {
            continue;
        }
        let (na, nb) = (pa.hidden_l2[0], pb.hidden_l2[0]);
        assert_eq!(nb, na * c, "sample {i}: ‖z_1‖ scales by c exactly");
        // The absolute radius follows the scale …
        let ratio = f64::from(rb) / f64::from(ra);
        assert!(
            (ratio - f64::from(c)).abs() < 1e-5,
            "sample {i}: radius ratio {ratio}"
        );
        // … the relative one does not.
        let (qa, qb) = (f64::from(ra / na), f64::from(rb / nb));
        assert!(
            (qa - qb).abs() <= 1e-5 * qa,
            "sample {i}: relative {qa} vs {qb}"
        );
        compared += 1;
    }
    assert!(
        compared >= 100,
        "only {compared} samples with an internal radius below the cap"
    );
}
