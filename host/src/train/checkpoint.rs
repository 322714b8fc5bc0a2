//! Checkpoints: everything needed to continue a run bit for bit (weights, γ, Adam moments, the
//! RNG position, the epoch, the best model so far and the log), as JSON. f32 values print as
//! their shortest round-trip decimal, so JSON restores them exactly.
//!
//! The file is sealed: its last member is `"crc32":"xxxxxxxx"`, the CRC-32 (ISO-HDLC, as in the
//! model format) of the file's text without that member. [`Checkpoint::load`] refuses a file whose
//! text no longer matches its checksum, and [`Checkpoint::validate`] checks every shape of the
//! state against the run's configuration before anything uses it.

use std::path::Path;

use std::io::Write as _;

use anyhow::{bail, ensure, Context, Result};
use serde::{Deserialize, Serialize};

use super::adam::Adam;
use super::config::TrainConfig;
use super::log::EpochRecord;
use super::net::{Layer, Net};
use super::params::ModelParamsJson;
use crate::rng::RngState;
use lifted_core::Activation;

/// Version of the checkpoint layout (2: sealed with a CRC-32).
pub const CHECKPOINT_VERSION: u32 = 2;

/// The name of the checksum member that ends a sealed checkpoint.
const CRC_KEY: &str = ",\"crc32\":\"";

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
    /// The score the selection rule compared (`--select`); absent: the validation accuracy.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub val_score: Option<f64>,
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

    /// Writes the checkpoint as sealed JSON (see the module documentation), atomically
    /// (temporary file + rename).
    ///
    /// # Errors
    /// I/O.
    pub fn save(&self, path: &Path) -> Result<()> {
        write_atomic(path, seal(&serde_json::to_string(self)?).as_bytes())
    }

    /// Reads a checkpoint: the checksum, the JSON and the version. Check it against the run's
    /// configuration with [`Checkpoint::validate`] before use.
    ///
    /// # Errors
    /// I/O, a checksum mismatch, malformed JSON or an unsupported version.
    pub fn load(path: &Path) -> Result<Self> {
        let text = std::fs::read_to_string(path).with_context(|| {
            format!(
                "reading checkpoint {} — was the run started with this --out? A run stopped \
                 before its first epoch finished has none: start it again with --force",
                path.display()
            )
        })?;
        if let Some(v) = older_version(&text) {
            bail!(
                "checkpoint {} has version {v} (written by an older build, without a checksum); \
                 this build reads {CHECKPOINT_VERSION} — start the run again with --force \
                 (without --resume), or continue it with the build that wrote it",
                path.display()
            );
        }
        let body = unseal(&text).with_context(|| {
            format!(
                "checkpoint {} is damaged or was edited — restore it from a copy, or start the \
                 run again with --force (without --resume)",
                path.display()
            )
        })?;
        let c: Checkpoint = serde_json::from_str(&body).with_context(|| {
            format!(
                "parsing checkpoint {} — start the run again with --force (without --resume)",
                path.display()
            )
        })?;
        ensure!(
            c.version == CHECKPOINT_VERSION,
            "checkpoint {} has version {}, this build reads {CHECKPOINT_VERSION} — start the run \
             again with --force (without --resume), or continue it with the build that wrote it",
            path.display(),
            c.version
        );
        Ok(c)
    }

    /// Checks every shape of the checkpoint against `cfg` (the run's configuration) and the input
    /// dimension of the data: layer count, weights, biases and activations of every layer, γ,
    /// the Adam moments, the best epoch's parameters, the log rows and the Lipschitz-margin
    /// vectors. The message names the field, the layer, and the expected and found values.
    ///
    /// # Errors
    /// The first mismatch found.
    pub fn validate(&self, cfg: &TrainConfig, input_dim: usize) -> Result<()> {
        let fix = "the checkpoint does not belong to this run or was damaged — start the run \
                   again with --force (without --resume)";
        ensure!(
            self.input_dim == input_dim,
            "checkpoint field `input_dim` is {}, the data has inputs of dimension {input_dim}; {fix}",
            self.input_dim
        );
        let l = cfg.widths.len();
        ensure!(
            self.layers.len() == l,
            "checkpoint field `layers` has {} layers, the configuration has {l} (widths {:?}); {fix}",
            self.layers.len(),
            cfg.widths
        );
        let mut fan_in = input_dim;
        let mut n_params = 0usize;
        for (i, (layer, &n)) in self.layers.iter().zip(&cfg.widths).enumerate() {
            let k = i + 1;
            let want_w = n * fan_in;
            ensure!(
                layer.weights.len() == want_w,
                "checkpoint field `layers[{i}].weights` (layer {k}) has length {}, expected \
                 {want_w} ({n} × {fan_in}); {fix}",
                layer.weights.len()
            );
            ensure!(
                layer.bias.len() == n,
                "checkpoint field `layers[{i}].bias` (layer {k}) has length {}, expected {n}; {fix}",
                layer.bias.len()
            );
            let act = expected_activation(cfg, i);
            ensure!(
                layer.activation == act,
                "checkpoint field `layers[{i}].activation` (layer {k}) is {:?}, the configuration \
                 gives {act:?}; {fix}",
                layer.activation
            );
            n_params += want_w + n;
            fan_in = n;
        }
        ensure!(
            self.gamma.len() == l,
            "checkpoint field `gamma` has length {}, expected {l} (one γ per layer); {fix}",
            self.gamma.len()
        );
        if let Some((i, g)) = self
            .gamma
            .iter()
            .enumerate()
            .find(|(_, g)| !(g.is_finite() && **g > 0.0))
        {
            bail!("checkpoint field `gamma[{i}]` (layer {}) is {g}, expected a finite value > 0; {fix}", i + 1);
        }
        for (name, len) in [("adam.m", self.adam.m.len()), ("adam.v", self.adam.v.len())] {
            ensure!(
                len == n_params,
                "checkpoint field `{name}` (Adam moments) has length {len}, expected {n_params} \
                 (one per weight and bias); {fix}"
            );
        }
        ensure!(
            self.history.len() == self.epoch + 1,
            "checkpoint field `history` has {} rows, expected {} (epochs 0 … {}); {fix}",
            self.history.len(),
            self.epoch + 1,
            self.epoch
        );
        if let Some((i, r)) = self.history.iter().enumerate().find(|(i, r)| r.epoch != *i) {
            bail!(
                "checkpoint field `history[{i}].epoch` is {}, expected {i}; {fix}",
                r.epoch
            );
        }
        if let Some(b) = &self.best {
            ensure!(
                b.epoch <= self.epoch,
                "checkpoint field `best.epoch` is {}, after the checkpoint's epoch {}; {fix}",
                b.epoch,
                self.epoch
            );
            let p = &b.params;
            ensure!(
                p.input_dim == input_dim,
                "checkpoint field `best.params.input_dim` is {}, expected {input_dim}; {fix}",
                p.input_dim
            );
            ensure!(
                p.layers.len() == l,
                "checkpoint field `best.params.layers` has {} layers, expected {l}; {fix}",
                p.layers.len()
            );
            let mut fan_in = input_dim;
            for (i, (layer, &n)) in p.layers.iter().zip(&cfg.widths).enumerate() {
                let k = i + 1;
                let want_w = n * fan_in;
                ensure!(
                    layer.weights.len() == want_w,
                    "checkpoint field `best.params.layers[{i}].weights` (layer {k}) has length \
                     {}, expected {want_w} ({n} × {fan_in}); {fix}",
                    layer.weights.len()
                );
                ensure!(
                    layer.bias.len() == n,
                    "checkpoint field `best.params.layers[{i}].bias` (layer {k}) has length {}, \
                     expected {n}; {fix}",
                    layer.bias.len()
                );
                let act = expected_activation(cfg, i);
                ensure!(
                    layer.activation == act,
                    "checkpoint field `best.params.layers[{i}].activation` (layer {k}) is {:?}, \
                     the configuration gives {act:?}; {fix}",
                    layer.activation
                );
                fan_in = n;
            }
        }
        Ok(())
    }
}

