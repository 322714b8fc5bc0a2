//! The block-update list of the fixed-iteration inference (docs/method.md §4.4).
//!
//! Inference, the float error tracker and the offline Lipschitz recursion all walk this one list,
//! so the certificate is always computed for exactly the map that runs. [`deploys_forward_pass`]
//! is the one place that decides whether that map is the feed-forward pass.

use crate::config::{Family, Init, Schedule};

/// Whether the update list of (L = `layers`, K = `sweeps`, `family`, `init`, `schedule`) leaves
/// the state at the feed-forward pass, bit for bit in f32, so that the deployed map *is* the
/// forward pass.
///
/// The rule follows the list itself (see [`forward_after_updates`], which walks it and is tested
/// to agree with this closed form for every configuration):
/// - a `Forward(k)` or `Output` update gives the feed-forward value of its block when the block
///   below holds it;
/// - a family-A hidden update leaves a feed-forward state unchanged (the forward pass is an exact
///   f32 fixed point of the damped update); any other hidden update — every family-B update, and
///   a family-A update whose neighbourhood is not yet at the forward pass — does not;
/// - zero init starts the hidden blocks away from the forward pass.
///
/// Hence: forward init with family A (any K, any schedule); forward init with no hidden update
/// at all (L = 1, or K = 0 without the top-down tail); zero init only for L = 1. Everything else
/// — in particular family B with the top-down tail even at K = 0 — is an iterative deployment.
///
/// ```
/// use lifted_core::{schedule::deploys_forward_pass, Family, Init, Schedule};
/// assert!(deploys_forward_pass(3, Family::FenchelYoung, Init::Forward, 5, Schedule::BwdFwd));
/// assert!(deploys_forward_pass(3, Family::Hopfield, Init::Forward, 0, Schedule::BwdFwd));
/// // The top-down tail runs family-B updates even at K = 0.
/// assert!(!deploys_forward_pass(3, Family::Hopfield, Init::Forward, 0, Schedule::BwdFwdTopDown));
/// ```
pub fn deploys_forward_pass(
    layers: usize,
    family: Family,
    init: Init,
    sweeps: usize,
    schedule: Schedule,
) -> bool {
    let no_hidden_update = layers <= 1 || (sweeps == 0 && schedule == Schedule::BwdFwd);
    match init {
        Init::Forward => family == Family::FenchelYoung || no_hidden_update,
        Init::Zero => layers == 1,
    }
}

/// The definition behind [`deploys_forward_pass`]: walks the update list and tracks, per block,
/// whether it provably holds its feed-forward value (test support; O(K·L)).
pub fn forward_after_updates(
    layers: usize,
    family: Family,
    init: Init,
    sweeps: usize,
    schedule: Schedule,
) -> bool {
    // at_forward[k] for k = 0 … L (block 0 is the input); at most MAX_LAYERS + 1 blocks.
    let mut at_forward = [false; crate::config::MAX_LAYERS + 2];
    let n = layers.min(crate::config::MAX_LAYERS) + 1;
    at_forward[0] = true;
    if init == Init::Forward {
        at_forward.iter_mut().take(n).for_each(|b| *b = true);
    }
    let get = |a: &[bool], k: usize| a.get(k).copied().unwrap_or(true);
    for u in Updates::new(layers, sweeps, init, schedule) {
        let (k, fwd) = match u {
            Update::Forward(k) => (k, get(&at_forward, k - 1)),
            Update::Output => (layers, get(&at_forward, layers - 1)),
            Update::Hidden(k) => (
                k,
                family == Family::FenchelYoung
                    && get(&at_forward, k - 1)
                    && get(&at_forward, k)
                    && get(&at_forward, k + 1),
            ),
        };
        if let Some(b) = at_forward.get_mut(k) {
            *b = fwd;
        }
    }
    at_forward.iter().take(n).all(|&b| b)
}

/// One step of the inference.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum Update {
    /// Block k is set to the feed-forward value f_k(W_{k−1} z_{k−1} + b_{k−1}) (forward init).
    Forward(usize),
    /// Hidden block k (1 ≤ k < L) is updated by the family's block rule.
    Hidden(usize),
    /// The output block L is set to a_L = W_{L−1} z_{L−1} + b_{L−1} (free phase).
    Output,
}

/// Iterator over the updates for `layers` = L, `sweeps` = K.
///
/// Zero init produces no update (the workspace is zeroed); forward init produces
/// `Forward(1) … Forward(L)`. Then one `Output`, then K sweeps of
/// `Hidden(L−1) … Hidden(1), Hidden(2) … Hidden(L−1), Output`, and for
/// [`Schedule::BwdFwdTopDown`] one extra `Hidden(L−1) … Hidden(1), Output`.
#[derive(Debug, Clone)]
pub struct Updates {
    layers: usize,
    list_len: usize,
    pos: usize,
    init_len: usize,
    sweep_len: usize,
    sweeps: usize,
}

impl Updates {
    /// Creates the update list.
    pub fn new(layers: usize, sweeps: usize, init: Init, schedule: Schedule) -> Self {
        let hidden = layers.saturating_sub(1);
        let init_len = match init {
            Init::Forward => layers,
            Init::Zero => 0,
        };
        // Backward over L−1 … 1, forward over 2 … L−1, then the output.
        let sweep_len = hidden + hidden.saturating_sub(1) + 1;
        let tail = match schedule {
            Schedule::BwdFwd => 0,
            Schedule::BwdFwdTopDown => hidden + 1,
        };
        let list_len = init_len + 1 + sweeps * sweep_len + tail;
        Updates {
            layers,
            list_len,
            pos: 0,
            init_len,
            sweep_len,
            sweeps,
        }
    }

