//! The host side of a golden run, and the comparison with the firmware's output.
//!
//! The firmware's `golden` program prints a header, one line per input and a summary
//! (`lifted_proto::golden`); [`expected_lines`] computes the same lines on the host with
//! `lifted-core` from the same model blob and golden file, and [`compare`] diffs the two line by
//! line. Floats are printed as bit patterns, so equal lines mean bit-identical results.

use std::fmt::Write as _;

use lifted_core::write::Blob;
use lifted_core::{infer_and_certify, ModelView, Workspace};
use lifted_proto::golden::{self, Golden, Tally};

/// The lines the `golden` program must print for `model_blob` and `golden_file`.
///
/// # Errors
/// The model or the golden file is refused, or their dimensions differ.
pub fn expected_lines(model_blob: &[u8], golden_file: &[u8]) -> Result<Vec<String>, String> {
    let blob = Blob::from_bytes(model_blob);
    let model = ModelView::new_checked(blob.as_bytes()).map_err(|e| format!("model: {e}"))?;
    let file = Golden::new(golden_file).map_err(|e| format!("golden file: {e}"))?;
    if file.dim() != model.input_dim() {
        return Err(format!(
            "the golden file has {} inputs per sample, the model {}",
            file.dim(),
            model.input_dim()
        ));
    }
    let mut lines = Vec::with_capacity(file.len() + 2);
    let mut line = String::new();
    let _ = golden::write_header(&mut line, &model, &file);
    lines.push(std::mem::take(&mut line));
    let mut pixels = vec![0u8; file.dim()];
    let mut x = vec![0f32; file.dim()];
    let mut buf = vec![0f32; Workspace::required(&model)];
    let mut tally = Tally::default();
    let mut samples = file.samples();
    let mut index = 0;
    while let Some(next) = samples.next_input(&mut pixels, &mut x) {
        let label = next.map_err(|e| format!("golden file, sample {index}: {e}"))?;
        let mut ws = Workspace::new(&mut buf);
        let result = infer_and_certify(&model, &x, &mut ws);
        tally.add(label, &result);
        let _ = golden::write_result(&mut line, index, label, &result);
        lines.push(std::mem::take(&mut line));
        index += 1;
    }
    let _ = tally.write(&mut line);
    lines.push(line);
    Ok(lines)
}

/// The lines of a `golden` run's output that take part in the comparison (header, samples,
/// summary, and any `golden:` error line).
pub fn device_lines(stdout: &str) -> Vec<&str> {
    stdout
        .lines()
        .filter(|l| l.starts_with("golden") || l.starts_with("sample "))
        .collect()
}

/// The outcome of [`compare`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Comparison {
    /// Lines the host expects.
    pub expected: usize,
    /// Result lines the device printed.
    pub got: usize,
    /// Line numbers (0-based, header = 0) that differ or are missing on one side.
    pub mismatched: Vec<usize>,
    /// A readable account of the first mismatches (empty when there are none).
    pub report: String,
}

impl Comparison {
    /// Number of mismatching lines.
    pub fn mismatches(&self) -> usize {
        self.mismatched.len()
    }
}

/// Compares the device's lines with the host's; reports the first `show` mismatches with both
/// lines and the differing fields.
pub fn compare(device: &[&str], host: &[String], show: usize) -> Comparison {
    let n = device.len().max(host.len());
    let mut mismatched = Vec::new();
    let mut report = String::new();
    for i in 0..n {
        let (d, h) = (device.get(i).copied(), host.get(i).map(String::as_str));
        if d == h {
            continue;
        }
        mismatched.push(i);
        if mismatched.len() > show {
            continue;
        }
        let _ = writeln!(report, "line {i}:");
        let _ = writeln!(report, "  host:   {}", h.unwrap_or("<missing>"));
        let _ = writeln!(report, "  device: {}", d.unwrap_or("<missing>"));
        if let (Some(d), Some(h)) = (d, h) {
            let (dt, ht): (Vec<&str>, Vec<&str>) = (
                d.split_whitespace().collect(),
                h.split_whitespace().collect(),
            );
            let diffs: Vec<String> = (0..dt.len().max(ht.len()))
                .filter(|&k| dt.get(k) != ht.get(k))
                .map(|k| {
                    format!(
                        "token {k}: host {} device {}",
                        ht.get(k).unwrap_or(&"-"),
                        dt.get(k).unwrap_or(&"-")
                    )
                })
                .take(8)
                .collect();
            let _ = writeln!(report, "  differing: {}", diffs.join("; "));
        }
    }
    if mismatched.len() > show {
        let _ = writeln!(report, "… and {} more", mismatched.len() - show);
    }
    Comparison {
        expected: host.len(),
        got: device.len(),
        mismatched,
        report,
    }
}
