//! The serial protocol of the `serve` firmware and `lifted remote`.
//!
//! **Framing.** Every message is serialised with postcard, COBS-encoded (so it contains no `0x00`
//! byte) and followed by one `0x00` delimiter. A receiver collects bytes up to the delimiter
//! ([`Deframer`]) and decodes them ([`decode`]). Empty frames (two delimiters in a row) are
//! ignored, so a sender may start with a lone `0x00` to discard whatever partial frame the other
//! side holds.
//!
//! **Exchange.** The host sends [`Request`]s; the device answers each with exactly one
//! [`Response`], in order:
//!
//! | request | response |
//! |---|---|
//! | [`Request::Hello`] | [`Response::Ready`]: protocol version, model dimensions, model CRC, frame limit |
//! | [`Request::Infer`] | [`Response::Answer`] (class, margin, ℓ2/ℓ∞ radii, internal radii, logits) or [`Response::Error`] |
//! | [`Request::Shutdown`] | none: a QEMU device exits with status 0; a board answers [`ErrorKind::Unsupported`] |
//! | anything malformed | [`Response::Error`] ([`ErrorKind::Cobs`], [`ErrorKind::Decode`], [`ErrorKind::TooLong`], …) |
//!
//! The device also sends one unsolicited [`Response::Ready`] (with `reply_to: None`) when it
//! boots, so a host that sees one mid-session knows the device was reset.
//!
//! **Numbers.** f32 values travel as their IEEE-754 bit patterns (little endian), so answers can
//! be compared with the host's results bit for bit. Vectors of f32 ([`F32s`]) travel as postcard
//! byte strings (varint byte count, then 4 bytes per value).
//!
//! Enum variants are only ever appended; an incompatible change bumps [`PROTOCOL_VERSION`].

use lifted_core::{Certificate, Outcome, Rejection};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// Version of this protocol, reported in [`Ready::protocol`].
pub const PROTOCOL_VERSION: u16 = 1;

/// The frame delimiter.
pub const DELIMITER: u8 = 0x00;

/// Upper bound of the postcard bytes of a [`Request::Infer`] with `input_dim` values: tag, id,
/// byte-count varint and the values.
pub const fn request_len(input_dim: usize) -> usize {
    1 + 5 + 5 + 4 * input_dim
}

/// Upper bound of the encoded frame length (COBS bytes plus the delimiter) of a message of `len`
/// postcard bytes.
pub const fn frame_len(len: usize) -> usize {
    len + len / 254 + 2
}

/// Upper bound of the postcard bytes of a [`Response`] for a model with `classes` classes and
/// `hidden` hidden layers.
pub const fn response_len(classes: usize, hidden: usize) -> usize {
    64 + 4 * classes + 4 * hidden + 10
}

/// Little-endian f32 values carried as a byte string.
///
/// Decoding borrows the bytes from the frame (zero copy); the length is checked by the consumer
/// ([`F32s::is_whole`], [`F32s::len`]), so a wrong length is a regular protocol error rather
/// than a decoding failure.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct F32s<'a>(&'a [u8]);

impl<'a> F32s<'a> {
    /// Wraps little-endian f32 bytes.
    pub const fn from_le_bytes(bytes: &'a [u8]) -> Self {
        F32s(bytes)
    }

    /// Packs `values` into `out` (4 bytes each) and wraps the used prefix. `None` if `out` is too
    /// short.
    pub fn pack(values: &[f32], out: &'a mut [u8]) -> Option<Self> {
        let n = values.len().checked_mul(4)?;
        let out = out.get_mut(..n)?;
        for (chunk, v) in out.chunks_exact_mut(4).zip(values) {
            chunk.copy_from_slice(&v.to_le_bytes());
        }
        Some(F32s(out))
    }

    /// The raw bytes.
    pub const fn as_bytes(&self) -> &'a [u8] {
        self.0
    }

    /// Number of whole values.
    pub const fn len(&self) -> usize {
        self.0.len() / 4
    }

    /// True if there is no byte at all.
    pub const fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// True if the byte count is a multiple of 4.
    pub const fn is_whole(&self) -> bool {
        self.0.len().is_multiple_of(4)
    }

    /// The values (a trailing partial value is ignored).
    pub fn iter(&self) -> impl Iterator<Item = f32> + Clone + 'a {
        self.0
            .chunks_exact(4)
            .map(|c| f32::from_le_bytes(c.try_into().unwrap_or([0; 4])))
    }

    /// Value `i`, if present.
    pub fn get(&self, i: usize) -> Option<f32> {
        let b = self
            .0
            .get(i.checked_mul(4)?..i.checked_mul(4)?.checked_add(4)?)?;
        Some(f32::from_le_bytes(b.try_into().ok()?))
    }

    /// Copies the values into `out`; returns how many were written.
    pub fn copy_to(&self, out: &mut [f32]) -> usize {
        let mut n = 0;
        for (o, v) in out.iter_mut().zip(self.iter()) {
            *o = v;
            n += 1;
        }
        n
    }
}

