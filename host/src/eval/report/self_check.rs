//! The attack self-check: every issued certificate attacked at its radius.

use indicatif::{ParallelProgressIterator, ProgressBar};
use lifted_core::{infer, ModelView, Norm, Workspace};
use rayon::prelude::*;

use super::{Broken, SelfCheck};
use crate::eval::attack::{Attacker, PgdConfig};
use crate::eval::{stream, Prediction, Target};

/// One attack job of the self-check.
struct Job {
    sample: usize,
    target: Target,
    radius: f64,
    class: usize,
}

/// Attacks every issued certificate (input ℓ2, input ℓ∞ and every hidden layer) at its certified
/// radius times `radius_scale`, defending the certified class. Any success is a broken
/// certificate. `inputs(i)` is sample i's input.
#[must_use]
pub fn self_check<'d>(
    model: &ModelView<'_>,
    inputs: impl Fn(usize) -> Option<&'d [f32]> + Sync,
    preds: &[Prediction],
    pgd: &PgdConfig,
    radius_scale: f64,
    pb: &ProgressBar,
) -> SelfCheck {
    let mut jobs = Vec::new();
    for (i, p) in preds.iter().enumerate() {
        for (norm, target) in [(Norm::L2, Target::InputL2), (Norm::Linf, Target::InputLinf)] {
            if let Some(c) = p
                .certificate(norm)
                .filter(|c| c.rejection.is_none() && c.radius > 0.0)
            {
                jobs.push(Job {
                    sample: i,
                    target,
                    radius: f64::from(c.radius) * radius_scale,
                    class: usize::from(c.class),
                });
            }
        }
        if let Some(c) = &p.l2 {
            for (k0, &r) in c.internal.iter().enumerate() {
                if r > 0.0 {
                    let class = usize::from(c.class);
                    jobs.push(Job {
                        sample: i,
                        target: Target::Hidden(k0 + 1),
                        radius: f64::from(r) * radius_scale,
                        class,
                    });
                }
            }
        }
    }
    pb.set_length(jobs.len() as u64);
    let attacker = Attacker::new(model, *pgd);
    let need = Workspace::required(model);
    let results: Vec<Option<Broken>> = jobs
        .par_iter()
        .progress_with(pb.clone())
        .map_init(
            || vec![0.0f32; need],
            |buf, job| {
                let x = inputs(job.sample)?;
                let s = stream(job.sample, job.target);
                let hit = match job.target {
                    Target::InputL2 => attacker.input(x, job.class, Norm::L2, job.radius, s),
                    Target::InputLinf => attacker.input(x, job.class, Norm::Linf, job.radius, s),
                    Target::Hidden(k) => {
                        let mut ws = Workspace::new(buf);
                        let o = infer(model, x, &mut ws).ok()?;
                        let zk = o.block(model, k).to_vec();
                        attacker.internal(k, &zk, job.class, job.radius, s)
                    }
                };
                hit.success.then(|| Broken {
                    sample: job.sample,
                    target: job.target,
                    radius: job.radius,
                    class: job.class,
                    adversarial_class: hit.class,
                    point: hit.point.unwrap_or_default(),
                })
            },
        )
        .collect();
    let mut labels: Vec<String> = vec!["l2".into(), "linf".into()];
    labels.extend((1..model.layers()).map(|k| format!("z{k}")));
    let count = |label: &str, broken: bool| {
        jobs.iter()
            .zip(&results)
            .filter(|(j, r)| j.target.label() == label && (!broken || r.is_some()))
            .count()
    };
    let attacked = labels
        .iter()
        .map(|l| (l.clone(), count(l, false)))
        .collect();
    let broken_by_target = labels.iter().map(|l| (l.clone(), count(l, true))).collect();
    let broken_all: Vec<Broken> = results.into_iter().flatten().collect();
    SelfCheck {
        pgd: *pgd,
        radius_scale,
        attacked,
        broken_by_target,
        broken: broken_all.len(),
        examples: broken_all.into_iter().take(10).collect(),
    }
}
