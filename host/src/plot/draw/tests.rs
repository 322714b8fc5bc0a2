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
