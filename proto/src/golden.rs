//! Golden input files and the text form of golden results.
//!
//! **File (`*.lgi`, little endian).** Dataset inputs as `u8` pixels; input value j of a sample is
//! `pixel_j as f32 / denominator as f32` (one correctly rounded f32 division, the same on every
//! target), e.g. 16 for the 8×8 digits (pixels 0…16) and 255 for MNIST (0…255).
//!
//! | offset | size | field |
//! |---|---|---|
//! | 0 | 4 | magic `LGI1` |
//! | 4 | 2 | denominator (> 0) |
//! | 6 | 2 | reserved, 0 |
//! | 8 | 4 | input dimension n₀ |
//! | 12 | 4 | sample count N |
//! | 16 | 4 | payload length P in bytes |
//! | 20 | 4 | CRC-32 (ISO-HDLC, as the model format) of the labels and payload |
//! | 24 | N | labels, one byte per sample |
//! | 24 + N | P | pixels of all samples, PackBits-compressed; runs never cross samples |
//!
//! PackBits: a control byte `c ≤ 127` is followed by `c + 1` literal pixels; `c ≥ 128` stands for
//! `c − 126` zero pixels (2 … 129).
//!
//! **Result line.** [`write_result`] prints one line per sample: every f32 as its bit pattern in
//! hex, the scalars also as a rounded decimal in parentheses (so that both sides compare exactly). The firmware prints
//! it, the host computes the same line with `lifted-core` and the two are compared as strings.

use core::fmt::{self, Write};

use lifted_core::{Certificate, Certified, Error, ModelView, Rejection};

/// Magic bytes of a golden input file.
pub const MAGIC: [u8; 4] = *b"LGI1";
/// Length of the fixed header.
pub const HEADER_LEN: usize = 24;

/// Why a golden file was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GoldenError {
    /// Shorter than its header says.
    Truncated,
    /// Not a golden file (magic), or a zero denominator or dimension.
    BadHeader,
    /// The CRC-32 does not match.
    BadChecksum,
    /// The pixel stream does not decode into N × n₀ pixels.
    BadPayload,
}

impl fmt::Display for GoldenError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            GoldenError::Truncated => "golden file truncated",
            GoldenError::BadHeader => "not a golden input file (magic `LGI1`)",
            GoldenError::BadChecksum => "golden file corrupt (CRC-32 mismatch)",
            GoldenError::BadPayload => "golden pixel stream does not decode",
        })
    }
}

fn u16_at(b: &[u8], at: usize) -> Option<u16> {
    Some(u16::from_le_bytes(b.get(at..at + 2)?.try_into().ok()?))
}

fn u32_at(b: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_le_bytes(b.get(at..at + 4)?.try_into().ok()?))
}

/// A checked golden file.
#[derive(Debug, Clone, Copy)]
pub struct Golden<'a> {
    denominator: u16,
    dim: usize,
    labels: &'a [u8],
    payload: &'a [u8],
}

impl<'a> Golden<'a> {
    /// Checks the header, lengths and CRC.
    pub fn new(bytes: &'a [u8]) -> Result<Self, GoldenError> {
        if bytes.len() < HEADER_LEN {
            return Err(GoldenError::Truncated);
        }
        if bytes.get(..4) != Some(&MAGIC[..]) {
            return Err(GoldenError::BadHeader);
        }
        let header = |at| u32_at(bytes, at).ok_or(GoldenError::Truncated);
        let denominator = u16_at(bytes, 4).ok_or(GoldenError::Truncated)?;
        let dim = header(8)? as usize;
        let count = header(12)? as usize;
        let payload_len = header(16)? as usize;
        let crc = header(20)?;
        if denominator == 0 || dim == 0 || u16_at(bytes, 6) != Some(0) {
            return Err(GoldenError::BadHeader);
        }
        let end = HEADER_LEN
            .checked_add(count)
            .and_then(|n| n.checked_add(payload_len))
            .ok_or(GoldenError::Truncated)?;
        let body = bytes.get(HEADER_LEN..end).ok_or(GoldenError::Truncated)?;
        if end != bytes.len() {
            return Err(GoldenError::BadHeader);
        }
        if lifted_core::format::CRC32.checksum(body) != crc {
            return Err(GoldenError::BadChecksum);
        }
        let (labels, payload) = body.split_at(count);
        Ok(Golden {
            denominator,
            dim,
            labels,
            payload,
        })
    }

