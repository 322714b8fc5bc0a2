//! Batched K-sweep phases (docs/method.md §4): the closed-form output updates (§4.1), the hidden block
//! updates of family A (§4.2), family B (§4.3) and the relaxed distance d_γ (§5.7), run along
//! exactly the `lifted_core::schedule::Updates` list. The potentials, Φ and the gradients are in
//! [`super::potential`] (re-exported here).
//!
//! A phase minimises Φ(z) = μ_y ℓ(z_L; y) + μ_g ℓ(z_L; g) + (1/β)·Σ_k γ_k φ_k(z) over the blocks
//! z_1 … z_L with z_0 = x fixed (an adversarial phase is the same with μ_y = −λ_u, μ_g = λ_t).
//!
//! **Cross-entropy.** ℓ = logsumexp(z) − z_c has no closed-form output block; the output block
//! is then solved by [`CE_ITERATIONS`] fixed-point iterations z ← a − (μ_y(σ(z) − e_y) +
//! μ_g(σ(z) − e_g))/κ from z = a, a contraction when |μ_y + μ_g| < 2κ (the softmax Jacobian has
//! norm ≤ ½), which `TrainConfig::validate` checks. The gradient tables are unchanged (ℓ does not
//! depend on θ), but the block update is no longer exact, so the monotonicity oracles are stated
//! for the squared loss only.

use std::borrow::Cow;

use lifted_core::schedule::{Update, Updates};
use lifted_core::Family;

use super::linalg::{times, Mat};
use super::net::{act, dact, Net, State};
use super::options::LossKind;
use super::real::Real;

pub use super::potential::{
    loss_grad_row, loss_row, objective, objective_from_phi, objective_shifted, phi, phi_pre,
    potential_grad_acc, potential_grad_acc_pre, predict, pres, runner_up, softmax,
};

/// Fixed-point iterations of the cross-entropy output block.
pub const CE_ITERATIONS: usize = 30;

/// How the hidden blocks are updated, i.e. which potential the phase uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HiddenRule {
    /// The network potential: family A damped proximal step (§4.2) or family B closed form (§4.3).
    Potential,
    /// d_γ with post-activation perturbations (§5.7); state blocks are z_k.
    RelaxedPost,
    /// d_γ with pre-activation perturbations; hidden state blocks hold u_k, with z_k = f_k(u_k).
    RelaxedPre,
}

/// Everything a phase needs besides the network and the batch.
#[derive(Debug, Clone, Copy)]
pub struct PhaseSpec<'a, T> {
    /// Potential family (used by [`HiddenRule::Potential`]).
    pub family: Family,
    /// Hidden-block rule.
    pub rule: HiddenRule,
    /// Target loss.
    pub loss: LossKind,
    /// β.
    pub beta: T,
    /// Weight of ℓ(z_L; y).
    pub mu_y: T,
    /// Weight of ℓ(z_L; g).
    pub mu_g: T,
    /// Damped steps η_k = 1/(1 + L_k), indexed by block k (length L + 1; only hidden k are read).
    pub steps: &'a [T],
    /// The update list to run.
    pub updates: &'a [Update],
}

/// Labels y and targets g of a batch (g may be empty when μ_g = 0).
#[derive(Debug, Clone, Copy)]
pub struct Targets<'a> {
    /// True classes t.
    pub labels: &'a [u8],
    /// Target classes g.
    pub g: &'a [u8],
}

/// The update list of a phase started from a given state: the schedule without its init part.
pub fn phase_updates(
    layers: usize,
    sweeps: usize,
    init: lifted_core::Init,
    schedule: lifted_core::Schedule,
) -> Vec<Update> {
    Updates::new(layers, sweeps, init, schedule)
        .filter(|u| !matches!(u, Update::Forward(_)))
        .collect()
}

/// The full update list of the deployed inference (init included).
pub fn free_updates(
    layers: usize,
    sweeps: usize,
    init: lifted_core::Init,
    schedule: lifted_core::Schedule,
) -> Vec<Update> {
    Updates::new(layers, sweeps, init, schedule).collect()
}

