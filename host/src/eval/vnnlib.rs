//! VNN-LIB properties of certificates, so that a third-party verifier can check them on the ONNX
//! export of the deployed map ([`crate::model::onnx`]); docs/interop.md describes the files.
//!
//! One property per certified sample and norm: the input box around x, and the negation of
//! "class y wins" in the disjunctive form of the VNN-COMP benchmarks,
//! `(assert (or (and (>= Y_j Y_y)) …))` over j ≠ y. The certificate implies that the property is
//! unsatisfiable; a verifier that finds a satisfying point has refuted the certificate.
//!
//! - ℓ∞ certificate of radius r: the box x ± r, intersected with the model's input range.
//! - ℓ2 certificate of radius r: VNN-LIB has no ℓ2 ball, so the box of half-width r/√n₀
//!   (inscribed in the ball) is written instead: a weaker property, but a sound one.
//!
//! Every bound is computed in f64 and printed in shortest round-trip decimal (Rust's `Display`
//! for f64), so parsing the file back gives the same f64 bit for bit. Bounds are rounded inwards
//! (lower bounds up, upper bounds down, the ℓ2 half-width down), so the box always lies inside the
//! certified ball: for f32 inputs and radii of the usual sizes x ± r is exact in f64 and nothing
//! is rounded at all.

use std::fmt::Write as _;
use std::fs;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use lifted_core::{ModelView, Norm};
use serde::Serialize;

use crate::eval::Prediction;

/// Half-width of the box written for a certificate of `radius` in `norm` on `dim` inputs:
/// r for ℓ∞, r/√dim rounded down for ℓ2 (the inscribed box).
#[must_use]
pub fn half_width(norm: Norm, radius: f32, dim: usize) -> f64 {
    let r = f64::from(radius);
    match norm {
        Norm::Linf => r,
        Norm::L2 => {
            // Two correctly rounded operations: at most two ulps above r/√n; three steps down.
            let q = r / (dim.max(1) as f64).sqrt();
            q.next_down().next_down().next_down().max(0.0)
        }
    }
}

/// `a + b` exactly if it is representable, otherwise the neighbouring f64 towards zero of the
/// exact sum's side given by `inward`: `Up` gives the smallest f64 ≥ a + b, `Down` the largest
/// f64 ≤ a + b (Knuth's TwoSum gives the rounding error exactly).
fn directed_sum(a: f64, b: f64, up: bool) -> f64 {
    let s = a + b;
    let bb = s - a;
    let err = (a - (s - bb)) + (b - bb);
    if up && err > 0.0 {
        s.next_up()
    } else if !up && err < 0.0 {
        s.next_down()
    } else {
        s
    }
}

/// The input box [lo, hi] of half-width `h` around `x`, clipped to `range`, rounded inwards.
#[must_use]
pub fn input_box(x: &[f32], h: f64, range: (f32, f32)) -> (Vec<f64>, Vec<f64>) {
    let (min, max) = (f64::from(range.0), f64::from(range.1));
    x.iter()
        .map(|&v| {
            let v = f64::from(v);
            (
                directed_sum(v, -h, true).max(min),
                directed_sum(v, h, false).min(max),
            )
        })
        .unzip()
}

/// A real number in SMT-LIB form: shortest round-trip decimal, always with a decimal point,
/// negative values as `(- v)`.
fn real(v: f64) -> String {
    let mut s = format!("{}", v.abs());
    if !s.contains('.') {
        s.push_str(".0");
    }
    if v.is_sign_negative() && v != 0.0 {
        format!("(- {s})")
    } else {
        s
    }
}

/// The text of one property: declarations of `X_0 … X_{n−1}` and `Y_0 … Y_{C−1}`, the box, and
/// the negated robustness of class `class`. `comment` lines go first, each prefixed with `; `.
#[must_use]
pub fn property(
    comment: &[String],
    lo: &[f64],
    hi: &[f64],
    class: usize,
    classes: usize,
) -> String {
    let mut t = String::new();
    for c in comment {
        let _ = writeln!(t, "; {c}");
    }
    t.push('\n');
    for i in 0..lo.len() {
        let _ = writeln!(t, "(declare-const X_{i} Real)");
    }
    t.push('\n');
    for j in 0..classes {
        let _ = writeln!(t, "(declare-const Y_{j} Real)");
    }
    t.push_str("\n; Input constraints:\n");
    for (i, (&l, &h)) in lo.iter().zip(hi).enumerate() {
        let _ = writeln!(t, "(assert (<= X_{i} {}))", real(h));
        let _ = writeln!(t, "(assert (>= X_{i} {}))", real(l));
    }
    t.push_str("\n; Output constraints (the negation of: class ");
    let _ = writeln!(t, "{class} wins):");
    t.push_str("(assert (or\n");
    for j in (0..classes).filter(|&j| j != class) {
        let _ = writeln!(t, "    (and (>= Y_{j} Y_{class}))");
    }
    t.push_str("))\n");
    t
}

