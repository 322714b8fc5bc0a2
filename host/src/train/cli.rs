//! `lifted train`: the command-line front end of [`super::train_in_dir`].
//!
//! Precedence: built-in defaults < `--config FILE` (or, with `--resume` and no `--config`, the
//! run's own `config.toml`) < explicit flags.

use std::path::PathBuf;

use anyhow::{bail, Context, Result};
use clap::Args;

use super::options::{
    Attack, Damping, HiddenActivation, InitKind, LossKind, LrSchedule, MarginLoss, MetaGamma,
    Objective, Potential, RelaxedDistance, ScheduleKind, Selection, Target,
};
use super::{files, train_in_dir, Progress, Start, TrainConfig, TrainResult};
use crate::data::{self, DatasetKind};

/// Flags of `lifted train`. Every hyperparameter flag overrides the config file.
#[derive(Debug, Clone, Default, Args)]
#[command(about = "Train a lifted network (objectives: docs/method.md §5) and write a run folder")]
pub struct TrainArgs {
    /// TOML configuration (keys as in the run folder's config.toml); flags override it.
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Run folder: config.toml/json, log.csv/jsonl, best/last.params.json, checkpoint.json
    /// [default: runs/OBJECTIVE-DATASET-seedSEED]. A folder that already holds a run is refused
    /// unless --resume or --force is given.
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
    /// Continue the run in --out from its checkpoint (bit-identical for the same --threads).
    #[arg(long)]
    pub resume: bool,
    /// Start afresh even if the run folder already holds a run: its run files are deleted first.
    /// Without it, a new run into such a folder is refused.
    #[arg(long, conflicts_with = "resume")]
    pub force: bool,
    /// No progress bar and no per-epoch lines.
    #[arg(long, short)]
    pub quiet: bool,
    /// Refuse a run whose memory estimate (parameters, Adam state, gradients, checkpoint text,
    /// activations) exceeds SIZE (e.g. 512M, 8G) [default: $LIFTED_MAX_MEMORY, else the
    /// available memory].
    #[arg(long, value_name = "SIZE", value_parser = super::memory::parse_size)]
    pub max_memory: Option<u64>,

