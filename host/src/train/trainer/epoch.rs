//! One epoch of [`Trainer`]: the minibatch loop with its optimiser step (phases, gradients, Adam,
//! the γ meta-step), the end-of-epoch measurements, best-epoch selection and divergence detection.

use std::sync::Arc;
use std::time::Instant;

use anyhow::Result;
use lifted_core::Family;
use rand_chacha::ChaCha8Rng;

use crate::data::Dataset;
use crate::rng::shuffle;
use crate::train::adam::{Adam, AdamConfig};
use crate::train::backprop::{attack, backprop_with};
use crate::train::checkpoint::Best;
use crate::train::damping::{hidden_sigmas, mu_lower, project_hopfield, steps_from, SigmaCache};
use crate::train::linalg::Mat;
use crate::train::lipmargin::{self, LipMargin};
use crate::train::log::EpochRecord;
use crate::train::metrics::{lip_bound, lip_estimate};
use crate::train::net::Net;
use crate::train::objectives::{choose_targets, free_state, free_state_pre, lifted_batch_from};
use crate::train::options::Damping;
use crate::train::options::MarginLoss;
use crate::train::options::{MetaGamma, Objective, Selection};
use crate::train::params::{damping_alpha, to_model_params};
use crate::train::phases::predict;
use crate::train::progress::Progress;
use indicatif::ProgressBar;
use lifted_core::bounds::Limits;
use lifted_core::write::ModelParams;
use lifted_core::{ModelView, Norm};

use super::{EpochOutcome, Trainer};

mod meta;

/// Gram-iteration steps of the logged bound and of the family-B monitor.
const GRAM_STEPS_LOG: u32 = 10;
/// Samples per chunk when measuring accuracy.
const EVAL_CHUNK: usize = 1000;

/// The mutable state an epoch works on; committed only when the epoch completes.
struct Work {
    net: Net<f32>,
    adam: Adam,
    rng: ChaCha8Rng,
    sigmas: SigmaCache,
    lip_vecs: Vec<Vec<f32>>,
}