/// The post-activation value of block k: z_k, or f_k(u_k) for hidden blocks under
/// [`HiddenRule::RelaxedPre`].
pub fn post<'s, T: Real>(
    net: &Net<T>,
    rule: HiddenRule,
    z: &'s State<T>,
    k: usize,
) -> Cow<'s, Mat<T>> {
    if rule == HiddenRule::RelaxedPre && k >= 1 && k < net.depth() {
        let f = net.activation(k);
        Cow::Owned(z[k].map(|v| act(f, v)))
    } else {
        Cow::Borrowed(&z[k])
    }
}

/// The state a phase starts from, given the free state: the free state itself, or for
/// [`HiddenRule::RelaxedPre`] its pre-activations.
pub fn start_state<T: Real>(net: &Net<T>, rule: HiddenRule, free: &State<T>) -> State<T> {
    let mut z = free.clone();
    if rule == HiddenRule::RelaxedPre {
        for k in 1..net.depth() {
            z[k] = net.pre(k, &free[k - 1]);
        }
    }
    z
}

/// A zero state (z_0 = x), for zero initialisation.
pub fn zero_state<T: Real>(net: &Net<T>, x: &Mat<T>) -> State<T> {
    let mut z = vec![x.clone()];
    for k in 1..=net.depth() {
        z.push(Mat::zeros(x.rows, net.width(k)));
    }
    z
}

/// A callback that sees the state after every update.
pub type Trace<'t, T> = &'t mut dyn FnMut(Update, &State<T>);

/// Runs the phase's update list on `z`; `trace` (if any) sees the state after every update.
pub fn run<T: Real>(
    net: &Net<T>,
    spec: &PhaseSpec<'_, T>,
    tg: Targets<'_>,
    z: &mut State<T>,
    trace: Option<Trace<'_, T>>,
) {
    run_shifted(net, spec, tg, None, z, trace);
}

/// As [`run`], with the output loss taken at shifted logits, ℓ(z_L + h; ·), for a constant
/// shift `h` (B × C; the Lipschitz margin of [`super::lipmargin`]). Hidden blocks are unchanged.
pub fn run_shifted<T: Real>(
    net: &Net<T>,
    spec: &PhaseSpec<'_, T>,
    tg: Targets<'_>,
    shift: Option<&Mat<T>>,
    z: &mut State<T>,
    trace: Option<Trace<'_, T>>,
) {
    run_cached(net, spec, tg, shift, z, None, trace);
}

/// The pre-activations a_k = W_{k−1} post(z_{k−1}) + b_{k−1} of a state, k = 1 … L (index
/// k − 1), each computed only when asked for and kept until block k − 1 changes.
struct PreCache<T> {
    a: Vec<Option<Mat<T>>>,
}

impl<T: Real> PreCache<T> {
    fn new(l: usize) -> Self {
        PreCache {
            a: (0..l).map(|_| None).collect(),
        }
    }

    /// a_k for the current state.
    fn get(&mut self, net: &Net<T>, rule: HiddenRule, z: &State<T>, k: usize) -> &Mat<T> {
        self.a[k - 1].get_or_insert_with(|| net.pre(k, &post(net, rule, z, k - 1)))
    }

    /// Block k changed: a_{k+1} is stale.
    fn changed(&mut self, k: usize) {
        if let Some(slot) = self.a.get_mut(k) {
            *slot = None;
        }
    }
}

