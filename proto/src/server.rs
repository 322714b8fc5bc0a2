//! The device side of the [`frame`] protocol, without I/O: a [`Server`] is fed the received bytes
//! one at a time ([`Server::push`]) and hands back the frames to send ([`Step::Send`]).
//!
//! The caller owns the byte stream, so the same server runs behind any UART driver and in host
//! tests. The devices (QEMU's CMSDK UART, the nRF52840's UARTE) run it through the one loop of
//! [`crate::serve`], generic over `embedded_io::{Read, Write}`. The loop, with the reads and writes
//! left to the caller:
//!
//! ```
//! use lifted_core::{ModelView, Workspace, MAX_LAYERS};
//! use lifted_proto::server::{self, Buffers, OnShutdown, Server, Step};
//!
//! const N0: usize = 64; // largest model served: inputs and classes
//! const C: usize = 10;
//!
//! /// Answers the requests in `received`; returns the bytes to send.
//! fn serve(model: &ModelView<'_>, blob: &[u8], received: &[u8]) -> Vec<u8> {
//!     let mut frame = [0u8; server::frame_buffer_len(N0)];
//!     let mut tx = [0u8; server::tx_buffer_len(C)];
//!     let (mut input, mut logits, mut internal) = ([0f32; N0], [0u8; 4 * C], [0u8; 4 * MAX_LAYERS]);
//!     let mut workspace = vec![0f32; Workspace::required(model)];
//!     let ready = server::describe(model, blob, frame.len());
//!     let bufs = Buffers {
//!         frame: &mut frame,
//!         tx: &mut tx,
//!         input: &mut input,
//!         workspace: &mut workspace,
//!         logits: &mut logits,
//!         internal: &mut internal,
//!     };
//!     if let Err(e) = bufs.check(model) {
//!         panic!("model too large: {e}"); // at boot, before serving
//!     }
//!     let mut server = Server::new(model, ready, bufs, OnShutdown::Refuse);
//!     let mut sent = Vec::new();
//!     if let Step::Send { frame, .. } = server.boot() {
//!         sent.extend_from_slice(frame); // the unsolicited boot `Ready`
//!     }
//!     for &byte in received {
//!         match server.push(byte) {
//!             Step::Idle => {}
//!             Step::Send { frame, .. } => sent.extend_from_slice(frame), // write, then flush
//!             Step::Shutdown => break, // only with `OnShutdown::Stop`
//!         }
//!     }
//!     sent
//! }
//! ```
//!
//! Every complete, non-empty frame gets exactly one response frame (except `Shutdown` under
//! [`OnShutdown::Stop`]), and no byte sequence can make the server panic or stop answering: bad
//! COBS, bad postcard, a frame longer than the buffer, an input of the wrong length, NaN or out of
//! range — each gives a [`Response::Error`]. Buffers are fixed and caller-owned ([`Buffers`]);
//! nothing is allocated.

use lifted_core::{
    infer_and_certify_with, Error, Kernels, ModelView, Portable, Workspace, MAX_LAYERS,
};

use crate::frame::{
    self, Answer, Deframed, Deframer, ErrorFrame, ErrorKind, Ready, Request, Response,
    PROTOCOL_VERSION,
};

/// Length of a [`Buffers::frame`] that accepts every request for a model with `input_dim` inputs.
pub const fn frame_buffer_len(input_dim: usize) -> usize {
    frame::frame_len(frame::request_len(input_dim))
}

/// Length of a [`Buffers::tx`] that holds every response for a model with `classes` classes.
pub const fn tx_buffer_len(classes: usize) -> usize {
    frame::frame_len(frame::response_len(classes, MAX_LAYERS))
}

/// The device's [`Ready`] (with `reply_to: None`) for `model`, whose blob is `blob`, when its
/// [`Buffers::frame`] holds `max_frame` bytes. The model CRC is [`ModelView::crc`].
pub fn describe(model: &ModelView<'_>, blob: &[u8], max_frame: usize) -> Ready {
    Ready {
        reply_to: None,
        protocol: PROTOCOL_VERSION,
        input_dim: model.input_dim() as u32,
        classes: model.classes() as u16,
        layers: model.layers() as u8,
        sweeps: model.sweeps() as u16,
        model_len: blob.len() as u32,
        model_crc: model.crc(),
        max_frame: u32::try_from(max_frame).unwrap_or(u32::MAX),
    }
}