impl Serialize for F32s<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_bytes(self.0)
    }
}

impl<'de: 'a, 'a> Deserialize<'de> for F32s<'a> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        <&'a [u8]>::deserialize(d).map(F32s)
    }
}

/// A message from the host to the device.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub enum Request<'a> {
    /// Asks for a [`Response::Ready`] whose [`Ready::reply_to`] is `Some(nonce)`, which tells
    /// it apart from the unsolicited one sent at boot.
    Hello {
        /// Echoed in [`Ready::reply_to`].
        nonce: u32,
    },
    /// Runs `infer` and both certificates on one input.
    Infer {
        /// Echoed in the answer or error.
        id: u32,
        /// The input x, `input_dim` little-endian f32 values.
        #[serde(borrow)]
        input: F32s<'a>,
    },
    /// QEMU only: ends the emulator with exit status 0 (no response). Boards answer
    /// [`ErrorKind::Unsupported`].
    Shutdown,
}

/// The device's self-description, sent at boot and in answer to [`Request::Hello`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Ready {
    /// `None` when sent at boot; the nonce of the [`Request::Hello`] it answers otherwise.
    pub reply_to: Option<u32>,
    /// [`PROTOCOL_VERSION`] of the device.
    pub protocol: u16,
    /// Input dimension n₀ of the embedded model.
    pub input_dim: u32,
    /// Number of classes.
    pub classes: u16,
    /// Number of weight layers L.
    pub layers: u8,
    /// Number of sweeps K.
    pub sweeps: u16,
    /// Length of the embedded model blob in bytes.
    pub model_len: u32,
    /// CRC-32 stored at the end of the embedded model blob: identifies the model.
    pub model_crc: u32,
    /// Longest frame (COBS bytes, without the delimiter) the device accepts.
    pub max_frame: u32,
}

/// Why a certificate was refused (mirror of `lifted_core::Rejection`, plus [`Refusal::None`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Refusal {
    /// Certified (the radius may still be capped by the model's limit).
    None,
    /// The model's certificate constants are marked invalid.
    ConstantsInvalid,
    /// A logit is NaN or infinite.
    NonFinite,
    /// The top two logits are equal.
    Tie,
    /// The margin against class `against` does not exceed the float error bound.
    Margin {
        /// The competing class.
        against: u16,
    },
    /// A reason this protocol version does not know.
    Other,
}

impl From<Option<Rejection>> for Refusal {
    fn from(r: Option<Rejection>) -> Self {
        match r {
            None => Refusal::None,
            Some(Rejection::ConstantsInvalid) => Refusal::ConstantsInvalid,
            Some(Rejection::NonFinite) => Refusal::NonFinite,
            Some(Rejection::Tie) => Refusal::Tie,
            Some(Rejection::Margin { against }) => Refusal::Margin { against },
            Some(_) => Refusal::Other,
        }
    }
}

/// One certificate, as sent.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Radius {
    /// Certified radius (0 when refused).
    pub radius: f32,
    /// The class that limits the radius.
    pub binding: u16,
    /// Float error bound subtracted from the margin.
    pub float_error: f32,
    /// Why the certificate was refused, if it was.
    pub refusal: Refusal,
}

impl From<&Certificate> for Radius {
    fn from(c: &Certificate) -> Self {
        Radius {
            radius: c.radius,
            binding: c.binding,
            float_error: c.float_error,
            refusal: c.rejection.into(),
        }
    }
}

/// The result of one [`Request::Infer`].
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Answer<'a> {
    /// The request's id.
    pub id: u32,
    /// Predicted class.
    pub class: u16,
    /// Runner-up class.
    pub runner_up: u16,
    /// Logit margin (f32, as computed by `infer`).
    pub margin: f32,
    /// ℓ2 input certificate.
    pub l2: Radius,
    /// ℓ∞ input certificate.
    pub linf: Radius,
    /// ℓ2 radii for perturbations of the hidden blocks z₁ … z_{L−1} (empty unless the model
    /// deploys the forward pass).
    #[serde(borrow)]
    pub internal: F32s<'a>,
    /// The logits.
    #[serde(borrow)]
    pub logits: F32s<'a>,
}

