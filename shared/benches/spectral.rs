//! Criterion benchmarks of the sound spectral-norm bound (`bounds::spectral::spectral_upper`).
//!
//! `cargo bench -p lifted-core --features alloc --bench spectral`

use criterion::{black_box, criterion_group, criterion_main, Criterion};
use lifted_core::bounds::spectral::{power_iteration_lower, spectral_upper};

/// Seeded xorshift64: values uniform in [−1, 1), scaled like a He-initialised layer.
fn matrix(rows: usize, cols: usize, seed: u64) -> Vec<f32> {
    let mut s = seed;
    let scale = (2.0 / cols as f32).sqrt();
    (0..rows * cols)
        .map(|_| {
            s ^= s << 13;
            s ^= s >> 7;
            s ^= s << 17;
            ((s >> 40) as f32 / (1u64 << 24) as f32 * 2.0 - 1.0) * scale
        })
        .collect()
}

fn bench_spectral(c: &mut Criterion) {
    for (rows, cols) in [(128usize, 784usize), (784, 128), (128, 128)] {
        let w = matrix(rows, cols, 0x9e37_79b9_7f4a_7c15);
        c.bench_function(&format!("spectral_upper {rows}x{cols} 8 steps"), |b| {
            b.iter(|| spectral_upper(black_box(&w), rows, cols, 8))
        });
    }
    let w = matrix(128, 784, 7);
    c.bench_function("power_iteration_lower 128x784 30 iters", |b| {
        b.iter(|| power_iteration_lower(black_box(&w), 128, 784, 30))
    });
}

criterion_group!(benches, bench_spectral);
criterion_main!(benches);