    /// Number of samples N.
    pub fn len(&self) -> usize {
        self.labels.len()
    }

    /// True if the file holds no sample.
    pub fn is_empty(&self) -> bool {
        self.labels.is_empty()
    }

    /// Input dimension n₀.
    pub fn dim(&self) -> usize {
        self.dim
    }

    /// Pixel denominator: x = pixel / denominator.
    pub fn denominator(&self) -> u16 {
        self.denominator
    }

    /// The labels.
    pub fn labels(&self) -> &'a [u8] {
        self.labels
    }

    /// The samples in order.
    pub fn samples(&self) -> Samples<'a> {
        Samples {
            payload: self.payload,
            pos: 0,
            dim: self.dim,
            denominator: self.denominator,
            labels: self.labels.iter(),
        }
    }
}

/// Sequential decoder of a golden file's samples (see [`Golden::samples`]).
#[derive(Debug, Clone)]
pub struct Samples<'a> {
    payload: &'a [u8],
    pos: usize,
    dim: usize,
    denominator: u16,
    labels: core::slice::Iter<'a, u8>,
}

impl Samples<'_> {
    /// Decodes the next sample into `pixels` (`dim` values); returns its label, `None` after the
    /// last sample, or an error if the stream is malformed or `pixels` is too short.
    pub fn next_pixels(&mut self, pixels: &mut [u8]) -> Option<Result<u8, GoldenError>> {
        let label = *self.labels.next()?;
        let Some(out) = pixels.get_mut(..self.dim) else {
            return Some(Err(GoldenError::BadPayload));
        };
        let mut filled = 0usize;
        while filled < out.len() {
            let Some(&c) = self.payload.get(self.pos) else {
                return Some(Err(GoldenError::BadPayload));
            };
            self.pos += 1;
            let n = if c <= 127 {
                usize::from(c) + 1
            } else {
                usize::from(c) - 126
            };
            let Some(dst) = out.get_mut(filled..filled + n) else {
                return Some(Err(GoldenError::BadPayload));
            };
            if c <= 127 {
                let Some(src) = self.payload.get(self.pos..self.pos + n) else {
                    return Some(Err(GoldenError::BadPayload));
                };
                dst.copy_from_slice(src);
                self.pos += n;
            } else {
                dst.fill(0);
            }
            filled += n;
        }
        Some(Ok(label))
    }

    /// Decodes the next sample into `x` (`dim` values, x_j = pixel_j / denominator), using
    /// `pixels` (at least `dim` bytes) as scratch; returns its label.
    pub fn next_input(
        &mut self,
        pixels: &mut [u8],
        x: &mut [f32],
    ) -> Option<Result<u8, GoldenError>> {
        let label = match self.next_pixels(pixels)? {
            Ok(l) => l,
            Err(e) => return Some(Err(e)),
        };
        let (Some(p), Some(x)) = (pixels.get(..self.dim), x.get_mut(..self.dim)) else {
            return Some(Err(GoldenError::BadPayload));
        };
        to_input(p, self.denominator, x);
        Some(Ok(label))
    }
}

/// x_j = pixel_j as f32 / denominator as f32 — the one definition both sides use.
pub fn to_input(pixels: &[u8], denominator: u16, x: &mut [f32]) {
    let d = f32::from(denominator);
    for (xj, &p) in x.iter_mut().zip(pixels) {
        *xj = f32::from(p) / d;
    }
}

