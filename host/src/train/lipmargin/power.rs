//! The power iteration behind σ_k = ‖W_k v̂_k‖: the seeded start vectors, the warm-started
//! steps, and the small dense helpers (W v, Wᵀ u, normalisation) that [`super::LipMargin::new`]
//! also uses.

use rand_chacha::rand_core::SeedableRng;
use rand_chacha::ChaCha8Rng;

use super::super::net::Net;
use super::super::real::Real;
use crate::rng::normal;

/// Power-iteration steps run once when the vectors are created (a random start is far from
/// the top singular vector; afterwards a few warm-started steps per minibatch suffice).
pub const INIT_ITERS: u32 = 50;

/// ChaCha8 stream of the start vectors (0: weights, 1: shuffles and other training choices).
const VECTOR_STREAM: u64 = 2;

/// W v for a row-major `rows × cols` matrix.
pub(super) fn matvec<T: Real>(w: &[T], rows: usize, cols: usize, v: &[T]) -> Vec<T> {
    (0..rows)
        .map(|r| {
            w[r * cols..(r + 1) * cols]
                .iter()
                .zip(v)
                .map(|(&a, &b)| a * b)
                .sum()
        })
        .collect()
}

/// Wᵀ u for a row-major `rows × cols` matrix.
fn matvec_t<T: Real>(w: &[T], rows: usize, cols: usize, u: &[T]) -> Vec<T> {
    let mut out = vec![T::ZERO; cols];
    for (r, &ur) in u.iter().enumerate().take(rows) {
        for (o, &a) in out.iter_mut().zip(&w[r * cols..(r + 1) * cols]) {
            *o += a * ur;
        }
    }
    out
}

pub(super) fn norm<T: Real>(v: &[T]) -> T {
    v.iter().map(|&a| a * a).sum::<T>().sqrt()
}

/// `v/‖v‖`, or `None` for a zero (or non-finite) vector.
pub(super) fn normalized<T: Real>(v: &[T]) -> Option<Vec<T>> {
    let n = norm(v);
    (n > T::ZERO && n.is_finite()).then(|| v.iter().map(|&a| a / n).collect())
}

/// Seeded unit start vectors v_k (length n_k) for the layers k = 0 … L−2, from stream 2 of
/// `ChaCha8(seed)`, so that the training stream is untouched.
pub fn init_vectors<T: Real>(net: &Net<T>, seed: u64) -> Vec<Vec<T>> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    rng.set_stream(VECTOR_STREAM);
    (0..net.depth().saturating_sub(1))
        .map(|k| {
            let v: Vec<T> = (0..net.width(k))
                .map(|_| T::from_f64(normal(&mut rng)))
                .collect();
            normalized(&v).unwrap_or_else(|| {
                let mut e = vec![T::ZERO; net.width(k)];
                e[0] = T::ONE;
                e
            })
        })
        .collect()
}

/// `iters` power-iteration steps v_k ← normalise(W_kᵀ normalise(W_k v_k)) on each vector. A step
/// that meets a zero vector leaves the vector unchanged.
pub fn power_iterate<T: Real>(net: &Net<T>, vs: &mut [Vec<T>], iters: u32) {
    for (k, v) in vs.iter_mut().enumerate() {
        let (rows, cols, w) = (net.width(k + 1), net.width(k), &net.layers[k].w);
        for _ in 0..iters {
            let Some(u) = normalized(&matvec(w, rows, cols, v)) else {
                break;
            };
            match normalized(&matvec_t(w, rows, cols, &u)) {
                Some(nv) => *v = nv,
                None => break,
            }
        }
    }
}
