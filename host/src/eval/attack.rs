//! Projected gradient attacks (docs/method.md §7.6) on the deployed inference.
//!
//! - Directions come from [`Unrolled`], the f64 mirror of the K-sweep inference, differentiated
//!   through every unrolled update. The loss is the logit margin max_{j≠t} s_j − s_t, ascended.
//! - **Success is decided by `lifted_core::infer`** (or, for hidden-layer attacks, by the f32
//!   forward kernels of `lifted_core` from block k, see [`lifted_core::downstream`]): every
//!   iterate is rounded to f32 *toward the centre* (so it stays inside the ball and the input
//!   range in exact arithmetic), evaluated, and counts only if the f32 prediction differs from
//!   the defended class.
//! - ℓ∞: steps α·sign(∇), ℓ2: normalised steps α·∇/‖∇‖₂, with α = `rel_step`·ε scaled by the
//!   [`StepSchedule`]; after each step the point is projected onto the ball, then clipped to the
//!   input range (for ℓ2 this order keeps it inside both, since clipping only moves coordinates
//!   toward the centre, which is in range). Random starts are uniform in the ball (then clipped).
//! - Every restart has its own ChaCha8 stream, seeded from (seed, sample stream, restart), so
//!   results do not depend on the number of threads.

use lifted_core::{infer, ModelView, Norm, Workspace};
use rand_chacha::rand_core::SeedableRng;
use rand_chacha::ChaCha8Rng;
use serde::Serialize;

use crate::eval::grad::Unrolled;
use crate::rng::{mix, normal, uniform};

/// How the step size evolves over the steps of one restart.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, clap::ValueEnum)]
#[serde(rename_all = "kebab-case")]
pub enum StepSchedule {
    /// α for every step (docs/method.md §7.6).
    Constant,
    /// α·½(1 + cos(π t / T)): large steps first, fine steps at the end.
    Cosine,
    /// α, halved after 50 % and again after 75 % of the steps.
    Halving,
}

impl StepSchedule {
    fn factor(self, t: usize, steps: usize) -> f64 {
        let frac = t as f64 / steps.max(1) as f64;
        match self {
            StepSchedule::Constant => 1.0,
            StepSchedule::Cosine => 0.5 * (1.0 + (std::f64::consts::PI * frac).cos()),
            StepSchedule::Halving => {
                if frac < 0.5 {
                    1.0
                } else if frac < 0.75 {
                    0.5
                } else {
                    0.25
                }
            }
        }
    }
}

/// Settings of a PGD attack.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct PgdConfig {
    /// Gradient steps per restart (docs/method.md §7.6: 40).
    pub steps: usize,
    /// Independent restarts (docs/method.md §7.6: ≥ 10 at the selected epoch).
    pub restarts: usize,
    /// Step size as a fraction of ε (docs/method.md §7.6: 0.1, i.e. ε/10).
    pub rel_step: f64,
    /// Step-size schedule.
    pub schedule: StepSchedule,
    /// Start every restart at a uniform random point of the ball (otherwise at the centre).
    pub random_start: bool,
    /// Seed of the random starts.
    pub seed: u64,
}

impl Default for PgdConfig {
    fn default() -> Self {
        PgdConfig {
            steps: 40,
            restarts: 1,
            rel_step: 0.1,
            schedule: StepSchedule::Constant,
            random_start: true,
            seed: 0,
        }
    }
}

/// What one attack found.
#[derive(Debug, Clone, PartialEq)]
pub struct AttackResult {
    /// Whether a point of the ball was given another class than the defended one (or made the
    /// inference fail).
    pub success: bool,
    /// The successful point (f32, inside the ball and the input range), if any.
    pub point: Option<Vec<f32>>,
    /// Class of the successful point (`None` if the inference failed there or nothing was found).
    pub class: Option<usize>,
    /// Smallest f32 margin s_t − max_{j≠t} s_j seen over all evaluated points (≤ 0 on success).
    pub min_margin: f32,
    /// Points evaluated with `lifted_core`.
    pub evaluations: usize,
}

/// The f32 verdict on one candidate.
#[derive(Debug, Clone, Copy)]
pub struct Verdict {
    /// Predicted class, or `None` if the f32 inference failed.
    pub class: Option<usize>,
    /// s_t − max_{j≠t} s_j in f32 (−∞ if the inference failed).
    pub margin: f32,
}

