//! GloRo's bottom (⊥) class: the margin taken as an extra logit instead of shifted logits.

use super::super::real::Real;

/// GloRo's ⊥-class cross-entropy of one sample with logits `z`, logit shifts `h` (h_y = 0, see
/// [`LipMargin::shifts`](super::LipMargin::shifts)) and true class `y`: the logits get the extra entry
/// z_⊥ = max_{j≠y}(z_j + h_j), and the loss is −log softmax(z_1 … z_C, z_⊥)_y. Returns the loss,
/// ∂/∂z and ∂/∂h. The maximum's gradient goes to the first maximiser (a subgradient at ties).
pub fn bottom_ce_row<T: Real>(z: &[T], h: &[T], y: usize) -> (T, Vec<T>, Vec<T>) {
    let c = z.len();
    let mut star = None::<(usize, T)>;
    for (j, (&zj, &hj)) in z.iter().zip(h).enumerate() {
        if j != y && star.is_none_or(|(_, s)| zj + hj > s) {
            star = Some((j, zj + hj));
        }
    }
    let (mut dz, mut dh) = (vec![T::ZERO; c], vec![T::ZERO; c]);
    let Some((js, bot)) = star else {
        // One class: nothing to separate from.
        return (T::ZERO, dz, dh);
    };
    let top = z.iter().fold(bot, |m, &v| if v > m { v } else { m });
    let sum = z.iter().map(|&v| (v - top).exp()).sum::<T>() + (bot - top).exp();
    let lse = top + sum.ln();
    for (d, &v) in dz.iter_mut().zip(z) {
        *d = (v - lse).exp();
    }
    let p_bot = (bot - lse).exp();
    dz[y] -= T::ONE;
    dz[js] += p_bot;
    dh[js] = p_bot;
    (lse - z[y], dz, dh)
}
