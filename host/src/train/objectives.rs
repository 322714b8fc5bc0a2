//! Objective values and gradients of one batch (docs/method.md §5): the lifted objectives through their
//! K-sweep phases and the Danskin/envelope gradients of docs/method.md §5.10, with the γ hyper-gradient.

use lifted_core::schedule::Update;
use lifted_core::Family;
use rand_chacha::ChaCha8Rng;

use super::config::{PhaseTerm, TrainConfig};
use super::linalg::Mat;
use super::lipmargin::LipMargin;
use super::net::{Grads, Net, State};
use super::options::{LossKind, Objective, RelaxedDistance, Target};
use super::phases::{self, loss_grad_row, HiddenRule, PhaseSpec, Targets};
use super::real::Real;
use crate::rng::below;

/// What a lifted objective needs besides the network, resolved from a [`TrainConfig`].
#[derive(Debug, Clone, PartialEq)]
pub struct LiftedSpec {
    /// Potential family.
    pub family: Family,
    /// Hidden-block rule.
    pub rule: HiddenRule,
    /// Target loss.
    pub loss: LossKind,
    /// β.
    pub beta: f64,
    /// The phases and their signs in J.
    pub terms: Vec<PhaseTerm>,
    /// Updates of a phase started from the free state.
    pub phase_updates: Vec<Update>,
    /// Updates of the family-B free phase (init included).
    pub free_updates: Vec<Update>,
}

impl LiftedSpec {
    /// Resolves the lifted part of `cfg` (whatever the objective; `terms` is empty for baselines).
    pub fn new(cfg: &TrainConfig) -> Self {
        let (l, k) = (cfg.layers(), usize::from(cfg.sweeps));
        let (init, schedule) = (cfg.init.core(), cfg.schedule.core());
        let rule = match (cfg.objective, cfg.relaxed_distance) {
            (Objective::Relaxed, RelaxedDistance::PostActivation) => HiddenRule::RelaxedPost,
            (Objective::Relaxed, RelaxedDistance::PreActivation) => HiddenRule::RelaxedPre,
            _ => HiddenRule::Potential,
        };
        LiftedSpec {
            family: cfg.potential.family(),
            rule,
            loss: cfg.loss,
            beta: cfg.beta,
            terms: cfg.phase_terms(),
            phase_updates: phases::phase_updates(l, k, init, schedule),
            free_updates: phases::free_updates(l, k, init, schedule),
        }
    }
}

/// Result of one batch: sums over the batch and batch-averaged gradients.
#[derive(Debug, Clone, PartialEq)]
pub struct BatchResult<T> {
    /// Σ_i J_i (objective value per sample, summed).
    pub loss_sum: f64,
    /// Samples whose free-state prediction equals the label.
    pub correct: usize,
    /// ∇_θ of the batch mean of J.
    pub grads: Grads<T>,
    /// ∂(batch mean of J)/∂γ_k, k = 1 … L (zeros for the baselines).
    pub gamma_grad: Vec<f64>,
}

/// The free state: the forward pass under family A (the exact minimiser of U, docs/method.md §3.1), the
/// K-sweep free phase z° from the configured init under family B (the deployed map).
pub fn free_state<T: Real>(
    net: &Net<T>,
    spec: &LiftedSpec,
    steps: &[T],
    x: &Mat<T>,
    labels: &[u8],
) -> State<T> {
    free_state_pre(net, spec, steps, x, labels).0
}

/// As [`free_state`], with the pre-activations a_k = W_{k−1} z_{k−1} + b_{k−1} of the free
/// state (index k − 1), for [`lifted_batch_from`].
pub fn free_state_pre<T: Real>(
    net: &Net<T>,
    spec: &LiftedSpec,
    steps: &[T],
    x: &Mat<T>,
    labels: &[u8],
) -> (State<T>, Vec<Mat<T>>) {
    match spec.family {
        Family::FenchelYoung => net.forward_pre(x),
        Family::Hopfield => {
            let ps = PhaseSpec {
                family: Family::Hopfield,
                rule: HiddenRule::Potential,
                loss: spec.loss,
                beta: T::ONE,
                mu_y: T::ZERO,
                mu_g: T::ZERO,
                steps,
                updates: &spec.free_updates,
            };
            let mut z = phases::zero_state(net, x);
            let pre = phases::run_cached(
                net,
                &ps,
                Targets { labels, g: &[] },
                None,
                &mut z,
                None,
                None,
            );
            (z, pre)
        }
    }
}