/// What [`parse_box`] reads back from a property written by [`property`].
#[derive(Debug, Clone, PartialEq)]
pub struct ParsedProperty {
    /// Lower bounds of X_0 … X_{n−1}.
    pub lo: Vec<f64>,
    /// Upper bounds.
    pub hi: Vec<f64>,
    /// The class y of the output constraints `Y_j >= Y_y`.
    pub class: usize,
    /// The j of the output constraints, in order.
    pub others: Vec<usize>,
}

fn parse_real(s: &str) -> Option<f64> {
    let s = s.trim();
    match s.strip_prefix("(- ").and_then(|r| r.strip_suffix(')')) {
        Some(inner) => inner.trim().parse::<f64>().ok().map(|v| -v),
        None => s.parse().ok(),
    }
}

/// Reads the bounds and output constraints of a property written by [`property`] (not a general
/// VNN-LIB parser: the tests use it to check files bit for bit).
///
/// # Errors
/// A line of an unexpected form, or a variable without both bounds.
pub fn parse_box(text: &str) -> Result<ParsedProperty> {
    let mut lo: Vec<Option<f64>> = Vec::new();
    let mut hi: Vec<Option<f64>> = Vec::new();
    let mut class = None;
    let mut others = Vec::new();
    for line in text.lines().map(str::trim) {
        if let Some(rest) = line
            .strip_prefix("(assert (")
            .and_then(|r| r.strip_suffix("))"))
        {
            let (op, rest) = rest.split_once(' ').context(line.to_owned())?;
            let (var, value) = rest.split_once(' ').context(line.to_owned())?;
            let i: usize = var
                .strip_prefix("X_")
                .and_then(|v| v.parse().ok())
                .with_context(|| format!("bad variable in {line}"))?;
            let v = parse_real(value).with_context(|| format!("bad number in {line}"))?;
            let slot = if op == "<=" { &mut hi } else { &mut lo };
            if slot.len() <= i {
                slot.resize(i + 1, None);
            }
            slot[i] = Some(v);
        } else if let Some(rest) = line
            .strip_prefix("(and (>= Y_")
            .and_then(|r| r.strip_suffix("))"))
        {
            let (j, y) = rest.split_once(" Y_").context(line.to_owned())?;
            others.push(j.parse()?);
            let y: usize = y.parse()?;
            anyhow::ensure!(class.is_none_or(|c| c == y), "two classes in {line}");
            class = Some(y);
        }
    }
    let all = |v: Vec<Option<f64>>, what: &str| {
        v.into_iter()
            .enumerate()
            .map(|(i, b)| b.with_context(|| format!("X_{i} has no {what} bound")))
            .collect::<Result<Vec<f64>>>()
    };
    Ok(ParsedProperty {
        lo: all(lo, "lower")?,
        hi: all(hi, "upper")?,
        class: class.context("no output constraint")?,
        others,
    })
}

/// One written property.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct WrittenProperty {
    /// Sample index in the data set.
    pub sample: usize,
    /// `l2` or `linf`.
    pub norm: &'static str,
    /// The certified class.
    pub class: usize,
    /// The certified radius (f32).
    pub radius: f32,
    /// The half-width of the box written.
    pub half_width: f64,
    /// The file name (inside the folder).
    pub file: String,
}

/// What [`write_dir`] wrote.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct VnnlibSummary {
    /// The folder.
    pub dir: PathBuf,
    /// The ONNX model of the deployed map (`model.onnx`).
    pub onnx: PathBuf,
    /// One entry per property file.
    pub properties: Vec<WrittenProperty>,
}

fn norm_name(n: Norm) -> &'static str {
    match n {
        Norm::L2 => "l2",
        Norm::Linf => "linf",
    }
}

/// Seconds per instance written to `instances.csv` (the VNN-COMP column; verifiers may ignore it).
pub const TIMEOUT_SECONDS: u32 = 60;

