//! Writing version-1 blobs (host side, feature `alloc`).

use alloc::string::String;
use alloc::vec::Vec;

use crate::config::{Activation, Family, Init, Schedule};
use crate::error::Error;
use crate::format::{
    header_padding, CertSpec, Header, LayerBounds, LayerSpec, CRC32, FORMAT_VERSION, MAGIC,
};

/// One layer of a model to be written: block z_k with `W_{k−1}` (row-major, `width × fan_in`).
#[derive(Debug, Clone, PartialEq)]
pub struct LayerParams {
    /// Weights `W_{k−1}`, row-major.
    pub weights: Vec<f32>,
    /// Bias `b_{k−1}`.
    pub bias: Vec<f32>,
    /// Activation f_k.
    pub activation: Activation,
    /// Potential weight γ_k.
    pub gamma: f32,
    /// ρ_k = γ_{k+1}/γ_k as the sweeps use it (0 for the output layer).
    pub rho: f32,
    /// Family-A damped step η_k ∈ (0, 1] (1 for the output layer).
    pub step: f32,
}

/// Everything a blob holds except the certificate constants.
#[derive(Debug, Clone, PartialEq)]
pub struct ModelParams {
    /// Input dimension n₀.
    pub input_dim: usize,
    /// Declared valid input range (inclusive).
    pub input_range: (f32, f32),
    /// Potential family.
    pub family: Family,
    /// State initialisation.
    pub init: Init,
    /// Sweep order.
    pub schedule: Schedule,
    /// Number of sweeps K.
    pub sweeps: u16,
    /// Layers 1 … L.
    pub layers: Vec<LayerParams>,
    /// Class names (may be empty).
    pub class_names: Vec<String>,
    /// Free-form metadata (JSON by convention).
    pub metadata: String,
}

/// Certificate constants to store with a model (see [`crate::bounds::compute`]).
#[derive(Debug, Clone, PartialEq)]
pub struct Constants {
    /// Per-layer bounds, one per layer.
    pub layers: Vec<LayerBounds>,
    /// Global certificate settings.
    pub cert: CertSpec,
    /// ℓ2 pair table, C(C−1)/2 entries.
    pub pairs_l2: Vec<f32>,
    /// ℓ∞ pair table.
    pub pairs_inf: Vec<f32>,
    /// One ℓ2 pair table per hidden layer 1 … L−1.
    pub pairs_internal: Vec<Vec<f32>>,
}

/// A blob in 4-byte-aligned memory, ready for [`crate::ModelView::new_checked`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Blob {
    words: Vec<u32>,
    len: usize,
}

impl Blob {
    /// Copies bytes (e.g. read from a file) into aligned memory.
    pub fn from_bytes(bytes: &[u8]) -> Self {
        let mut words = alloc::vec![0u32; bytes.len().div_ceil(4)];
        let dst: &mut [u8] = bytemuck::cast_slice_mut(&mut words);
        if let Some(d) = dst.get_mut(..bytes.len()) {
            d.copy_from_slice(bytes);
        }
        Blob {
            words,
            len: bytes.len(),
        }
    }

    /// The blob's bytes, 4-byte aligned.
    pub fn as_bytes(&self) -> &[u8] {
        let all: &[u8] = bytemuck::cast_slice(&self.words);
        all.get(..self.len).unwrap_or(&[])
    }
}

impl ModelParams {
    /// The parameters held by a checked blob (everything but its certificate constants), so
    /// that the constants can be recomputed from the weights.
    pub fn from_view(model: &crate::ModelView<'_>) -> Self {
        let h = model.header();
        ModelParams {
            input_dim: model.input_dim(),
            input_range: (h.input_min, h.input_max),
            family: model.family(),
            init: model.init(),
            schedule: model.schedule(),
            sweeps: h.sweeps,
            layers: (1..=model.layers())
                .filter_map(|k| {
                    let spec = model.layer(k)?;
                    Some(LayerParams {
                        weights: model.weights(k - 1).to_vec(),
                        bias: model.bias(k - 1).to_vec(),
                        activation: spec.activation,
                        gamma: spec.gamma,
                        rho: spec.rho,
                        step: spec.step,
                    })
                })
                .collect(),
            class_names: (0..model.classes())
                .map_while(|c| model.class_name(c).map(String::from))
                .collect(),
            metadata: h.metadata.into(),
        }
    }

    /// Widths n_1 … n_L.
    pub fn widths(&self) -> Vec<usize> {
        self.layers.iter().map(|l| l.bias.len()).collect()
    }

    /// Serialises the model with the given constants. Shapes are checked here; everything else is
    /// checked when the blob is loaded.
    pub fn to_blob(&self, constants: &Constants) -> Result<Blob, Error> {
        let mut fan_in = self.input_dim;
        for l in &self.layers {
            if l.weights.len() != l.bias.len() * fan_in {
                return Err(Error::InconsistentDims);
            }
            fan_in = l.bias.len();
        }
        if constants.layers.len() != self.layers.len() || self.layers.len() > crate::MAX_LAYERS {
            return Err(Error::InconsistentDims);
        }
        let names = self.class_names.join("\n");
        let mut specs = heapless::Vec::new();
        for (l, b) in self.layers.iter().zip(&constants.layers) {
            let spec = LayerSpec {
                width: u32::try_from(l.bias.len()).map_err(|_| Error::InconsistentDims)?,
                activation: l.activation,
                gamma: l.gamma,
                rho: l.rho,
                step: l.step,
                bounds: *b,
            };
            specs.push(spec).map_err(|_| Error::InconsistentDims)?;
        }
        let header = Header {
            input_dim: u32::try_from(self.input_dim).map_err(|_| Error::InconsistentDims)?,
            input_min: self.input_range.0,
            input_max: self.input_range.1,
            family: self.family,
            init: self.init,
            schedule: self.schedule,
            sweeps: self.sweeps,
            layers: specs,
            cert: constants.cert,
            class_names: &names,
            metadata: &self.metadata,
        };
        let header_bytes = postcard::to_allocvec(&header).map_err(|_| Error::MalformedHeader)?;
        let mut out = Vec::new();
        out.extend_from_slice(&MAGIC);
        out.extend_from_slice(&FORMAT_VERSION.to_le_bytes());
        out.extend_from_slice(&0u16.to_le_bytes());
        let hl = u32::try_from(header_bytes.len()).map_err(|_| Error::MalformedHeader)?;
        out.extend_from_slice(&hl.to_le_bytes());
        out.extend_from_slice(&header_bytes);
        out.resize(out.len() + header_padding(header_bytes.len()), 0);
        let mut put = |v: &[f32]| {
            for x in v {
                out.extend_from_slice(&x.to_le_bytes());
            }
        };
        for l in &self.layers {
            put(&l.weights);
            put(&l.bias);
        }
        put(&constants.pairs_l2);
        put(&constants.pairs_inf);
        for t in &constants.pairs_internal {
            put(t);
        }
        let crc = CRC32.checksum(&out);
        out.extend_from_slice(&crc.to_le_bytes());
        Ok(Blob::from_bytes(&out))
    }
}
