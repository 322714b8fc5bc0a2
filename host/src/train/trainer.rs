//! The epoch loop (docs/method.md §5.11): seeded shuffling, one optimiser step per minibatch, the
//! end-of-epoch measurements, best-epoch selection, divergence detection and checkpoints. This file
//! holds the [`Trainer`] and its state (new, resume, checkpoint, results); `trainer/epoch.rs` one
//! epoch.

use std::sync::Arc;

use anyhow::{ensure, Context, Result};
use lifted_core::write::ModelParams;
use lifted_core::Family;
use rand_chacha::rand_core::SeedableRng;
use rand_chacha::ChaCha8Rng;

use super::adam::{Adam, AdamConfig};
use super::backprop::AttackSpec;
use super::checkpoint::{Best, Checkpoint, CHECKPOINT_VERSION};
use super::config::TrainConfig;
use super::damping::{hidden_sigmas, project_hopfield};
use super::lipmargin::{self};
use super::log::EpochRecord;
use super::net::Net;
use super::objectives::LiftedSpec;
use super::params::to_model_params;
use super::progress::Progress;
use super::TrainResult;
use crate::data::Splits;
use crate::rng::RngState;

mod epoch;

pub use epoch::gather;

/// How an epoch ended.
#[derive(Debug, Clone, PartialEq)]
pub enum EpochOutcome {
    /// The epoch finished; its log row.
    Done(EpochRecord),
    /// A NaN/Inf appeared; the message says where. The trainer still holds the last good state.
    Diverged(String),
}

/// A training run in memory. [`super::train`] and [`super::train_in_dir`] drive it.
pub struct Trainer<'d> {
    cfg: TrainConfig,
    splits: &'d Splits,
    spec: LiftedSpec,
    attack: AttackSpec,
    adam_cfg: AdamConfig,
    net: Net<f32>,
    adam: Adam,
    rng: ChaCha8Rng,
    best: Option<Best>,
    history: Vec<EpochRecord>,
    pool: Arc<rayon::ThreadPool>,
    class_names: Vec<String>,
    /// Power-iteration vectors of the Lipschitz margin (empty when it is off).
    lip_vecs: Vec<Vec<f32>>,
}

/// Fresh Lipschitz-margin vectors for `net` (seeded, then [`lipmargin::INIT_ITERS`] steps), or
/// none when the margin is off.
fn fresh_lip_vectors(cfg: &TrainConfig, net: &Net<f32>) -> Vec<Vec<f32>> {
    if !cfg.lip_margin() {
        return Vec::new();
    }
    let mut v = lipmargin::init_vectors(net, cfg.seed);
    lipmargin::power_iterate(net, &mut v, lipmargin::INIT_ITERS);
    v
}

/// The top-level configuration keys (`data` as `data.*`) in which `a` and `b` differ, apart from
/// those a resumed run may change: `epochs`, `threads` and `data.data_dir`.
pub fn config_diff(a: &TrainConfig, b: &TrainConfig) -> Vec<String> {
    let flat = |c: &TrainConfig| -> std::collections::BTreeMap<String, serde_json::Value> {
        let mut m = std::collections::BTreeMap::new();
        if let Ok(serde_json::Value::Object(o)) = serde_json::to_value(c) {
            for (k, v) in o {
                match (k.as_str(), v) {
                    ("epochs" | "threads", _) => {}
                    ("data", serde_json::Value::Object(d)) => {
                        for (dk, dv) in d {
                            if dk != "data_dir" {
                                m.insert(format!("data.{dk}"), dv);
                            }
                        }
                    }
                    (_, v) => {
                        m.insert(k, v);
                    }
                }
            }
        }
        m
    };
    let (fa, fb) = (flat(a), flat(b));
    let keys: std::collections::BTreeSet<&String> = fa.keys().chain(fb.keys()).collect();
    keys.into_iter()
        .filter(|k| fa.get(*k) != fb.get(*k))
        .cloned()
        .collect()
}