/// What a [`Server`] does with a [`Request::Shutdown`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OnShutdown {
    /// Send nothing and return [`Step::Shutdown`] (QEMU: the program then exits with status 0).
    Stop,
    /// Answer `Error { id: None, kind: Unsupported }` and serve on (a board).
    Refuse,
}

/// The memory of a [`Server`], owned by the caller (typically `static` arrays).
///
/// [`Buffers::check`] tells whether they are large enough for a model.
#[derive(Debug)]
pub struct Buffers<'a> {
    /// Received frame (COBS bytes without the delimiter): its length is the longest frame
    /// accepted, [`Ready::max_frame`]. [`frame_buffer_len`] of n₀ holds every request.
    pub frame: &'a mut [u8],
    /// The encoded response frame; [`tx_buffer_len`] of C holds every response.
    pub tx: &'a mut [u8],
    /// The decoded input: at least n₀ values.
    pub input: &'a mut [f32],
    /// Inference workspace: at least [`Workspace::required`] values.
    pub workspace: &'a mut [f32],
    /// The answer's logits as bytes: at least 4·C.
    pub logits: &'a mut [u8],
    /// The answer's internal radii as bytes: at least 4·(L − 1) (4·`MAX_LAYERS` always is).
    pub internal: &'a mut [u8],
}

/// Which of the [`Buffers`] is too small.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Buffer {
    /// [`Buffers::frame`] (bytes).
    Frame,
    /// [`Buffers::tx`] (bytes).
    Tx,
    /// [`Buffers::input`] (f32 values).
    Input,
    /// [`Buffers::workspace`] (f32 values).
    Workspace,
    /// [`Buffers::logits`] (bytes).
    Logits,
    /// [`Buffers::internal`] (bytes).
    Internal,
}

/// A buffer is too small for the model ([`Buffers::check`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TooSmall {
    /// The buffer.
    pub buffer: Buffer,
    /// Its length (bytes or f32 values, as the buffer holds).
    pub len: usize,
    /// The length the model needs.
    pub needed: usize,
}

impl core::fmt::Display for TooSmall {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        let (name, unit) = match self.buffer {
            Buffer::Frame => ("frame", "bytes"),
            Buffer::Tx => ("tx", "bytes"),
            Buffer::Input => ("input", "f32"),
            Buffer::Workspace => ("workspace", "f32"),
            Buffer::Logits => ("logits", "bytes"),
            Buffer::Internal => ("internal", "bytes"),
        };
        write!(
            f,
            "the {name} buffer holds {} {unit}, the model needs {}",
            self.len, self.needed
        )
    }
}

impl core::error::Error for TooSmall {}

impl Buffers<'_> {
    /// `Ok` if every buffer is large enough to serve `model`: then every well-formed request gets
    /// an answer (or an input error). Otherwise the first buffer that is too small.
    pub fn check(&self, model: &ModelView<'_>) -> Result<(), TooSmall> {
        let need = |buffer, len: usize, needed: usize| {
            if len < needed {
                Err(TooSmall {
                    buffer,
                    len,
                    needed,
                })
            } else {
                Ok(())
            }
        };
        let (n0, classes) = (model.input_dim(), model.classes());
        need(Buffer::Input, self.input.len(), n0)?;
        need(
            Buffer::Workspace,
            self.workspace.len(),
            Workspace::required(model),
        )?;
        need(Buffer::Logits, self.logits.len(), 4 * classes)?;
        need(
            Buffer::Internal,
            self.internal.len(),
            4 * model.layers().saturating_sub(1),
        )?;
        need(Buffer::Frame, self.frame.len(), frame_buffer_len(n0))?;
        need(Buffer::Tx, self.tx.len(), tx_buffer_len(classes))
    }
}