impl<'a> Answer<'a> {
    /// Builds the answer for `outcome` and its two certificates; the vectors are packed into
    /// `logits_buf` and `internal_buf` (4 bytes per value; too short a buffer truncates).
    pub fn new(
        id: u32,
        outcome: &Outcome<'_>,
        l2: &Certificate,
        linf: &Certificate,
        logits_buf: &'a mut [u8],
        internal_buf: &'a mut [u8],
    ) -> Self {
        let logits = pack_prefix(outcome.logits, logits_buf);
        let internal = pack_prefix(&l2.internal, internal_buf);
        Answer {
            id,
            class: u16::try_from(outcome.class).unwrap_or(u16::MAX),
            runner_up: u16::try_from(outcome.runner_up).unwrap_or(u16::MAX),
            margin: outcome.margin,
            l2: l2.into(),
            linf: linf.into(),
            internal,
            logits,
        }
    }

    /// True if every field has the same bits as `other`'s.
    pub fn same_bits(&self, other: &Answer<'_>) -> bool {
        let r = |a: &Radius, b: &Radius| {
            a.radius.to_bits() == b.radius.to_bits()
                && a.binding == b.binding
                && a.float_error.to_bits() == b.float_error.to_bits()
                && a.refusal == b.refusal
        };
        self.id == other.id
            && self.class == other.class
            && self.runner_up == other.runner_up
            && self.margin.to_bits() == other.margin.to_bits()
            && r(&self.l2, &other.l2)
            && r(&self.linf, &other.linf)
            && self.internal.as_bytes() == other.internal.as_bytes()
            && self.logits.as_bytes() == other.logits.as_bytes()
    }
}

fn pack_prefix<'b>(values: &[f32], buf: &'b mut [u8]) -> F32s<'b> {
    let n = values.len().min(buf.len() / 4);
    let (Some(v), Some(out)) = (values.get(..n), buf.get_mut(..4 * n)) else {
        return F32s(&[]);
    };
    for (chunk, x) in out.chunks_exact_mut(4).zip(v) {
        chunk.copy_from_slice(&x.to_le_bytes());
    }
    F32s(out)
}

/// What was wrong with a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum ErrorKind {
    /// The frame is not valid COBS.
    Cobs,
    /// The frame is valid COBS but not a postcard [`Request`] (unknown tag, truncated message,
    /// trailing bytes).
    Decode,
    /// The frame was longer than the device's buffer; its bytes up to the delimiter were dropped.
    TooLong {
        /// The device's limit ([`Ready::max_frame`]).
        max: u32,
    },
    /// The input does not have 4·n₀ bytes.
    InputLength {
        /// Bytes expected (4·n₀).
        expected_bytes: u32,
        /// Bytes received.
        got_bytes: u32,
    },
    /// Input value `index` is NaN or infinite.
    InputNonFinite {
        /// Position of the value.
        index: u32,
    },
    /// Input value `index` is outside the model's declared input range.
    InputOutOfRange {
        /// Position of the value.
        index: u32,
    },
    /// Inference failed (e.g. an activity overflowed); no certificate.
    Inference,
    /// The request is valid but this device does not support it.
    Unsupported,
}

impl core::fmt::Display for ErrorKind {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match *self {
            ErrorKind::Cobs => write!(f, "frame is not valid COBS"),
            ErrorKind::Decode => write!(f, "frame is not a request of protocol {PROTOCOL_VERSION}"),
            ErrorKind::TooLong { max } => {
                write!(f, "frame longer than the device limit of {max} bytes")
            }
            ErrorKind::InputLength {
                expected_bytes,
                got_bytes,
            } => write!(
                f,
                "input has {got_bytes} bytes, the model expects {expected_bytes} ({} f32 values)",
                expected_bytes / 4
            ),
            ErrorKind::InputNonFinite { index } => {
                write!(f, "input value {index} is NaN or infinite")
            }
            ErrorKind::InputOutOfRange { index } => {
                write!(f, "input value {index} is outside the model's input range")
            }
            ErrorKind::Inference => write!(f, "inference failed (non-finite activity)"),
            ErrorKind::Unsupported => write!(f, "request not supported by this device"),
        }
    }
}