/// As [`run_shifted`]; `a1` (if given) is a_1 = W_0 x + b_0, and the pre-activations a_1 … a_L
/// of the final state are returned (index k − 1). Every a_k is computed once per change of
/// z_{k−1} by the same product as [`Net::pre`], so the results are those of computing it afresh
/// at every use.
pub fn run_cached<T: Real>(
    net: &Net<T>,
    spec: &PhaseSpec<'_, T>,
    tg: Targets<'_>,
    shift: Option<&Mat<T>>,
    z: &mut State<T>,
    a1: Option<&Mat<T>>,
    mut trace: Option<Trace<'_, T>>,
) -> Vec<Mat<T>> {
    let l = net.depth();
    let rule = spec.rule;
    let mut cache = PreCache::new(l);
    // a_1 = W_0 x + b_0 never changes (x is fixed).
    cache.a[0] = Some(match a1 {
        Some(a) => a.clone(),
        None => net.pre(1, &z[0]),
    });
    for &u in spec.updates {
        match u {
            Update::Forward(k) => {
                let a = cache.get(net, rule, z, k);
                z[k] = if rule == HiddenRule::RelaxedPre && k < l {
                    a.clone()
                } else {
                    a.map(|v| act(net.activation(k), v))
                };
                cache.changed(k);
            }
            Update::Output => {
                let a = cache.get(net, rule, z, l).clone();
                z[l] = output_block(spec, tg, shift, a, net.gamma_k(l) / spec.beta);
            }
            Update::Hidden(k) => {
                // a_{k+1} of the current z_k first, then a_k (both cached).
                cache.get(net, rule, z, k + 1);
                cache.get(net, rule, z, k);
                let (a, next) = match (&cache.a[k - 1], &cache.a[k]) {
                    (Some(a), Some(n)) => (a, n),
                    _ => unreachable!("both pre-activations were just filled"),
                };
                match rule {
                    HiddenRule::Potential => hidden_potential(net, spec, z, k, a, next),
                    HiddenRule::RelaxedPost => {
                        hidden_relaxed_post(net, spec.steps[k], z, k, a, next);
                    }
                    HiddenRule::RelaxedPre => {
                        hidden_relaxed_pre(net, spec.steps[k], z, k, a, next);
                    }
                }
                cache.changed(k);
            }
        }
        if let Some(t) = trace.as_mut() {
            t(u, z);
        }
    }
    (1..=l)
        .map(|k| {
            cache.get(net, rule, z, k);
            cache.a[k - 1].take().unwrap_or_default()
        })
        .collect()
}

/// The output block minimiser for pre-activations `a` (docs/method.md §4.1): (κa + μ_y e_y + μ_g e_g)/(κ + μ_y + μ_g)
/// for the squared loss, κ = γ_L/β; z_L = a in the free phase. With a shift h (loss at z_L + h)
/// the squared-loss numerator gains −(μ_y + μ_g)h and the cross-entropy softmax is taken at z + h.
fn output_block<T: Real>(
    spec: &PhaseSpec<'_, T>,
    tg: Targets<'_>,
    shift: Option<&Mat<T>>,
    mut a: Mat<T>,
    kappa: T,
) -> Mat<T> {
    if spec.mu_y == T::ZERO && spec.mu_g == T::ZERO {
        return a;
    }
    for i in 0..a.rows {
        let (t, g) = (
            usize::from(tg.labels[i]),
            tg.g.get(i).map(|&g| usize::from(g)),
        );
        let h = shift.map(|m| m.row(i));
        let row = a.row_mut(i);
        match spec.loss {
            LossKind::Squared => {
                let den = kappa + spec.mu_y + spec.mu_g;
                for (j, v) in row.iter_mut().enumerate() {
                    let mut num = kappa * *v;
                    if j == t {
                        num += spec.mu_y;
                    }
                    if Some(j) == g {
                        num += spec.mu_g;
                    }
                    if let Some(h) = h {
                        num -= (spec.mu_y + spec.mu_g) * h[j];
                    }
                    *v = num / den;
                }
            }
            LossKind::CrossEntropy => {
                let a0 = row.to_vec();
                for _ in 0..CE_ITERATIONS {
                    let s = match h {
                        Some(h) => {
                            let zh: Vec<T> = row.iter().zip(h).map(|(&v, &d)| v + d).collect();
                            softmax(&zh)
                        }
                        None => softmax(row),
                    };
                    for (j, v) in row.iter_mut().enumerate() {
                        let mut grad = (spec.mu_y + spec.mu_g) * s[j];
                        if j == t {
                            grad -= spec.mu_y;
                        }
                        if Some(j) == g {
                            grad -= spec.mu_g;
                        }
                        *v = a0[j] - grad / kappa;
                    }
                }
            }
        }
    }
    a
}