/// The activation of layer `i + 1` (index `i`) under `cfg`: the hidden activation, identity at
/// the output (as [`Net::init`] builds it).
fn expected_activation(cfg: &TrainConfig, i: usize) -> Activation {
    if i + 1 == cfg.widths.len() {
        Activation::Identity
    } else {
        cfg.activation.core()
    }
}

/// Checks the run folder's `config.toml` and `config.json` (when present) against the
/// checkpoint's configuration `ckpt`; only `epochs`, `threads` and `data.data_dir` may differ.
///
/// # Errors
/// An unreadable or different configuration file.
pub fn check_folder_config(dir: &Path, ckpt: &TrainConfig) -> Result<()> {
    let toml = dir.join(super::files::CONFIG_TOML);
    let json = dir.join(super::files::CONFIG_JSON);
    let mut read: Vec<(std::path::PathBuf, TrainConfig)> = Vec::new();
    if toml.is_file() {
        let text = std::fs::read_to_string(&toml)
            .with_context(|| format!("reading {}", toml.display()))?;
        read.push((
            toml.clone(),
            TrainConfig::from_toml(&text).with_context(|| format!("in {}", toml.display()))?,
        ));
    }
    if json.is_file() {
        let text = std::fs::read_to_string(&json)
            .with_context(|| format!("reading {}", json.display()))?;
        read.push((
            json.clone(),
            serde_json::from_str(&text).with_context(|| format!("parsing {}", json.display()))?,
        ));
    }
    for (path, c) in read {
        let diff = super::trainer::config_diff(&c, ckpt);
        ensure!(
            diff.is_empty(),
            "{} differs from the configuration in {} (in {}) — the run folder was edited; \
             restore the file, or start the run again with --force (without --resume)",
            path.display(),
            super::files::CHECKPOINT,
            diff.join(", ")
        );
    }
    Ok(())
}