/// Writes `dir/model.onnx`, one `sample{i}_{norm}.vnnlib` per correctly classified sample with a
/// positive certified radius (ℓ2 and ℓ∞ separately), `instances.csv` in the VNN-COMP form
/// (`onnx,vnnlib,timeout` without a header) and `certificates.csv` (sample, label, class, norm,
/// radius, half-width, file).
///
/// # Errors
/// The folder or a file cannot be written.
pub fn write_dir<'d>(
    dir: &Path,
    model: &ModelView<'_>,
    input: impl Fn(usize) -> Option<&'d [f32]>,
    preds: &[Prediction],
) -> Result<VnnlibSummary> {
    fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    let onnx = dir.join("model.onnx");
    crate::model::onnx::write_onnx(model, &onnx)?;
    let h = model.header();
    let range = (h.input_min, h.input_max);
    let width = (preds.len().max(1) - 1).to_string().len();
    let mut written = Vec::new();
    let mut instances = String::new();
    let mut table = String::from("sample,label,class,norm,radius,half_width,file\n");
    for (i, p) in preds.iter().enumerate() {
        let Some(x) = input(i) else { continue };
        for norm in [Norm::Linf, Norm::L2] {
            let r = p.robust_radius(norm);
            if r.is_nan() || r <= 0.0 {
                continue;
            }
            let class = usize::from(p.label);
            let hw = half_width(norm, r, x.len());
            let (lo, hi) = input_box(x, hw, range);
            let name = norm_name(norm);
            let file = format!("sample{i:0width$}_{name}.vnnlib");
            let comment = vec![
                format!("lifted certificate: sample {i}, class {class}, {name} radius {r:e}"),
                match norm {
                    Norm::Linf => format!("input box: x +- {hw} clipped to [{}, {}]", range.0, range.1),
                    Norm::L2 => format!(
                        "input box: x +- {hw} (= radius/sqrt({}) rounded down, inscribed in the l2 ball) clipped to [{}, {}]",
                        x.len(),
                        range.0,
                        range.1
                    ),
                },
                "the certificate implies that this property is unsatisfiable on model.onnx".to_owned(),
            ];
            let text = property(&comment, &lo, &hi, class, model.classes());
            let path = dir.join(&file);
            fs::write(&path, text).with_context(|| format!("writing {}", path.display()))?;
            let _ = writeln!(instances, "model.onnx,{file},{TIMEOUT_SECONDS}");
            let _ = writeln!(table, "{i},{},{class},{name},{r:e},{hw:e},{file}", p.label);
            written.push(WrittenProperty {
                sample: i,
                norm: name,
                class,
                radius: r,
                half_width: hw,
                file,
            });
        }
    }
    for (name, text) in [("instances.csv", instances), ("certificates.csv", table)] {
        let path = dir.join(name);
        fs::write(&path, text).with_context(|| format!("writing {}", path.display()))?;
    }
    Ok(VnnlibSummary {
        dir: dir.to_path_buf(),
        onnx,
        properties: written,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bounds_round_inwards_and_print_round_trip() {
        // 0.1 + 0.2 is not exact in f64: the upper bound must not exceed the exact sum.
        let hi = directed_sum(0.1, 0.2, false);
        let lo = directed_sum(0.1, 0.2, true);
        assert!(hi < lo, "{hi} {lo}");
        assert_eq!(lo, hi.next_up());
        // Exact sums are kept.
        assert_eq!(directed_sum(0.5, 0.25, false), 0.75);
        assert_eq!(directed_sum(0.5, 0.25, true), 0.75);
        for v in [0.0, 1.0, 0.1, -0.25, 1e-30, 0.30000000000000004] {
            assert_eq!(parse_real(&real(v)), Some(v), "{v}");
        }
        assert_eq!(real(1.0), "1.0");
        assert_eq!(real(-0.5), "(- 0.5)");
    }

    #[test]
    fn the_l2_box_is_inscribed_in_the_ball() {
        let r = 0.7f32;
        let h = half_width(Norm::L2, r, 64);
        let exact = f64::from(r) / 8.0;
        assert!(h < exact && h > exact * (1.0 - 1e-15), "{h} {exact}");
        // The corner of the box is inside the ball: √n · h ≤ r.
        assert!(h * 8.0 <= f64::from(r));
        assert_eq!(half_width(Norm::Linf, r, 64), f64::from(r));
    }

    #[test]
    fn a_property_parses_back() {
        let x = [0.0f32, 0.5, 1.0];
        let (lo, hi) = input_box(&x, 0.25, (0.0, 1.0));
        assert_eq!(lo, [0.0, 0.25, 0.75]);
        assert_eq!(hi, [0.25, 0.75, 1.0]);
        let t = property(&["c".into()], &lo, &hi, 2, 4);
        assert!(t.contains("(assert (or\n    (and (>= Y_0 Y_2))\n    (and (>= Y_1 Y_2))\n    (and (>= Y_3 Y_2))\n))"), "{t}");
        let p = parse_box(&t).unwrap();
        assert_eq!((p.lo, p.hi, p.class, p.others), (lo, hi, 2, vec![0, 1, 3]));
    }
}