/// Target classes g for the targeted objective (docs/method.md §5.8), from the free logits.
pub fn choose_targets<T: Real>(
    target: Target,
    logits: &Mat<T>,
    labels: &[u8],
    rng: &mut ChaCha8Rng,
) -> Vec<u8> {
    let classes = logits.cols;
    match target {
        Target::RunnerUp => phases::runner_up(logits, labels),
        Target::Random => labels
            .iter()
            .map(|&t| {
                let c = below(rng, classes - 1);
                (if c >= usize::from(t) { c + 1 } else { c }) as u8
            })
            .collect(),
        Target::Fixed(c) => {
            let ru = phases::runner_up(logits, labels);
            labels
                .iter()
                .zip(ru)
                .map(|(&t, r)| if t == c { r } else { c })
                .collect()
        }
    }
}

/// The phase specification of `term`.
pub fn phase_spec<'a, T: Real>(
    spec: &'a LiftedSpec,
    term: &PhaseTerm,
    steps: &'a [T],
) -> PhaseSpec<'a, T> {
    PhaseSpec {
        family: spec.family,
        rule: spec.rule,
        loss: spec.loss,
        beta: T::from_f64(spec.beta),
        mu_y: T::from_f64(term.mu_y),
        mu_g: T::from_f64(term.mu_g),
        steps,
        updates: &spec.phase_updates,
    }
}

/// Value and gradients of a lifted objective on one batch, from a given free state.
///
/// J_i = Σ_phases sign·Φ(ẑ_i); ∇_θ J = Σ_phases (sign/β)[∇_θ Pot(ẑ) − ∇_θ Pot(z°)] (Danskin,
/// docs/method.md §5.10; the z° term vanishes under family A and d_γ); ∂J/∂γ_k = Σ (sign/β)(φ_k(ẑ) − φ_k(z°)).
pub fn lifted_batch<T: Real>(
    net: &Net<T>,
    spec: &LiftedSpec,
    steps: &[T],
    x: &Mat<T>,
    labels: &[u8],
    g: &[u8],
    free: &State<T>,
) -> BatchResult<T> {
    lifted_batch_with(net, spec, steps, x, labels, g, free, None)
}

/// As [`lifted_batch`]; with `margin`, every phase's output loss is taken at the shifted logits
/// ℓ(z_L + h; ·) of the Lipschitz margin, and the gradient gains the term through K:
/// ∂J_i/∂h_i = Σ_phases sign·(μ_y∇ℓ(ẑ_L + h; y) + μ_g∇ℓ(ẑ_L + h; g)) (Danskin; h is a constant
/// of the inner problem).
#[allow(clippy::too_many_arguments)]
pub fn lifted_batch_with<T: Real>(
    net: &Net<T>,
    spec: &LiftedSpec,
    steps: &[T],
    x: &Mat<T>,
    labels: &[u8],
    g: &[u8],
    free: &State<T>,
    margin: Option<&LipMargin<T>>,
) -> BatchResult<T> {
    let free_pre = phases::pres(net, HiddenRule::Potential, free);
    lifted_batch_from(net, spec, steps, x, labels, g, free, &free_pre, margin)
}

/// As [`lifted_batch_with`], with the free state's pre-activations `free_pre` given
/// ([`free_state_pre`]); every pre-activation is computed once and shared by the phase, Φ, the
/// gradient tables and ∂J/∂γ (the same products as computing each afresh).
#[allow(clippy::too_many_arguments)]
pub fn lifted_batch_from<T: Real>(
    net: &Net<T>,
    spec: &LiftedSpec,
    steps: &[T],
    x: &Mat<T>,
    labels: &[u8],
    g: &[u8],
    free: &State<T>,
    free_pre: &[Mat<T>],
    margin: Option<&LipMargin<T>>,
) -> BatchResult<T> {
    let l = net.depth();
    let n = x.rows;
    let correct = phases::predict(&free[l])
        .iter()
        .zip(labels)
        .filter(|(p, t)| p == t)
        .count();
    // φ_k(z°) of family B (its a_k under the phase's rule: the free state's own under the
    // potential; recomputed for d_γ, whose post(z) differs).
    let phi_free = (spec.family == Family::Hopfield).then(|| {
        if spec.rule == HiddenRule::Potential {
            phases::phi_pre(net, spec.family, spec.rule, free, free_pre)
        } else {
            phases::phi(net, spec.family, spec.rule, free)
        }
    });
    let tg = Targets { labels, g };
    let mut grads = Grads::zeros_like(net);
    let mut gamma_grad = vec![0.0; l];
    let mut values = vec![0.0f64; n];
    let inv = T::ONE / (T::from_f64(spec.beta) * T::from_f64(n as f64));
    let float = margin.and_then(|m| m.float_part(net, free));
    let shift = margin.map(|m| m.shifts(labels, float.as_ref()));
    let mut dh = margin.map(|_| Mat::zeros(n, net.width(l)));
    for term in &spec.terms {
        let ps = phase_spec(spec, term, steps);
        let mut z = phases::start_state(net, spec.rule, free);
        // a_1 = W_0 x + b_0 is the free state's a_1 (z_0 = x for every rule).
        let pre = phases::run_cached(net, &ps, tg, shift.as_ref(), &mut z, free_pre.first(), None);
        let ph = phases::phi_pre(net, spec.family, spec.rule, &z, &pre);
        let obj =
            phases::objective_from_phi(net, &ps, tg, shift.as_ref(), &z, &ph, phi_free.as_deref());
        for (v, o) in values.iter_mut().zip(&obj) {
            *v += term.sign * o.to_f64();
        }
        if let (Some(h), Some(dh)) = (shift.as_ref(), dh.as_mut()) {
            shift_grad_acc(spec, term, tg, &z[l], h, dh);
        }
        let sign = T::from_f64(term.sign);
        phases::potential_grad_acc_pre(
            net,
            spec.family,
            spec.rule,
            &z,
            &pre,
            sign * inv,
            &mut grads,
        );
        if spec.family == Family::Hopfield && spec.rule == HiddenRule::Potential {
            phases::potential_grad_acc_pre(
                net,
                spec.family,
                spec.rule,
                free,
                free_pre,
                -sign * inv,
                &mut grads,
            );
        }
        for k in 0..l {
            let s: f64 = (0..n)
                .map(|i| ph[k][i].to_f64() - phi_free.as_ref().map_or(0.0, |p| p[k][i].to_f64()))
                .sum();
            gamma_grad[k] += term.sign / spec.beta * s / n as f64;
        }
    }
    if let (Some(m), Some(dh)) = (margin, dh.as_ref()) {
        let s = T::ONE / T::from_f64(n as f64);
        m.grad_acc(net, labels, dh, s, float.as_ref(), &mut grads);
    }
    BatchResult {
        loss_sum: values.iter().sum(),
        correct,
        grads,
        gamma_grad,
    }
}