impl<'d> Trainer<'d> {
    /// A fresh run: validates `cfg` against the data, initialises the weights from stream 0 of
    /// `ChaCha8(seed)`; shuffles and other random choices use stream 1.
    ///
    /// # Errors
    /// An invalid configuration, or a thread pool that cannot start.
    pub fn new(cfg: &TrainConfig, splits: &'d Splits) -> Result<Self> {
        let d = &splits.train;
        cfg.validate(d.dim, d.classes)?;
        ensure!(!d.is_empty(), "the training split is empty");
        let mut init_rng = ChaCha8Rng::seed_from_u64(cfg.seed);
        let mut net = Net::init(
            d.dim,
            &cfg.widths,
            cfg.activation.core(),
            &cfg.gammas(),
            cfg.init_gain,
            &mut init_rng,
        );
        if cfg.potential.family() == Family::Hopfield {
            let mu = cfg.hopfield_mu_min;
            if mu >= 0.0 {
                let sig = hidden_sigmas(&net, 6);
                project_hopfield(&mut net, &sig, mu);
            }
        }
        let mut rng = ChaCha8Rng::seed_from_u64(cfg.seed);
        rng.set_stream(1);
        let adam = Adam::new(&net);
        let lip = fresh_lip_vectors(cfg, &net);
        Self::assemble(cfg, splits, net, adam, rng, None, Vec::new(), lip)
    }

    /// Continues from a checkpoint. `cfg` must equal the checkpoint's configuration except for
    /// `epochs` (not below the checkpoint's epoch), `threads` and `data.data_dir`; every shape of
    /// the checkpoint is checked against it ([`Checkpoint::validate`]).
    ///
    /// # Errors
    /// A configuration mismatch, fewer epochs than the checkpoint has done, a checkpoint of the
    /// wrong shapes, or as [`Trainer::new`].
    pub fn resume(cfg: &TrainConfig, splits: &'d Splits, ckpt: Checkpoint) -> Result<Self> {
        let norm = |c: &TrainConfig| TrainConfig {
            epochs: 0,
            threads: 0,
            data: super::config::DataSpec {
                data_dir: None,
                ..c.data.clone()
            },
            ..c.clone()
        };
        let diff = config_diff(cfg, &ckpt.config);
        ensure!(
            diff.is_empty() && norm(cfg) == norm(&ckpt.config),
            "the configuration differs from the checkpoint's (in {}; only --epochs, --threads and \
             --data-dir may change on --resume)",
            diff.join(", ")
        );
        let d = &splits.train;
        cfg.validate(d.dim, d.classes)?;
        ensure!(
            cfg.epochs >= ckpt.epoch,
            "the checkpoint has completed {} epochs, more than the {} asked for (--epochs, or \
             `epochs` of an experiment) — a resumed run cannot end before its checkpoint: ask for \
             {} epochs or more, or start the run again with --force (without --resume)",
            ckpt.epoch,
            cfg.epochs,
            ckpt.epoch
        );
        ckpt.validate(cfg, d.dim)?;
        let net = ckpt.net();
        let lip = if cfg.lip_margin() {
            let want: Vec<usize> = (0..net.depth() - 1).map(|k| net.width(k)).collect();
            let have: Vec<usize> = ckpt.lip_vectors.iter().map(Vec::len).collect();
            ensure!(
                have == want,
                "the checkpoint has no Lipschitz-margin vectors of the right shapes (lengths {have:?}, expected {want:?}) — restart the run without --resume"
            );
            ckpt.lip_vectors
        } else {
            Vec::new()
        };
        Self::assemble(
            cfg,
            splits,
            net,
            ckpt.adam,
            ckpt.rng.restore(),
            ckpt.best,
            ckpt.history,
            lip,
        )
    }