/// The verdict of `lifted_core`'s f32 logits for defended class `target`.
#[must_use]
pub fn verdict(logits: &[f32], class: usize, target: usize) -> Verdict {
    let st = logits.get(target).copied().unwrap_or(f32::NAN);
    let other = logits
        .iter()
        .enumerate()
        .filter(|&(j, _)| j != target)
        .map(|(_, &v)| v)
        .fold(f32::NEG_INFINITY, f32::max);
    let margin = st - other;
    Verdict {
        class: Some(class),
        margin: if margin.is_nan() {
            f32::NEG_INFINITY
        } else {
            margin
        },
    }
}

/// The constraint set: a ball around `center`, intersected with a box (the input range).
#[derive(Debug, Clone, Copy)]
pub struct Ball<'a> {
    /// Centre (the clean input, or the clean hidden block).
    pub center: &'a [f32],
    /// Radius.
    pub eps: f64,
    /// Norm of the ball.
    pub norm: Norm,
    /// Input range (`None` for hidden blocks, which are unconstrained).
    pub range: Option<(f32, f32)>,
}

impl Ball<'_> {
    /// Projects `x` onto the ball, then clips it to the range.
    fn project(&self, x: &mut [f64]) {
        match self.norm {
            Norm::Linf => {
                for (xi, &c) in x.iter_mut().zip(self.center) {
                    let c = f64::from(c);
                    *xi = xi.clamp(c - self.eps, c + self.eps);
                }
            }
            Norm::L2 => {
                let n2: f64 = x
                    .iter()
                    .zip(self.center)
                    .map(|(&xi, &c)| (xi - f64::from(c)).powi(2))
                    .sum();
                let n = n2.sqrt();
                if n > self.eps {
                    // A hair inside, so that rounding never leaves the ball.
                    let s = self.eps / n * (1.0 - 1e-12);
                    for (xi, &c) in x.iter_mut().zip(self.center) {
                        let c = f64::from(c);
                        *xi = c + (*xi - c) * s;
                    }
                }
            }
        }
        if let Some((lo, hi)) = self.range {
            for xi in x.iter_mut() {
                *xi = xi.clamp(f64::from(lo), f64::from(hi));
            }
        }
    }

    /// A uniform random point of the ball (before clipping to the range).
    fn random_point(&self, rng: &mut ChaCha8Rng) -> Vec<f64> {
        let n = self.center.len();
        let delta: Vec<f64> = match self.norm {
            Norm::Linf => (0..n)
                .map(|_| (2.0 * uniform(rng) - 1.0) * self.eps)
                .collect(),
            Norm::L2 => {
                let g: Vec<f64> = (0..n).map(|_| normal(rng)).collect();
                let gn = g
                    .iter()
                    .map(|v| v * v)
                    .sum::<f64>()
                    .sqrt()
                    .max(f64::MIN_POSITIVE);
                let r = self.eps * uniform(rng).powf(1.0 / n.max(1) as f64);
                g.iter().map(|v| v / gn * r).collect()
            }
        };
        self.center
            .iter()
            .zip(delta)
            .map(|(&c, d)| f64::from(c) + d)
            .collect()
    }

    /// Rounds `x` to f32 toward the centre: each coordinate moves at most as far from the centre
    /// as in `x`, so the point stays in the ball and the range.
    #[must_use]
    pub fn round_inward(&self, x: &[f64]) -> Vec<f32> {
        x.iter()
            .zip(self.center)
            .map(|(&xi, &c)| {
                let v = xi as f32;
                let (dv, dx) = (
                    (f64::from(v) - f64::from(c)).abs(),
                    (xi - f64::from(c)).abs(),
                );
                if dv > dx {
                    if v > c {
                        v.next_down()
                    } else {
                        v.next_up()
                    }
                } else {
                    v
                }
            })
            .collect()
    }

    /// Whether the f32 point lies in the closed ball and the range (checked in f64).
    #[must_use]
    pub fn contains(&self, p: &[f32]) -> bool {
        if p.len() != self.center.len() {
            return false;
        }
        if let Some((lo, hi)) = self.range {
            if !p.iter().all(|&v| v >= lo && v <= hi) {
                return false;
            }
        }
        let d = p
            .iter()
            .zip(self.center)
            .map(|(&v, &c)| f64::from(v) - f64::from(c));
        match self.norm {
            Norm::Linf => d.map(f64::abs).fold(0.0, f64::max) <= self.eps,
            Norm::L2 => d.map(|v| v * v).sum::<f64>().sqrt() <= self.eps,
        }
    }
}

