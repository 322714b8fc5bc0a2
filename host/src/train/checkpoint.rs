//! Checkpoints: everything needed to continue a run bit for bit (weights, γ, Adam moments, the
//! RNG position, the epoch, the best model so far and the log), as JSON. f32 values print as
//! their shortest round-trip decimal, so JSON restores them exactly.

use std::path::Path;

use std::io::Write as _;

use anyhow::{ensure, Context, Result};
use serde::{Deserialize, Serialize};

use super::adam::Adam;
use super::config::TrainConfig;
use super::log::EpochRecord;
use super::net::{Layer, Net};
use super::params::ModelParamsJson;
use super::rng::RngState;
use lifted_core::Activation;

/// Version of the checkpoint layout.
pub const CHECKPOINT_VERSION: u32 = 1;

/// One weight layer in a checkpoint.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LayerState {
    /// W_{k−1}, row-major.
    pub weights: Vec<f32>,
    /// b_{k−1}.
    pub bias: Vec<f32>,
    /// f_k.
    pub activation: Activation,
}

/// The best epoch so far.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Best {
    /// Epoch with the best validation accuracy (ties: the earlier).
    pub epoch: usize,
    /// Its validation accuracy.
    pub val_acc: f64,
    /// Its test accuracy.
    pub test_acc: f64,
    /// Its deployable parameters.
    pub params: ModelParamsJson,
}

/// A resumable training state, taken at the end of an epoch.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Checkpoint {
    /// [`CHECKPOINT_VERSION`].
    pub version: u32,
    /// The configuration of the run.
    pub config: TrainConfig,
    /// Completed epochs (0: only the measurement pass).
    pub epoch: usize,
    /// n₀.
    pub input_dim: usize,
    /// Layers 1 … L.
    pub layers: Vec<LayerState>,
    /// γ_1 … γ_L.
    pub gamma: Vec<f32>,
    /// Adam state.
    pub adam: Adam,
    /// Training RNG position.
    pub rng: RngState,
    /// Best epoch so far.
    pub best: Option<Best>,
    /// Log rows so far.
    pub history: Vec<EpochRecord>,
    /// Warm-started power-iteration vectors of the Lipschitz margin (layers 0 … L−2; empty when
    /// the margin is off, and in checkpoints written before it existed).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub lip_vectors: Vec<Vec<f32>>,
}

impl Checkpoint {
    /// The network stored in the checkpoint.
    pub fn net(&self) -> Net<f32> {
        Net {
            input_dim: self.input_dim,
            layers: self
                .layers
                .iter()
                .map(|l| Layer {
                    w: l.weights.clone(),
                    b: l.bias.clone(),
                    act: l.activation,
                })
                .collect(),
            gamma: self.gamma.clone(),
        }
    }

    /// Layer states of `net`.
    pub fn layers_of(net: &Net<f32>) -> Vec<LayerState> {
        net.layers
            .iter()
            .map(|l| LayerState {
                weights: l.w.clone(),
                bias: l.b.clone(),
                activation: l.act,
            })
            .collect()
    }

    /// Writes the checkpoint as JSON, atomically (temporary file + rename).
    ///
    /// # Errors
    /// I/O.
    pub fn save(&self, path: &Path) -> Result<()> {
        write_atomic(path, serde_json::to_string(self)?.as_bytes())
    }

    /// Reads a checkpoint.
    ///
    /// # Errors
    /// I/O, malformed JSON or an unsupported version.
    pub fn load(path: &Path) -> Result<Self> {
        let text = std::fs::read_to_string(path).with_context(|| {
            format!(
                "reading checkpoint {} — was the run started with this --out? A run stopped \
                 before its first epoch finished has none: start it again with --force",
                path.display()
            )
        })?;
        let c: Checkpoint = serde_json::from_str(&text)
            .with_context(|| format!("parsing checkpoint {}", path.display()))?;
        ensure!(
            c.version == CHECKPOINT_VERSION,
            "checkpoint {} has version {}, this build reads {CHECKPOINT_VERSION}",
            path.display(),
            c.version
        );
        Ok(c)
    }
}

/// Writes `bytes` to `path` through a temporary file in the same folder (`.NAME.tmp`), synced to
/// disk, and a rename, so a crash or a kill never leaves a half-written file.
///
/// # Errors
/// I/O.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    let name = path
        .file_name()
        .map_or_else(|| "file".into(), |n| n.to_string_lossy().into_owned());
    let tmp = path.with_file_name(format!(".{name}.tmp"));
    let write = || -> std::io::Result<()> {
        let mut f = std::fs::File::create(&tmp)?;
        f.write_all(bytes)?;
        f.sync_all()
    };
    write().with_context(|| format!("writing {}", tmp.display()))?;
    std::fs::rename(&tmp, path)
        .with_context(|| format!("renaming {} to {}", tmp.display(), path.display()))?;
    Ok(())
}
