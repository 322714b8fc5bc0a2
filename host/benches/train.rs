//! Training throughput (samples/s) of a 784-128-128-10 network, batch 50, K = 5, for `bp` and
//! `arovr`, on seeded synthetic MNIST-shaped data (so the benchmark needs no download).
//!
//! `cargo bench -p lifted --bench train`
//!
//! One iteration is one epoch over 2000 training samples plus the epoch's measurement of 200
//! validation and 200 test samples and the Lipschitz estimates (the same work `lifted train`
//! does per epoch); criterion reports the throughput in training samples per second.

use criterion::{criterion_group, criterion_main, BatchSize, Criterion, Throughput};
use lifted::data::{Dataset, Splits};
use lifted::train::{Objective, Progress, TrainConfig, Trainer};

const TRAIN: usize = 2000;

fn synthetic(name: &str, n: usize, seed: u64) -> Dataset {
    let mut s = seed | 1;
    let mut next = move || {
        s ^= s << 13;
        s ^= s >> 7;
        s ^= s << 17;
        s
    };
    let labels: Vec<u8> = (0..n).map(|_| (next() % 10) as u8).collect();
    // Class-dependent blobs: pixel i is bright with a probability that depends on the label.
    let inputs = labels
        .iter()
        .flat_map(|&y| {
            (0..784usize)
                .map(|i| {
                    if (i * 7 + usize::from(y) * 79) % 10 < 3 {
                        0.8
                    } else {
                        0.0
                    }
                })
                .collect::<Vec<f32>>()
        })
        .zip(std::iter::repeat_with(&mut next))
        .map(|(v, r)| (v + (r % 100) as f32 / 500.0).min(1.0))
        .collect();
    Dataset {
        name: name.into(),
        inputs,
        labels,
        dim: 784,
        classes: 10,
    }
}

fn bench(c: &mut Criterion) {
    let splits = Splits {
        train: synthetic("synthetic:train", TRAIN, 1),
        val: synthetic("synthetic:val", 200, 2),
        test: synthetic("synthetic:test", 200, 3),
    };
    let mut group = c.benchmark_group("train 784-128-128-10 batch 50 K=5");
    group.throughput(Throughput::Elements(TRAIN as u64));
    group.sample_size(10);
    for (name, objective) in [("bp", Objective::Bp), ("arovr", Objective::Arovr)] {
        let cfg = TrainConfig {
            widths: vec![128, 128, 10],
            sweeps: 5,
            batch: 50,
            epochs: 1000,
            objective,
            ..TrainConfig::default()
        };
        group.bench_function(name, |b| {
            b.iter_batched(
                || {
                    let mut t = Trainer::new(&cfg, &splits).expect("trainer");
                    t.run_epoch(&mut Progress::hidden()); // epoch 0: measurement only
                    t
                },
                |mut t| t.run_epoch(&mut Progress::hidden()),
                BatchSize::LargeInput,
            )
        });
    }
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
