//! Internal radii relative to the activity (`lifted certify`'s `relative` column): rescaling a
//! ReLU layer by c and the next layer by 1/c leaves the classifier unchanged, scales the absolute
//! internal radius by c, and leaves radius / ‖z_1‖₂ unchanged.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use indicatif::ProgressBar;
use lifted::data::{load, DatasetKind};
use lifted::eval::predict;
use lifted_core::bounds::Limits;
use lifted_core::write::{LayerParams, ModelParams};
use lifted_core::ModelView;

fn params_of(m: &ModelView<'_>) -> ModelParams {
    let h = m.header();
    ModelParams {
        input_dim: m.input_dim(),
        input_range: (h.input_min, h.input_max),
        family: m.family(),
        init: m.init(),
        schedule: m.schedule(),
        sweeps: m.sweeps() as u16,
        layers: (1..=m.layers())
            .map(|k| {
                let s = m.layer(k).unwrap();
                LayerParams {
                    weights: m.weights(k - 1).to_vec(),
                    bias: m.bias(k - 1).to_vec(),
                    activation: s.activation,
                    gamma: s.gamma,
                    rho: s.rho,
                    step: s.step,
                }
            })
            .collect(),
        class_names: Vec::new(),
        metadata: String::new(),
    }
}

#[test]
fn relative_internal_radii_do_not_change_when_a_relu_layer_is_rescaled() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../firmware/models/demo.lfm");
    let blob = lifted::model::file::read_blob(std::path::Path::new(path)).unwrap();
    let model = ModelView::new_checked(blob.as_bytes()).unwrap();
    assert!(model.is_forward_deployment() && model.layers() == 2);
    let test = load(DatasetKind::Digits, None, None).unwrap().test;

    let c = 0.5f32; // a power of two: every scaled weight and activity is exact
    let mut p = params_of(&model);
    p.layers[0].weights.iter_mut().for_each(|w| *w *= c);
    p.layers[0].bias.iter_mut().for_each(|b| *b *= c);
    p.layers[1].weights.iter_mut().for_each(|w| *w /= c);
    // The certificate's float-error term covers a ball of the absolute radius eps_internal_max
    // around ẑ_1; scale that limit too, so that the two certificates bound the same perturbations.
    let cert = &model.header().cert;
    let limits = Limits {
        eps_l2_max: cert.eps_l2_max,
        eps_inf_max: cert.eps_inf_max,
        eps_internal_max: cert.eps_internal_max * c,
        ..Limits::default()
    };
    let scaled_blob = lifted::model::export::build_blob(&p, &limits).unwrap();
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
