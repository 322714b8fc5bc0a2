//! Minimal `.npy` / `.npz` writing and reading for f32 arrays (NumPy format 1.0), so exported
//! weights open with `numpy.load` — and with any zip + 10-line header parser — without this
//! project.
//!
//! `.npy` layout: `\x93NUMPY`, version `1 0`, a little-endian u16 header length, an ASCII Python
//! dict `{'descr': '<f4', 'fortran_order': False, 'shape': (r, c), }` padded with spaces and a
//! final `\n` so that the data starts at a multiple of 64 bytes, then the values (C order, f32
//! little-endian). `.npz` is a zip archive (stored, no compression) of `name.npy` entries.

use std::collections::BTreeMap;
use std::fs;
use std::io::{Read, Write};
use std::path::Path;

use anyhow::{bail, ensure, Context, Result};
use zip::write::SimpleFileOptions;
use zip::{CompressionMethod, DateTime, ZipArchive, ZipWriter};

const MAGIC: &[u8] = b"\x93NUMPY";

/// One f32 array with its shape (C order).
#[derive(Debug, Clone, PartialEq)]
pub struct Array {
    /// Shape; the product is `data.len()`.
    pub shape: Vec<usize>,
    /// Values in C (row-major) order.
    pub data: Vec<f32>,
}

/// The `.npy` bytes of a little-endian f32 array.
#[must_use]
pub fn npy_bytes(a: &Array) -> Vec<u8> {
    let shape = match a.shape.as_slice() {
        [n] => format!("({n},)"),
        s => format!(
            "({})",
            s.iter()
                .map(|n| n.to_string())
                .collect::<Vec<_>>()
                .join(", ")
        ),
    };
    let mut header = format!("{{'descr': '<f4', 'fortran_order': False, 'shape': {shape}, }}");
    // 10 bytes of preamble + header + '\n' must be a multiple of 64.
    while (10 + header.len() + 1) % 64 != 0 {
        header.push(' ');
    }
    header.push('\n');
    let mut out = Vec::with_capacity(10 + header.len() + 4 * a.data.len());
    out.extend_from_slice(MAGIC);
    out.extend_from_slice(&[1, 0]);
    out.extend_from_slice(&(header.len() as u16).to_le_bytes());
    out.extend_from_slice(header.as_bytes());
    for v in &a.data {
        out.extend_from_slice(&v.to_le_bytes());
    }
    out
}

/// The header of a `.npy` array (versions 1–3, C order) and its data bytes.
pub(crate) struct NpyHeader<'a> {
    /// The dtype string, e.g. `<f4`.
    pub descr: String,
    /// Shape (C order).
    pub shape: Vec<usize>,
    /// Number of elements (the product of the shape, checked for overflow).
    pub count: usize,
    /// The bytes after the header.
    pub body: &'a [u8],
}

/// Parses a `.npy` header: magic, version, `descr`, `fortran_order` (must be `False`) and
/// `shape`, never panicking on malformed input (the one parser of the kit's `.npy` readers).
///
/// # Errors
/// Bad magic, unsupported version, Fortran order, or a header that does not parse.
pub(crate) fn npy_header(bytes: &[u8]) -> Result<NpyHeader<'_>> {
    ensure!(
        bytes.len() >= 10 && &bytes[..6] == MAGIC,
        "not a .npy array (bad magic)"
    );
    let (major, minor) = (bytes[6], bytes[7]);
    let (header_len, start) = match major {
        1 => (usize::from(u16::from_le_bytes([bytes[8], bytes[9]])), 10),
        2 | 3 => {
            ensure!(bytes.len() >= 12, ".npy header truncated");
            (
                u32::from_le_bytes([bytes[8], bytes[9], bytes[10], bytes[11]]) as usize,
                12,
            )
        }
        _ => bail!(".npy version {major}.{minor} is not supported"),
    };
    let header = bytes
        .get(start..start + header_len)
        .context(".npy header truncated")?;
    let header = std::str::from_utf8(header).context(".npy header is not text")?;
    let field = |key: &str| -> Result<&str> {
        let at = header
            .find(&format!("'{key}':"))
            .with_context(|| format!(".npy header has no '{key}'"))?;
        Ok(header[at + key.len() + 3..].trim_start())
    };
    ensure!(
        field("fortran_order")?.starts_with("False"),
        "Fortran-order .npy arrays are not supported (save with numpy.ascontiguousarray)"
    );
    let descr = field("descr")?
        .strip_prefix('\'')
        .and_then(|d| d.split('\'').next())
        .context(".npy descr is not a string")?
        .to_owned();
    let shape_text = field("shape")?;
    let inner = shape_text
        .strip_prefix('(')
        .and_then(|t| t.split_once(')'))
        .map(|(inner, _)| inner)
        .context(".npy shape is not a tuple")?;
    let shape: Vec<usize> = inner
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|s| {
            s.parse::<usize>()
                .with_context(|| format!(".npy shape entry {s:?}"))
        })
        .collect::<Result<_>>()?;
    let count = shape
        .iter()
        .try_fold(1usize, |n, &d| n.checked_mul(d))
        .with_context(|| format!(".npy shape {shape:?} is too large"))?;
    Ok(NpyHeader {
        descr,
        shape,
        count,
        body: &bytes[start + header_len..],
    })
}

