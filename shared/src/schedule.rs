//! The block-update list of the fixed-iteration inference (SPEC §4.4).
//!
//! Inference, the float error tracker and the offline Lipschitz recursion all walk this one list,
//! so the certificate is always computed for exactly the map that runs.

use crate::config::{Init, Schedule};

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