/// An error answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorFrame {
    /// The id of the offending request, when it could be decoded.
    pub id: Option<u32>,
    /// What was wrong.
    pub kind: ErrorKind,
}

/// A message from the device to the host.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub enum Response<'a> {
    /// The device's self-description (at boot and after [`Request::Hello`]).
    Ready(Ready),
    /// The result of a [`Request::Infer`].
    #[serde(borrow)]
    Answer(Answer<'a>),
    /// A malformed or refused request.
    Error(ErrorFrame),
}

/// Why bytes could not be decoded into a message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DecodeError {
    /// Not valid COBS (or empty).
    Cobs,
    /// Valid COBS, but not a postcard message of the expected type, or trailing bytes after it.
    Decode,
}

impl From<DecodeError> for ErrorKind {
    fn from(e: DecodeError) -> Self {
        match e {
            DecodeError::Cobs => ErrorKind::Cobs,
            DecodeError::Decode => ErrorKind::Decode,
        }
    }
}

/// Decodes one frame (the COBS bytes before the delimiter) in place.
pub fn decode<'a, T: Deserialize<'a>>(frame: &'a mut [u8]) -> Result<T, DecodeError> {
    let n = cobs::decode_in_place(frame).map_err(|_| DecodeError::Cobs)?;
    let bytes = frame.get(..n).ok_or(DecodeError::Cobs)?;
    match postcard::take_from_bytes(bytes) {
        Ok((msg, [])) => Ok(msg),
        _ => Err(DecodeError::Decode),
    }
}

/// The message did not fit in the output buffer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BufferTooSmall;

/// Encodes `msg` into `buf` as one frame: COBS bytes followed by the `0x00` delimiter. Returns the
/// used prefix.
pub fn encode<'b, T: Serialize>(msg: &T, buf: &'b mut [u8]) -> Result<&'b [u8], BufferTooSmall> {
    postcard::to_slice_cobs(msg, buf)
        .map(|b| &*b)
        .map_err(|_| BufferTooSmall)
}

/// Encodes `msg` as one frame into a new vector (host side).
#[cfg(feature = "std")]
pub fn encode_vec<T: Serialize>(msg: &T) -> std::vec::Vec<u8> {
    let mut raw = std::vec::Vec::new();
    // Serialising into a growing vector cannot fail for the types of this module.
    if let Ok(v) = postcard::to_extend(msg, std::vec::Vec::new()) {
        raw = v;
    }
    let mut out = cobs::encode_vec(&raw);
    out.push(DELIMITER);
    out
}

/// What [`Deframer::push`] found at a delimiter.
#[derive(Debug, PartialEq, Eq)]
pub enum Deframed<'f> {
    /// A complete, non-empty frame (COBS bytes without the delimiter), ready for [`decode`].
    Frame(&'f mut [u8]),
    /// The frame was longer than the buffer: `len` bytes were received and dropped.
    TooLong {
        /// Bytes received before the delimiter.
        len: usize,
    },
}

/// Collects bytes into frames, with a fixed buffer and no allocation.
#[derive(Debug)]
pub struct Deframer<'b> {
    buf: &'b mut [u8],
    len: usize,
}

impl<'b> Deframer<'b> {
    /// A deframer that accepts frames of up to `buf.len()` bytes.
    pub fn new(buf: &'b mut [u8]) -> Self {
        Deframer { buf, len: 0 }
    }

    /// The longest frame accepted.
    pub fn capacity(&self) -> usize {
        self.buf.len()
    }

    /// Feeds one byte. At a delimiter, returns the frame collected since the previous one (empty
    /// frames are skipped); otherwise `None`.
    pub fn push(&mut self, byte: u8) -> Option<Deframed<'_>> {
        if byte != DELIMITER {
            if let Some(slot) = self.buf.get_mut(self.len) {
                *slot = byte;
            }
            self.len = self.len.saturating_add(1);
            return None;
        }
        let len = core::mem::take(&mut self.len);
        if len == 0 {
            None
        } else if len > self.buf.len() {
            Some(Deframed::TooLong { len })
        } else {
            self.buf.get_mut(..len).map(Deframed::Frame)
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::indexing_slicing)]
mod tests {
    use super::*;