    /// The list [`crate::infer()`] actually runs: for a forward deployment
    /// ([`deploys_forward_pass`]) only `Forward(1) … Forward(L)`, since every further update
    /// provably changes nothing (the model keeps its K for the record); otherwise the whole list
    /// of [`Updates::new`].
    pub fn deployed(
        layers: usize,
        family: Family,
        init: Init,
        sweeps: usize,
        schedule: Schedule,
    ) -> Self {
        if deploys_forward_pass(layers, family, init, sweeps, schedule) {
            Updates {
                layers,
                list_len: layers,
                pos: 0,
                init_len: layers,
                sweep_len: 0,
                sweeps: 0,
            }
        } else {
            Updates::new(layers, sweeps, init, schedule)
        }
    }

    /// Total number of updates.
    pub fn total(&self) -> usize {
        self.list_len
    }

    fn at(&self, mut i: usize) -> Update {
        let l = self.layers;
        let hidden = l.saturating_sub(1);
        if i < self.init_len {
            return Update::Forward(i + 1);
        }
        i -= self.init_len;
        if i == 0 {
            return Update::Output;
        }
        i -= 1;
        let body = self.sweeps * self.sweep_len;
        if i < body {
            let j = i.checked_rem(self.sweep_len).unwrap_or(0);
            return if j < hidden {
                Update::Hidden(hidden - j)
            } else if j < hidden + hidden.saturating_sub(1) {
                Update::Hidden(j - hidden + 2)
            } else {
                Update::Output
            };
        }
        let j = i - body;
        if j < hidden {
            Update::Hidden(hidden - j)
        } else {
            Update::Output
        }
    }
}

impl Iterator for Updates {
    type Item = Update;

    fn next(&mut self) -> Option<Update> {
        if self.pos >= self.list_len {
            return None;
        }
        let u = self.at(self.pos);
        self.pos += 1;
        Some(u)
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        let n = self.list_len - self.pos;
        (n, Some(n))
    }
}

#[cfg(test)]
mod tests {
    extern crate std;
    use super::*;
    use std::vec::Vec;

    #[test]
    fn three_layer_sweep_visits_2_1_2_3() {
        let u: Vec<_> = Updates::new(3, 2, Init::Forward, Schedule::BwdFwd).collect();
        use Update::*;
        assert_eq!(
            u,
            [
                Forward(1),
                Forward(2),
                Forward(3),
                Output,
                Hidden(2),
                Hidden(1),
                Hidden(2),
                Output,
                Hidden(2),
                Hidden(1),
                Hidden(2),
                Output
            ]
        );
    }

    #[test]
    fn two_layer_sweep_visits_1_2_and_top_down_tail() {
        let u: Vec<_> = Updates::new(2, 1, Init::Zero, Schedule::BwdFwdTopDown).collect();
        use Update::*;
        assert_eq!(u, [Output, Hidden(1), Output, Hidden(1), Output]);
    }

    const FAMILIES: [Family; 2] = [Family::FenchelYoung, Family::Hopfield];
    const INITS: [Init; 2] = [Init::Forward, Init::Zero];
    const SCHEDULES: [Schedule; 2] = [Schedule::BwdFwd, Schedule::BwdFwdTopDown];

    #[test]
    fn the_closed_form_predicate_agrees_with_the_walk_of_the_update_list() {
        for l in 1..=crate::config::MAX_LAYERS {
            for k in [0, 1, 2, 3, 5, 17] {
                for f in FAMILIES {
                    for i in INITS {
                        for s in SCHEDULES {
                            assert_eq!(
                                deploys_forward_pass(l, f, i, k, s),
                                forward_after_updates(l, f, i, k, s),
                                "L={l} K={k} {f:?} {i:?} {s:?}"
                            );
                        }
                    }
                }
            }
        }
    }

    #[test]
    fn family_b_top_down_tail_is_iterative_even_at_k0() {
        // The configuration that once got forward-pass constants although its tail runs
        // family-B updates.
        assert!(!deploys_forward_pass(
            3,
            Family::Hopfield,
            Init::Forward,
            0,
            Schedule::BwdFwdTopDown
        ));
        let u: Vec<_> = Updates::deployed(
            3,
            Family::Hopfield,
            Init::Forward,
            0,
            Schedule::BwdFwdTopDown,
        )
        .collect();
        use Update::*;
        assert_eq!(
            u,
            [
                Forward(1),
                Forward(2),
                Forward(3),
                Output,
                Hidden(2),
                Hidden(1),
                Output
            ]
        );
    }

    #[test]
    fn forward_deployments_run_the_forward_updates_only() {
        for l in 1..=4 {
            for k in [0, 5] {
                for s in SCHEDULES {
                    let u: Vec<_> =
                        Updates::deployed(l, Family::FenchelYoung, Init::Forward, k, s).collect();
                    let want: Vec<_> = (1..=l).map(Update::Forward).collect();
                    assert_eq!(u, want);
                    assert_eq!(
                        Updates::deployed(l, Family::FenchelYoung, Init::Forward, k, s).total(),
                        l
                    );
                }
            }
        }
        // Zero init with one layer: the single output update is the forward pass.
        let u: Vec<_> =
            Updates::deployed(1, Family::Hopfield, Init::Zero, 3, Schedule::BwdFwd).collect();
        assert_eq!(u, [Update::Forward(1)]);
    }

    #[test]
    fn count_matches_iteration() {
        for l in 1..6 {
            for k in 0..4 {
                for init in [Init::Forward, Init::Zero] {
                    for s in [Schedule::BwdFwd, Schedule::BwdFwdTopDown] {
                        let u = Updates::new(l, k, init, s);
                        assert_eq!(u.total(), u.clone().count());
                    }
                }
            }
        }
    }
}
