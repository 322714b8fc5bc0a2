//! The trainable network: weights W_0 … W_{L−1}, biases, activations and the layer weights γ,
//! with the batched forward pass, seeded initialisation (docs/method.md §7.2) and gradient buffers.

use lifted_core::Activation;
use rand_chacha::ChaCha8Rng;

use super::linalg::{affine, Mat};
use super::real::Real;
use crate::rng::normal;

/// One weight layer, mapping z_{k−1} to block z_k.
#[derive(Debug, Clone, PartialEq)]
pub struct Layer<T> {
    /// W_{k−1}, row-major `n_k × n_{k−1}`.
    pub w: Vec<T>,
    /// b_{k−1}, length n_k.
    pub b: Vec<T>,
    /// f_k.
    pub act: Activation,
}

/// A layered network with its potential weights γ_1 … γ_L.
#[derive(Debug, Clone, PartialEq)]
pub struct Net<T> {
    /// n_0.
    pub input_dim: usize,
    /// Layers 1 … L (index k − 1).
    pub layers: Vec<Layer<T>>,
    /// γ_1 … γ_L (index k − 1).
    pub gamma: Vec<T>,
}

/// The state z_0 … z_L of a batch (z_0 = x), one `B × n_k` matrix per block.
pub type State<T> = Vec<Mat<T>>;

/// f(v) for one value; NaN stays NaN (so divergence is seen), −0 becomes +0 (as in `lifted-core`).
// `!(v <= 0)` is deliberate: it lets NaN through, like `lifted_core::Activation::apply`.
#[allow(clippy::neg_cmp_op_on_partial_ord)]
#[inline]
pub fn act<T: Real>(a: Activation, v: T) -> T {
    match a {
        Activation::Identity => v,
        Activation::Relu => {
            if !(v <= T::ZERO) {
                v
            } else {
                T::ZERO
            }
        }
        Activation::ClippedRelu { bound } => {
            let h = T::from_f32(bound);
            if !(v <= T::ZERO) {
                if v > h {
                    h
                } else {
                    v
                }
            } else {
                T::ZERO
            }
        }
    }
}

/// f'(v) (the derivative almost everywhere; 0 at the kinks).
#[inline]
pub fn dact<T: Real>(a: Activation, v: T) -> T {
    match a {
        Activation::Identity => T::ONE,
        Activation::Relu => {
            if v > T::ZERO {
                T::ONE
            } else {
                T::ZERO
            }
        }
        Activation::ClippedRelu { bound } => {
            if v > T::ZERO && v < T::from_f32(bound) {
                T::ONE
            } else {
                T::ZERO
            }
        }
    }
}

impl<T: Real> Net<T> {
    /// Seeded initialisation (docs/method.md §7.2): W_{k−1} ~ gain·N(0, 1)/√n_{k−1} (784 inputs: 1/28),
    /// biases 0, hidden activation `hidden`, identity output.
    pub fn init(
        input_dim: usize,
        widths: &[usize],
        hidden: Activation,
        gamma: &[f64],
        gain: f64,
        rng: &mut ChaCha8Rng,
    ) -> Self {
        let mut fan_in = input_dim;
        let mut layers = Vec::with_capacity(widths.len());
        for (i, &n) in widths.iter().enumerate() {
            let scale = gain / (fan_in as f64).sqrt();
            let w = (0..n * fan_in)
                .map(|_| T::from_f64(f64::from((normal(rng) * scale) as f32)))
                .collect();
            let act = if i + 1 == widths.len() {
                Activation::Identity
            } else {
                hidden
            };
            layers.push(Layer {
                w,
                b: vec![T::ZERO; n],
                act,
            });
            fan_in = n;
        }
        Net {
            input_dim,
            layers,
            gamma: gamma.iter().map(|&g| T::from_f64(g)).collect(),
        }
    }

    /// Number of weight layers L.
    pub fn depth(&self) -> usize {
        self.layers.len()
    }

    /// n_k (n_0 is the input dimension).
    pub fn width(&self, k: usize) -> usize {
        if k == 0 {
            self.input_dim
        } else {
            self.layers[k - 1].b.len()
        }
    }

    /// f_k (identity for k = 0).
    pub fn activation(&self, k: usize) -> Activation {
        if k == 0 {
            Activation::Identity
        } else {
            self.layers[k - 1].act
        }
    }

    /// γ_k, 1 ≤ k ≤ L.
    pub fn gamma_k(&self, k: usize) -> T {
        self.gamma[k - 1]
    }

    /// ρ_k = γ_{k+1}/γ_k for hidden k, 0 for the output block.
    pub fn rho(&self, k: usize) -> T {
        if k >= self.depth() {
            T::ZERO
        } else {
            self.gamma[k] / self.gamma[k - 1]
        }
    }

