use super::histogram::bin;
use super::*;

#[test]
fn selection_prefers_the_earlier_tie() {
    let log = RunLog {
        name: "r".into(),
        epoch: vec![0.0, 1.0, 2.0, 3.0],
        lip_estimate: vec![1.0; 4],
        lip_bound: vec![2.0; 4],
        val_acc: vec![0.5, 0.9, 0.9, 0.8],
        test_acc: vec![0.4, 0.85, 0.88, 0.8],
    };
    assert_eq!(selected_row(&log), Some(1));
}

#[test]
fn binning_counts_every_value() {
    let (w, c) = bin(&[0.1, 0.2, 0.3, 0.3], 3);
    assert!((w - 0.1).abs() < 1e-6);
    assert_eq!(c.iter().sum::<usize>(), 4);
    assert_eq!(c[2], 2);
}

fn row(y: &[f64], diverged: bool) -> panel::Row {
    panel::Row {
        label: "r".into(),
        style: 0,
        lines: vec![panel::Line {
            x: (0..y.len()).map(|i| i as f64).collect(),
            mean: y.to_vec(),
            std: vec![f64::NAN; y.len()],
            dashed: false,
        }],
        selected: None,
        diverged,
    }
}

#[test]
fn axes_leave_out_diverged_rows_and_the_epochs_before_the_fit() {
    let mut p = panel::Panel {
        caption: String::new(),
        x_axis: panel::XAxis::Epoch,
        reference: None,
        y_desc: String::new(),
        scale: panel::Scale::Log,
        fit: panel::Fit::All,
        fit_diverged: false,
        rows: vec![row(&[1.0, 5.0, 10.0], false), row(&[1.0, 1e4, 1e7], true)],
    };
    let (lo, hi) = p.y_range();
    assert!(lo < 1.0 && (10.0..20.0).contains(&hi), "{lo} {hi}");
    p.fit_diverged = true;
    assert!(p.y_range().1 > 1e7);
    // Only diverged rows: they set the axis rather than leaving it empty.
    p.rows.remove(0);
    p.fit_diverged = false;
    assert!(p.y_range().1 > 1e7);
    // An accuracy axis fitted from epoch 1 ignores the initial 10 %, and std widens it.
    let mut acc = row(&[0.1, 0.95, 0.96], false);
    acc.lines[0].std = vec![f64::NAN, f64::NAN, 0.01];
    let p = panel::Panel {
        scale: panel::Scale::Accuracy,
        fit: panel::Fit::From(1.0),
        rows: vec![acc, row(&[0.1, 0.6, 0.65], true)],
        ..p
    };
    let (lo, hi) = p.y_range();
    assert!(
        (0.93..0.95).contains(&lo) && (0.97..0.98).contains(&hi),
        "{lo} {hi}"
    );
}

#[test]
fn row_styles_differ_in_colour_for_thirteen_rows() {
    let c: std::collections::BTreeSet<(u8, u8, u8)> = (0..13)
        .map(|i| {
            let c = panel::colour(i);
            (c.0, c.1, c.2)
        })
        .collect();
    assert_eq!(c.len(), 13);
}

#[test]
fn second_half_fit_is_per_row_and_keeps_the_selected_epoch() {
    // A 60-epoch row near 97 % and a 20-epoch row that falls from 94 % (selected, epoch 1) to 80 %:
    // both count, each over the second half of its own epochs.
    let long = row(
        &[0.1; 30]
            .iter()
            .chain(&[0.97; 31])
            .copied()
            .collect::<Vec<_>>(),
        false,
    );
    let mut short = row(
        &(0..=20)
            .map(|e| {
                if e == 0 {
                    0.1
                } else {
                    0.94 - 0.007 * f64::from(e)
                }
            })
            .collect::<Vec<_>>(),
        false,
    );
    short.selected = Some((1.0, 0.933));
    let p = panel::Panel {
        caption: String::new(),
        x_axis: panel::XAxis::Epoch,
        reference: None,
        y_desc: String::new(),
        scale: panel::Scale::Accuracy,
        fit: panel::Fit::SecondHalf,
        fit_diverged: false,
        rows: vec![long, short],
    };
    let (lo, hi) = p.y_range();
    // Epochs ≥ 10 of the short row reach down to 80 %, its selected point is 93.3 %; the long
    // row's first 30 epochs (10 %) do not count.
    assert!(
        (0.75..0.80).contains(&lo) && (0.97..0.99).contains(&hi),
        "{lo} {hi}"
    );
}

#[test]
fn value_axis_ticks_and_range() {
    assert_eq!(panel::value_tick(0.05), "0.05");
    assert_eq!(panel::value_tick(1.0), "1");
    assert_eq!(panel::value_tick(-0.00001), "0");
    let mut r = row(&[0.5, 0.4], false);
    r.lines[0].x = vec![0.1, 0.5];
    let mut p = panel::Panel {
        caption: String::new(),
        x_axis: panel::XAxis::Value("ε".into()),
        reference: None,
        y_desc: String::new(),
        scale: panel::Scale::Accuracy,
        fit: panel::Fit::All,
        fit_diverged: true,
        rows: vec![r],
    };
    let (lo, hi) = panel::value_range(&p);
    assert!((lo - 0.068).abs() < 1e-12 && (hi - 0.532).abs() < 1e-12);
    p.rows[0].lines[0].x = vec![0.01, 0.01];
    assert_eq!(panel::value_range(&p), (0.0, 0.02));
    p.rows.clear();
    assert_eq!(panel::value_range(&p), (0.0, 1.0));
}