/// Runs PGD on `ball`: `grad` gives the margin loss and its gradient at a point (f64),
/// `judge` the f32 verdict at a candidate. `stream` separates the random streams of samples.
pub fn pgd(
    ball: &Ball<'_>,
    target: usize,
    cfg: &PgdConfig,
    stream: u64,
    grad: impl Fn(&[f64]) -> (f64, Vec<f64>),
    mut judge: impl FnMut(&[f32]) -> Verdict,
) -> AttackResult {
    let mut out = AttackResult {
        success: false,
        point: None,
        class: None,
        min_margin: f32::INFINITY,
        evaluations: 0,
    };
    let mut consider = |p: Vec<f32>, out: &mut AttackResult| -> bool {
        if !ball.contains(&p) {
            return false;
        }
        let v = judge(&p);
        out.evaluations += 1;
        out.min_margin = out.min_margin.min(v.margin);
        if v.class != Some(target) {
            out.success = true;
            out.class = v.class;
            out.point = Some(p);
            return true;
        }
        false
    };
    if ball.eps.is_nan() || ball.eps <= 0.0 {
        consider(ball.center.to_vec(), &mut out);
        return out;
    }
    let alpha = cfg.rel_step * ball.eps;
    for r in 0..cfg.restarts.max(1) {
        let mut rng = ChaCha8Rng::seed_from_u64(mix(mix(cfg.seed ^ mix(stream)) ^ r as u64));
        let mut x: Vec<f64> = if cfg.random_start {
            ball.random_point(&mut rng)
        } else {
            ball.center.iter().map(|&c| f64::from(c)).collect()
        };
        ball.project(&mut x);
        if consider(ball.round_inward(&x), &mut out) {
            return out;
        }
        for t in 0..cfg.steps {
            let (_, g) = grad(&x);
            let a = alpha * cfg.schedule.factor(t, cfg.steps);
            match ball.norm {
                Norm::Linf => {
                    if g.iter().all(|&v| v == 0.0 || !v.is_finite()) {
                        break;
                    }
                    for (xi, gi) in x.iter_mut().zip(&g) {
                        if gi.is_finite() {
                            *xi += a * gi.signum() * f64::from(u8::from(*gi != 0.0));
                        }
                    }
                }
                Norm::L2 => {
                    let gn = g.iter().map(|v| v * v).sum::<f64>().sqrt();
                    if gn.is_nan() || gn <= 0.0 || !gn.is_finite() {
                        break;
                    }
                    for (xi, gi) in x.iter_mut().zip(&g) {
                        *xi += a * gi / gn;
                    }
                }
            }
            ball.project(&mut x);
            if consider(ball.round_inward(&x), &mut out) {
                return out;
            }
        }
    }
    out
}

/// PGD against one model: its checked view, its f64 mirror and the attack settings.
#[derive(Debug, Clone)]
pub struct Attacker<'v, 'a> {
    /// The deployed model (judges every candidate).
    pub model: &'v ModelView<'a>,
    /// Its f64 mirror (gives the directions).
    pub net: Unrolled,
    /// Attack settings.
    pub cfg: PgdConfig,
}

impl<'v, 'a> Attacker<'v, 'a> {
    /// Builds the mirror of `model`.
    #[must_use]
    pub fn new(model: &'v ModelView<'a>, cfg: PgdConfig) -> Self {
        Attacker {
            model,
            net: Unrolled::new(model),
            cfg,
        }
    }

