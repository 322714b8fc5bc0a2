//! Importing a plain MLP trained elsewhere (PyTorch, JAX, NumPy) from a `.safetensors` file, so
//! that `lifted export --safetensors FILE` turns it into a certified blob.
//!
//! - **Layers.** A layer `P` is the pair of tensors `P.weight` (shape `(out, in)`, as
//!   `torch.nn.Linear` stores it) and `P.bias` (shape `(out,)`). Without `--tensor-names` the
//!   layers are found automatically: every tensor whose name ends in `<digits>.weight` (e.g.
//!   `0.weight`, `2.weight` of an `nn.Sequential`, `layers.3.weight`, `fc1.weight`), all with the
//!   same stem, ordered by the number; any other tensor in the file is an error (it would be
//!   ignored silently otherwise). `--tensor-names` names them explicitly: either a pattern with
//!   `{k}` (`layers.{k}`, `fc{k}`: every integer k that has a `.weight`, ascending) or a
//!   comma-separated list of prefixes in order (`hidden,out`).
//! - **Values.** f32, f64, f16 and bf16 tensors are converted to f32 (f64 rounds to nearest);
//!   other dtypes are refused. A NaN or infinite value is an error that names the tensor and the
//!   index.
//! - **The model.** Hidden layers use `--activation` (default `relu`), the last layer is the
//!   identity (logits). The parameters are those of a forward-deployed family-A network (the
//!   Fenchel–Young potential, forward init, K = 0 sweeps, γ = 1): its deployed update list is the
//!   MLP's forward pass, exactly what `lifted train --objective bp` trains. The hidden steps η_k
//!   come from the trainer's default damping, as for a model we trained; `lifted export` then
//!   computes the certificate constants as for any other model.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use anyhow::{bail, ensure, Context, Result};
use lifted_core::write::ModelParams;
use lifted_core::Activation;
use safetensors::{Dtype, SafeTensors};

use crate::train::config::TrainConfig;
use crate::train::net::{Layer, Net};
use crate::train::options::{InitKind, Objective, Potential};
use crate::train::params::to_model_params;

/// How to build the model from the tensors.
#[derive(Debug, Clone, PartialEq)]
pub struct ImportOptions {
    /// `None`: detect the layers; otherwise a `{k}` pattern or a comma-separated prefix list.
    pub tensor_names: Option<String>,
    /// Activation of every hidden layer.
    pub activation: Activation,
    /// The valid input range stored in the blob.
    pub input_range: (f32, f32),
    /// Class names (empty: none).
    pub class_names: Vec<String>,
}

impl Default for ImportOptions {
    fn default() -> Self {
        Self {
            tensor_names: None,
            activation: Activation::Relu,
            input_range: (0.0, 1.0),
            class_names: Vec::new(),
        }
    }
}

/// Parses `relu`, `identity` or `clipped-relu:H`.
///
/// # Errors
/// Any other text, or a bound that is not a positive number.
pub fn parse_activation(s: &str) -> Result<Activation> {
    match s {
        "relu" => Ok(Activation::Relu),
        "identity" => Ok(Activation::Identity),
        _ => {
            let Some(h) = s.strip_prefix("clipped-relu:") else {
                bail!("unknown activation `{s}` — use relu, identity or clipped-relu:H");
            };
            let bound: f32 = h
                .parse()
                .with_context(|| format!("clipped-relu bound `{h}` is not a number"))?;
            ensure!(
                bound.is_finite() && bound > 0.0,
                "clipped-relu bound {bound} must be positive"
            );
            Ok(Activation::ClippedRelu { bound })
        }
    }
}

/// Reads `path` and builds the model parameters (see the module docs).
///
/// # Errors
/// The file cannot be read, is larger than [`crate::limits::MAX_SAFETENSORS_BYTES`] or cannot be
/// parsed, or [`import_bytes`] rejects it; the message names the file.
pub fn import_file(path: &Path, opts: &ImportOptions) -> Result<ModelParams> {
    let bytes = crate::limits::read_at_most(path, crate::limits::MAX_SAFETENSORS_BYTES)
        .with_context(|| format!("cannot read {}", path.display()))?;
    let mut params = import_bytes(&bytes, opts).with_context(|| format!("{}", path.display()))?;
    let name = path
        .file_name()
        .map_or_else(String::new, |n| n.to_string_lossy().into_owned());
    params.metadata = serde_json::json!({
        "importer": "lifted export --safetensors",
        "version": env!("CARGO_PKG_VERSION"),
        "source": name,
    })
    .to_string();
    Ok(params)
}