    /// Data set [default: digits]; or your own file with --data.
    #[arg(long, value_enum, help_heading = "Data", conflicts_with = "file")]
    pub dataset: Option<DatasetKind>,
    /// Your own data file instead of --dataset.
    #[command(flatten)]
    pub own: data::OwnData,
    /// Folder of the data files.
    #[arg(
        long,
        value_name = "DIR",
        help_heading = "Data",
        conflicts_with = "file"
    )]
    pub data_dir: Option<PathBuf>,
    /// Training-split size [default: the whole pool].
    #[arg(long, value_name = "N", help_heading = "Data")]
    pub n_train: Option<usize>,

    /// Layer widths n_1,…,n_L (each at most 65536; give the list once); the last is the number of
    /// classes [default: 128,128,10].
    #[arg(
        long,
        value_delimiter = ',',
        action = clap::ArgAction::Set,
        value_name = "N,N,…",
        help_heading = "Architecture"
    )]
    pub widths: Option<Vec<usize>>,
    /// Hidden activation: relu | clipped-relu:H.
    #[arg(long, value_name = "ACT", help_heading = "Architecture")]
    pub activation: Option<HiddenActivation>,
    /// Potential family: fenchel-young (A) | hopfield (B).
    #[arg(long, value_name = "FAMILY", help_heading = "Architecture")]
    pub potential: Option<Potential>,
    /// γ_1,…,γ_L [default: all 1].
    #[arg(
        long,
        value_delimiter = ',',
        action = clap::ArgAction::Set,
        value_name = "G,G,…",
        help_heading = "Architecture"
    )]
    pub gamma: Option<Vec<f64>>,
    /// Sweeps K [default: 5].
    #[arg(long, value_name = "K", help_heading = "Architecture")]
    pub sweeps: Option<u16>,
    /// State init: forward | zero.
    #[arg(long, value_name = "INIT", help_heading = "Architecture")]
    pub init: Option<InitKind>,
    /// Schedule: bwd-fwd | bwd-fwd+topdown.
    #[arg(long, value_name = "SCHEDULE", help_heading = "Architecture")]
    pub schedule: Option<ScheduleKind>,
    /// Damping: sound-gram:STEPS (STEPS ≤ 30) | power:ITERS:FACTOR (ITERS ≤ 1000) | dp-formula
    /// [default: sound-gram:6].
    #[arg(long, value_name = "RULE", help_heading = "Architecture")]
    pub damping: Option<Damping>,
    /// Loss: squared | cross-entropy.
    #[arg(long, value_name = "LOSS", help_heading = "Architecture")]
    pub loss: Option<LossKind>,
    /// Scale of the initial weights [default: 1].
    #[arg(long, value_name = "X", help_heading = "Architecture")]
    pub init_gain: Option<f64>,

    /// Objective: bp | input-at | rovr | arovr | mixed | relaxed | targeted [default: arovr].
    #[arg(long, value_name = "NAME", help_heading = "Objective")]
    pub objective: Option<Objective>,
    /// β > 0 [default: 0.5].
    #[arg(long, help_heading = "Objective")]
    pub beta: Option<f64>,
    /// α of mixed [default: 0.5].
    #[arg(long, help_heading = "Objective")]
    pub alpha: Option<f64>,
    /// λ_u of targeted [default: 0.5].
    #[arg(long, help_heading = "Objective")]
    pub lambda_u: Option<f64>,
    /// λ_t of targeted [default: 0.5].
    #[arg(long, help_heading = "Objective")]
    pub lambda_t: Option<f64>,
    /// Target class of targeted: runner-up | random | fixed:C.
    #[arg(long, value_name = "G", help_heading = "Objective")]
    pub target: Option<Target>,
    /// Relaxed perturbation: post-activation | pre-activation.
    #[arg(long, value_name = "WHERE", help_heading = "Objective")]
    pub relaxed_distance: Option<RelaxedDistance>,
    /// η of input-at's one-step attack [default: 0.5].
    #[arg(long, help_heading = "Objective")]
    pub eta: Option<f64>,
    /// input-at attack: step | pgd-l2 | pgd-linf.
    #[arg(long, value_name = "KIND", help_heading = "Objective")]
    pub attack: Option<Attack>,
    /// PGD radius [default: 0.1].
    #[arg(long, help_heading = "Objective")]
    pub attack_eps: Option<f64>,
    /// PGD steps, at most 10000 [default: 10].
    #[arg(long, help_heading = "Objective")]
    pub attack_steps: Option<u32>,
    /// PGD step size [default: 2.5·eps/steps].
    #[arg(long, help_heading = "Objective")]
    pub attack_step_size: Option<f64>,
    /// Clamp the one-step attack to [0, 1].
    #[arg(long, help_heading = "Objective")]
    pub attack_clamp: bool,
    /// γ meta-learning: off | constrained | validation (docs/method.md §5.10).
    #[arg(long, value_name = "MODE", help_heading = "Objective")]
    pub meta_gamma: Option<MetaGamma>,
    /// Learning rate of log γ (validation: the size of each log-γ step) [default: 0.01].
    #[arg(long, help_heading = "Objective")]
    pub gamma_lr: Option<f64>,
    /// meta_gamma = validation: one meta step every N optimiser steps [default: 10].
    #[arg(long, value_name = "N", help_heading = "Objective")]
    pub meta_every: Option<usize>,
    /// meta_gamma = validation: finite-difference offset δ on log γ_k [default: 0.1].
    #[arg(long, value_name = "DELTA", help_heading = "Objective")]
    pub meta_delta: Option<f64>,
    /// Family B: keep λ_min(T) ≥ this by rescaling W_1…W_{L−1}; negative disables it [default: 0.05].
    #[arg(long, allow_hyphen_values = true, help_heading = "Objective")]
    pub hopfield_mu_min: Option<f64>,

    /// Lipschitz-margin training: raise every non-true logit j by ε·K_yj (K_yj = ‖w_y − w_j‖·Πσ_k,
    /// the certificate's ℓ2 pair constant of a forward deployment; for iterative ones a surrogate of
    /// the sweep constants) before the loss; works with every objective and family; 0 = off
    /// [default: 0]. Train with ε somewhat above the radius to certify (e.g. 0.45 for 0.3).
    #[arg(long, value_name = "EPS", help_heading = "Lipschitz margin")]
    pub lip_margin_eps: Option<f64>,
    /// Weight of the certificate's float-error term Ê(x) added to the margin (0 = off) [default: 0].
    #[arg(long, value_name = "W", help_heading = "Lipschitz margin")]
    pub lip_margin_float: Option<f64>,
    /// Warm-started power-iteration steps per minibatch for the σ_k, at most 1000 [default: 2].
    #[arg(long, value_name = "N", help_heading = "Lipschitz margin")]
    pub lip_margin_power_iters: Option<u32>,
    /// Epochs over which ε rises linearly from 0 (per minibatch), at most 10000 [default: 0].
    #[arg(long, value_name = "EPOCHS", help_heading = "Lipschitz margin")]
    pub lip_margin_warmup: Option<usize>,
    /// How the margin enters the loss: shift (every non-true logit raised) | bottom (GloRo's ⊥
    /// class: one extra logit max_j(z_j + ε·K_yj); cross-entropy with bp/input-at) [default: shift].
    #[arg(long, value_name = "KIND", help_heading = "Lipschitz margin")]
    pub lip_margin_loss: Option<MarginLoss>,

    /// Epochs after the measurement pass, at most 10000 [default: 20].
    #[arg(long, help_heading = "Optimiser")]
    pub epochs: Option<usize>,
    /// Minibatch size [default: 50].
    #[arg(long, help_heading = "Optimiser")]
    pub batch: Option<usize>,
    /// Adam learning rate [default: 1e-3].
    #[arg(long, help_heading = "Optimiser")]
    pub lr: Option<f64>,
    /// Learning-rate schedule: constant | cosine (decay to 0 over all update steps) [default: constant].
    #[arg(long, value_name = "SCHEDULE", help_heading = "Optimiser")]
    pub lr_schedule: Option<LrSchedule>,
    /// Seed of every random choice [default: 0].
    #[arg(long, help_heading = "Optimiser")]
    pub seed: Option<u64>,
    /// Worker threads (0: one per core, at most 1024) [default: 0].
    #[arg(long, value_name = "N", help_heading = "Optimiser")]
    pub threads: Option<usize>,
    /// Which epoch becomes best.params.json, always measured on the validation split:
    /// val-accuracy, or val-certified-l2:EPS (the share of validation samples the exported model
    /// classifies correctly and certifies at ℓ2 radius EPS; logged per epoch) [default:
    /// val-accuracy].
    #[arg(long, value_name = "RULE", help_heading = "Optimiser")]
    pub select: Option<Selection>,
}

