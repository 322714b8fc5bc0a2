//! The `serve` loop: answers the requests of `lifted_proto::frame` (postcard + COBS frames) over
//! any byte stream implementing `embedded_io::{Read, Write}`.
//!
//! Every complete frame gets exactly one response frame (except `Shutdown`), and nothing a host
//! sends can make the loop panic or stop: bad COBS, bad postcard, a frame longer than the buffer, an
//! input of the wrong length, NaN or out of range — each gives a `Response::Error` and the loop
//! reads on. Buffers are fixed and caller-owned ([`Buffers`]); nothing is allocated.

use embedded_io::{Read, Write};
use lifted_core::{certify, infer, Error, ModelView, Norm, Workspace, MAX_LAYERS};
use lifted_proto::frame::{
    self, Answer, Deframed, Deframer, ErrorFrame, ErrorKind, Ready, Request, Response,
    PROTOCOL_VERSION,
};

/// Largest input dimension [`Buffers`] holds.
pub const MAX_INPUT: usize = 1024;
/// Largest workspace ([`Workspace::required`]) [`Buffers`] holds, in f32 values.
pub const MAX_WORKSPACE: usize = 4096;
/// Largest number of classes an answer carries.
pub const MAX_CLASSES: usize = 64;
/// Longest request frame accepted (COBS bytes without the delimiter): a 1024-value input fits.
pub const MAX_FRAME: usize = frame::frame_len(frame::request_len(MAX_INPUT));
/// Size of the response buffer.
pub const TX_LEN: usize = frame::frame_len(frame::response_len(MAX_CLASSES, MAX_LAYERS));

/// The server's memory, owned by the caller (about 25 KB; put it in a `static` or on a large
/// stack).
pub struct Buffers {
    rx: [u8; MAX_FRAME],
    tx: [u8; TX_LEN],
    x: [f32; MAX_INPUT],
    ws: [f32; MAX_WORKSPACE],
    logits: [u8; 4 * MAX_CLASSES],
    internal: [u8; 4 * MAX_LAYERS],
}

impl Buffers {
    /// Zeroed buffers.
    pub const fn new() -> Self {
        Buffers {
            rx: [0; MAX_FRAME],
            tx: [0; TX_LEN],
            x: [0.0; MAX_INPUT],
            ws: [0.0; MAX_WORKSPACE],
            logits: [0; 4 * MAX_CLASSES],
            internal: [0; 4 * MAX_LAYERS],
        }
    }
}

impl Default for Buffers {
    fn default() -> Self {
        Self::new()
    }
}

/// Why a model cannot be served with [`Buffers`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TooLarge {
    /// The input dimension exceeds [`MAX_INPUT`].
    Input(usize),
    /// The workspace exceeds [`MAX_WORKSPACE`] f32 values.
    Workspace(usize),
    /// More classes than [`MAX_CLASSES`].
    Classes(usize),
}

impl core::fmt::Display for TooLarge {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match *self {
            TooLarge::Input(n) => write!(f, "input dimension {n} > {MAX_INPUT}"),
            TooLarge::Workspace(n) => write!(f, "workspace of {n} f32 > {MAX_WORKSPACE}"),
            TooLarge::Classes(n) => write!(f, "{n} classes > {MAX_CLASSES}"),
        }
    }
}

/// The device's [`Ready`] frame for `model` (whose blob is `blob`), or why it cannot be served.
pub fn ready(model: &ModelView<'_>, blob: &[u8]) -> Result<Ready, TooLarge> {
    if model.input_dim() > MAX_INPUT {
        return Err(TooLarge::Input(model.input_dim()));
    }
    if Workspace::required(model) > MAX_WORKSPACE {
        return Err(TooLarge::Workspace(Workspace::required(model)));
    }
    if model.classes() > MAX_CLASSES {
        return Err(TooLarge::Classes(model.classes()));
    }
    let crc = blob
        .len()
        .checked_sub(4)
        .and_then(|at| blob.get(at..))
        .and_then(|b| b.try_into().ok())
        .map_or(0, u32::from_le_bytes);
    Ok(Ready {
        reply_to: None,
        protocol: PROTOCOL_VERSION,
        input_dim: model.input_dim() as u32,
        classes: model.classes() as u16,
        layers: model.layers() as u8,
        sweeps: model.sweeps() as u16,
        model_len: blob.len() as u32,
        model_crc: crc,
        max_frame: MAX_FRAME as u32,
    })
}