/// Hidden block k under the potential; `a` = a_k(z_{k−1}), `next` = a_{k+1}(z_k).
fn hidden_potential<T: Real>(
    net: &Net<T>,
    spec: &PhaseSpec<'_, T>,
    z: &mut State<T>,
    k: usize,
    a: &Mat<T>,
    next: &Mat<T>,
) {
    let (fk, fnext) = (net.activation(k), net.activation(k + 1));
    let rho = net.rho(k);
    let w = &net.layers[k].w;
    let mut c = Mat::zeros(0, 0);
    match spec.family {
        Family::FenchelYoung => {
            // z_k ← f_k(z_k + η((a_k − z_k) + ρ_k W_kᵀ(z_{k+1} − f_{k+1}(W_k z_k + b_k)))), as in lifted-core.
            // `next` = W_k z_k + b_k.
            let mut d = next.clone();
            for (di, &zi) in d.data.iter_mut().zip(&z[k + 1].data) {
                *di = zi - act(fnext, *di);
            }
            times(&d, w, net.width(k), &mut c);
            let eta = spec.steps[k];
            for ((zi, &ai), &ci) in z[k].data.iter_mut().zip(&a.data).zip(&c.data) {
                *zi = act(fk, *zi + eta * ((ai - *zi) + rho * ci));
            }
        }
        Family::Hopfield => {
            times(&z[k + 1], w, net.width(k), &mut c);
            for ((zi, &ai), &ci) in z[k].data.iter_mut().zip(&a.data).zip(&c.data) {
                *zi = act(fk, ai + rho * ci);
            }
        }
    }
}

/// ½‖u − p‖² + (ρ/2)‖v − q‖² for row i of four matrices.
fn block_value<T: Real>(i: usize, u: &Mat<T>, p: &Mat<T>, v: &Mat<T>, q: &Mat<T>, rho: T) -> T {
    let half = T::from_f64(0.5);
    let s1: T = u
        .row(i)
        .iter()
        .zip(p.row(i))
        .map(|(&a, &b)| (a - b) * (a - b))
        .sum();
    let s2: T = v
        .row(i)
        .iter()
        .zip(q.row(i))
        .map(|(&a, &b)| (a - b) * (a - b))
        .sum();
    half * s1 + half * rho * s2
}

/// `a` = a_k(z_{k−1}), `pre_next` = a_{k+1}(z_k).
fn hidden_relaxed_post<T: Real>(
    net: &Net<T>,
    eta: T,
    z: &mut State<T>,
    k: usize,
    a: &Mat<T>,
    pre_next: &Mat<T>,
) {
    let (fk, fnext) = (net.activation(k), net.activation(k + 1));
    let rho = net.rho(k);
    let p = a.map(|v| act(fk, v));
    let f_next = pre_next.map(|v| act(fnext, v));
    let mut d = f_next.clone();
    for ((di, &zi), &ai) in d.data.iter_mut().zip(&z[k + 1].data).zip(&pre_next.data) {
        *di = dact(fnext, ai) * (zi - *di);
    }
    let mut c = Mat::zeros(0, 0);
    times(&d, &net.layers[k].w, net.width(k), &mut c);
    let mut cand = z[k].clone();
    for ((zi, &pi), &ci) in cand.data.iter_mut().zip(&p.data).zip(&c.data) {
        *zi = *zi + eta * ((pi - *zi) + rho * ci);
    }
    let f_cand = net.pre(k + 1, &cand).map(|v| act(fnext, v));
    for i in 0..cand.rows {
        let old = block_value(i, &z[k], &p, &z[k + 1], &f_next, rho);
        let new = block_value(i, &cand, &p, &z[k + 1], &f_cand, rho);
        if new <= old {
            z[k].row_mut(i).copy_from_slice(cand.row(i));
        }
    }
}

/// `a` = a_k(post z_{k−1}), `q` = a_{k+1}(f_k(u_k)).
fn hidden_relaxed_pre<T: Real>(
    net: &Net<T>,
    eta: T,
    z: &mut State<T>,
    k: usize,
    a: &Mat<T>,
    q: &Mat<T>,
) {
    let fk = net.activation(k);
    let rho = net.rho(k);
    let mut d = z[k + 1].clone();
    for (di, &qi) in d.data.iter_mut().zip(&q.data) {
        *di -= qi;
    }
    let mut c = Mat::zeros(0, 0);
    times(&d, &net.layers[k].w, net.width(k), &mut c);
    let mut cand = z[k].clone();
    for ((ui, &ai), &ci) in cand.data.iter_mut().zip(&a.data).zip(&c.data) {
        let grad = (*ui - ai) - rho * dact(fk, *ui) * ci;
        *ui -= eta * grad;
    }
    let q_cand = net.pre(k + 1, &cand.map(|v| act(fk, v)));
    for i in 0..cand.rows {
        let old = block_value(i, &z[k], a, &z[k + 1], q, rho);
        let new = block_value(i, &cand, a, &z[k + 1], &q_cand, rho);
        if new <= old {
            z[k].row_mut(i).copy_from_slice(cand.row(i));
        }
    }
}
