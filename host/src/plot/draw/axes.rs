//! The pure choices behind the curve figures: which rows diverged, the y range of a panel, the
//! tick labels, and clipping a curve to its axis. Nothing here draws.

/// A row counts as *diverged* when its last logged Lipschitz estimate ‖W_{L−1}⋯W_0‖₂ (mean over
/// its seeds) is not finite or more than `DIVERGED_FACTOR` times the median of the last estimates
/// of the rows drawn with it (same data set and N_train; the lower median, [`median`]). This is the only definition the figures
/// use ([`diverged`]).
pub const DIVERGED_FACTOR: f64 = 100.0;

/// The lower median of the finite values (the ⌈n/2⌉-th smallest, so that of two rows the smaller
/// one counts and a single blown-up row cannot raise it); `None` if there are none.
#[must_use]
pub fn median(values: &[f64]) -> Option<f64> {
    let mut v: Vec<f64> = values.iter().copied().filter(|x| x.is_finite()).collect();
    if v.is_empty() {
        return None;
    }
    v.sort_by(f64::total_cmp);
    Some(v[(v.len() - 1) / 2])
}

/// For the last Lipschitz estimate of every row, whether that row diverged ([`DIVERGED_FACTOR`]):
/// not finite, or above `DIVERGED_FACTOR` × the median of the finite ones.
#[must_use]
pub fn diverged(finals: &[f64]) -> Vec<bool> {
    let limit = median(finals)
        .filter(|m| *m > 0.0)
        .map(|m| DIVERGED_FACTOR * m);
    finals
        .iter()
        .map(|&v| !v.is_finite() || limit.is_some_and(|l| v > l))
        .collect()
}

/// A logarithmic y range around the finite positive `values`: their extremes widened by a factor
/// 1.5 on each side; 0.1 … 10 if there are none.
#[must_use]
pub fn log_range(values: impl IntoIterator<Item = f64>) -> (f64, f64) {
    let (mut lo, mut hi) = (f64::INFINITY, 0.0f64);
    for v in values.into_iter().filter(|v| v.is_finite() && *v > 0.0) {
        lo = lo.min(v);
        hi = hi.max(v);
    }
    if hi == 0.0 {
        (0.1, 10.0)
    } else {
        (lo / 1.5, hi * 1.5)
    }
}

/// The smallest span of an accuracy axis (one percentage point).
pub const MIN_ACCURACY_SPAN: f64 = 0.01;

/// An accuracy y range fitted to the finite `values`: their extremes widened by 8 % of their span
/// (at least 0.2 percentage points) on each side, kept within 0 … 1 and at least
/// [`MIN_ACCURACY_SPAN`] wide; 0 … 1 if there are none.
#[must_use]
pub fn accuracy_range(values: impl IntoIterator<Item = f64>) -> (f64, f64) {
    let (mut lo, mut hi) = (f64::INFINITY, f64::NEG_INFINITY);
    for v in values.into_iter().filter(|v| v.is_finite()) {
        lo = lo.min(v);
        hi = hi.max(v);
    }
    if lo > hi {
        return (0.0, 1.0);
    }
    let pad = (0.08 * (hi - lo)).max(0.002);
    let (mut lo, mut hi) = ((lo - pad).max(0.0), (hi + pad).min(1.0));
    if hi - lo < MIN_ACCURACY_SPAN {
        if lo + MIN_ACCURACY_SPAN <= 1.0 {
            hi = lo + MIN_ACCURACY_SPAN;
        } else {
            lo = hi - MIN_ACCURACY_SPAN;
        }
    }
    (lo, hi)
}

const SUPERSCRIPT: [char; 10] = ['⁰', '¹', '²', '³', '⁴', '⁵', '⁶', '⁷', '⁸', '⁹'];

fn superscript(n: i32) -> String {
    let mut s = String::new();
    if n < 0 {
        s.push('⁻');
    }
    for d in n.unsigned_abs().to_string().bytes() {
        s.push(SUPERSCRIPT[usize::from(d - b'0')]);
    }
    s
}

/// `v` with at most `digits` decimals, trailing zeros (and a trailing point) removed.
fn trimmed(v: f64, digits: usize) -> String {
    let s = format!("{v:.digits$}");
    let s = if s.contains('.') {
        s.trim_end_matches('0').trim_end_matches('.').to_owned()
    } else {
        s
    };
    if s == "-0" {
        "0".to_owned()
    } else {
        s
    }
}