/// A summary of the frame in [`Step::Send`], for logs.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Sent {
    /// [`Response::Ready`].
    Ready {
        /// `None` at boot, the `Hello`'s nonce otherwise.
        reply_to: Option<u32>,
    },
    /// [`Response::Answer`].
    Answer {
        /// The request's id.
        id: u32,
        /// Predicted class.
        class: u16,
        /// Logit margin.
        margin: f32,
        /// Certified ℓ2 radius (0 when refused).
        radius_l2: f32,
        /// Certified ℓ∞ radius (0 when refused).
        radius_linf: f32,
        /// Approximate softmax probability of `class`, in [0, 1], for the device's log
        /// ([`lifted_core::fast::confidence_approx`], a few per cent off; not part of the frame
        /// and never used by a certificate).
        confidence: f32,
    },
    /// [`Response::Error`].
    Error(ErrorFrame),
}

impl Sent {
    fn of(msg: &Response<'_>) -> Self {
        match msg {
            Response::Ready(r) => Sent::Ready {
                reply_to: r.reply_to,
            },
            Response::Answer(a) => Sent::Answer {
                id: a.id,
                class: a.class,
                margin: a.margin,
                radius_l2: a.l2.radius,
                radius_linf: a.linf.radius,
                confidence: lifted_core::fast::confidence_approx(a.logits.iter(), a.class.into()),
            },
            Response::Error(e) => Sent::Error(*e),
        }
    }
}

/// What to do after [`Server::push`] or [`Server::boot`].
#[derive(Debug, PartialEq)]
pub enum Step<'t> {
    /// Nothing to send: the byte belongs to a frame, or ended an empty one.
    Idle,
    /// Send `frame` (COBS bytes and the `0x00` delimiter), then flush.
    Send {
        /// The encoded response.
        frame: &'t [u8],
        /// What it carries.
        sent: Sent,
    },
    /// A `Shutdown` request arrived ([`OnShutdown::Stop`] only): send nothing, stop serving.
    Shutdown,
}

/// The protocol state of a device: the frame being received, the model and the buffers.
pub struct Server<'a> {
    model: &'a ModelView<'a>,
    /// The matrix products of the inference ([`Server::with_kernels`]; portable by default).
    kernels: &'a dyn Kernels,
    ready: Ready,
    on_shutdown: OnShutdown,
    /// [`Buffers::check`] passed at construction.
    fits: bool,
    deframer: Deframer<'a>,
    tx: &'a mut [u8],
    input: &'a mut [f32],
    workspace: &'a mut [f32],
    logits: &'a mut [u8],
    internal: &'a mut [u8],
}

impl core::fmt::Debug for Server<'_> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Server")
            .field("model", &self.model)
            .field("ready", &self.ready)
            .field("on_shutdown", &self.on_shutdown)
            .field("fits", &self.fits)
            .field("deframer", &self.deframer)
            .finish_non_exhaustive()
    }
}

impl<'a> Server<'a> {
    /// A server for `model`, describing itself with `ready` (see [`describe`]).
    ///
    /// Buffers too small for the model (see [`Buffers::check`], which the caller should run at
    /// boot) do not make the server panic: every `Infer` of the right length is then answered
    /// with [`ErrorKind::Unsupported`], and a frame longer than [`Buffers::frame`] with
    /// [`ErrorKind::TooLong`].
    pub fn new(
        model: &'a ModelView<'a>,
        ready: Ready,
        bufs: Buffers<'a>,
        on_shutdown: OnShutdown,
    ) -> Self {
        let fits = bufs.check(model).is_ok();
        let Buffers {
            frame,
            tx,
            input,
            workspace,
            logits,
            internal,
        } = bufs;
        Server {
            model,
            kernels: &Portable,
            ready,
            on_shutdown,
            fits,
            deframer: Deframer::new(frame),
            tx,
            input,
            workspace,
            logits,
            internal,
        }
    }

    /// The server's self-description (`reply_to: None`).
    pub fn ready(&self) -> &Ready {
        &self.ready
    }

