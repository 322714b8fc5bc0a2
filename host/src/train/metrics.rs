//! Per-epoch measurements: accuracy of the free state, the Lipschitz estimate ‖W_{L−1}⋯W_0‖₂
//! and the sound bound Π σ̄_k (docs/method.md §7.5).

use lifted_core::bounds::norms::mul_up;
use lifted_core::bounds::spectral::spectral_upper;

use super::linalg::{matmul, Mat};
use super::net::Net;
use super::real::Real;

/// Eigenvalues of the symmetric `n × n` matrix `a` (overwritten) by cyclic Jacobi rotations.
pub fn sym_eigenvalues(a: &mut [f64], n: usize) -> Vec<f64> {
    for _sweep in 0..100 {
        let off: f64 = (0..n)
            .flat_map(|i| (0..n).filter(move |&j| j != i).map(move |j| (i, j)))
            .map(|(i, j)| a[i * n + j] * a[i * n + j])
            .sum();
        let diag: f64 = (0..n).map(|i| a[i * n + i] * a[i * n + i]).sum();
        if off <= 1e-30 * diag.max(f64::MIN_POSITIVE) {
            break;
        }
        for p in 0..n {
            for q in p + 1..n {
                let apq = a[p * n + q];
                if apq == 0.0 {
                    continue;
                }
                let theta = (a[q * n + q] - a[p * n + p]) / (2.0 * apq);
                let t = theta.signum() / (theta.abs() + (theta * theta + 1.0).sqrt());
                let t = if theta == 0.0 { 1.0 } else { t };
                let c = 1.0 / (t * t + 1.0).sqrt();
                let s = t * c;
                for k in 0..n {
                    let (akp, akq) = (a[k * n + p], a[k * n + q]);
                    a[k * n + p] = c * akp - s * akq;
                    a[k * n + q] = s * akp + c * akq;
                }
                for k in 0..n {
                    let (apk, aqk) = (a[p * n + k], a[q * n + k]);
                    a[p * n + k] = c * apk - s * aqk;
                    a[q * n + k] = s * apk + c * aqk;
                }
            }
        }
    }
    (0..n).map(|i| a[i * n + i]).collect()
}

/// ‖W_{L−1}⋯W_0‖₂ in f64: the product P (C × n_0) is formed in f64, then the largest eigenvalue of
/// the small Gram matrix P Pᵀ (C × C) by Jacobi iteration (exact to rounding). Neither an upper nor
/// a lower bound of a ReLU network's Lipschitz constant (docs/method.md §7.5).
pub fn lip_estimate<T: Real>(net: &Net<T>) -> f64 {
    let l = net.depth();
    let w = |k: usize| -> Mat<f64> {
        Mat::from_vec(
            net.width(k + 1),
            net.width(k),
            net.layers[k].w.iter().map(|v| v.to_f64()).collect(),
        )
    };
    let mut p = w(l - 1);
    for k in (0..l - 1).rev() {
        p = matmul(&p, &w(k));
    }
    let c = p.rows;
    let mut g = vec![0.0; c * c];
    for i in 0..c {
        for j in 0..c {
            g[i * c + j] = p.row(i).iter().zip(p.row(j)).map(|(a, b)| a * b).sum();
        }
    }
    sym_eigenvalues(&mut g, c)
        .into_iter()
        .fold(0.0f64, f64::max)
        .max(0.0)
        .sqrt()
}

/// Π_k σ̄_k with sound Gram-iteration upper bounds σ̄_k ≥ ‖W_k‖₂, rounded up: a rigorous
/// Lipschitz bound of the forward map.
pub fn lip_bound<T: Real>(net: &Net<T>, gram_steps: u32) -> f64 {
    (0..net.depth()).fold(1.0, |p, k| {
        let w: Vec<f32> = net.layers[k].w.iter().map(|v| v.to_f32()).collect();
        mul_up(
            p,
            spectral_upper(&w, net.width(k + 1), net.width(k), gram_steps).upper,
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use lifted_core::Activation;

    #[test]
    fn jacobi_eigenvalues() {
        let mut a = vec![2.0, 1.0, 0.0, 1.0, 2.0, 0.0, 0.0, 0.0, 5.0];
        let mut e = sym_eigenvalues(&mut a, 3);
        e.sort_by(f64::total_cmp);
        for (x, y) in e.iter().zip([1.0, 3.0, 5.0]) {
            assert!((x - y).abs() < 1e-12, "{e:?}");
        }
    }

    #[test]
    fn lipschitz_of_a_diagonal_chain() {
        // W_0 = diag(3, 1), W_1 = diag(0.5, 4): product diag(1.5, 4), norm 4; bound 3·4 = 12.
        let layer = |w: Vec<f64>| super::super::net::Layer {
            w,
            b: vec![0.0; 2],
            act: Activation::Identity,
        };
        let net = Net {
            input_dim: 2,
            layers: vec![
                layer(vec![3.0, 0.0, 0.0, 1.0]),
                layer(vec![0.5, 0.0, 0.0, 4.0]),
            ],
            gamma: vec![1.0, 1.0],
        };
        assert!((lip_estimate(&net) - 4.0).abs() < 1e-12);
        let b = lip_bound(&net, 10);
        assert!((12.0..12.0 * (1.0 + 1e-9)).contains(&b), "{b}");
    }
}