/// A tick label of a logarithmic axis: plain below 10⁴ with at most three significant decimals
/// ("0.5", "20", "2000"), m·10ᵏ from 10⁴ on and below 10⁻³ ("10⁴", "2·10⁵", "5·10⁻⁴").
#[must_use]
pub fn log_tick(v: f64) -> String {
    if !v.is_finite() {
        return String::new();
    }
    if v == 0.0 {
        return "0".to_owned();
    }
    let a = v.abs();
    if (1e-3..1e4).contains(&a) {
        // Two decimals from 1 on, three significant digits below 1.
        let digits = if a >= 1.0 {
            2
        } else {
            (2.0 - a.log10().floor()) as usize
        };
        return trimmed(v, digits);
    }
    let mut k = a.log10().floor() as i32;
    let mut m = v / 10f64.powi(k);
    // 9.9999… → 10.
    if (m.abs() - 10.0).abs() < 1e-9 {
        m = m.signum();
        k += 1;
    }
    let m = trimmed(m, 2);
    match m.as_str() {
        "1" => format!("10{}", superscript(k)),
        "-1" => format!("-10{}", superscript(k)),
        _ => format!("{m}·10{}", superscript(k)),
    }
}

/// The labelled ticks of a logarithmic axis over `lo … hi`: 1-2-5 steps up to 2½ decades, 1-3
/// steps up to 4, powers of ten beyond (every k-th power when there are more than 6).
#[must_use]
pub fn log_ticks(lo: f64, hi: f64) -> Vec<f64> {
    if !(lo.is_finite() && hi.is_finite() && lo > 0.0 && hi > lo) {
        return Vec::new();
    }
    let decades = (hi / lo).log10();
    let (mantissas, every): (&[f64], i32) = if decades <= 2.5 {
        (&[1.0, 2.0, 5.0], 1)
    } else if decades <= 4.0 {
        (&[1.0, 3.0], 1)
    } else {
        (&[1.0], (decades / 6.0).ceil() as i32)
    };
    let (k0, k1) = (lo.log10().floor() as i32, hi.log10().ceil() as i32);
    let mut out = Vec::new();
    for k in k0..=k1 {
        if k.rem_euclid(every) != 0 {
            continue;
        }
        for m in mantissas {
            let v = m * 10f64.powi(k);
            if (lo..=hi).contains(&v) {
                out.push(v);
            }
        }
    }
    out
}

/// The decimals a percentage axis spanning `span` (as a fraction: 0.05 = 5 points) needs so that
/// neighbouring ticks (about a tenth of the span apart) differ.
#[must_use]
pub fn percent_decimals(span: f64) -> usize {
    if !(span.is_finite() && span > 0.0) {
        return 0;
    }
    let step = span * 100.0 / 10.0;
    (-step.log10().floor()).clamp(0.0, 4.0) as usize
}

/// A tick label of an accuracy axis, in percent with `decimals` decimals ("95.5").
#[must_use]
pub fn percent_tick(v: f64, decimals: usize) -> String {
    if !v.is_finite() {
        return String::new();
    }
    let s = format!("{:.decimals$}", v * 100.0);
    if s.starts_with('-') && s[1..].chars().all(|c| c == '0' || c == '.') {
        s[1..].to_owned()
    } else {
        s
    }
}

/// A tick label of the epoch axis: an integer without decimals, otherwise one decimal.
#[must_use]
pub fn epoch_tick(v: f64) -> String {
    if (v - v.round()).abs() < 1e-9 {
        format!("{}", v.round())
    } else {
        format!("{v:.1}")
    }
}