    /// Runs the inference with `kernels` (e.g. a target's hand-written kernels, which give the
    /// same bits as the portable ones) instead of [`Portable`].
    #[must_use]
    pub fn with_kernels(mut self, kernels: &'a dyn Kernels) -> Self {
        self.kernels = kernels;
        self
    }

    /// The unsolicited [`Response::Ready`] a device sends once when it starts, so that a host
    /// seeing one mid-session knows the device was reset.
    pub fn boot(&mut self) -> Step<'_> {
        send(self.tx, &Response::Ready(self.ready))
    }

    /// Feeds one received byte. At the end of a non-empty frame, returns its response (or
    /// [`Step::Shutdown`]); otherwise [`Step::Idle`].
    pub fn push(&mut self, byte: u8) -> Step<'_> {
        let Server {
            model,
            kernels,
            ready,
            on_shutdown,
            fits,
            deframer,
            tx,
            input,
            workspace,
            logits,
            internal,
        } = self;
        let max_frame = u32::try_from(deframer.capacity()).unwrap_or(u32::MAX);
        let response = match deframer.push(byte) {
            None => return Step::Idle,
            Some(Deframed::TooLong { .. }) => Response::Error(ErrorFrame {
                id: None,
                kind: ErrorKind::TooLong { max: max_frame },
            }),
            Some(Deframed::Frame(f)) => match frame::decode::<Request<'_>>(f) {
                Err(e) => Response::Error(ErrorFrame {
                    id: None,
                    kind: e.into(),
                }),
                Ok(Request::Hello { nonce }) => Response::Ready(Ready {
                    reply_to: Some(nonce),
                    ..*ready
                }),
                Ok(Request::Shutdown) => match on_shutdown {
                    OnShutdown::Stop => return Step::Shutdown,
                    OnShutdown::Refuse => Response::Error(ErrorFrame {
                        id: None,
                        kind: ErrorKind::Unsupported,
                    }),
                },
                Ok(Request::Infer { id, input: values }) => {
                    let n0 = model.input_dim();
                    let xs = input.get_mut(..n0);
                    if !values.is_whole() || values.len() != n0 {
                        error(
                            id,
                            ErrorKind::InputLength {
                                expected_bytes: 4 * n0 as u32,
                                got_bytes: values.as_bytes().len() as u32,
                            },
                        )
                    } else if let (true, Some(xs)) = (*fits, xs) {
                        values.copy_to(xs);
                        let mut ws = Workspace::new(&mut workspace[..]);
                        match infer_and_certify_with(*kernels, model, xs, &mut ws) {
                            Ok(c) => {
                                let answer = Answer::new(
                                    id,
                                    &c.outcome,
                                    &c.l2,
                                    &c.linf,
                                    &mut logits[..],
                                    &mut internal[..],
                                );
                                // The answer borrows the workspace: encode it here.
                                return send(tx, &Response::Answer(answer));
                            }
                            Err(e) => error(id, input_error(e)),
                        }
                    } else {
                        error(id, ErrorKind::Unsupported)
                    }
                }
            },
        };
        send(tx, &response)
    }
}

fn error(id: u32, kind: ErrorKind) -> Response<'static> {
    Response::Error(ErrorFrame { id: Some(id), kind })
}

/// The error frame kind the device sends for an inference error (the host's `lifted remote`
/// predicts device answers with the same mapping).
pub fn input_error(e: Error) -> ErrorKind {
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

/// Encodes `msg` into `tx`. Should it not fit (the buffers passed [`Buffers::check`], so only
/// with undersized buffers), the host gets an `Inference` error instead of silence.
fn send<'t>(tx: &'t mut [u8], msg: &Response<'_>) -> Step<'t> {
    let fallback = Response::Error(ErrorFrame {
        id: None,
        kind: ErrorKind::Inference,
    });
    let (len, sent) = match frame::encode(msg, tx) {
        Ok(b) => (b.len(), Sent::of(msg)),
        Err(_) => (
            frame::encode(&fallback, tx).map_or(0, <[u8]>::len),
            Sent::of(&fallback),
        ),
    };
    match tx.get(..len) {
        Some(frame) if len > 0 => Step::Send { frame, sent },
        _ => Step::Idle,
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]
mod tests;
