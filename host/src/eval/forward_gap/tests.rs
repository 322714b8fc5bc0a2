use super::*;
use lifted_core::bounds::{compute, Limits};
use lifted_core::write::{LayerParams, ModelParams};
use lifted_core::{Activation, Family, Init, Schedule};

fn params(family: Family, init: Init, sweeps: u16) -> ModelParams {
    let layer = |rows: usize, cols: usize, act, salt: usize| LayerParams {
        weights: (0..rows * cols)
            .map(|i| (((i + salt) * 7 % 11) as f32 - 5.0) / 8.0)
            .collect(),
        bias: (0..rows).map(|i| i as f32 / 10.0 - 0.1).collect(),
        activation: act,
        gamma: 1.0,
        rho: if act == Activation::Identity {
            0.0
        } else {
            1.0
        },
        step: if act == Activation::Identity {
            1.0
        } else {
            0.5
        },
    };
    ModelParams {
        input_dim: 4,
        input_range: (0.0, 1.0),
        family,
        init,
        schedule: Schedule::BwdFwd,
        sweeps,
        layers: vec![
            layer(5, 4, Activation::Relu, 0),
            layer(5, 5, Activation::Relu, 3),
            layer(3, 5, Activation::Identity, 5),
        ],
        class_names: Vec::new(),
        metadata: String::new(),
    }
}

fn data() -> Dataset {
    let n = 40;
    Dataset {
        name: "grid".into(),
        inputs: (0..n * 4).map(|i| ((i * 13 % 17) as f32) / 16.0).collect(),
        labels: (0..n).map(|i| (i % 3) as u8).collect(),
        dim: 4,
        classes: 3,
    }
}

fn gap(p: &ModelParams) -> Option<ForwardGap> {
    let blob = p.to_blob(&compute(p, &Limits::default())).unwrap();
    let model = crate::model::file::open(&blob).unwrap();
    forward_gap(&model, &data())
}

#[test]
fn forward_logits_are_the_logits_of_a_forward_deployment_bit_for_bit() {
    let p = params(Family::FenchelYoung, Init::Forward, 5);
    let blob = p.to_blob(&compute(&p, &Limits::default())).unwrap();
    let model = crate::model::file::open(&blob).unwrap();
    assert!(model.is_forward_deployment());
    let d = data();
    let mut buf = vec![0.0; Workspace::required(&model)];
    for i in 0..d.len() {
        let x = d.input(i).unwrap();
        let mut ws = Workspace::new(&mut buf);
        let o = infer(&model, x, &mut ws).unwrap();
        let f = forward_logits(&model, x).unwrap();
        let bits = |v: &[f32]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
        assert_eq!(bits(o.logits), bits(&f), "sample {i}");
    }
    assert_eq!(gap(&p), None, "a forward deployment has no gap to report");
}

#[test]
fn an_iterative_deployment_reports_its_distance_from_the_forward_pass() {
    for (family, init) in [
        (Family::Hopfield, Init::Forward),
        (Family::FenchelYoung, Init::Zero),
    ] {
        let g = gap(&params(family, init, 5)).unwrap();
        assert_eq!(g.samples, 40);
        assert!(g.mean_l2 > 1e-3, "{family:?} {init:?}: {g:?}");
        assert!(g.max_l2 >= g.mean_l2 && g.max_relative >= g.mean_relative);
        assert!((0.0..=1.0).contains(&g.class_agreement));
    }
}