/// The version of a checkpoint written before checkpoints were sealed, if `text` is one.
fn older_version(text: &str) -> Option<u64> {
    #[derive(Deserialize)]
    struct Version {
        version: u64,
    }
    let v: Version = serde_json::from_str(text).ok()?;
    (v.version < u64::from(CHECKPOINT_VERSION)).then_some(v.version)
}

/// `json` (an object) with the checksum member appended.
fn seal(json: &str) -> String {
    let crc = lifted_core::format::CRC32.checksum(json.as_bytes());
    let open = json.strip_suffix('}').unwrap_or(json);
    format!("{open}{CRC_KEY}{crc:08x}\"}}\n")
}

/// The text a sealed checkpoint was written from, if its checksum matches.
fn unseal(text: &str) -> Result<String> {
    let t = text.trim_end();
    let Some(pos) = t.rfind(CRC_KEY) else {
        bail!("it has no `crc32` checksum member at its end");
    };
    let tail = &t[pos + CRC_KEY.len()..];
    let Some(hex) = tail.strip_suffix("\"}") else {
        bail!("its `crc32` checksum member is not the last one");
    };
    let Ok(stored) = u32::from_str_radix(hex, 16) else {
        bail!("its `crc32` checksum {hex:?} is not 8 hex digits");
    };
    ensure!(
        hex.len() == 8,
        "its `crc32` checksum {hex:?} is not 8 hex digits"
    );
    let body = format!("{}}}", &t[..pos]);
    let crc = lifted_core::format::CRC32.checksum(body.as_bytes());
    ensure!(
        crc == stored,
        "its content does not match its checksum (crc32 stored {stored:08x}, computed {crc:08x})"
    );
    Ok(body)
}