/// Builds the model parameters from the bytes of a `.safetensors` file.
///
/// # Errors
/// Not a safetensors file; no layers found or ambiguous names; a missing tensor; shapes that do
/// not chain; an unsupported dtype; a NaN or infinite value; an invalid input range.
pub fn import_bytes(bytes: &[u8], opts: &ImportOptions) -> Result<ModelParams> {
    let st = SafeTensors::deserialize(bytes)
        .map_err(|e| anyhow::anyhow!("not a safetensors file: {e}"))?;
    let names: BTreeSet<String> = st.names().into_iter().map(str::to_owned).collect();
    let prefixes = layer_prefixes(&names, opts.tensor_names.as_deref())?;
    let mut layers = Vec::with_capacity(prefixes.len());
    let mut fan_in = 0usize;
    let last = prefixes.len() - 1;
    for (i, prefix) in prefixes.iter().enumerate() {
        let k = i + 1;
        let w_name = format!("{prefix}.weight");
        let b_name = format!("{prefix}.bias");
        let (w_shape, w) = tensor_f32(&st, &w_name, k)?;
        let (b_shape, b) = tensor_f32(&st, &b_name, k)?;
        ensure!(
            w_shape.len() == 2,
            "tensor `{w_name}` (layer {k}) has shape {w_shape:?}; a Linear weight is 2-D (out, in)"
        );
        let (out, inp) = (w_shape[0], w_shape[1]);
        ensure!(
            out >= 1 && inp >= 1,
            "tensor `{w_name}` (layer {k}) has an empty shape {w_shape:?}"
        );
        if i > 0 {
            ensure!(
                inp == fan_in,
                "tensor `{w_name}` (layer {k}) has shape {w_shape:?}: {inp} inputs, but layer {i} \
                 (`{}.weight`) has {fan_in} outputs",
                prefixes[i - 1]
            );
        }
        ensure!(
            b_shape == [out],
            "tensor `{b_name}` (layer {k}) has shape {b_shape:?}; expected [{out}] to match \
             `{w_name}` {w_shape:?}"
        );
        layers.push(Layer {
            w,
            b,
            act: if i == last {
                Activation::Identity
            } else {
                opts.activation
            },
        });
        fan_in = out;
    }
    ensure!(
        layers.len() <= lifted_core::MAX_LAYERS,
        "{} layers found; at most {} are supported",
        layers.len(),
        lifted_core::MAX_LAYERS
    );
    let (lo, hi) = opts.input_range;
    ensure!(
        lo.is_finite() && hi.is_finite() && lo < hi,
        "--input-range {lo},{hi} is not a finite interval with LO < HI"
    );
    let classes = fan_in;
    ensure!(
        opts.class_names.is_empty() || opts.class_names.len() == classes,
        "{} class names given for {classes} outputs",
        opts.class_names.len()
    );
    let input_dim = st.tensor(&format!("{}.weight", prefixes[0]))?.shape()[1];
    let net = Net {
        input_dim,
        gamma: vec![1.0; layers.len()],
        layers,
    };
    let cfg = TrainConfig {
        widths: net.layers.iter().map(|l| l.b.len()).collect(),
        potential: Potential::FenchelYoung,
        init: InitKind::Forward,
        sweeps: 0,
        objective: Objective::Bp,
        ..TrainConfig::default()
    };
    Ok(to_model_params(
        &net,
        &cfg,
        opts.input_range,
        &opts.class_names,
        0,
    ))
}

