//! The on-disk JSON form of [`ModelParams`] (`*.params.json`): what training writes and
//! `lifted export` reads.
//!
//! ```json
//! {
//!   "format": "lifted-params", "version": 1,
//!   "input_dim": 64, "input_range": [0.0, 1.0],
//!   "family": "fenchel-young", "init": "forward", "schedule": "bwd-fwd", "sweeps": 5,
//!   "layers": [
//!     { "width": 32, "activation": "relu", "gamma": 1.0, "rho": 1.0, "step": 0.25,
//!       "weights": [[…64 values…], …32 rows…], "bias": [ …32 values… ] },
//!     { "width": 10, "activation": "identity", "gamma": 1.0, "rho": 0.0, "step": 1.0,
//!       "weights": [[…32…], …10 rows…], "bias": [ …10… ] }
//!   ],
//!   "class_names": ["0", "1", …], "metadata": "{\"seed\": 0, …}"
//! }
//! ```
//!
//! - `weights` of layer k is `W_{k−1}` as rows (`width` rows of fan-in values), so
//!   `numpy.array(layer["weights"])` has the usual `(out, in)` shape.
//! - `family` is `fenchel-young` | `hopfield`; `init` is `forward` | `zero`; `schedule` is
//!   `bwd-fwd` | `bwd-fwd+topdown` (docs/method.md §9 names); `activation` is `identity` | `relu` |
//!   `{"clipped-relu": h}`.
//! - Floats are written in the shortest form that reads back to the same f32, so a save/load round
//!   trip is bit-exact. NaN and infinities cannot be written (JSON has no such numbers): saving
//!   a diverged model is an error that says so.
//! - `metadata` is the free-form string stored in the blob (JSON by convention).
//! - Unknown fields are errors, so a misspelt field is never silently ignored.
//! - [`from_json`] also reads the plain serde mirror that early `lifted train` builds wrote
//!   (no `format` field, flat row-major `weights`, lifted-core's own enum spellings such as
//!   `"FenchelYoung"` and `"Relu"`), so older run folders still export.

use std::fs;
use std::path::Path;

use anyhow::{bail, ensure, Context, Result};
use lifted_core::write::{LayerParams, ModelParams};
use lifted_core::{Activation, Family, Init, Schedule, MAX_LAYERS, MAX_SWEEPS};
use serde::{Deserialize, Serialize};

/// Value of the `format` field.
pub const PARAMS_FORMAT: &str = "lifted-params";
/// Value of the `version` field this build writes and reads.
pub const PARAMS_VERSION: u32 = 1;

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct ParamsFile {
    format: String,
    version: u32,
    input_dim: usize,
    input_range: (f32, f32),
    family: Family,
    init: Init,
    schedule: Schedule,
    sweeps: u16,
    layers: Vec<LayerJson>,
    #[serde(default)]
    class_names: Vec<String>,
    #[serde(default)]
    metadata: String,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct LayerJson {
    width: usize,
    activation: ActivationJson,
    gamma: f32,
    rho: f32,
    step: f32,
    weights: Vec<Vec<f32>>,
    bias: Vec<f32>,
}

/// JSON form of [`Activation`]: `"identity"`, `"relu"` or `{"clipped-relu": h}` (the bound
/// without the field name that serde gives lifted-core's struct variant). Family, init and
/// schedule use lifted-core's own serde names.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ActivationJson {
    /// [`Activation::Identity`].
    Identity,
    /// [`Activation::Relu`].
    Relu,
    /// [`Activation::ClippedRelu`] with its bound.
    ClippedRelu(f32),
}

impl From<Activation> for ActivationJson {
    fn from(a: Activation) -> Self {
        match a {
            Activation::Identity => Self::Identity,
            Activation::Relu => Self::Relu,
            Activation::ClippedRelu { bound } => Self::ClippedRelu(bound),
        }
    }
}

impl From<ActivationJson> for Activation {
    fn from(a: ActivationJson) -> Self {
        match a {
            ActivationJson::Identity => Self::Identity,
            ActivationJson::Relu => Self::Relu,
            ActivationJson::ClippedRelu(bound) => Self::ClippedRelu { bound },
        }
    }
}