    fn roundtrip(req: &Request<'_>) {
        let mut buf = [0u8; 512];
        let frame = encode(req, &mut buf).unwrap().to_vec();
        assert_eq!(frame.last(), Some(&0));
        assert!(!frame[..frame.len() - 1].contains(&0));
        let mut body = frame[..frame.len() - 1].to_vec();
        let back: Request<'_> = decode(&mut body).unwrap();
        assert_eq!(&back, req);
        assert_eq!(encode_vec(req), frame);
    }

    #[test]
    fn requests_roundtrip() {
        let mut bytes = [0u8; 16];
        let input = F32s::pack(&[0.0, 1.0, -0.0, f32::NAN], &mut bytes).unwrap();
        roundtrip(&Request::Hello { nonce: 0xdead_beef });
        roundtrip(&Request::Shutdown);
        let req = Request::Infer { id: 77, input };
        let mut buf = [0u8; 64];
        let mut frame = encode(&req, &mut buf).unwrap().to_vec();
        frame.pop();
        let Request::Infer { id, input } = decode(&mut frame).unwrap() else {
            panic!("not an Infer");
        };
        assert_eq!(id, 77);
        let got: Vec<u32> = input.iter().map(f32::to_bits).collect();
        assert_eq!(
            got,
            [0, 1.0f32.to_bits(), (-0.0f32).to_bits(), f32::NAN.to_bits()]
        );
        assert!(request_len(4) >= postcard::to_allocvec(&req).unwrap().len());
    }

    #[test]
    fn malformed_frames_are_errors() {
        // 0x05 announces 4 data bytes but only 1 follows.
        assert_eq!(
            decode::<Request<'_>>(&mut [0x05, 0x01]),
            Err(DecodeError::Cobs)
        );
        assert_eq!(decode::<Request<'_>>(&mut []), Err(DecodeError::Cobs));
        // Valid COBS of [0x09]: tag 9 is no request.
        assert_eq!(
            decode::<Request<'_>>(&mut [0x02, 0x09]),
            Err(DecodeError::Decode)
        );
        // Shutdown (tag 2) followed by a trailing byte.
        assert_eq!(
            decode::<Request<'_>>(&mut [0x03, 0x02, 0x07]),
            Err(DecodeError::Decode)
        );
        // Infer with a byte count larger than the frame.
        assert_eq!(
            decode::<Request<'_>>(&mut [0x04, 0x01, 0x05, 0x7f]),
            Err(DecodeError::Decode)
        );
    }

    #[test]
    fn deframer_splits_skips_empty_and_reports_overflow() {
        let mut buf = [0u8; 4];
        let mut d = Deframer::new(&mut buf);
        let mut frames = Vec::new();
        for &b in &[0u8, 0, 1, 2, 0, 9, 9, 9, 9, 9, 9, 0, 3, 0] {
            match d.push(b) {
                Some(Deframed::Frame(f)) => frames.push(Ok(f.to_vec())),
                Some(Deframed::TooLong { len }) => frames.push(Err(len)),
                None => {}
            }
        }
        assert_eq!(frames, [Ok(vec![1, 2]), Err(6), Ok(vec![3])]);
    }

    #[test]
    fn responses_roundtrip_with_bits() {
        let mut lb = [0u8; 8];
        let mut ib = [0u8; 4];
        let a = Answer {
            id: 3,
            class: 1,
            runner_up: 0,
            margin: 0.5,
            l2: Radius {
                radius: 0.25,
                binding: 0,
                float_error: 1e-6,
                refusal: Refusal::None,
            },
            linf: Radius {
                radius: 0.0,
                binding: 0,
                float_error: 1e-6,
                refusal: Refusal::Margin { against: 0 },
            },
            internal: F32s::pack(&[0.125], &mut ib).unwrap(),
            logits: F32s::pack(&[-1.0, f32::from_bits(1)], &mut lb).unwrap(),
        };
        let msg = Response::Answer(a);
        let mut frame = encode_vec(&msg);
        assert!(frame.len() <= frame_len(response_len(2, 1)));
        frame.pop();
        let back: Response<'_> = decode(&mut frame).unwrap();
        let Response::Answer(b) = back else {
            panic!("not an answer")
        };
        assert!(a.same_bits(&b));
        assert_eq!(b.logits.get(1).map(f32::to_bits), Some(1));
        let err = Response::Error(ErrorFrame {
            id: None,
            kind: ErrorKind::TooLong { max: 9000 },
        });
        let mut frame = encode_vec(&err);
        frame.pop();
        assert_eq!(decode::<Response<'_>>(&mut frame), Ok(err));
    }
}