/// The layer prefixes in order.
fn layer_prefixes(names: &BTreeSet<String>, spec: Option<&str>) -> Result<Vec<String>> {
    let listed = || names.iter().cloned().collect::<Vec<_>>().join(", ");
    let prefixes: Vec<String> = match spec {
        Some(p) if p.contains("{k}") => {
            let (head, tail) = p.split_once("{k}").unwrap_or((p, ""));
            let mut found: Vec<(u64, String)> = names
                .iter()
                .filter_map(|n| {
                    let prefix = n.strip_suffix(".weight")?;
                    let k = prefix.strip_prefix(head)?.strip_suffix(tail)?;
                    let k: u64 = k.parse().ok()?;
                    Some((k, prefix.to_owned()))
                })
                .collect();
            found.sort();
            ensure!(
                !found.is_empty(),
                "no tensor matches `{p}.weight` (k = 0, 1, …); the file has: {}",
                listed()
            );
            found.into_iter().map(|(_, n)| n).collect()
        }
        Some(list) => list
            .split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
            .collect(),
        None => {
            // Group `<stem><digits>.weight` by stem.
            let mut groups: BTreeMap<String, Vec<(u64, String)>> = BTreeMap::new();
            for n in names {
                let Some(prefix) = n.strip_suffix(".weight") else {
                    continue;
                };
                let stem = prefix.trim_end_matches(|c: char| c.is_ascii_digit());
                let Ok(k) = prefix[stem.len()..].parse::<u64>() else {
                    continue;
                };
                groups
                    .entry(stem.to_owned())
                    .or_default()
                    .push((k, prefix.to_owned()));
            }
            ensure!(
                groups.len() == 1,
                "cannot tell the layers apart: expected tensors `<name><k>.weight` with one stem \
                 (such as `0.weight`, `2.weight` or `layers.{{k}}.weight`), found {} — name them \
                 with --tensor-names; the file has: {}",
                if groups.is_empty() {
                    "none".to_owned()
                } else {
                    format!(
                        "the stems {}",
                        groups
                            .keys()
                            .map(|s| format!("`{s}`"))
                            .collect::<Vec<_>>()
                            .join(", ")
                    )
                },
                listed()
            );
            let mut found = groups.into_values().next().unwrap_or_default();
            found.sort();
            let prefixes: Vec<String> = found.into_iter().map(|(_, n)| n).collect();
            let used: BTreeSet<String> = prefixes
                .iter()
                .flat_map(|p| [format!("{p}.weight"), format!("{p}.bias")])
                .collect();
            if let Some(extra) = names.iter().find(|n| !used.contains(*n)) {
                bail!(
                    "tensor `{extra}` is not a layer of the MLP (layers found: {}) — a plain MLP \
                     has only Linear weights and biases; name the layers with --tensor-names to \
                     leave other tensors out",
                    prefixes.join(", ")
                );
            }
            prefixes
        }
    };
    ensure!(!prefixes.is_empty(), "--tensor-names names no layer");
    Ok(prefixes)
}

/// Tensor `name` as f32 values with its shape.
fn tensor_f32(st: &SafeTensors<'_>, name: &str, layer: usize) -> Result<(Vec<usize>, Vec<f32>)> {
    let t = st.tensor(name).map_err(|_| {
        anyhow::anyhow!(
            "missing tensor `{name}` (layer {layer}); the file has: {}",
            st.names().join(", ")
        )
    })?;
    let data = t.data();
    let values: Vec<f32> = match t.dtype() {
        Dtype::F32 => data
            .chunks_exact(4)
            .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
            .collect(),
        #[allow(clippy::cast_possible_truncation)]
        Dtype::F64 => data
            .chunks_exact(8)
            .map(|c| {
                let mut b = [0u8; 8];
                b.copy_from_slice(c);
                f64::from_le_bytes(b) as f32
            })
            .collect(),
        Dtype::F16 => data
            .chunks_exact(2)
            .map(|c| f16_to_f32(u16::from_le_bytes([c[0], c[1]])))
            .collect(),
        Dtype::BF16 => data
            .chunks_exact(2)
            .map(|c| f32::from_bits(u32::from(u16::from_le_bytes([c[0], c[1]])) << 16))
            .collect(),
        other => bail!(
            "tensor `{name}` (layer {layer}) has dtype {other:?}; only F32, F64, F16 and BF16 are \
             supported"
        ),
    };
    if let Some(i) = values.iter().position(|v| !v.is_finite()) {
        let shape = t.shape();
        let at = if shape.len() == 2 && shape[1] > 0 {
            format!("[{}, {}]", i / shape[1], i % shape[1])
        } else {
            format!("[{i}]")
        };
        bail!(
            "tensor `{name}` (layer {layer}) has the non-finite value {} at index {at}{}",
            values[i],
            if t.dtype() == Dtype::F64 {
                " (after rounding to f32)"
            } else {
                ""
            }
        );
    }
    Ok((t.shape().to_vec(), values))
}

/// IEEE binary16 → binary32 (exact).
#[must_use]
pub fn f16_to_f32(h: u16) -> f32 {
    let sign = u32::from(h >> 15) << 31;
    let exp = u32::from((h >> 10) & 0x1f);
    let mant = u32::from(h & 0x3ff);
    let bits = match (exp, mant) {
        (0, 0) => sign,
        (0, m) => {
            // Subnormal: value = m · 2^-24, exact in f32.
            let v = m as f32 * f32::from_bits(0x3380_0000); // 2^-24
            return if sign != 0 { -v } else { v };
        }
        (0x1f, 0) => sign | 0x7f80_0000,
        (0x1f, m) => sign | 0x7fc0_0000 | (m << 13),
        (e, m) => sign | ((e + 127 - 15) << 23) | (m << 13),
    };
    f32::from_bits(bits)
}