/// Appends the PackBits encoding of one sample's pixels to `out` (runs never cross samples).
#[cfg(feature = "std")]
pub fn pack_sample(pixels: &[u8], out: &mut std::vec::Vec<u8>) {
    let mut i = 0;
    let mut literal: std::vec::Vec<u8> = std::vec::Vec::new();
    let flush = |lit: &mut std::vec::Vec<u8>, out: &mut std::vec::Vec<u8>| {
        for chunk in lit.chunks(128) {
            out.push((chunk.len() - 1) as u8);
            out.extend_from_slice(chunk);
        }
        lit.clear();
    };
    while let Some(&p) = pixels.get(i) {
        let zeros = pixels
            .get(i..)
            .map_or(0, |r| r.iter().take_while(|&&v| v == 0).count());
        if p == 0 && zeros >= 2 {
            flush(&mut literal, out);
            let mut left = zeros;
            while left >= 2 {
                let n = left.min(129);
                out.push((n + 126) as u8);
                left -= n;
            }
            if left == 1 {
                literal.push(0);
            }
            i += zeros;
        } else {
            literal.push(p);
            i += 1;
        }
    }
    flush(&mut literal, out);
}

/// Writes a golden file for `count = labels.len()` samples of `dim` pixels each (`pixels` holds
/// them back to back).
#[cfg(feature = "std")]
pub fn write_file(denominator: u16, dim: usize, labels: &[u8], pixels: &[u8]) -> std::vec::Vec<u8> {
    assert!(
        denominator > 0 && dim > 0,
        "denominator and dim must be > 0"
    );
    assert_eq!(
        pixels.len(),
        labels.len() * dim,
        "pixels must be count × dim"
    );
    let mut payload = std::vec::Vec::new();
    for sample in pixels.chunks_exact(dim) {
        pack_sample(sample, &mut payload);
    }
    let mut body = labels.to_vec();
    body.extend_from_slice(&payload);
    let mut out = std::vec::Vec::with_capacity(HEADER_LEN + body.len());
    out.extend_from_slice(&MAGIC);
    out.extend_from_slice(&denominator.to_le_bytes());
    out.extend_from_slice(&0u16.to_le_bytes());
    for v in [dim, labels.len(), payload.len()] {
        out.extend_from_slice(&(v as u32).to_le_bytes());
    }
    out.extend_from_slice(&lifted_core::format::CRC32.checksum(&body).to_le_bytes());
    out.extend_from_slice(&body);
    out
}

/// A float as `0x<bits>`.
pub struct Bits(pub f32);

impl fmt::Display for Bits {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:#010x}", self.0.to_bits())
    }
}

/// A float as `0x<bits> (<decimal, 4 digits>)`.
pub struct BitsDec(pub f32);

impl fmt::Display for BitsDec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:#010x} ({:.4})", self.0.to_bits(), self.0)
    }
}

fn rejection(r: Option<Rejection>) -> &'static str {
    match r {
        None => "ok",
        Some(Rejection::ConstantsInvalid) => "invalid",
        Some(Rejection::NonFinite) => "nonfinite",
        Some(Rejection::Tie) => "tie",
        Some(Rejection::Margin { .. }) => "margin",
        Some(_) => "other",
    }
}

fn radius(w: &mut dyn Write, name: &str, c: &Certificate) -> fmt::Result {
    write!(
        w,
        " {name} {} by {} err {} {}",
        BitsDec(c.radius),
        c.binding,
        Bits(c.float_error),
        rejection(c.rejection)
    )
}

/// The header line of a golden run: model dimensions and the golden file's shape.
pub fn write_header(w: &mut dyn Write, model: &ModelView<'_>, golden: &Golden<'_>) -> fmt::Result {
    write!(w, "golden model {}", model.input_dim())?;
    for k in 1..=model.layers() {
        write!(w, "-{}", model.width(k))?;
    }
    write!(
        w,
        " K {} inputs {} dim {} scale 1/{}",
        model.sweeps(),
        golden.len(),
        golden.dim(),
        golden.denominator()
    )
}

