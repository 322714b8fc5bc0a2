//! IDX files, the container format of MNIST and Fashion-MNIST.
//!
//! An IDX file is a big-endian header — a magic number `0x0000_08nn` (unsigned bytes, `nn`
//! dimensions) and one `u32` per dimension — followed by the data. Images use magic 2051
//! (`0x0000_0803`, dims count × rows × cols) and labels magic 2049 (`0x0000_0801`, dims count).
//!
//! The readers accept raw or gzip-compressed files; gzip is recognised by its magic bytes
//! `1f 8b`, not by the file name. The byte-level parsers ([`parse_images`], [`parse_labels`])
//! return a typed [`IdxError`]; the file readers ([`read_images`], [`read_labels`]) wrap it in an
//! [`IdxFileError`] inside an [`anyhow::Error`], whose message names the file and the command that
//! repairs it.

use std::fmt;
use std::io::Read;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use flate2::read::MultiGzDecoder;

/// Magic number of an IDX image file (unsigned bytes, 3 dimensions).
pub const IMAGES_MAGIC: u32 = 0x0000_0803;
/// Magic number of an IDX label file (unsigned bytes, 1 dimension).
pub const LABELS_MAGIC: u32 = 0x0000_0801;
/// Upper bound on the size of a decompressed IDX file (guards against gzip bombs).
pub const MAX_DECOMPRESSED_BYTES: u64 = 1 << 30;

const GZIP_MAGIC: [u8; 2] = [0x1f, 0x8b];

/// Why the bytes of an IDX file were rejected.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum IdxError {
    /// The data ended before the header or the payload was complete.
    Truncated {
        /// Bytes the header (or the header alone, if it is incomplete) requires.
        expected: u64,
        /// Bytes present.
        got: u64,
    },
    /// More bytes follow the payload that the header declares.
    TrailingBytes {
        /// Bytes the header declares.
        expected: u64,
        /// Bytes present.
        got: u64,
    },
    /// The magic number is not the one expected for this kind of file.
    BadMagic {
        /// The magic number required.
        expected: u32,
        /// The magic number found.
        found: u32,
    },
    /// A dimension is zero, or the declared size does not fit in memory.
    BadDims {
        /// The dimensions from the header.
        dims: Vec<u32>,
    },
    /// A label is not smaller than the number of classes.
    LabelOutOfRange {
        /// Position of the label in the file.
        index: usize,
        /// The label found.
        label: u8,
        /// Number of classes of the data set.
        classes: usize,
    },
    /// The gzip stream is corrupt or ends early.
    Gzip {
        /// The decoder's message.
        message: String,
    },
    /// The decompressed data exceeds [`MAX_DECOMPRESSED_BYTES`].
    TooLarge {
        /// The limit in bytes.
        limit: u64,
    },
    /// The header of a compressed file declares more than [`MAX_DECOMPRESSED_BYTES`].
    DeclaredTooLarge {
        /// Bytes the header declares (header included).
        declared: u64,
        /// The limit in bytes.
        limit: u64,
    },
    /// A compressed file inflates to more bytes than its header declares.
    LongerThanDeclared {
        /// Bytes the header declares (header included).
        declared: u64,
    },
}

impl fmt::Display for IdxError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Truncated { expected, got } => {
                write!(f, "truncated: expected {expected} bytes, got {got}")
            }
            Self::TrailingBytes { expected, got } => {
                write!(f, "too long: expected {expected} bytes, got {got}")
            }
            Self::BadMagic { expected, found } => write!(
                f,
                "wrong magic number: expected {expected} (0x{expected:08x}, {}), found {found} (0x{found:08x})",
                magic_name(*expected)
            ),
            Self::BadDims { dims } => write!(f, "invalid dimensions {dims:?}"),
            Self::LabelOutOfRange {
                index,
                label,
                classes,
            } => write!(
                f,
                "label {label} at index {index} is out of range (expected 0..{classes})"
            ),
            Self::Gzip { message } => write!(f, "corrupt gzip stream: {message}"),
            Self::TooLarge { limit } => write!(f, "decompressed data exceeds {limit} bytes"),
            Self::DeclaredTooLarge { declared, limit } => write!(
                f,
                "its header declares {declared} bytes, more than the {limit} an IDX file may have"
            ),
            Self::LongerThanDeclared { declared } => write!(
                f,
                "it decompresses to more than the {declared} bytes its header declares"
            ),
        }
    }
}

impl std::error::Error for IdxError {}

fn magic_name(magic: u32) -> &'static str {
    match magic {
        IMAGES_MAGIC => "IDX images",
        LABELS_MAGIC => "IDX labels",
        _ => "IDX",
    }
}

/// The content of an IDX image file: `count` images of `rows × cols` bytes, row-major.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdxImages {
    /// Number of images.
    pub count: usize,
    /// Rows per image.
    pub rows: usize,
    /// Columns per image.
    pub cols: usize,
    /// `count × rows × cols` pixels, 0…255.
    pub pixels: Vec<u8>,
}

