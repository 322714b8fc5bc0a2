use super::*;

#[test]
fn quantiles_interpolate() {
    let q = Quantiles::of(&[4.0, 1.0, 3.0, 2.0, 0.0]);
    assert_eq!((q.min, q.median, q.max, q.mean), (0.0, 2.0, 4.0, 2.0));
    assert!((q.p10 - 0.4).abs() < 1e-12 && (q.p75 - 3.0).abs() < 1e-12);
    assert_eq!(Quantiles::of(&[]).max, 0.0);
}