/// One sample's line: `sample <i> label <y> class <c> runner <r> margin <bits> (<dec>) l2 …
/// linf … internal … logits …`, or `sample <i> label <y> error <reason>` if inference failed.
pub fn write_result(
    w: &mut dyn Write,
    index: usize,
    label: u8,
    result: &Result<Certified<'_>, Error>,
) -> fmt::Result {
    write!(w, "sample {index} label {label}")?;
    let Certified {
        outcome: out,
        l2,
        linf,
    } = match result {
        Ok(r) => r,
        Err(e) => return write!(w, " error {e}"),
    };
    write!(
        w,
        " class {} runner {} margin {}",
        out.class,
        out.runner_up,
        BitsDec(out.margin)
    )?;
    radius(w, "l2", l2)?;
    radius(w, "linf", linf)?;
    w.write_str(" internal")?;
    for r in &l2.internal {
        write!(w, " {}", BitsDec(*r))?;
    }
    w.write_str(" logits")?;
    for z in out.logits {
        write!(w, " {}", Bits(*z))?;
    }
    Ok(())
}

/// Running totals for the summary line.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Tally {
    /// Samples run.
    pub inputs: u32,
    /// Predictions equal to the label.
    pub correct: u32,
    /// Correct predictions with a positive ℓ2 radius.
    pub certified_l2: u32,
    /// Correct predictions with a positive ℓ∞ radius.
    pub certified_linf: u32,
    /// Samples whose inference failed.
    pub errors: u32,
}

impl Tally {
    /// Counts one result.
    pub fn add(&mut self, label: u8, result: &Result<Certified<'_>, Error>) {
        self.inputs += 1;
        match result {
            Ok(Certified {
                outcome: out,
                l2,
                linf,
            }) => {
                if out.class == usize::from(label) {
                    self.correct += 1;
                    self.certified_l2 += u32::from(l2.radius > 0.0);
                    self.certified_linf += u32::from(linf.radius > 0.0);
                }
            }
            Err(_) => self.errors += 1,
        }
    }

    /// The summary line.
    pub fn write(&self, w: &mut dyn Write) -> fmt::Result {
        write!(
            w,
            "golden: {} inputs, {} correct, certified (radius > 0) l2 {} linf {}, {} errors",
            self.inputs, self.correct, self.certified_l2, self.certified_linf, self.errors
        )
    }
}

#[cfg(all(test, feature = "std"))]
#[allow(clippy::unwrap_used, clippy::indexing_slicing)]
mod tests {
    use super::*;

    #[test]
    fn file_roundtrip_and_packbits_edges() {
        let dim = 300;
        let mut pixels = vec![0u8; dim * 4];
        pixels[0] = 7; // literal then a long zero run (> 129)
        pixels[dim + 5] = 1; // single zeros between literals
        pixels[dim + 7] = 2;
        for (i, p) in pixels[2 * dim..3 * dim].iter_mut().enumerate() {
            *p = (i % 250) as u8 + 1; // long literal (> 128)
        }
        pixels[4 * dim - 1] = 255;
        let labels = [1, 2, 3, 4];
        let file = write_file(255, dim, &labels, &pixels);
        let g = Golden::new(&file).unwrap();
        assert_eq!((g.len(), g.dim(), g.denominator()), (4, dim, 255));
        let mut s = g.samples();
        let mut buf = vec![0u8; dim];
        let mut x = vec![0f32; dim];
        for (k, &label) in labels.iter().enumerate() {
            assert_eq!(s.next_input(&mut buf, &mut x), Some(Ok(label)));
            assert_eq!(buf, pixels[k * dim..(k + 1) * dim]);
            assert_eq!(x[0], f32::from(buf[0]) / 255.0);
        }
        assert_eq!(s.next_pixels(&mut buf), None);
        let mut bad = file.clone();
        bad[30] ^= 1;
        assert_eq!(Golden::new(&bad).unwrap_err(), GoldenError::BadChecksum);
        assert_eq!(
            Golden::new(&file[..30]).unwrap_err(),
            GoldenError::Truncated
        );
    }
}