/// The `lifted export` flags of a safetensors import.
#[derive(Debug, Clone, Default, clap::Args)]
pub struct ImportArgs {
    /// Import a plain MLP from a .safetensors file instead of --params (layers `P.weight` of
    /// shape (out, in) and `P.bias`; see host/src/model/import_safetensors.rs).
    #[arg(
        long,
        value_name = "FILE",
        conflicts_with = "params",
        help_heading = "Import"
    )]
    pub safetensors: Option<std::path::PathBuf>,
    /// Layer names: a pattern with {k} (`layers.{k}`, `fc{k}`) or prefixes in order
    /// (`hidden,out`); without it, tensors `<stem><k>.weight` of one stem are detected, such as
    /// nn.Sequential's `0.weight`, `2.weight`.
    #[arg(
        long,
        value_name = "PATTERN",
        requires = "safetensors",
        help_heading = "Import"
    )]
    pub tensor_names: Option<String>,
    /// Activation of the hidden layers: relu, identity or clipped-relu:H [default: relu].
    #[arg(
        long,
        value_name = "NAME",
        requires = "safetensors",
        help_heading = "Import"
    )]
    pub activation: Option<String>,
    /// Valid input range LO,HI stored in the blob (inputs outside are refused) [default: 0,1].
    #[arg(
        long,
        value_name = "LO,HI",
        requires = "safetensors",
        help_heading = "Import"
    )]
    pub input_range: Option<String>,
    /// Class names in output order, comma-separated [default: none].
    #[arg(
        long,
        value_name = "A,B,…",
        requires = "safetensors",
        help_heading = "Import"
    )]
    pub class_names: Option<String>,
    /// Also write the imported parameters as a params.json file (host/src/model/params.rs).
    #[arg(
        long,
        value_name = "FILE",
        requires = "safetensors",
        help_heading = "Import"
    )]
    pub write_params: Option<std::path::PathBuf>,
}

impl ImportArgs {
    /// The import options these flags select.
    ///
    /// # Errors
    /// A malformed activation or input range.
    pub fn options(&self) -> Result<ImportOptions> {
        let mut o = ImportOptions {
            tensor_names: self.tensor_names.clone(),
            ..ImportOptions::default()
        };
        if let Some(a) = &self.activation {
            o.activation = parse_activation(a)?;
        }
        if let Some(r) = &self.input_range {
            o.input_range = parse_range(r).context("--input-range")?;
        }
        if let Some(c) = &self.class_names {
            o.class_names = c.split(',').map(|s| s.trim().to_owned()).collect();
        }
        Ok(o)
    }

    /// Imports `--safetensors` (and writes `--write-params` if given).
    ///
    /// # Errors
    /// No file given, or as [`import_file`] and [`crate::model::params::save_params`].
    pub fn import(&self) -> Result<ModelParams> {
        let path = self
            .safetensors
            .as_deref()
            .context("--safetensors FILE missing")?;
        let params = import_file(path, &self.options()?)?;
        if let Some(out) = &self.write_params {
            crate::model::params::save_params(out, &params)?;
        }
        Ok(params)
    }
}

/// Parses `LO,HI` (two finite numbers with LO < HI).
///
/// # Errors
/// Not two numbers, not finite, or LO ≥ HI.
pub fn parse_range(s: &str) -> Result<(f32, f32)> {
    let Some((lo, hi)) = s.split_once(',') else {
        bail!("`{s}` is not LO,HI (e.g. 0,255)");
    };
    let lo: f32 = lo
        .trim()
        .parse()
        .with_context(|| format!("`{lo}` is not a number"))?;
    let hi: f32 = hi
        .trim()
        .parse()
        .with_context(|| format!("`{hi}` is not a number"))?;
    ensure!(
        lo.is_finite() && hi.is_finite() && lo < hi,
        "`{s}`: LO and HI must be finite with LO < HI"
    );
    Ok((lo, hi))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn f16_conversion() {
        assert_eq!(f16_to_f32(0x3c00), 1.0);
        assert_eq!(f16_to_f32(0xc000), -2.0);
        assert_eq!(f16_to_f32(0x3555), 0.333_251_95);
        assert_eq!(f16_to_f32(0x0001), 5.960_464_5e-8);
        assert_eq!(f16_to_f32(0x7bff), 65504.0);
        assert!(f16_to_f32(0x7c00).is_infinite());
        assert!(f16_to_f32(0x7e00).is_nan());
        assert_eq!(f16_to_f32(0x8000).to_bits(), 0x8000_0000);
    }

    #[test]
    fn activations_parse() {
        assert_eq!(parse_activation("relu").unwrap(), Activation::Relu);
        assert_eq!(
            parse_activation("clipped-relu:6").unwrap(),
            Activation::ClippedRelu { bound: 6.0 }
        );
        assert!(parse_activation("tanh").is_err());
        assert!(parse_activation("clipped-relu:-1").is_err());
    }
}
