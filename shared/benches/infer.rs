//! Criterion benchmarks of `infer`, `certify` and the certificate constants.
//!
//! `cargo bench -p lifted-core --features alloc --bench infer`

use criterion::{black_box, criterion_group, criterion_main, Criterion};
use lifted_core::bounds::{compute, Limits};
use lifted_core::write::{LayerParams, ModelParams};
use lifted_core::{certify, infer, Activation, Family, Init, ModelView, Norm, Schedule, Workspace};

struct XorShift(u64);

impl XorShift {
    fn next(&mut self) -> f32 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        ((self.0 >> 40) as f32 / (1u64 << 24) as f32) * 2.0 - 1.0
    }
}

fn model(dims: &[usize], sweeps: u16, init: Init) -> ModelParams {
    let mut rng = XorShift(0x9e37_79b9_7f4a_7c15);
    let l = dims.len() - 1;
    let layers = (0..l)
        .map(|k| {
            let s = 1.7 / (dims[k] as f32).sqrt();
            LayerParams {
                weights: (0..dims[k] * dims[k + 1]).map(|_| rng.next() * s).collect(),
                bias: (0..dims[k + 1]).map(|_| rng.next() * 0.1).collect(),
                activation: if k + 1 == l {
                    Activation::Identity
                } else {
                    Activation::Relu
                },
                gamma: 1.0,
                rho: if k + 1 == l { 0.0 } else { 1.0 },
                step: 0.25,
            }
        })
        .collect();
    ModelParams {
        input_dim: dims[0],
        input_range: (0.0, 1.0),
        family: Family::FenchelYoung,
        init,
        schedule: Schedule::BwdFwd,
        sweeps,
        layers,
        class_names: vec![],
        metadata: String::new(),
    }
}

fn bench(c: &mut Criterion) {
    for dims in [&[64usize, 32, 10][..], &[784, 128, 128, 10][..]] {
        for (sweeps, init) in [(0u16, Init::Forward), (5, Init::Forward), (5, Init::Zero)] {
            let p = model(dims, sweeps, init);
            let blob = p.to_blob(&compute(&p, &Limits::default())).unwrap();
            let m = ModelView::new_checked(blob.as_bytes()).unwrap();
            let mut rng = XorShift(7);
            let x: Vec<f32> = (0..dims[0]).map(|_| rng.next().abs()).collect();
            let mut buf = vec![0.0f32; Workspace::required(&m)];
            let name = format!("{dims:?} K={sweeps} {init:?}");
            c.bench_function(&format!("infer {name}"), |b| {
                b.iter(|| {
                    let mut ws = Workspace::new(&mut buf);
                    black_box(infer(&m, black_box(&x), &mut ws).unwrap().class)
                })
            });
            let mut ws = Workspace::new(&mut buf);
            let out = infer(&m, &x, &mut ws).unwrap();
            c.bench_function(&format!("certify l2 {name}"), |b| {
                b.iter(|| black_box(certify(&m, black_box(&out), Norm::L2)))
            });
        }
    }
    let p = model(&[784, 128, 128, 10], 5, Init::Forward);
    c.bench_function("constants [784, 128, 128, 10] K=5", |b| {
        b.iter(|| black_box(compute(black_box(&p), &Limits::default())))
    });
}

criterion_group!(benches, bench);
criterion_main!(benches);
