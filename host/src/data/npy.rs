//! `.npy` arrays of any common numeric dtype, read as f64 for `--data FILE.npz` (see
//! [`super::own`]); [`crate::npz`] reads and writes the f32 arrays of the export sidecar.

use anyhow::{bail, ensure, Result};

use crate::npz::{npy_header, NpyHeader};

/// A `.npy` array as f64 values.
pub struct Npy {
    /// Shape (C order).
    pub shape: Vec<usize>,
    /// Values, converted to f64 (exact for every supported dtype up to 2^53).
    pub data: Vec<f64>,
}

/// Parses `.npy` bytes (versions 1–3, C order) of dtype f4, f8, i1…i8, u1…u8 or b1, little-endian.
///
/// # Errors
/// Bad magic or header, Fortran order, another dtype, or a data length that does not match.
pub fn parse_npy(bytes: &[u8]) -> Result<Npy> {
    let NpyHeader {
        descr,
        shape,
        count,
        body,
    } = npy_header(bytes)?;
    let descr = descr.as_str();
    let (kind, size) = match descr {
        "<f4" | "<f8" | "<i1" | "|i1" | "<i2" | "<i4" | "<i8" | "<u1" | "|u1" | "<u2" | "<u4"
        | "<u8" | "|b1" => (&descr[1..2], descr[2..].parse::<usize>()?),
        other => {
            bail!("dtype `{other}` is not supported (use little-endian float32/64 or (u)int8…64)")
        }
    };
    let bytes_needed = size
        .checked_mul(count)
        .ok_or_else(|| anyhow::anyhow!(".npy shape {shape:?} is too large"))?;
    ensure!(
        body.len() == bytes_needed,
        ".npy data has {} bytes for shape {shape:?} of {descr}",
        body.len()
    );
    let mut b8 = [0u8; 8];
    let data = body
        .chunks_exact(size)
        .map(|c| {
            b8 = [0; 8];
            b8[..size].copy_from_slice(c);
            let u = u64::from_le_bytes(b8);
            #[allow(clippy::cast_precision_loss, clippy::cast_possible_wrap)]
            match (kind, size) {
                ("f", 4) => f64::from(f32::from_le_bytes([c[0], c[1], c[2], c[3]])),
                ("f", _) => f64::from_le_bytes(b8),
                ("i", s) => {
                    let shift = 64 - 8 * s as u32;
                    (((u << shift) as i64) >> shift) as f64
                }
                _ => u as f64,
            }
        })
        .collect();
    Ok(Npy { shape, data })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn npy(descr: &str, shape: &str, body: &[u8]) -> Vec<u8> {
        let h = format!("{{'descr': '{descr}', 'fortran_order': False, 'shape': {shape}, }}\n");
        let mut out = b"\x93NUMPY\x01\x00".to_vec();
        out.extend_from_slice(&u16::try_from(h.len()).unwrap().to_le_bytes());
        out.extend_from_slice(h.as_bytes());
        out.extend_from_slice(body);
        out
    }

    #[test]
    fn signed_unsigned_and_float_dtypes() {
        let b: Vec<u8> = [-3i16, 7].iter().flat_map(|v| v.to_le_bytes()).collect();
        let a = parse_npy(&npy("<i2", "(2,)", &b)).unwrap();
        assert_eq!((a.shape, a.data), (vec![2], vec![-3.0, 7.0]));
        let a = parse_npy(&npy("|u1", "(1, 2)", &[255, 0])).unwrap();
        assert_eq!((a.shape, a.data), (vec![1, 2], vec![255.0, 0.0]));
        let b: Vec<u8> = [0.1f32].iter().flat_map(|v| v.to_le_bytes()).collect();
        assert_eq!(
            parse_npy(&npy("<f4", "(1,)", &b)).unwrap().data,
            [f64::from(0.1f32)]
        );
        assert!(parse_npy(&npy("<f4", "(2,)", &b)).is_err());
        assert!(parse_npy(&npy("<c8", "(1,)", &[0; 8])).is_err());
        assert!(parse_npy(b"not numpy").is_err());
    }
}