    /// a_k = W_{k−1} z_{k−1} + b_{k−1} for every sample.
    pub fn pre(&self, k: usize, z_prev: &Mat<T>) -> Mat<T> {
        let mut out = Mat::zeros(0, 0);
        let l = &self.layers[k - 1];
        affine(z_prev, &l.w, &l.b, &mut out);
        out
    }

    /// The forward pass z_k = f_k(a_k), z_0 = x.
    pub fn forward(&self, x: &Mat<T>) -> State<T> {
        self.forward_pre(x).0
    }

    /// The forward pass and its pre-activations a_1 … a_L (index k − 1).
    pub fn forward_pre(&self, x: &Mat<T>) -> (State<T>, Vec<Mat<T>>) {
        let mut z = vec![x.clone()];
        let mut pre = Vec::with_capacity(self.depth());
        for k in 1..=self.depth() {
            let f = self.activation(k);
            let a = self.pre(k, &z[k - 1]);
            z.push(a.map(|v| act(f, v)));
            pre.push(a);
        }
        (z, pre)
    }

    /// The same network in another scalar type.
    pub fn cast<U: Real>(&self) -> Net<U> {
        let c = |v: &[T]| v.iter().map(|x| U::from_f64(x.to_f64())).collect();
        Net {
            input_dim: self.input_dim,
            layers: self
                .layers
                .iter()
                .map(|l| Layer {
                    w: c(&l.w),
                    b: c(&l.b),
                    act: l.act,
                })
                .collect(),
            gamma: c(&self.gamma),
        }
    }

    /// True if every weight, bias and γ is finite.
    pub fn all_finite(&self) -> bool {
        self.layers
            .iter()
            .all(|l| l.w.iter().chain(&l.b).all(|v| v.is_finite()))
            && self.gamma.iter().all(|g| g.is_finite())
    }
}

/// Gradients (or any other per-parameter quantity) with the shapes of a network's weights.
#[derive(Debug, Clone, PartialEq)]
pub struct Grads<T> {
    /// One buffer per W_{k−1}.
    pub w: Vec<Vec<T>>,
    /// One buffer per b_{k−1}.
    pub b: Vec<Vec<T>>,
}

impl<T: Real> Grads<T> {
    /// Zeros shaped like `net`.
    pub fn zeros_like(net: &Net<T>) -> Self {
        Grads {
            w: net
                .layers
                .iter()
                .map(|l| vec![T::ZERO; l.w.len()])
                .collect(),
            b: net
                .layers
                .iter()
                .map(|l| vec![T::ZERO; l.b.len()])
                .collect(),
        }
    }

    /// Every value, weights first (layer by layer), then biases.
    pub fn values(&self) -> impl Iterator<Item = &T> {
        self.w.iter().flatten().chain(self.b.iter().flatten())
    }

    /// True if every value is finite.
    pub fn all_finite(&self) -> bool {
        self.values().all(|v| v.is_finite())
    }

    /// Adds `s·other`.
    pub fn add_scaled(&mut self, s: T, other: &Grads<T>) {
        for (a, b) in self
            .w
            .iter_mut()
            .chain(self.b.iter_mut())
            .zip(other.w.iter().chain(other.b.iter()))
        {
            for (x, &y) in a.iter_mut().zip(b) {
                *x += s * y;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand_chacha::rand_core::SeedableRng;

    #[test]
    fn init_scale_and_shapes() {
        let mut rng = ChaCha8Rng::seed_from_u64(1);
        let net: Net<f32> = Net::init(
            784,
            &[128, 128, 10],
            Activation::Relu,
            &[1.0; 3],
            1.0,
            &mut rng,
        );
        assert_eq!(net.width(0), 784);
        assert_eq!(net.layers[0].w.len(), 128 * 784);
        assert_eq!(net.layers[2].act, Activation::Identity);
        let var: f64 = net.layers[0]
            .w
            .iter()
            .map(|&v| f64::from(v) * f64::from(v))
            .sum::<f64>()
            / (128.0 * 784.0);
        // Var = 1/784 ⇒ std 1/28, within sampling error.
        assert!(
            (var * 784.0 - 1.0).abs() < 0.02,
            "variance × 784 = {}",
            var * 784.0
        );
        assert_eq!(net.rho(1), 1.0);
        assert_eq!(net.rho(3), 0.0);
    }

    #[test]
    fn activations() {
        let c = Activation::ClippedRelu { bound: 1.0 };
        assert_eq!(act(c, 2.0f64), 1.0);
        assert_eq!(act(c, -2.0f64), 0.0);
        assert_eq!(dact(c, 0.5f64), 1.0);
        assert_eq!(dact(c, 1.5f64), 0.0);
        assert!(act(Activation::Relu, f32::NAN).is_nan());
        assert_eq!(act(Activation::Relu, -0.0f32).to_bits(), 0.0f32.to_bits());
    }
}
