//! Per-batch step sizes of the family-A hidden update (docs/method.md §4.2) and the family-B
//! strong-convexity monitor and projection (docs/method.md §3.3).

use lifted_core::bounds::monotone_step;
use lifted_core::bounds::spectral::{power_iteration_lower, spectral_upper_with};

use super::linalg::gram;
use super::metrics::sym_eigenvalues;
use super::net::Net;
use super::options::Damping;
use super::real::Real;

/// W_k as f32 and whether that conversion was exact.
fn weights_f32<T: Real>(w: &[T]) -> (Vec<f32>, bool) {
    let v: Vec<f32> = w.iter().map(|x| x.to_f32()).collect();
    let exact = v.iter().zip(w).all(|(a, b)| f64::from(*a) == b.to_f64());
    (v, exact)
}

/// Sound upper bounds σ̄_k ≥ ‖W_k‖₂ for k = 1 … L−1 (index k − 1), by Gram iteration (its f64
/// Gram products on the GEMM of [`super::linalg::gram`], split over the current pool). Weights
/// that are not exactly f32 get a relative margin of 1e-6 (far above the f64→f32 rounding).
pub fn hidden_sigmas<T: Real>(net: &Net<T>, gram_steps: u32) -> Vec<f64> {
    (1..net.depth())
        .map(|k| {
            let (w, exact) = weights_f32(&net.layers[k].w);
            let s = spectral_upper_with(
                &w,
                net.width(k + 1),
                net.width(k),
                gram_steps,
                &mut gram::<f64>,
            )
            .upper;
            if exact {
                s
            } else {
                s * (1.0 + 1e-6)
            }
        })
        .collect()
}

/// The damped steps η_k = 1/(1 + L_k), indexed by block k (length L + 1; 1 for k = 0 and L).
///
/// - `sound-gram:S`: L_k = ρ_k·σ̄_k² with σ̄_k from S Gram-iteration steps (sound, docs/method.md §8.5),
///   rounded so that the step never exceeds the monotone one ([`monotone_step`]).
/// - `power:I:F`: σ_k = F × (power iteration, I steps), L_k = ρ_k σ_k² (may undershoot).
/// - `dp-formula`: L_k = max(0, σ_k² − 1)/2·|1 − 2α| with σ_k from 3 power steps; `alpha` is the
///   mixed objective's α (0 for the adversarial objectives, 1 for ROVR).
pub fn steps<T: Real>(net: &Net<T>, damping: Damping, alpha: f64) -> Vec<T> {
    let sig = match damping {
        Damping::SoundGram(s) => hidden_sigmas(net, s),
        _ => Vec::new(),
    };
    steps_from(net, damping, alpha, &sig)
}

/// As [`steps`], with the sound bounds σ̄_k (k = 1 … L−1) of `sound-gram` given (e.g. from a
/// [`SigmaCache`]); ignored by the other rules.
pub fn steps_from<T: Real>(net: &Net<T>, damping: Damping, alpha: f64, sound: &[f64]) -> Vec<T> {
    let l = net.depth();
    let mut out = Vec::with_capacity(l + 1);
    out.push(T::ONE);
    for k in 1..l {
        let rho = net.rho(k).to_f64();
        let (rows, cols) = (net.width(k + 1), net.width(k));
        let w = || weights_f32(&net.layers[k].w).0;
        let eta = match damping {
            Damping::SoundGram(_) => {
                let s = sound.get(k - 1).copied().unwrap_or(f64::INFINITY);
                f64::from(monotone_step(rho as f32, s))
            }
            Damping::Power(iters, factor) => {
                let s = factor * power_iteration_lower(&w(), rows, cols, iters);
                1.0 / (1.0 + rho * s * s)
            }
            Damping::DpFormula => {
                let s = power_iteration_lower(&w(), rows, cols, 3);
                let lk = (s * s - 1.0).max(0.0) / 2.0 * (1.0 - 2.0 * alpha).abs();
                1.0 / (1.0 + lk)
            }
        };
        out.push(T::from_f64(if eta.is_finite() && eta > 0.0 {
            eta
        } else {
            f64::from(f32::MIN_POSITIVE)
        }));
    }
    out.push(T::ONE);
    out
}

/// The default largest slack ‖W_k − W_ref‖_F / σ̄(W_ref) (per hidden layer) that a
/// [`SigmaCache`] accepts before it runs the full Gram iteration again.
pub const SIGMA_MAX_SLACK: f64 = 0.05;