    /// Attacks input `x` in the `norm` ball of radius `eps` (∩ the model's input range),
    /// defending class `target`. Candidates are judged by `lifted_core::infer`.
    #[must_use]
    pub fn input(
        &self,
        x: &[f32],
        target: usize,
        norm: Norm,
        eps: f64,
        stream: u64,
    ) -> AttackResult {
        let model = self.model;
        let h = model.header();
        let ball = Ball {
            center: x,
            eps,
            norm,
            range: Some((h.input_min, h.input_max)),
        };
        let mut buf = vec![0.0f32; Workspace::required(model)];
        pgd(
            &ball,
            target,
            &self.cfg,
            stream,
            |p| self.net.margin_grad(p, target),
            |p| match infer(model, p, &mut Workspace::new(&mut buf)) {
                Ok(o) => verdict(o.logits, o.class, target),
                Err(_) => Verdict {
                    class: None,
                    margin: f32::NEG_INFINITY,
                },
            },
        )
    }

    /// Attacks hidden block `k` (1 ≤ k < L) at its value `zk` in the ℓ2 ball of radius `eps` (no
    /// range), the remaining layers running forward, defending class `target`. Candidates are
    /// judged by the f32 forward kernels of `lifted_core` ([`lifted_core::downstream`]).
    #[must_use]
    pub fn internal(
        &self,
        k: usize,
        zk: &[f32],
        target: usize,
        eps: f64,
        stream: u64,
    ) -> AttackResult {
        let model = self.model;
        let scratch = lifted_core::downstream_scratch(model);
        let ball = Ball {
            center: zk,
            eps,
            norm: Norm::L2,
            range: None,
        };
        pgd(
            &ball,
            target,
            &self.cfg,
            stream,
            |p| self.net.downstream_margin_grad(k, p, target),
            |p| match lifted_core::downstream(model, k, p, &mut vec![0.0; scratch]) {
                Ok(logits) => {
                    let (c, _) = lifted_core::top_two(logits);
                    verdict(logits, c, target)
                }
                Err(_) => Verdict {
                    class: None,
                    margin: f32::NEG_INFINITY,
                },
            },
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rounding_inward_stays_inside() {
        let center = [0.3f32, 0.7, 0.0, 1.0];
        for norm in [Norm::L2, Norm::Linf] {
            let ball = Ball {
                center: &center,
                eps: 0.1,
                norm,
                range: Some((0.0, 1.0)),
            };
            let mut rng = ChaCha8Rng::seed_from_u64(1);
            for _ in 0..2000 {
                let mut x = ball.random_point(&mut rng);
                for v in &mut x {
                    *v += (uniform(&mut rng) - 0.5) * 0.3;
                }
                ball.project(&mut x);
                let p = ball.round_inward(&x);
                assert!(ball.contains(&p), "{norm:?} {x:?} {p:?}");
            }
        }
    }

    #[test]
    fn schedules() {
        assert_eq!(StepSchedule::Constant.factor(30, 40), 1.0);
        assert_eq!(StepSchedule::Cosine.factor(0, 40), 1.0);
        assert!(StepSchedule::Cosine.factor(39, 40) < 0.01);
        assert_eq!(StepSchedule::Halving.factor(25, 40), 0.5);
        assert_eq!(StepSchedule::Halving.factor(35, 40), 0.25);
    }

    #[test]
    fn finds_the_boundary_of_a_linear_classifier() {
        // Two classes, s_1 − s_0 = x_0 − 0.5: the defended class 0 at x = 0.3 falls at ‖δ‖ > 0.2.
        let center = [0.3f32, 0.5];
        let grad = |x: &[f64]| (x[0] - 0.5, vec![1.0, 0.0]);
        let judge = |p: &[f32]| {
            let m = 0.5 - p[0];
            Verdict {
                class: Some(usize::from(m < 0.0)),
                margin: m,
            }
        };
        for norm in [Norm::L2, Norm::Linf] {
            let cfg = PgdConfig::default();
            let hit = pgd(
                &Ball {
                    center: &center,
                    eps: 0.25,
                    norm,
                    range: Some((0.0, 1.0)),
                },
                0,
                &cfg,
                3,
                grad,
                judge,
            );
            assert!(hit.success && hit.class == Some(1), "{norm:?}");
            let miss = pgd(
                &Ball {
                    center: &center,
                    eps: 0.15,
                    norm,
                    range: Some((0.0, 1.0)),
                },
                0,
                &cfg,
                3,
                grad,
                judge,
            );
            assert!(!miss.success && miss.min_margin > 0.0, "{norm:?}");
            assert!(
                miss.min_margin < 0.07,
                "PGD should reach the ball's edge: {}",
                miss.min_margin
            );
        }
    }
}