/// Parses `.npy` bytes of a little-endian f32 C-order array (what [`npy_bytes`] writes).
///
/// # Errors
/// Bad magic, unsupported version or dtype, Fortran order, or a data length that does not match.
pub fn parse_npy(bytes: &[u8]) -> Result<Array> {
    let NpyHeader {
        descr,
        shape,
        count,
        body,
    } = npy_header(bytes)?;
    ensure!(
        descr == "<f4",
        ".npy dtype {descr} is not little-endian f32"
    );
    let bytes_needed = count
        .checked_mul(4)
        .with_context(|| format!(".npy shape {shape:?} is too large"))?;
    ensure!(
        body.len() == bytes_needed,
        ".npy data has {} bytes for shape {shape:?}",
        body.len()
    );
    let data = body
        .chunks_exact(4)
        .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
        .collect();
    Ok(Array { shape, data })
}

/// Writes `arrays` as an uncompressed `.npz` (entries `name.npy`, in name order, with a fixed
/// timestamp so the file is reproducible).
///
/// # Errors
/// The file cannot be written.
pub fn write_npz(path: &Path, arrays: &BTreeMap<String, Array>) -> Result<()> {
    let file = fs::File::create(path).with_context(|| format!("creating {}", path.display()))?;
    let mut zip = ZipWriter::new(file);
    let opts = SimpleFileOptions::default()
        .compression_method(CompressionMethod::Stored)
        .last_modified_time(DateTime::default());
    for (name, a) in arrays {
        zip.start_file(format!("{name}.npy"), opts)
            .with_context(|| format!("writing {}", path.display()))?;
        zip.write_all(&npy_bytes(a))
            .with_context(|| format!("writing {}", path.display()))?;
    }
    zip.finish()
        .with_context(|| format!("writing {}", path.display()))?;
    Ok(())
}

/// Reads every `*.npy` entry of an `.npz` file.
///
/// # Errors
/// Not a zip file, or an entry [`parse_npy`] refuses.
pub fn read_npz(path: &Path) -> Result<BTreeMap<String, Array>> {
    let file = fs::File::open(path).with_context(|| format!("opening {}", path.display()))?;
    let mut zip = ZipArchive::new(file)
        .with_context(|| format!("{} is not a zip archive", path.display()))?;
    let mut out = BTreeMap::new();
    for i in 0..zip.len() {
        let mut entry = zip.by_index(i)?;
        let name = entry.name()?.into_owned();
        let mut bytes = Vec::new();
        entry.read_to_end(&mut bytes)?;
        if let Some(stem) = name.strip_suffix(".npy") {
            out.insert(
                stem.to_owned(),
                parse_npy(&bytes).with_context(|| format!("{}: {name}", path.display()))?,
            );
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn npy_round_trip_and_alignment() {
        for shape in [vec![3usize], vec![2, 3], vec![1, 1, 4]] {
            let n: usize = shape.iter().product();
            let a = Array {
                shape,
                data: (0..n).map(|i| i as f32 * 0.5 - 1.0).collect(),
            };
            let b = npy_bytes(&a);
            let hl = usize::from(u16::from_le_bytes([b[8], b[9]]));
            assert_eq!((10 + hl) % 64, 0);
            assert_eq!(b[10 + hl - 1], b'\n');
            assert_eq!(parse_npy(&b).unwrap(), a);
        }
        let one = npy_bytes(&Array {
            shape: vec![5],
            data: vec![0.0; 5],
        });
        assert!(String::from_utf8_lossy(&one).contains("'shape': (5,)"));
    }

    #[test]
    fn npz_round_trip() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("x.npz");
        let mut m = BTreeMap::new();
        m.insert(
            "W0".to_owned(),
            Array {
                shape: vec![2, 2],
                data: vec![1.0, 2.0, 3.0, 4.0],
            },
        );
        m.insert(
            "b0".to_owned(),
            Array {
                shape: vec![2],
                data: vec![-1.0, f32::MIN_POSITIVE],
            },
        );
        write_npz(&path, &m).unwrap();
        assert_eq!(read_npz(&path).unwrap(), m);
        let first = fs::read(&path).unwrap();
        write_npz(&path, &m).unwrap();
        assert_eq!(fs::read(&path).unwrap(), first, "reproducible bytes");
    }
}
