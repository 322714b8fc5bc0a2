//! The `serve` loop: answers the requests of `lifted_proto::frame` (postcard + COBS frames) over
//! any byte stream implementing `embedded_io::{Read, Write}`. The protocol itself (deframing,
//! decoding, inference, certificates, encoding) is `lifted_proto::server::Server`, shared with the
//! nRF52840-DK board; this module owns the QEMU buffers and moves the bytes.
//!
//! Every complete frame gets exactly one response frame (except `Shutdown`), and nothing a host
//! sends can make the loop panic or stop: bad COBS, bad postcard, a frame longer than the buffer, an
//! input of the wrong length, NaN or out of range — each gives a `Response::Error` and the loop
//! reads on. Buffers are fixed and caller-owned ([`Buffers`]); nothing is allocated.

use embedded_io::{Read, Write};
use lifted_core::{ModelView, Workspace, MAX_LAYERS};
use lifted_proto::frame::{self, Ready};
use lifted_proto::server::{self, OnShutdown, Server, Step};

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
    Ok(server::describe(model, blob, MAX_FRAME))
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
    let bufs = server::Buffers {
        frame: rx,
        tx,
        input: x,
        workspace: ws,
        logits,
        internal,
    };
    // This target's kernels (the hand-written ones on the M4F/M7): the same bits as the host.
    let kernels = crate::TargetKernels::default();
    let mut server = Server::new(model, ready, bufs, OnShutdown::Stop).with_kernels(&kernels);
    send(io, server.boot())?;
    let mut chunk = [0u8; 64];
    loop {
        let n = io.read(&mut chunk)?;
        for &byte in chunk.get(..n).unwrap_or(&[]) {
            match server.push(byte) {
                Step::Shutdown => return Ok(()),
                step => send(io, step)?,
            }
        }
    }
}

fn send<IO: Write>(io: &mut IO, step: Step<'_>) -> Result<(), IO::Error> {
    if let Step::Send { frame, .. } = step {
        io.write_all(frame)?;
        io.flush()?;
    }
    Ok(())
}
