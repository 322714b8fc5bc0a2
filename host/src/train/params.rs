//! Conversion between the trained network and `lifted_core::write::ModelParams` (the interchange
//! type); a serde mirror of `ModelParams` (stored inside checkpoints); the `*.params.json`
//! files go through [`crate::model::params`].

use std::path::Path;

use anyhow::{ensure, Result};
use lifted_core::write::{LayerParams, ModelParams};
use lifted_core::{Activation, Family, Init, Schedule};
use serde::{Deserialize, Serialize};

use super::config::TrainConfig;
use super::damping::steps;
use super::net::{Layer, Net};
use super::options::Objective;

/// Serde mirror of [`LayerParams`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LayerParamsJson {
    /// W_{k−1}, row-major n_k × n_{k−1}.
    pub weights: Vec<f32>,
    /// b_{k−1}.
    pub bias: Vec<f32>,
    /// f_k.
    pub activation: Activation,
    /// γ_k.
    pub gamma: f32,
    /// ρ_k (0 for the output layer).
    pub rho: f32,
    /// η_k (1 for the output layer).
    pub step: f32,
}

/// Serde mirror of [`ModelParams`] (the JSON form of `best.params.json`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ModelParamsJson {
    /// n₀.
    pub input_dim: usize,
    /// Valid input range.
    pub input_range: (f32, f32),
    /// Potential family.
    pub family: Family,
    /// Init.
    pub init: Init,
    /// Schedule.
    pub schedule: Schedule,
    /// K.
    pub sweeps: u16,
    /// Layers 1 … L.
    pub layers: Vec<LayerParamsJson>,
    /// Class names.
    pub class_names: Vec<String>,
    /// Metadata (JSON text).
    pub metadata: String,
}

impl From<&ModelParams> for ModelParamsJson {
    fn from(p: &ModelParams) -> Self {
        ModelParamsJson {
            input_dim: p.input_dim,
            input_range: p.input_range,
            family: p.family,
            init: p.init,
            schedule: p.schedule,
            sweeps: p.sweeps,
            layers: p
                .layers
                .iter()
                .map(|l| LayerParamsJson {
                    weights: l.weights.clone(),
                    bias: l.bias.clone(),
                    activation: l.activation,
                    gamma: l.gamma,
                    rho: l.rho,
                    step: l.step,
                })
                .collect(),
            class_names: p.class_names.clone(),
            metadata: p.metadata.clone(),
        }
    }
}

impl From<ModelParamsJson> for ModelParams {
    fn from(p: ModelParamsJson) -> Self {
        ModelParams {
            input_dim: p.input_dim,
            input_range: p.input_range,
            family: p.family,
            init: p.init,
            schedule: p.schedule,
            sweeps: p.sweeps,
            layers: p
                .layers
                .into_iter()
                .map(|l| LayerParams {
                    weights: l.weights,
                    bias: l.bias,
                    activation: l.activation,
                    gamma: l.gamma,
                    rho: l.rho,
                    step: l.step,
                })
                .collect(),
            class_names: p.class_names,
            metadata: p.metadata,
        }
    }
}

/// The deployable parameters of `net` trained with `cfg`: family, init, schedule and K from the
/// config; ρ_k from γ; η_k from the configured damping on the final weights (for `sound-gram`
/// the monotone step of docs/method.md §4.2). `metadata` is a JSON object with the trainer's settings.
pub fn to_model_params(
    net: &Net<f32>,
    cfg: &TrainConfig,
    input_range: (f32, f32),
    class_names: &[String],
    epoch: usize,
) -> ModelParams {
    let l = net.depth();
    let alpha = damping_alpha(cfg);
    let family = cfg.potential.family();
    let eta: Vec<f32> = if family == Family::FenchelYoung {
        steps(net, cfg.damping, alpha)
    } else {
        vec![1.0; l + 1]
    };
    let layers = (1..=l)
        .map(|k| {
            let layer = &net.layers[k - 1];
            LayerParams {
                weights: layer.w.clone(),
                bias: layer.b.clone(),
                activation: layer.act,
                gamma: net.gamma_k(k),
                rho: net.rho(k),
                step: if k < l { eta[k] } else { 1.0 },
            }
        })
        .collect();
    let metadata = serde_json::json!({
        "trainer": "lifted train",
        "version": env!("CARGO_PKG_VERSION"),
        "objective": cfg.objective.name(),
        "seed": cfg.seed,
        "epoch": epoch,
        "config": cfg,
    });
    ModelParams {
        input_dim: net.input_dim,
        input_range,
        family,
        init: cfg.init.core(),
        schedule: cfg.schedule.core(),
        sweeps: cfg.sweeps,
        layers,
        class_names: class_names.to_vec(),
        metadata: metadata.to_string(),
    }
}

/// The α that the `dp-formula` damping uses: the mixed objective's α, 1 for ROVR, 0 otherwise.
pub fn damping_alpha(cfg: &TrainConfig) -> f64 {
    match cfg.objective {
        Objective::Mixed => cfg.alpha,
        Objective::Rovr => 1.0,
        _ => 0.0,
    }
}

/// The network stored in `p` (weights, biases, activations, γ).
///
/// # Errors
/// Inconsistent shapes.
pub fn net_from_params(p: &ModelParams) -> Result<Net<f32>> {
    let mut fan_in = p.input_dim;
    let mut layers = Vec::new();
    for (i, l) in p.layers.iter().enumerate() {
        ensure!(
            l.weights.len() == l.bias.len() * fan_in,
            "layer {}: {} weights do not match {} × {fan_in}",
            i + 1,
            l.weights.len(),
            l.bias.len()
        );
        layers.push(Layer {
            w: l.weights.clone(),
            b: l.bias.clone(),
            act: l.activation,
        });
        fan_in = l.bias.len();
    }
    Ok(Net {
        input_dim: p.input_dim,
        layers,
        gamma: p.layers.iter().map(|l| l.gamma).collect(),
    })
}

/// Writes `p` to a `*.params.json` file in the project's canonical layout
/// ([`crate::model::params`]: row-per-output weights, docs/method.md §9 names), atomically.
///
/// # Errors
/// I/O, or parameters that cannot be written (e.g. NaN).
pub fn write_params_json(p: &ModelParams, path: &Path) -> Result<()> {
    crate::model::params::save_params(path, p)
}

/// Reads a `*.params.json` file (the canonical layout, or the plain [`ModelParamsJson`] mirror).
///
/// # Errors
/// I/O or malformed JSON.
pub fn read_params_json(path: &Path) -> Result<ModelParams> {
    crate::model::params::load_params(path)
}