/// Decompresses `bytes` if they start with the gzip magic; returns them unchanged otherwise.
///
/// # Errors
/// [`IdxError::Gzip`] if the stream is corrupt or truncated, [`IdxError::TooLarge`] if it
/// inflates beyond [`MAX_DECOMPRESSED_BYTES`].
pub fn decompress(bytes: Vec<u8>) -> Result<Vec<u8>, IdxError> {
    if !bytes.starts_with(&GZIP_MAGIC) {
        return Ok(bytes);
    }
    let mut out = Vec::new();
    MultiGzDecoder::new(bytes.as_slice())
        .take(MAX_DECOMPRESSED_BYTES + 1)
        .read_to_end(&mut out)
        .map_err(|e| IdxError::Gzip {
            message: e.to_string(),
        })?;
    if out.len() as u64 > MAX_DECOMPRESSED_BYTES {
        return Err(IdxError::TooLarge {
            limit: MAX_DECOMPRESSED_BYTES,
        });
    }
    Ok(out)
}

/// Decompresses an IDX file if it starts with the gzip magic (raw bytes are returned unchanged),
/// reading the header (magic, dims) first and then at most the number of bytes it declares: a
/// small file that inflates without end, or whose header declares more than
/// [`MAX_DECOMPRESSED_BYTES`], is refused before that much memory is allocated. A header that is
/// short, has the wrong magic or bad dims is returned as read, for `parse_header` to report.
///
/// # Errors
/// [`IdxError::Gzip`], [`IdxError::DeclaredTooLarge`], [`IdxError::LongerThanDeclared`].
pub fn decompress_idx(bytes: Vec<u8>, magic: u32) -> Result<Vec<u8>, IdxError> {
    if !bytes.starts_with(&GZIP_MAGIC) {
        return Ok(bytes);
    }
    let gzip = |e: std::io::Error| IdxError::Gzip {
        message: e.to_string(),
    };
    let mut stream = MultiGzDecoder::new(bytes.as_slice());
    let mut out = Vec::new();
    // The magic, then the dims it announces (the expected magic fixes their number).
    (&mut stream).take(4).read_to_end(&mut out).map_err(gzip)?;
    if out.len() < 4 || out[..4] != magic.to_be_bytes() {
        return Ok(out);
    }
    let header = 4 * (1 + u64::from(magic & 0xff));
    (&mut stream)
        .take(header - 4)
        .read_to_end(&mut out)
        .map_err(gzip)?;
    if (out.len() as u64) < header {
        return Ok(out);
    }
    let declared = out[4..]
        .chunks_exact(4)
        .map(|c| u64::from(u32::from_be_bytes([c[0], c[1], c[2], c[3]])))
        .try_fold(1u64, u64::checked_mul)
        .and_then(|n| n.checked_add(header));
    let Some(declared) = declared else {
        return Ok(out); // overflowing dims: parse_header reports them
    };
    if declared > MAX_DECOMPRESSED_BYTES {
        return Err(IdxError::DeclaredTooLarge {
            declared,
            limit: MAX_DECOMPRESSED_BYTES,
        });
    }
    // One byte more than declared tells a longer stream apart; the vector grows with the data
    // actually present, never beyond that.
    stream
        .take(declared - header + 1)
        .read_to_end(&mut out)
        .map_err(gzip)?;
    if out.len() as u64 > declared {
        return Err(IdxError::LongerThanDeclared { declared });
    }
    Ok(out)
}

/// Checks the header (magic, dims) and the total length; returns the dims and the header length.
fn parse_header(bytes: &[u8], magic: u32) -> Result<(Vec<usize>, usize), IdxError> {
    let got = bytes.len() as u64;
    let word = |i: usize| -> Option<u32> {
        let b = bytes.get(4 * i..4 * i + 4)?;
        Some(u32::from_be_bytes([b[0], b[1], b[2], b[3]]))
    };
    let found = word(0).ok_or(IdxError::Truncated { expected: 4, got })?;
    if found != magic {
        return Err(IdxError::BadMagic {
            expected: magic,
            found,
        });
    }
    let ndims = (magic & 0xff) as usize;
    let header = 4 * (1 + ndims);
    let raw_dims: Vec<u32> = (1..=ndims)
        .map(|i| {
            word(i).ok_or(IdxError::Truncated {
                expected: header as u64,
                got,
            })
        })
        .collect::<Result<_, _>>()?;
    let bad = || IdxError::BadDims {
        dims: raw_dims.clone(),
    };
    let dims: Vec<usize> = raw_dims
        .iter()
        .map(|&d| usize::try_from(d).map_err(|_| bad()))
        .collect::<Result<_, _>>()?;
    if dims.iter().skip(1).any(|&d| d == 0) {
        return Err(bad());
    }
    let expected = dims
        .iter()
        .try_fold(1usize, |acc, &d| acc.checked_mul(d))
        .and_then(|n| n.checked_add(header))
        .ok_or_else(bad)?;
    match bytes.len().cmp(&expected) {
        std::cmp::Ordering::Less => Err(IdxError::Truncated {
            expected: expected as u64,
            got,
        }),
        std::cmp::Ordering::Greater => Err(IdxError::TrailingBytes {
            expected: expected as u64,
            got,
        }),
        std::cmp::Ordering::Equal => Ok((dims, header)),
    }
}