/// Checks what a blob needs beyond shapes: counts, finiteness and ranges.
///
/// # Errors
/// The first problem found, naming the layer and the field.
pub fn validate(params: &ModelParams) -> Result<()> {
    let l = params.layers.len();
    ensure!(l >= 1, "the model has no layers");
    ensure!(
        l <= MAX_LAYERS,
        "the model has {l} layers; at most {MAX_LAYERS} are supported"
    );
    ensure!(params.input_dim >= 1, "the input dimension is 0");
    ensure!(
        params.sweeps <= MAX_SWEEPS,
        "K = {} sweeps; at most {MAX_SWEEPS} are supported",
        params.sweeps
    );
    let (lo, hi) = params.input_range;
    ensure!(
        lo.is_finite() && hi.is_finite() && lo <= hi,
        "the input range [{lo}, {hi}] is not a finite interval"
    );
    let mut fan_in = params.input_dim;
    for (i, layer) in params.layers.iter().enumerate() {
        let k = i + 1;
        let width = layer.bias.len();
        ensure!(width >= 1, "layer {k} has width 0");
        ensure!(
            layer.weights.len() == width * fan_in,
            "layer {k}: {} weights do not make a {width}×{fan_in} matrix",
            layer.weights.len()
        );
        let bad = |v: &[f32]| v.iter().position(|x| !x.is_finite());
        if let Some(p) = bad(&layer.weights) {
            bail!(
                "layer {k}: weight {p} (row {}, column {}) is {} — the training diverged; use an earlier checkpoint",
                p / fan_in,
                p % fan_in,
                layer.weights[p]
            );
        }
        if let Some(p) = bad(&layer.bias) {
            bail!(
                "layer {k}: bias {p} is {} — the training diverged; use an earlier checkpoint",
                layer.bias[p]
            );
        }
        ensure!(
            layer.gamma.is_finite() && layer.gamma > 0.0,
            "layer {k}: γ = {} must be positive",
            layer.gamma
        );
        ensure!(
            layer.rho.is_finite() && layer.rho >= 0.0,
            "layer {k}: ρ = {} must be ≥ 0",
            layer.rho
        );
        ensure!(
            layer.step.is_finite() && layer.step > 0.0 && layer.step <= 1.0,
            "layer {k}: step η = {} must be in (0, 1]",
            layer.step
        );
        if let Activation::ClippedRelu { bound } = layer.activation {
            ensure!(
                bound.is_finite() && bound > 0.0,
                "layer {k}: clipped-ReLU bound {bound} must be positive"
            );
        }
        if k == l {
            ensure!(
                layer.activation == Activation::Identity,
                "the output layer {k} must use the identity activation"
            );
            ensure!(
                width >= 2,
                "the output layer has {width} class; at least 2 are needed"
            );
        }
        fan_in = width;
    }
    ensure!(
        params.class_names.is_empty() || params.class_names.len() == fan_in,
        "{} class names for {fan_in} classes",
        params.class_names.len()
    );
    ensure!(
        params.class_names.iter().all(|n| !n.contains('\n')),
        "a class name contains a line break"
    );
    Ok(())
}

/// Serialises `params` as the JSON form (pretty-printed, rows on one line each).
///
/// # Errors
/// [`validate`] fails (e.g. a NaN weight).
pub fn to_json(params: &ModelParams) -> Result<String> {
    validate(params)?;
    let mut fan_in = params.input_dim;
    let layers = params
        .layers
        .iter()
        .map(|l| {
            let rows = l
                .weights
                .chunks(fan_in.max(1))
                .map(<[f32]>::to_vec)
                .collect();
            fan_in = l.bias.len();
            LayerJson {
                width: l.bias.len(),
                activation: l.activation.into(),
                gamma: l.gamma,
                rho: l.rho,
                step: l.step,
                weights: rows,
                bias: l.bias.clone(),
            }
        })
        .collect();
    let file = ParamsFile {
        format: PARAMS_FORMAT.to_owned(),
        version: PARAMS_VERSION,
        input_dim: params.input_dim,
        input_range: params.input_range,
        family: params.family,
        init: params.init,
        schedule: params.schedule,
        sweeps: params.sweeps,
        layers,
        class_names: params.class_names.clone(),
        metadata: params.metadata.clone(),
    };
    let mut text = serde_json::to_string_pretty(&file)?;
    text.push('\n');
    Ok(text)
}

/// The plain serde mirror of [`ModelParams`] written by early `lifted train` builds.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct LegacyParams {
    input_dim: usize,
    input_range: (f32, f32),
    family: Family,
    init: Init,
    schedule: Schedule,
    sweeps: u16,
    layers: Vec<LegacyLayer>,
    class_names: Vec<String>,
    metadata: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct LegacyLayer {
    weights: Vec<f32>,
    bias: Vec<f32>,
    activation: Activation,
    gamma: f32,
    rho: f32,
    step: f32,
}