/// Writes `bytes` to `path` through a temporary file in the same folder (`.NAME.tmp`), synced to
/// disk, and a rename, so a crash or a kill never leaves a half-written file. When the write, the
/// sync or the rename fails (a full disk, a folder in the way), the temporary file is removed, so
/// a failure leaves no litter behind.
///
/// # Errors
/// I/O; the message names the file and what to check.
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
    let result = write()
        .with_context(|| {
            format!(
                "writing {} — check that the disk has free space and the folder is writable",
                tmp.display()
            )
        })
        .and_then(|()| {
            std::fs::rename(&tmp, path).with_context(|| {
                format!(
                    "renaming {} to {} — check that {} is not a folder and its folder is writable",
                    tmp.display(),
                    path.display(),
                    path.display()
                )
            })
        });
    if result.is_err() {
        // Best effort: the original error is what matters; a temp file that cannot be removed
        // either was never created or sits in a folder we cannot write to.
        let _ = std::fs::remove_file(&tmp);
    }
    result
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn write_atomic_failure_leaves_no_temp_file() {
        let dir = tempfile::tempdir().unwrap();
        // A non-empty folder where the file should go: the temp file is written, the rename fails.
        let target = dir.path().join("checkpoint.json");
        std::fs::create_dir(&target).unwrap();
        std::fs::write(target.join("keep"), b"x").unwrap();
        let e = format!("{:#}", write_atomic(&target, b"data").unwrap_err());
        assert!(e.contains("checkpoint.json"), "{e}");
        let left: Vec<_> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        assert_eq!(
            left,
            vec!["checkpoint.json".to_string()],
            "temp file left behind"
        );
        // And a success still writes the file and leaves no temp file.
        let ok = dir.path().join("ok.json");
        write_atomic(&ok, b"data").unwrap();
        assert_eq!(std::fs::read(&ok).unwrap(), b"data");
        assert!(!dir.path().join(".ok.json.tmp").exists());
    }

    /// A full disk while the temporary file is written (ENOSPC, from `/dev/full` behind a
    /// symbolic link at the temporary path): the error says to free space, the temporary file is
    /// removed and the previous file is untouched.
    #[cfg(unix)]
    #[test]
    fn a_full_disk_leaves_the_previous_file_and_no_temp_file() {
        if !Path::new("/dev/full").exists() {
            return;
        }
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("checkpoint.json");
        std::fs::write(&target, b"previous").unwrap();
        let tmp = dir.path().join(".checkpoint.json.tmp");
        std::os::unix::fs::symlink("/dev/full", &tmp).unwrap();
        let e = format!("{:#}", write_atomic(&target, b"new").unwrap_err());
        assert!(
            e.contains(".checkpoint.json.tmp") && e.contains("free space"),
            "{e}"
        );
        assert!(
            std::fs::symlink_metadata(&tmp).is_err(),
            "temp file left behind"
        );
        assert_eq!(std::fs::read(&target).unwrap(), b"previous");
    }

    #[test]
    fn seal_round_trips_and_refuses_any_change() {
        let body = r#"{"version":2,"epoch":3,"name":"a,\"crc32\":\"b"}"#;
        let sealed = seal(body);
        assert!(sealed.ends_with("\"}\n"), "{sealed}");
        assert_eq!(unseal(&sealed).unwrap(), body);
        let edited = sealed.replacen("\"epoch\":3", "\"epoch\":4", 1);
        let e = unseal(&edited).unwrap_err().to_string();
        assert!(e.contains("does not match its checksum"), "{e}");
        let e = unseal(body).unwrap_err().to_string();
        assert!(e.contains("no `crc32`"), "{e}");
        let bad = sealed.replacen("\"crc32\":\"", "\"crc32\":\"zz", 1);
        assert!(unseal(&bad).is_err());
    }
}