/// Serves `model` on `io` until a `Shutdown` request arrives (then returns `Ok`), or the stream
/// fails. Sends one `Ready` frame first.
pub fn serve<IO: Read + Write>(
    io: &mut IO,
    model: &ModelView<'_>,
    ready: Ready,
    bufs: &mut Buffers,
) -> Result<(), IO::Error> {
    let Buffers {
        rx,
        tx,
        x,
        ws,
        logits,
        internal,
    } = bufs;
    send(io, tx, &Response::Ready(ready))?;
    let mut deframer = Deframer::new(rx);
    let mut chunk = [0u8; 64];
    loop {
        let n = io.read(&mut chunk)?;
        for &byte in chunk.get(..n).unwrap_or(&[]) {
            let response = match deframer.push(byte) {
                None => continue,
                Some(Deframed::TooLong { .. }) => Response::Error(ErrorFrame {
                    id: None,
                    kind: ErrorKind::TooLong {
                        max: MAX_FRAME as u32,
                    },
                }),
                Some(Deframed::Frame(f)) => match frame::decode::<Request<'_>>(f) {
                    Err(e) => Response::Error(ErrorFrame {
                        id: None,
                        kind: e.into(),
                    }),
                    Ok(Request::Hello { nonce }) => Response::Ready(Ready {
                        reply_to: Some(nonce),
                        ..ready
                    }),
                    Ok(Request::Shutdown) => return Ok(()),
                    Ok(Request::Infer { id, input }) => {
                        let n0 = model.input_dim();
                        let xs = x.get_mut(..n0).unwrap_or(&mut []);
                        if !input.is_whole() || input.len() != n0 || xs.len() != n0 {
                            error(
                                id,
                                ErrorKind::InputLength {
                                    expected_bytes: 4 * n0 as u32,
                                    got_bytes: input.as_bytes().len() as u32,
                                },
                            )
                        } else {
                            input.copy_to(xs);
                            let mut workspace = Workspace::new(&mut ws[..]);
                            match infer(model, xs, &mut workspace) {
                                Ok(out) => {
                                    let l2 = certify(model, &out, Norm::L2);
                                    let linf = certify(model, &out, Norm::Linf);
                                    let answer = Answer::new(
                                        id,
                                        &out,
                                        &l2,
                                        &linf,
                                        &mut logits[..],
                                        &mut internal[..],
                                    );
                                    // The answer borrows the workspace: send it here.
                                    send(io, tx, &Response::Answer(answer))?;
                                    continue;
                                }
                                Err(e) => error(id, input_error(e)),
                            }
                        }
                    }
                },
            };
            send(io, tx, &response)?;
        }
    }
}

fn error(id: u32, kind: ErrorKind) -> Response<'static> {
    Response::Error(ErrorFrame { id: Some(id), kind })
}

fn input_error(e: Error) -> ErrorKind {
    match e {
        Error::InputNonFinite { index } => ErrorKind::InputNonFinite { index },
        Error::InputOutOfRange { index } => ErrorKind::InputOutOfRange { index },
        Error::InputLength { expected, got } => ErrorKind::InputLength {
            expected_bytes: expected.saturating_mul(4),
            got_bytes: got.saturating_mul(4),
        },
        _ => ErrorKind::Inference,
    }
}

fn send<IO: Write>(io: &mut IO, tx: &mut [u8], msg: &Response<'_>) -> Result<(), IO::Error> {
    // TX_LEN holds the largest response `ready` admits; should encoding still fail, the host gets
    // an `Inference` error instead of silence.
    let fallback = Response::Error(ErrorFrame {
        id: None,
        kind: ErrorKind::Inference,
    });
    let bytes = match frame::encode(msg, tx) {
        Ok(b) => b,
        Err(_) => frame::encode(&fallback, tx).unwrap_or(&[]),
    };
    io.write_all(bytes)?;
    io.flush()
}