macro_rules! apply {
    ($cfg:ident, $args:ident, $($f:ident),+) => { $( if let Some(v) = $args.$f.clone() { $cfg.$f = v; } )+ };
}

impl TrainArgs {
    /// The configuration these flags describe.
    ///
    /// # Errors
    /// An unreadable or invalid config file.
    pub fn config(&self) -> Result<TrainConfig> {
        let file = match (&self.config, self.resume, &self.out) {
            (Some(p), _, _) => Some(p.clone()),
            (None, true, Some(out)) => Some(out.join(files::CONFIG_TOML)),
            _ => None,
        };
        let mut cfg = match file {
            Some(p) => {
                let text = std::fs::read_to_string(&p)
                    .with_context(|| format!("reading the configuration {}", p.display()))?;
                TrainConfig::from_toml(&text).with_context(|| format!("in {}", p.display()))?
            }
            None => TrainConfig {
                widths: Vec::new(),
                ..TrainConfig::default()
            },
        };
        let a = self;
        apply!(
            cfg,
            a,
            widths,
            activation,
            potential,
            gamma,
            sweeps,
            init,
            schedule,
            damping,
            loss,
            init_gain,
            objective,
            beta,
            alpha,
            lambda_u,
            lambda_t,
            target,
            relaxed_distance,
            eta,
            attack,
            attack_eps,
            attack_steps,
            meta_gamma,
            gamma_lr,
            meta_every,
            meta_delta,
            lip_margin_eps,
            lip_margin_float,
            lip_margin_power_iters,
            lip_margin_warmup,
            lip_margin_loss,
            epochs,
            batch,
            lr,
            lr_schedule,
            seed,
            threads,
            select
        );
        if let Some(s) = a.attack_step_size {
            cfg.attack_step_size = Some(s);
        }
        if a.attack_clamp {
            cfg.attack_clamp = true;
        }
        if let Some(m) = a.hopfield_mu_min {
            cfg.hopfield_mu_min = m;
        }
        if let Some(d) = a.dataset {
            cfg.data.dataset = d.name().to_string();
        }
        if let Some(d) = &a.data_dir {
            cfg.data.data_dir = Some(d.clone());
        }
        if let Some(n) = a.n_train {
            cfg.data.n_train = Some(n);
        }
        if a.own.path().is_some() {
            cfg.data.own = Some(a.own.clone());
        }
        if cfg.widths.is_empty() {
            // Default architecture: two hidden layers of 128 (docs/method.md §7.2), output = classes.
            let classes = match &cfg.data.own {
                Some(o) => o.read()?.classes,
                None => cfg.data.kind().map_or(10, DatasetKind::classes),
            };
            cfg.widths = vec![128, 128, classes];
        }
        Ok(cfg)
    }
}

