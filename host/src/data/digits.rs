//! The UCI optical digits (8×8) set, embedded in the crate.
//!
//! `host/data/digits.csv.gz` is the 1797-sample copy shipped in the scikit-learn 1.9.1 wheel
//! (docs/data.md §3; attribution in `host/data/NOTICE.md`, licence CC BY 4.0). It is a gzip of a
//! headerless CSV: one line per sample, 64 pixel values 0…16 (8×8, row-major) and the label 0…9.

use std::path::Path;

use anyhow::{bail, Context, Result};

use super::{idx, Dataset};

/// The committed `digits.csv.gz`, byte for byte.
pub const DIGITS_CSV_GZ: &[u8] = include_bytes!("../../data/digits.csv.gz");
/// SHA-256 of [`DIGITS_CSV_GZ`] (docs/data.md §3).
pub const DIGITS_CSV_GZ_SHA256: &str =
    "09f66e6debdee2cd2b5ae59e0d6abbb73fc2b0e0185d2e1957e9ebb51e23aa22";
/// Number of samples in the set.
pub const DIGITS_SAMPLES: usize = 1797;
/// Pixels per sample (8×8).
pub const DIGITS_DIM: usize = 64;
/// Largest pixel value; inputs are `pixel / 16`.
pub const DIGITS_MAX_PIXEL: u8 = 16;
/// File names looked for when a data directory is given for the digits.
pub const DIGITS_FILE_NAMES: [&str; 2] = ["digits.csv.gz", "digits.csv"];

/// The embedded digits set: 1797 samples, inputs `pixel / 16` in [0, 1], 10 classes.
///
/// # Errors
/// Only if the embedded file were corrupt (a test pins its checksum).
pub fn embedded() -> Result<Dataset> {
    parse_csv(DIGITS_CSV_GZ, "embedded digits.csv.gz")
}

/// Reads a digits CSV file (gzip or plain) in the format of [`DIGITS_CSV_GZ`].
///
/// # Errors
/// The file is missing, unreadable or malformed; the message names the file.
pub fn read_csv(path: &Path) -> Result<Dataset> {
    let bytes = std::fs::read(path).with_context(|| {
        format!(
            "cannot read {} — omit --data-dir to use the embedded digits set",
            path.display()
        )
    })?;
    parse_csv(&bytes, &path.display().to_string())
}

/// Parses a digits CSV (gzip or plain): lines of 64 integers 0…16 and a label 0…9.
///
/// `source` names the input in error messages, which also give the line number.
///
/// # Errors
/// Corrupt gzip, a line without 65 fields, a field that is not an integer, a pixel above 16 or a
/// label above 9, or no samples at all.
pub fn parse_csv(bytes: &[u8], source: &str) -> Result<Dataset> {
    let text = idx::decompress(bytes.to_vec())
        .map_err(anyhow::Error::new)
        .and_then(|b| String::from_utf8(b).map_err(anyhow::Error::new))
        .with_context(|| format!("{source}: not a gzip or UTF-8 digits CSV"))?;
    let classes = 10;
    let mut inputs = Vec::with_capacity(DIGITS_SAMPLES * DIGITS_DIM);
    let mut labels = Vec::with_capacity(DIGITS_SAMPLES);
    for (i, line) in text
        .lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
    {
        let lineno = i + 1;
        let fields: Vec<&str> = line.trim().split(',').collect();
        if fields.len() != DIGITS_DIM + 1 {
            bail!(
                "{source} line {lineno}: expected {} comma-separated values, got {}",
                DIGITS_DIM + 1,
                fields.len()
            );
        }
        for (j, field) in fields.iter().enumerate() {
            let value: u8 = field.trim().parse().with_context(|| {
                format!(
                    "{source} line {lineno}, column {}: `{field}` is not an integer 0…255",
                    j + 1
                )
            })?;
            if j < DIGITS_DIM {
                if value > DIGITS_MAX_PIXEL {
                    bail!(
                        "{source} line {lineno}, column {}: pixel {value} is above {DIGITS_MAX_PIXEL}",
                        j + 1
                    );
                }
                inputs.push(f32::from(value) / f32::from(DIGITS_MAX_PIXEL));
            } else {
                if usize::from(value) >= classes {
                    bail!("{source} line {lineno}: label {value} is out of range (expected 0..{classes})");
                }
                labels.push(value);
            }
        }
    }
    if labels.is_empty() {
        bail!("{source}: no samples");
    }
    Ok(Dataset {
        name: "digits".to_owned(),
        inputs,
        labels,
        dim: DIGITS_DIM,
        classes,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_csv_parses_and_scales() {
        let mut line = vec!["0"; 64];
        line[0] = "16";
        line[63] = "8";
        let csv = format!("{},7\n", line.join(","));
        let d = parse_csv(csv.as_bytes(), "test").unwrap();
        assert_eq!(d.len(), 1);
        assert_eq!(d.labels, [7]);
        assert_eq!(d.inputs[0], 1.0);
        assert_eq!(d.inputs[63], 0.5);
    }

    #[test]
    fn bad_lines_name_the_line() {
        let line = vec!["0"; 64].join(",");
        let err = parse_csv(format!("{line},1\n{line},10\n").as_bytes(), "x.csv").unwrap_err();
        assert!(err.to_string().contains("x.csv line 2: label 10"), "{err}");
        let err = parse_csv(format!("{line}\n").as_bytes(), "x.csv").unwrap_err();
        assert!(err.to_string().contains("expected 65"), "{err}");
        let err = parse_csv(format!("{line},1,1\n").as_bytes(), "x.csv").unwrap_err();
        assert!(err.to_string().contains("expected 65"), "{err}");
        let bad = line.replacen('0', "17", 1);
        let err = parse_csv(format!("{bad},1\n").as_bytes(), "x.csv").unwrap_err();
        assert!(err.to_string().contains("pixel 17 is above 16"), "{err}");
        assert!(parse_csv(b"", "x.csv").is_err());
    }
}