/// The pieces of the polyline `pts` that lie within `lo ≤ y ≤ hi`, with the crossings of the
/// bounds interpolated (in ln y when `log`); a point with a non-finite coordinate (or y ≤ 0 when
/// `log`) breaks the line. Out-of-range parts are dropped, not pressed onto the edge.
#[must_use]
pub fn clip(pts: &[(f64, f64)], lo: f64, hi: f64, log: bool) -> Vec<Vec<(f64, f64)>> {
    let valid = |p: &(f64, f64)| p.0.is_finite() && p.1.is_finite() && (!log || p.1 > 0.0);
    let t = |y: f64| if log { y.ln() } else { y };
    let inv = |y: f64| if log { y.exp() } else { y };
    let inside = |y: f64| (lo..=hi).contains(&y);
    let (tlo, thi) = (t(lo), t(hi));
    let mut out = Vec::new();
    let mut cur: Vec<(f64, f64)> = Vec::new();
    let flush = |cur: &mut Vec<(f64, f64)>, out: &mut Vec<Vec<(f64, f64)>>| {
        if !cur.is_empty() {
            out.push(std::mem::take(cur));
        }
    };
    for (i, p) in pts.iter().enumerate() {
        if !valid(p) {
            flush(&mut cur, &mut out);
            continue;
        }
        let prev = i.checked_sub(1).map(|j| pts[j]).filter(valid);
        let Some(q) = prev else {
            // A line starts here.
            if inside(p.1) {
                cur.push(*p);
            }
            continue;
        };
        let (ya, yb) = (t(q.1), t(p.1));
        let (s0, s1) = if ya == yb {
            if inside(p.1) {
                (0.0, 1.0)
            } else {
                (1.0, 0.0)
            }
        } else {
            let a = (tlo - ya) / (yb - ya);
            let b = (thi - ya) / (yb - ya);
            (a.min(b).max(0.0), a.max(b).min(1.0))
        };
        if s0 > s1 {
            flush(&mut cur, &mut out);
            continue;
        }
        let at = |s: f64, edge: bool| -> (f64, f64) {
            if s <= 0.0 {
                q
            } else if s >= 1.0 {
                *p
            } else {
                let y = ya + s * (yb - ya);
                // A crossing lands exactly on the bound it crosses.
                let y = if edge {
                    if (y - tlo).abs() < (y - thi).abs() {
                        lo
                    } else {
                        hi
                    }
                } else {
                    inv(y)
                };
                (q.0 + s * (p.0 - q.0), y)
            }
        };
        if s0 > 0.0 {
            flush(&mut cur, &mut out);
        }
        if cur.is_empty() {
            cur.push(at(s0, true));
        }
        cur.push(at(s1, true));
        if s1 < 1.0 {
            flush(&mut cur, &mut out);
        }
    }
    flush(&mut cur, &mut out);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn median_of_odd_even_and_non_finite() {
        assert_eq!(median(&[3.0, 1.0, 2.0]), Some(2.0));
        assert_eq!(median(&[4.0, 1.0, 2.0, 3.0]), Some(2.0));
        assert_eq!(median(&[f64::NAN, 5.0]), Some(5.0));
        assert_eq!(median(&[f64::INFINITY]), None);
    }

    #[test]
    fn diverged_rows_are_far_above_the_median_or_not_finite() {
        // Figure 1, MNIST 50 000: ten rows at 5–30, three targeted rows at 5·10⁶ – 8·10⁶.
        let finals = [
            11.5, 5.8, 10.5, 10.0, 10.9, 10.5, 10.3, 5.2, 5.1e6, 7.4e6, 8.5e6, 29.8, 11.1,
        ];
        let d = diverged(&finals);
        let expect: Vec<bool> = (0..13).map(|i| (8..=10).contains(&i)).collect();
        assert_eq!(d, expect);
        // 100× the median exactly is not diverged, a bit more is; NaN and ∞ always are.
        assert_eq!(
            diverged(&[1.0, 1.0, 1.0, 100.0, 100.1, f64::NAN, f64::INFINITY]),
            [false, false, false, false, true, true, true]
        );
        // Of two rows the blown-up one diverged; nothing diverges among similar rows, and a lone
        // row never does.
        assert_eq!(diverged(&[5.0, 1e6]), [false, true]);
        assert!(diverged(&[3.0, 300.0]).iter().all(|d| !d));
        assert_eq!(diverged(&[1e9]), [false]);
    }

    #[test]
    fn axis_ranges_fit_the_data_with_a_margin() {
        let (lo, hi) = log_range([2.0, 300.0, f64::NAN, -1.0, 0.0]);
        assert!((lo - 2.0 / 1.5).abs() < 1e-12 && (hi - 450.0).abs() < 1e-9);
        assert_eq!(log_range([]), (0.1, 10.0));
        // Accuracies between 95 % and 98 % give an axis around them, not 0 … 1.
        let (lo, hi) = accuracy_range([0.95, 0.98, 0.97]);
        assert!(
            lo < 0.95 && lo > 0.94 && hi > 0.98 && hi < 0.99,
            "{lo} {hi}"
        );
        // Kept within 0 … 1, at least a point wide.
        assert_eq!(accuracy_range([0.0, 0.0]), (0.0, MIN_ACCURACY_SPAN));
        let (lo, hi) = accuracy_range([1.0]);
        assert!((hi - 1.0).abs() < 1e-12 && (lo - (1.0 - MIN_ACCURACY_SPAN)).abs() < 1e-12);
        assert_eq!(accuracy_range([f64::NAN]), (0.0, 1.0));
    }

    #[test]
    fn tick_labels_are_short_and_exact() {
        assert_eq!(log_tick(1.0), "1");
        assert_eq!(log_tick(20.0), "20");
        assert_eq!(log_tick(2000.0), "2000");
        assert_eq!(log_tick(0.5), "0.5");
        assert_eq!(log_tick(0.02), "0.02");
        assert_eq!(log_tick(2.5), "2.5");
        assert_eq!(log_tick(1e4), "10⁴");
        assert_eq!(log_tick(1e7), "10⁷");
        assert_eq!(log_tick(9.999_999_999_9e6), "10⁷");
        assert_eq!(log_tick(2e5), "2·10⁵");
        assert_eq!(log_tick(5e-4), "5·10⁻⁴");
        assert_eq!(log_ticks(0.85, 35.0), [1.0, 2.0, 5.0, 10.0, 20.0]);
        assert_eq!(log_ticks(0.8, 450.0), [1.0, 3.0, 10.0, 30.0, 100.0, 300.0]);
        assert_eq!(log_ticks(0.5, 2e7), [1.0, 1e2, 1e4, 1e6]);
        assert!(log_ticks(0.0, 1.0).is_empty());
        assert_eq!(epoch_tick(4.0), "4");
        assert_eq!(epoch_tick(2.5), "2.5");
        // A 5-point axis ticks every half point: one decimal; 0.5 points: two.
        assert_eq!(percent_decimals(0.05), 1);
        assert_eq!(percent_decimals(0.005), 2);
        assert_eq!(percent_decimals(0.7), 0);
        assert_eq!(percent_tick(0.955, 1), "95.5");
        assert_eq!(percent_tick(0.9, 0), "90");
        assert_eq!(percent_tick(-1e-9, 1), "0.0");
    }

    #[test]
    fn clipping_cuts_at_the_bounds_and_breaks_the_line() {
        // Leaves through the top between x = 1 and 2, comes back between 3 and 4.
        let pts = [(0.0, 1.0), (1.0, 2.0), (2.0, 4.0), (3.0, 4.0), (4.0, 2.0)];
        let c = clip(&pts, 0.0, 3.0, false);
        assert_eq!(
            c,
            [
                vec![(0.0, 1.0), (1.0, 2.0), (1.5, 3.0)],
                vec![(3.5, 3.0), (4.0, 2.0)]
            ]
        );
        // On a log axis the crossing is interpolated in ln y: 1 → 100 crosses 10 halfway.
        let c = clip(&[(0.0, 1.0), (2.0, 100.0)], 0.5, 10.0, true);
        assert_eq!(c, [vec![(0.0, 1.0), (1.0, 10.0)]]);
        // A NaN breaks the line; an all-outside line gives nothing.
        let c = clip(
            &[(0.0, 1.0), (1.0, f64::NAN), (2.0, 1.0), (3.0, 1.0)],
            0.0,
            2.0,
            false,
        );
        assert_eq!(c, [vec![(0.0, 1.0)], vec![(2.0, 1.0), (3.0, 1.0)]]);
        assert!(clip(&[(0.0, 5.0), (1.0, 6.0)], 0.0, 2.0, false).is_empty());
        // Passing through the whole range within one segment keeps that piece.
        let c = clip(&[(0.0, -1.0), (4.0, 3.0)], 0.0, 2.0, false);
        assert_eq!(c, [vec![(1.0, 0.0), (3.0, 2.0)]]);
    }
}