/// Sound σ̄_k ≥ ‖W_k‖₂ (k = 1 … L−1) for every minibatch at a fraction of the Gram-iteration
/// cost (docs/method.md §4.2): a full Gram bound σ̄(W_ref) at the weights W_ref of the last
/// refresh, then σ̄ = σ̄(W_ref) + ‖W − W_ref‖_F (triangle inequality, ‖·‖₂ ≤ ‖·‖_F; the Frobenius
/// norm in f64, rounded up) as long as ‖W_k − W_ref‖_F ≤ `max_slack`·σ̄(W_ref) for every hidden
/// layer; otherwise all layers are refreshed. The trainer starts a fresh cache every epoch, so
/// a resumed run sees the same values.
#[derive(Debug, Clone)]
pub struct SigmaCache {
    gram_steps: u32,
    max_slack: f64,
    refs: Vec<Vec<f32>>,
    base: Vec<f64>,
    refreshes: usize,
}

impl SigmaCache {
    /// An empty cache using `gram_steps` Gram-iteration steps and the slack
    /// [`SIGMA_MAX_SLACK`].
    pub fn new(gram_steps: u32) -> Self {
        Self::with_slack(gram_steps, SIGMA_MAX_SLACK)
    }

    /// An empty cache using `gram_steps` Gram-iteration steps that refreshes once
    /// ‖W_k − W_ref‖_F exceeds `max_slack`·σ̄(W_ref) (0: at every change of the weights).
    pub fn with_slack(gram_steps: u32, max_slack: f64) -> Self {
        SigmaCache {
            gram_steps,
            max_slack,
            refs: Vec::new(),
            base: Vec::new(),
            refreshes: 0,
        }
    }

    /// How many full Gram-iteration refreshes the cache has run.
    pub fn refreshes(&self) -> usize {
        self.refreshes
    }

    /// Sound upper bounds of ‖W_k‖₂, k = 1 … L−1, for the current weights.
    pub fn sigmas(&mut self, net: &Net<f32>) -> Vec<f64> {
        let hidden = net.depth().saturating_sub(1);
        if self.refs.len() == hidden {
            let drift: Vec<f64> = (1..=hidden)
                .map(|k| {
                    let ss: f64 = net.layers[k]
                        .w
                        .iter()
                        .zip(&self.refs[k - 1])
                        .map(|(&a, &b)| (f64::from(a) - f64::from(b)).powi(2))
                        .sum();
                    // Each difference of two f32 values and its square are rounded once each
                    // (relative error 2⁻⁵³ apiece), the n-term sum of non-negative terms adds
                    // at most (n − 1)·2⁻⁵³ and the square root 2⁻⁵³: the norm's relative
                    // error stays below (n + 4)·2⁻⁵², the margin applied (then rounded up).
                    let n = net.layers[k].w.len() as f64;
                    (ss.sqrt() * (1.0 + (n + 4.0) * f64::EPSILON)).next_up()
                })
                .collect();
            if drift
                .iter()
                .zip(&self.base)
                .all(|(d, b)| *d <= self.max_slack * b)
            {
                return self
                    .base
                    .iter()
                    .zip(&drift)
                    .map(|(b, d)| (b + d).next_up())
                    .collect();
            }
        }
        self.base = hidden_sigmas(net, self.gram_steps);
        self.refs = (1..=hidden).map(|k| net.layers[k].w.clone()).collect();
        self.refreshes += 1;
        self.base.clone()
    }
}

/// λ_min(T) for the tridiagonal T_kk = γ_k, T_{k,k+1} = −γ_{k+1}σ_k (docs/method.md §3.3): a lower bound of
/// the family-B strong-convexity modulus μ when every σ_k ≥ ‖W_k‖₂. (Computed by Jacobi
/// iteration in f64: a monitor, not a certificate.)
pub fn mu_lower(gamma: &[f64], sigmas: &[f64]) -> f64 {
    let l = gamma.len();
    let mut t = vec![0.0; l * l];
    for k in 0..l {
        t[k * l + k] = gamma[k];
        if k + 1 < l {
            let off = -gamma[k + 1] * sigmas.get(k).copied().unwrap_or(0.0);
            t[k * l + k + 1] = off;
            t[(k + 1) * l + k] = off;
        }
    }
    sym_eigenvalues(&mut t, l)
        .into_iter()
        .fold(f64::INFINITY, f64::min)
}