fn from_legacy(value: serde_json::Value) -> Result<ModelParams> {
    let l: LegacyParams =
        serde_json::from_value(value).context("the parameter file is malformed")?;
    let params = ModelParams {
        input_dim: l.input_dim,
        input_range: l.input_range,
        family: l.family,
        init: l.init,
        schedule: l.schedule,
        sweeps: l.sweeps,
        layers: l
            .layers
            .into_iter()
            .map(|x| LayerParams {
                weights: x.weights,
                bias: x.bias,
                activation: x.activation,
                gamma: x.gamma,
                rho: x.rho,
                step: x.step,
            })
            .collect(),
        class_names: l.class_names,
        metadata: l.metadata,
    };
    validate(&params)?;
    Ok(params)
}

/// Parses the JSON form (or the legacy mirror, see the module docs).
///
/// # Errors
/// Not JSON, another format or version, unknown fields, or a model [`validate`] refuses.
pub fn from_json(text: &str) -> Result<ModelParams> {
    let probe: serde_json::Value = serde_json::from_str(text).context("not valid JSON")?;
    if probe.get("format").is_none()
        && probe.get("input_dim").is_some()
        && probe.get("layers").is_some()
    {
        return from_legacy(probe);
    }
    let format = probe.get("format").and_then(|v| v.as_str()).unwrap_or("");
    ensure!(
        format == PARAMS_FORMAT,
        "not a lifted parameter file (field \"format\" is {:?}, expected {PARAMS_FORMAT:?}); \
         pass the best.params.json written by `lifted train`",
        probe
            .get("format")
            .map_or("missing".to_owned(), |v| v.to_string())
    );
    let version = probe.get("version").and_then(serde_json::Value::as_u64);
    ensure!(
        version == Some(u64::from(PARAMS_VERSION)),
        "parameter file version {} is not supported (this build reads version {PARAMS_VERSION}); \
         re-run `lifted train` with this build",
        version.map_or("missing".to_owned(), |v| v.to_string())
    );
    let file: ParamsFile =
        serde_json::from_value(probe).context("the parameter file is malformed")?;
    let mut fan_in = file.input_dim;
    let mut layers = Vec::with_capacity(file.layers.len());
    for (i, l) in file.layers.into_iter().enumerate() {
        let k = i + 1;
        ensure!(
            l.weights.len() == l.width,
            "layer {k}: {} weight rows for width {}",
            l.weights.len(),
            l.width
        );
        ensure!(
            l.bias.len() == l.width,
            "layer {k}: {} biases for width {}",
            l.bias.len(),
            l.width
        );
        if let Some((r, row)) = l
            .weights
            .iter()
            .enumerate()
            .find(|(_, r)| r.len() != fan_in)
        {
            bail!(
                "layer {k}: weight row {r} has {} values, expected the fan-in {fan_in}",
                row.len()
            );
        }
        layers.push(LayerParams {
            weights: l.weights.concat(),
            bias: l.bias,
            activation: l.activation.into(),
            gamma: l.gamma,
            rho: l.rho,
            step: l.step,
        });
        fan_in = l.width;
    }
    let params = ModelParams {
        input_dim: file.input_dim,
        input_range: file.input_range,
        family: file.family,
        init: file.init,
        schedule: file.schedule,
        sweeps: file.sweeps,
        layers,
        class_names: file.class_names,
        metadata: file.metadata,
    };
    validate(&params)?;
    Ok(params)
}

/// Writes `params` to `path` as JSON, atomically (a temporary file in the same folder is renamed
/// over `path`, so a crash never leaves a half-written checkpoint).
///
/// # Errors
/// [`to_json`] fails, or the file cannot be written.
pub fn save_params(path: &Path, params: &ModelParams) -> Result<()> {
    let text =
        to_json(params).with_context(|| format!("saving parameters to {}", path.display()))?;
    crate::train::checkpoint::write_atomic(path, text.as_bytes())
        .with_context(|| format!("saving parameters to {}", path.display()))
}

/// Reads a parameter file written by [`save_params`].
///
/// # Errors
/// The file is missing or unreadable, or [`from_json`] refuses it; the message names the file.
pub fn load_params(path: &Path) -> Result<ModelParams> {
    let text = fs::read_to_string(path).with_context(|| {
        format!(
            "reading parameters {} — pass the best.params.json of a training run directory",
            path.display()
        )
    })?;
    from_json(&text).with_context(|| format!("loading parameters {}", path.display()))
}

#[cfg(test)]
mod tests;