impl Trainer<'_> {
    /// Runs the next epoch (epoch 0: the measurement pass, no update) and commits it.
    pub fn run_epoch(&mut self, progress: &mut Progress) -> EpochOutcome {
        let pool = Arc::clone(&self.pool);
        pool.install(|| self.epoch_inner(progress))
    }

    fn epoch_inner(&mut self, progress: &mut Progress) -> EpochOutcome {
        let e = self.history.len();
        let t0 = Instant::now();
        let gram = match self.cfg.damping {
            Damping::SoundGram(s) => s,
            _ => 6,
        };
        let mut w = Work {
            net: self.net.clone(),
            adam: self.adam.clone(),
            rng: self.rng.clone(),
            sigmas: SigmaCache::new(gram),
            lip_vecs: self.lip_vecs.clone(),
        };
        let train = &self.splits.train;
        let mut order: Vec<usize> = (0..train.len()).collect();
        if e > 0 {
            shuffle(&mut order, &mut w.rng);
        }
        let batches: Vec<&[usize]> = order.chunks(self.cfg.batch).collect();
        progress.start_epoch(e, batches.len());
        let (mut loss, mut correct) = (0.0f64, 0usize);
        for (bi, idx) in batches.iter().enumerate() {
            let (x, labels) = gather(train, idx);
            let lip_eps = lipmargin::ramp(
                self.cfg.lip_margin_eps,
                self.cfg.lip_margin_warmup,
                e,
                bi,
                batches.len(),
            );
            let lr = self.cfg.lr
                * self.cfg.lr_schedule.factor(
                    (e.max(1) - 1) * batches.len() + bi,
                    self.cfg.epochs * batches.len(),
                );
            match self.batch_step(&mut w, &x, &labels, e > 0, lip_eps, lr) {
                Ok((l, c)) => {
                    loss += l;
                    correct += c;
                }
                Err(what) => {
                    progress.finish();
                    let kept = if e == 0 {
                        "no checkpoint exists yet".to_string()
                    } else {
                        format!("the last good checkpoint (epoch {}) is kept", e - 1)
                    };
                    return EpochOutcome::Diverged(format!(
                        "training diverged in epoch {e}, batch {}: {what} — stopped; {kept}. Try a smaller --lr, a smaller --beta or more damping",
                        bi + 1
                    ));
                }
            }
            progress.batch_done();
        }
        if e > 0 {
            progress.epoch_trained(e, train.len(), t0.elapsed().as_secs_f64());
        }
        let n = train.len() as f64;
        let rec_net = &w.net;
        let val_acc = self.accuracy(rec_net, &self.splits.val);
        let test_acc = self.accuracy(rec_net, &self.splits.test);
        let mu = (self.cfg.potential.family() == Family::Hopfield).then(|| {
            let g: Vec<f64> = rec_net.gamma.iter().map(|&v| f64::from(v)).collect();
            mu_lower(&g, &hidden_sigmas(rec_net, GRAM_STEPS_LOG))
        });
        let rec = EpochRecord {
            epoch: e,
            train_loss: loss / n,
            train_acc: correct as f64 / n,
            val_acc,
            test_acc,
            lip_estimate: lip_estimate(rec_net),
            lip_bound: lip_bound(rec_net, GRAM_STEPS_LOG),
            seconds: t0.elapsed().as_secs_f64(),
            mu_lower: mu,
            gamma: rec_net.gamma.iter().map(|&v| f64::from(v)).collect(),
            robust: std::collections::BTreeMap::new(),
        };
        self.net = w.net;
        self.adam = w.adam;
        self.rng = w.rng;
        self.lip_vecs = w.lip_vecs;
        let params = to_model_params(
            &self.net,
            &self.cfg,
            train.input_range(),
            &self.class_names,
            e,
        );
        let mut rec = rec;
        let score = match self.cfg.select {
            Selection::ValAccuracy => None,
            Selection::ValCertifiedL2(eps) => {
                let c = val_certified_l2(&params, &self.splits.val, eps);
                rec.robust.insert(format!("val_certified_l2_{eps}"), c);
                Some(c)
            }
        };
        let better = |b: &Best| score.unwrap_or(val_acc) > b.val_score.unwrap_or(b.val_acc);
        if self.best.as_ref().is_none_or(better) {
            self.best = Some(Best {
                epoch: e,
                val_acc,
                test_acc,
                val_score: score,
                params: (&params).into(),
            });
        }
        self.history.push(rec.clone());
        progress.epoch_done(&rec);
        EpochOutcome::Done(rec)
    }

    /// One minibatch: objective, gradients and (if `update`) the optimiser step with learning
    /// rate `lr`, with the Lipschitz margin ε = `lip_eps` when it is on. Returns the summed objective and the number
    /// of correct predictions, or what went non-finite.
    // Never inlined, so profiles can single out the training work of an epoch.
    #[inline(never)]
    fn batch_step(
        &self,
        w: &mut Work,
        x: &Mat<f32>,
        labels: &[u8],
        update: bool,
        lip_eps: f64,
        lr: f64,
    ) -> Result<(f64, usize), String> {
        let cfg = &self.cfg;
        let l = w.net.depth();
        let margin = if cfg.lip_margin() {
            lipmargin::power_iterate(&w.net, &mut w.lip_vecs, cfg.lip_margin_power_iters);
            Some(
                LipMargin::new(&w.net, &w.lip_vecs, lip_eps)
                    .with_float(cfg.lip_margin_float)
                    .with_bottom(cfg.lip_margin_loss == MarginLoss::Bottom),
            )
        } else {
            None
        };
        let margin = margin.as_ref();
        let mut meta_gamma = None;
        let (loss, correct, grads, gamma_grad) = match cfg.objective {
            Objective::Bp => {
                let r = backprop_with(&w.net, cfg.loss, x, labels, margin, update, false);
                (r.loss_sum, r.correct, r.grads, None)
            }
            Objective::InputAt => {
                let xa = attack(&w.net, cfg.loss, &self.attack, x, labels, &mut w.rng);
                let r = backprop_with(&w.net, cfg.loss, &xa, labels, margin, update, false);
                let clean = predict(&w.net.forward(x)[l])
                    .iter()
                    .zip(labels)
                    .filter(|(p, t)| p == t)
                    .count();
                (r.loss_sum, clean, r.grads, None)
            }
            _ => {
                let st: Vec<f32> = if cfg.potential.family() == Family::FenchelYoung {
                    let sound = match cfg.damping {
                        Damping::SoundGram(_) => w.sigmas.sigmas(&w.net),
                        _ => Vec::new(),
                    };
                    steps_from(&w.net, cfg.damping, damping_alpha(cfg), &sound)
                } else {
                    vec![1.0; l + 1]
                };
                let (free, free_pre) = free_state_pre(&w.net, &self.spec, &st, x, labels);
                let g = if cfg.objective == Objective::Targeted {
                    choose_targets(cfg.target, &free[l], labels, &mut w.rng)
                } else {
                    Vec::new()
                };
                let r = lifted_batch_from(
                    &w.net, &self.spec, &st, x, labels, &g, &free, &free_pre, margin,
                );
                let every = cfg.meta_every.max(1);
                if update
                    && cfg.meta_gamma == MetaGamma::Validation
                    && w.adam.t.is_multiple_of(every as u64)
                {
                    let count = usize::try_from(w.adam.t).unwrap_or(usize::MAX) / every;
                    meta_gamma =
                        self.meta_validation_gamma(&w.net, x, labels, &g, &st, margin, lr, count);
                }
                (r.loss_sum, r.correct, Some(r.grads), Some(r.gamma_grad))
            }
        };
        if !loss.is_finite() {
            return Err(format!("the objective is {loss}"));
        }
        if !update {
            return Ok((loss, correct));
        }
        let grads = grads.ok_or("no gradient")?;
        let adam_cfg = AdamConfig {
            lr,
            ..self.adam_cfg
        };
        // The finiteness checks of the gradients and of the updated weights ride along the
        // Adam pass; on an error the whole `Work` is dropped, so the partial step is never seen.
        let (grads_finite, params_finite) = w.adam.step_checked(&mut w.net, &grads, &adam_cfg);
        if !grads_finite {
            return Err("a gradient is NaN or infinite".into());
        }
        let mut recheck = false;
        if let (MetaGamma::Constrained, Some(gg)) = (cfg.meta_gamma, gamma_grad) {
            self.meta_gamma_step(&mut w.net, &gg);
            recheck = true;
        }
        if let Some(gamma) = meta_gamma {
            w.net.gamma = gamma;
            recheck = true;
        }
        if cfg.potential.family() == Family::Hopfield {
            let mu = cfg.hopfield_mu_min;
            if mu >= 0.0 {
                let sig = w.sigmas.sigmas(&w.net);
                project_hopfield(&mut w.net, &sig, mu);
                recheck = true;
            }
        }
        let finite = if recheck {
            w.net.all_finite()
        } else {
            params_finite && w.net.gamma.iter().all(|g| g.is_finite())
        };
        if !finite {
            return Err("a weight became NaN or infinite".into());
        }
        Ok((loss, correct))
    }

    /// One descent step of log γ along the hyper-gradient ∂J/∂γ_k = ±(1/β)φ_k (docs/method.md §5.10), with
    /// Σ_k log γ_k held fixed (the step is projected onto that plane). A step that would make an
    /// output block ill posed (docs/method.md §5.9) is skipped.
    fn meta_gamma_step(&self, net: &mut Net<f32>, dj_dgamma: &[f64]) {
        let g: Vec<f64> = net.gamma.iter().map(|&v| f64::from(v)).collect();
        let ds: Vec<f64> = g.iter().zip(dj_dgamma).map(|(gk, d)| gk * d).collect();
        let mean = ds.iter().sum::<f64>() / ds.len() as f64;
        let new: Vec<f64> = g
            .iter()
            .zip(&ds)
            .map(|(gk, d)| (gk.ln() - self.cfg.gamma_lr * (d - mean)).exp())
            .collect();
        let gl = new[new.len() - 1];
        let ok = new.iter().all(|v| v.is_finite() && *v > 0.0)
            && self
                .cfg
                .phase_terms()
                .iter()
                .all(|t| self.cfg.output_block_ok(t, gl));
        if ok {
            net.gamma = new.iter().map(|&v| v as f32).collect();
        }
    }

    /// Accuracy of the free-state prediction (the forward pass under family A).
    fn accuracy(&self, net: &Net<f32>, d: &Dataset) -> f64 {
        if d.is_empty() {
            return 0.0;
        }
        let ones = vec![1.0f32; net.depth() + 1];
        let mut correct = 0usize;
        let idx: Vec<usize> = (0..d.len()).collect();
        for chunk in idx.chunks(EVAL_CHUNK) {
            let (x, labels) = gather(d, chunk);
            let z = free_state(net, &self.spec, &ones, &x, &labels);
            correct += predict(&z[net.depth()])
                .iter()
                .zip(&labels)
                .filter(|(p, t)| p == t)
                .count();
        }
        correct as f64 / d.len() as f64
    }
}

/// The samples `idx` of `d` as a batch matrix and labels.
pub fn gather(d: &Dataset, idx: &[usize]) -> (Mat<f32>, Vec<u8>) {
    let mut data = Vec::with_capacity(idx.len() * d.dim);
    for &i in idx {
        data.extend_from_slice(&d.inputs[i * d.dim..(i + 1) * d.dim]);
    }
    (
        Mat::from_vec(idx.len(), d.dim, data),
        idx.iter().map(|&i| d.labels[i]).collect(),
    )
}

/// The share of `val` that the model of `params`, exported with sound constants and the default
/// limits, classifies correctly and certifies at ℓ2 radius `eps` (0 if it cannot be exported).
fn val_certified_l2(params: &ModelParams, val: &Dataset, eps: f32) -> f64 {
    let Ok(blob) = crate::model::export::build_blob(params, &Limits::default()) else {
        return 0.0;
    };
    let Ok(model) = ModelView::new_checked(blob.as_bytes()) else {
        return 0.0;
    };
    let preds = crate::eval::predict(&model, val, true, &ProgressBar::hidden());
    crate::eval::fraction(
        preds
            .iter()
            .filter(|p| p.certified_at(Norm::L2, eps))
            .count(),
        preds.len(),
    )
}