/// Adds sign·∂Φ/∂h = sign·(μ_y∇ℓ(z_L + h; y) + μ_g∇ℓ(z_L + h; g)) of one phase to `dh`.
fn shift_grad_acc<T: Real>(
    spec: &LiftedSpec,
    term: &PhaseTerm,
    tg: Targets<'_>,
    zl: &Mat<T>,
    h: &Mat<T>,
    dh: &mut Mat<T>,
) {
    let (sy, sg) = (
        T::from_f64(term.sign * term.mu_y),
        T::from_f64(term.sign * term.mu_g),
    );
    for i in 0..zl.rows {
        let zh: Vec<T> = zl
            .row(i)
            .iter()
            .zip(h.row(i))
            .map(|(&a, &b)| a + b)
            .collect();
        let out = dh.row_mut(i);
        if term.mu_y != 0.0 {
            let gy = loss_grad_row(spec.loss, &zh, usize::from(tg.labels[i]));
            out.iter_mut().zip(&gy).for_each(|(o, &v)| *o += sy * v);
        }
        if term.mu_g != 0.0 {
            let gg = loss_grad_row(spec.loss, &zh, usize::from(tg.g[i]));
            out.iter_mut().zip(&gg).for_each(|(o, &v)| *o += sg * v);
        }
    }
}

/// The lifted objective's value per sample (no gradients), e.g. for finite differences.
pub fn lifted_values<T: Real>(
    net: &Net<T>,
    spec: &LiftedSpec,
    steps: &[T],
    x: &Mat<T>,
    labels: &[u8],
    g: &[u8],
) -> Vec<f64> {
    lifted_values_with(net, spec, steps, x, labels, g, None)
}

/// As [`lifted_values`], with the Lipschitz-margin shift of `margin` (see [`lifted_batch_with`]).
pub fn lifted_values_with<T: Real>(
    net: &Net<T>,
    spec: &LiftedSpec,
    steps: &[T],
    x: &Mat<T>,
    labels: &[u8],
    g: &[u8],
    margin: Option<&LipMargin<T>>,
) -> Vec<f64> {
    let free = free_state(net, spec, steps, x, labels);
    let phi_free =
        (spec.family == Family::Hopfield).then(|| phases::phi(net, spec.family, spec.rule, &free));
    let tg = Targets { labels, g };
    let float = margin.and_then(|m| m.float_part(net, &free));
    let shift = margin.map(|m| m.shifts(labels, float.as_ref()));
    let mut values = vec![0.0f64; x.rows];
    for term in &spec.terms {
        let ps = phase_spec(spec, term, steps);
        let mut z = phases::start_state(net, spec.rule, &free);
        phases::run_shifted(net, &ps, tg, shift.as_ref(), &mut z, None);
        for (v, o) in values.iter_mut().zip(phases::objective_shifted(
            net,
            &ps,
            tg,
            shift.as_ref(),
            &z,
            phi_free.as_deref(),
        )) {
            *v += term.sign * o.to_f64();
        }
    }
    values
}