/// If μ ≥ λ_min(T) falls below `mu_min`, rescales W_1 … W_{L−1} by one common factor s ∈ (0, 1)
/// (found by bisection) so that λ_min(T) ≥ `mu_min` again. Returns the factor (1 if unchanged).
pub fn project_hopfield<T: Real>(net: &mut Net<T>, sigmas: &[f64], mu_min: f64) -> f64 {
    let gamma: Vec<f64> = net.gamma.iter().map(|g| g.to_f64()).collect();
    let at = |s: f64| mu_lower(&gamma, &sigmas.iter().map(|v| v * s).collect::<Vec<_>>());
    if at(1.0) >= mu_min || at(0.0) < mu_min {
        return 1.0;
    }
    let (mut lo, mut hi) = (0.0f64, 1.0f64);
    for _ in 0..50 {
        let mid = 0.5 * (lo + hi);
        if at(mid) >= mu_min {
            lo = mid;
        } else {
            hi = mid;
        }
    }
    let s = T::from_f64(lo);
    for layer in net.layers.iter_mut().skip(1) {
        layer.w.iter_mut().for_each(|w| *w *= s);
    }
    lo
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cached_sigmas_stay_sound_and_refresh() {
        use rand_chacha::rand_core::SeedableRng;
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(3);
        let mut net: Net<f32> = Net::init(
            8,
            &[16, 12, 4],
            lifted_core::Activation::Relu,
            &[1.0; 3],
            1.0,
            &mut rng,
        );
        let mut cache = SigmaCache::with_slack(8, 0.01);
        let first = cache.sigmas(&net);
        assert_eq!(first, hidden_sigmas(&net, 8));
        for step in 0..40 {
            for (i, w) in net.layers[1].w.iter_mut().enumerate() {
                *w += if (i + step) % 3 == 0 { 1e-3 } else { -5e-4 };
            }
            let got = cache.sigmas(&net);
            let exact = hidden_sigmas(&net, 30);
            for (g, e) in got.iter().zip(&exact) {
                assert!(g >= e, "cached bound {g} below the Gram bound {e}");
                assert!(*g <= e * 1.05, "cached bound {g} too loose vs {e}");
            }
        }
    }

    /// ‖W‖₂ estimated by 300 power iterations in f64 (a lower estimate, for the checks).
    fn power_f64(w: &[f32], cols: usize) -> f64 {
        let mut v = vec![1.0f64; cols];
        let mut s = 0.0;
        for _ in 0..300 {
            let u: Vec<f64> = w
                .chunks_exact(cols)
                .map(|r| r.iter().zip(&v).map(|(a, b)| f64::from(*a) * b).sum())
                .collect();
            let mut z = vec![0.0f64; cols];
            for (r, ui) in w.chunks_exact(cols).zip(&u) {
                for (zj, a) in z.iter_mut().zip(r) {
                    *zj += f64::from(*a) * ui;
                }
            }
            let n = z.iter().map(|x| x * x).sum::<f64>().sqrt();
            s = n.sqrt();
            v = z.iter().map(|x| x / n).collect();
        }
        s
    }

    #[test]
    fn slack_cache_stays_sound_over_adam_steps_and_refreshes_rarely() {
        use super::super::adam::{Adam, AdamConfig};
        use super::super::net::Grads;
        use rand_chacha::rand_core::SeedableRng;
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(11);
        let widths = [24, 20, 6];
        let mut net: Net<f32> = Net::init(
            16,
            &widths,
            lifted_core::Activation::Relu,
            &[1.0; 3],
            1.0,
            &mut rng,
        );
        let cfg = AdamConfig {
            lr: 1e-3,
            beta1: 0.9,
            beta2: 0.999,
            eps: 1e-8,
        };
        let mut adam = Adam::new(&net);
        let mut tight = SigmaCache::with_slack(6, 0.0);
        let mut every_pct = SigmaCache::with_slack(6, 0.01);
        let mut cache = SigmaCache::new(6);
        let steps = 300;
        for step in 0..steps {
            // A persistent direction plus noise, as minibatch gradients are.
            let mut g = Grads::zeros_like(&net);
            for (l, gw) in g.w.iter_mut().enumerate() {
                for (i, v) in gw.iter_mut().enumerate() {
                    let noise = crate::rng::normal(&mut rng) as f32;
                    *v = ((i * 7 + l) % 5) as f32 * 0.1 - 0.2 + 0.5 * noise;
                }
            }
            adam.step(&mut net, &g, &cfg);
            let got = cache.sigmas(&net);
            every_pct.sigmas(&net);
            tight.sigmas(&net);
            for k in 1..net.depth() {
                let est = power_f64(&net.layers[k].w, net.width(k));
                assert!(
                    got[k - 1] >= est,
                    "step {step}, layer {k}: cached bound {} below ‖W‖₂ ≈ {est}",
                    got[k - 1]
                );
            }
        }
        assert_eq!(tight.refreshes(), steps);
        assert!(
            cache.refreshes() < every_pct.refreshes() && cache.refreshes() <= steps / 3,
            "refreshes: slack 5 % {}, 1 % {}, of {steps}",
            cache.refreshes(),
            every_pct.refreshes()
        );
    }

    #[test]
    fn tridiagonal_modulus() {
        // One hidden layer, γ = 1: λ_min = 1 − σ_1.
        assert!((mu_lower(&[1.0, 1.0], &[0.25]) - 0.75).abs() < 1e-12);
        // L = 3 with γ = 1 is well posed iff σ_1² + σ_2² < 1 (docs/method.md §3.3).
        assert!(mu_lower(&[1.0; 3], &[0.6, 0.79]) > 0.0);
        assert!(mu_lower(&[1.0; 3], &[0.6, 0.81]) < 0.0);
    }
}