    #[allow(clippy::too_many_arguments)]
    fn assemble(
        cfg: &TrainConfig,
        splits: &'d Splits,
        net: Net<f32>,
        adam: Adam,
        rng: ChaCha8Rng,
        best: Option<Best>,
        history: Vec<EpochRecord>,
        lip_vecs: Vec<Vec<f32>>,
    ) -> Result<Self> {
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(cfg.threads)
            .build()
            .context("starting the worker threads")?;
        let builtin = if cfg.data.own.is_some() {
            Err(anyhow::anyhow!("own data"))
        } else {
            cfg.data.kind()
        };
        let class_names = builtin.map_or_else(
            |_| (0..splits.train.classes).map(|c| c.to_string()).collect(),
            |k| k.class_names().iter().map(|s| (*s).to_string()).collect(),
        );
        let attack = AttackSpec {
            attack: cfg.attack,
            eta: cfg.eta,
            eps: cfg.attack_eps,
            steps: cfg.attack_steps,
            step_size: cfg
                .attack_step_size
                .unwrap_or(2.5 * cfg.attack_eps / f64::from(cfg.attack_steps.max(1))),
            clamp: cfg.attack_clamp,
        };
        Ok(Trainer {
            spec: LiftedSpec::new(cfg),
            adam_cfg: AdamConfig {
                lr: cfg.lr,
                beta1: cfg.adam_beta1,
                beta2: cfg.adam_beta2,
                eps: cfg.adam_eps,
            },
            attack,
            cfg: cfg.clone(),
            splits,
            net,
            adam,
            rng,
            best,
            history,
            pool: Arc::new(pool),
            class_names,
            lip_vecs,
        })
    }

    /// The log rows so far.
    pub fn history(&self) -> &[EpochRecord] {
        &self.history
    }

    /// True once epochs 0 … `epochs` are done.
    pub fn finished(&self) -> bool {
        self.history.len() > self.cfg.epochs
    }

    /// The best epoch so far.
    pub fn best(&self) -> Option<&Best> {
        self.best.as_ref()
    }

    /// Attaches extra measurements to the last log row (and to the checkpoint's history).
    pub fn annotate_last(&mut self, robust: std::collections::BTreeMap<String, f64>) {
        if let Some(r) = self.history.last_mut() {
            r.robust = robust;
        }
    }

    /// The current network.
    pub fn net(&self) -> &Net<f32> {
        &self.net
    }

    /// The current parameters in the interchange format.
    pub fn params(&self) -> ModelParams {
        to_model_params(
            &self.net,
            &self.cfg,
            self.splits.train.input_range(),
            &self.class_names,
            self.history.len().saturating_sub(1),
        )
    }

    /// The state after the last completed epoch.
    pub fn checkpoint(&self) -> Checkpoint {
        Checkpoint {
            version: CHECKPOINT_VERSION,
            config: self.cfg.clone(),
            epoch: self.history.len().saturating_sub(1),
            input_dim: self.net.input_dim,
            layers: Checkpoint::layers_of(&self.net),
            gamma: self.net.gamma.clone(),
            adam: self.adam.clone(),
            rng: RngState::of(&self.rng),
            best: self.best.clone(),
            history: self.history.clone(),
            lip_vectors: self.lip_vecs.clone(),
        }
    }

    /// Runs epochs until done or diverged; `after_epoch` sees every finished epoch (e.g. to write
    /// logs and checkpoints).
    ///
    /// # Errors
    /// Whatever `after_epoch` returns.
    pub fn run(
        &mut self,
        progress: &mut Progress,
        mut after_epoch: impl FnMut(&mut Trainer<'d>, &EpochRecord) -> Result<()>,
    ) -> Result<TrainResult> {
        let mut diverged = None;
        while !self.finished() {
            match self.run_epoch(progress) {
                EpochOutcome::Done(rec) => after_epoch(self, &rec)?,
                EpochOutcome::Diverged(msg) => {
                    diverged = Some(msg);
                    break;
                }
            }
        }
        progress.finish();
        Ok(self.result(diverged))
    }

    /// The result so far.
    pub fn result(&self, diverged: Option<String>) -> TrainResult {
        let last = self.params();
        let (best, best_epoch, best_val_acc, best_test_acc) = match &self.best {
            Some(b) => (b.params.clone().into(), b.epoch, b.val_acc, b.test_acc),
            None => (last.clone(), 0, 0.0, 0.0),
        };
        TrainResult {
            best,
            best_epoch,
            best_val_acc,
            best_test_acc,
            last,
            history: self.history.clone(),
            diverged,
        }
    }
}