/// Parses the (already decompressed) bytes of an IDX image file (magic 2051).
///
/// On success the header is consistent, no dimension but the count is zero, and
/// `pixels.len() == count * rows * cols`.
///
/// # Errors
/// [`IdxError::BadMagic`], [`IdxError::Truncated`], [`IdxError::TrailingBytes`] or
/// [`IdxError::BadDims`].
pub fn parse_images(mut bytes: Vec<u8>) -> Result<IdxImages, IdxError> {
    let (dims, header) = parse_header(&bytes, IMAGES_MAGIC)?;
    let [count, rows, cols] = dims[..] else {
        return Err(IdxError::BadDims { dims: Vec::new() }); // unreachable: the magic fixes 3 dims
    };
    bytes.drain(..header);
    Ok(IdxImages {
        count,
        rows,
        cols,
        pixels: bytes,
    })
}

/// Parses the (already decompressed) bytes of an IDX label file (magic 2049) and checks that
/// every label is below `classes`.
///
/// # Errors
/// As [`parse_images`], plus [`IdxError::LabelOutOfRange`].
pub fn parse_labels(mut bytes: Vec<u8>, classes: usize) -> Result<Vec<u8>, IdxError> {
    let (_, header) = parse_header(&bytes, LABELS_MAGIC)?;
    bytes.drain(..header);
    if let Some((index, &label)) = bytes
        .iter()
        .enumerate()
        .find(|(_, &l)| usize::from(l) >= classes)
    {
        return Err(IdxError::LabelOutOfRange {
            index,
            label,
            classes,
        });
    }
    Ok(bytes)
}

/// Reads a file (at most [`crate::limits::MAX_DATA_BYTES`]), naming it and `fetch_cmd` in the
/// error if it is missing, unreadable or too large.
fn read_file(path: &Path, fetch_cmd: &str) -> Result<Vec<u8>> {
    match crate::limits::read_at_most(path, crate::limits::MAX_DATA_BYTES) {
        Ok(bytes) => Ok(bytes),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            anyhow::bail!("{} missing — run `{fetch_cmd}`", path.display())
        }
        Err(e) => Err(e).with_context(|| {
            format!(
                "cannot read {} — check its permissions or re-run `{fetch_cmd}`",
                path.display()
            )
        }),
    }
}

/// Reads and validates an IDX image file, raw or gzip-compressed.
///
/// `fetch_cmd` is the command that (re-)creates the file; error messages name the file and
/// tell the user to run it, e.g. "data/mnist/train-images-idx3-ubyte missing — run
/// `lifted data fetch mnist`".
///
/// # Errors
/// The file is missing or unreadable, or [`decompress`] / [`parse_images`] reject it (then the
/// error downcasts to an [`IdxFileError`]).
pub fn read_images(path: &Path, fetch_cmd: &str) -> Result<IdxImages> {
    let bytes = read_file(path, fetch_cmd)?;
    decompress_idx(bytes, IMAGES_MAGIC)
        .and_then(parse_images)
        .map_err(|e| invalid(e, path, fetch_cmd))
}

/// Reads and validates an IDX label file, raw or gzip-compressed; every label must be below
/// `classes`. Errors as for [`read_images`].
///
/// # Errors
/// As [`read_images`], plus [`IdxError::LabelOutOfRange`].
pub fn read_labels(path: &Path, classes: usize, fetch_cmd: &str) -> Result<Vec<u8>> {
    let bytes = read_file(path, fetch_cmd)?;
    decompress_idx(bytes, LABELS_MAGIC)
        .and_then(|b| parse_labels(b, classes))
        .map_err(|e| invalid(e, path, fetch_cmd))
}

fn invalid(error: IdxError, path: &Path, fetch_cmd: &str) -> anyhow::Error {
    anyhow::Error::new(IdxFileError {
        path: path.to_path_buf(),
        error,
        fetch_cmd: fetch_cmd.to_owned(),
    })
}

/// An [`IdxError`] in a named file, with the command that repairs the file.
///
/// Displayed as e.g. "data/mnist/train-labels-idx1-ubyte: truncated: expected 60008 bytes, got
/// 1000 — re-run `lifted data fetch mnist`".
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdxFileError {
    /// The file that was rejected.
    pub path: PathBuf,
    /// What is wrong with it.
    pub error: IdxError,
    /// The command that fetches a good copy.
    pub fetch_cmd: String,
}

impl fmt::Display for IdxFileError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}: {} — re-run `{}`",
            self.path.display(),
            self.error,
            self.fetch_cmd
        )
    }
}

impl std::error::Error for IdxFileError {}

#[cfg(test)]
mod tests;