/// Runs `lifted train`.
///
/// # Errors
/// Bad flags, data that cannot be loaded, an invalid configuration, I/O, or a divergence (after
/// the run folder has been written with the last good epoch).
pub fn run(args: &TrainArgs) -> Result<TrainResult> {
    if let Some(bytes) = args.max_memory {
        super::memory::set_limit(bytes);
    }
    let cfg = args.config()?;
    let kind = cfg.data.name()?;
    let out = match &args.out {
        Some(o) => o.clone(),
        None if args.resume => bail!("--resume needs --out DIR (the run folder to continue)"),
        None => PathBuf::from("runs").join(format!("{}-{}-seed{}", cfg.objective, kind, cfg.seed)),
    };
    let splits = cfg.data.load()?;
    // Refuse a bad configuration before the run folder is created.
    cfg.validate(splits.train.dim, splits.train.classes)?;
    let mut progress = Progress::new(args.quiet);
    if !args.quiet {
        eprintln!(
            "training {} on {} ({} train / {} val / {} test), widths {:?}, {} epochs → {}",
            cfg.objective,
            kind,
            splits.train.len(),
            splits.val.len(),
            splits.test.len(),
            cfg.widths,
            cfg.epochs,
            out.display()
        );
        if !progress.has_bar() {
            progress = progress
                .on_epoch(|r| eprintln!("{}", super::progress::epoch_line(r)))
                .on_trained(|e, n, s| eprintln!("{}", super::progress::trained_line(e, n, s)));
        }
    }
    let start = if args.resume {
        Start::Resume
    } else if args.force {
        Start::Replace
    } else {
        Start::Fresh
    };
    let result = train_in_dir(&cfg, &splits, &mut progress, &out, start)?;
    println!(
        "best epoch {}: val {:.2}%, test {:.2}% → {}",
        result.best_epoch,
        100.0 * result.best_val_acc,
        100.0 * result.best_test_acc,
        out.join(files::BEST).display()
    );
    if let Some(msg) = &result.diverged {
        bail!("{msg} (run folder: {})", out.display());
    }
    Ok(result)
}
