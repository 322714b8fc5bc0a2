//! `lifted remote`: streams a data set to a device running the `serve` firmware, over a serial
//! port or QEMU's emulated UART, and checks every answer against this host's own `lifted-core`
//! result, bit for bit.
//!
//! ```text
//! lifted remote --port tcp:127.0.0.1:4444          # QEMU: -serial tcp:127.0.0.1:4444,server=on,wait=on
//! lifted remote --port /dev/ttyACM0 --baud 115200  # a board's serial port (the serialport crate)
//! lifted remote --port /dev/pts/3                  # QEMU: -serial pty
//! ```
//!
//! The frames are those of `lifted_proto::frame` (postcard + COBS, `0x00`-delimited). The session
//! starts with a lone `0x00` (which discards any partial frame on the device) and a `Hello` whose
//! nonce the device echoes in its `Ready`, then compares the device's model (length and CRC-32)
//! with `--model`, then sends one `Infer` request at a time and waits for its answer. A `Ready`
//! without the nonce in the middle of the session means the device was reset: the session stops
//! with an error.

use std::fmt;
use std::io::{self, Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::{anyhow, bail, ensure, Context, Result};
use clap::Args;
use lifted_core::write::Blob;
use lifted_core::{certify, infer, ModelView, Norm, Workspace};
use lifted_proto::frame::{
    self, Answer, ErrorFrame, ErrorKind, Radius, Ready, Refusal, Request, Response,
    PROTOCOL_VERSION,
};
use serde::Serialize;

use crate::data::{self, Dataset, DatasetKind};

/// Which split of the data set to stream.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum RemoteSplit {
    /// The training split.
    Train,
    /// The validation split.
    Val,
    /// The test split (250 samples for the digits).
    Test,
}

/// Arguments of `lifted remote`.
#[derive(Debug, Clone, Args)]
pub struct RemoteArgs {
    /// Where the device is: a serial device (`/dev/ttyACM0`, `/dev/pts/3` for QEMU's
    /// `-serial pty`), or `tcp:HOST:PORT` for QEMU's `-serial tcp:HOST:PORT,server=on`.
    #[arg(long, value_name = "PORT")]
    pub port: String,
    /// The model blob the firmware was built with (its length and CRC-32 must match the
    /// device's). Default: `firmware/models/demo.lfm` of this repository.
    #[arg(long, value_name = "M.lfm")]
    pub model: Option<PathBuf>,
    /// Data set to stream (digits is embedded; mnist and fashion-mnist need `lifted data fetch`)
    /// [default: digits, unless --data gives your own file].
    #[arg(long, value_enum, conflicts_with = "file")]
    pub dataset: Option<DatasetKind>,
    /// Your own data file instead of --dataset.
    #[command(flatten)]
    pub own: data::OwnData,
    /// Folder of the data set's files (default: the embedded digits, or `data/DATASET/`).
    #[arg(long, value_name = "DIR", conflicts_with = "file")]
    pub data_dir: Option<PathBuf>,
    /// Which split to stream.
    #[arg(long, value_enum, default_value_t = RemoteSplit::Test)]
    pub split: RemoteSplit,
    /// Stream only the first N samples of the split.
    #[arg(long, value_name = "N")]
    pub limit: Option<usize>,
    /// Baud rate of a serial device (8N1, no flow control; ignored for tcp:).
    #[arg(long, default_value_t = 115_200)]
    pub baud: u32,
    /// Seconds to wait for each answer (and for the connection); more than 0, at most 86400 (one
    /// day).
    #[arg(long, default_value_t = 10.0, value_name = "SECONDS")]
    pub timeout: f64,
    /// ℓ2 radii at which to report certified accuracy.
    #[arg(
        long = "cert-l2",
        alias = "eps-l2",
        value_delimiter = ',',
        action = clap::ArgAction::Set,
        default_value = "0.1,0.3,0.5,1.0",
        value_name = "EPS,…"
    )]
    pub eps_l2: Vec<f32>,
    /// ℓ∞ radii at which to report certified accuracy.
    #[arg(
        long = "cert-linf",
        alias = "eps-linf",
        value_delimiter = ',',
        action = clap::ArgAction::Set,
        default_value = "0.01,0.03,0.05",
        value_name = "EPS,…"
    )]
    pub eps_linf: Vec<f32>,
    /// Print at most N mismatches in full.
    #[arg(long, default_value_t = 10, value_name = "N")]
    pub show: usize,
    /// Send `Shutdown` at the end (a QEMU `serve` then exits with status 0).
    #[arg(long)]
    pub shutdown: bool,
    /// Print the report as JSON.
    #[arg(long)]
    pub json: bool,
}

/// A byte link to the device.
#[derive(Debug)]
pub enum Link {
    /// A TCP connection (QEMU `-serial tcp:…,server=on`).
    Tcp(TcpStream),
    /// A serial port (the `serialport` crate: 8N1, no flow control, 0.1 s read timeout), on
    /// Linux, macOS and Windows.
    Serial(Box<dyn serialport::SerialPort>),
}

/// A byte stream to a device.
pub trait Transport: Read + Write {
    /// Whether a read of 0 bytes means that the peer closed the link (TCP), rather than a read
    /// timeout (a tty configured with `min 0 time 1`).
    fn zero_read_is_eof(&self) -> bool;
}

impl Transport for Link {
    fn zero_read_is_eof(&self) -> bool {
        matches!(self, Link::Tcp(_))
    }
}

impl Transport for TcpStream {
    fn zero_read_is_eof(&self) -> bool {
        true
    }
}

/// How long one blocking read may wait before the deadline is checked again.
const POLL: Duration = Duration::from_millis(100);

impl Link {
    /// Opens `port` (`tcp:HOST:PORT` or a serial device path); a TCP connection is retried until
    /// `timeout` passes (QEMU may still be starting).
    ///
    /// # Errors
    /// The port cannot be opened or configured; the message says how to fix it.
    pub fn open(port: &str, baud: u32, timeout: Duration) -> Result<Link> {
        if let Some(addr) = port.strip_prefix("tcp:") {
            let start = Instant::now();
            let stream = loop {
                match TcpStream::connect(addr) {
                    Ok(s) => break s,
                    Err(e) if start.elapsed() >= timeout => {
                        return Err(e).with_context(|| {
                            format!(
                                "connecting to {addr} — is QEMU running with \
                                 `-serial tcp:{addr},server=on,wait=on`?"
                            )
                        })
                    }
                    Err(_) => std::thread::sleep(Duration::from_millis(50)),
                }
            };
            stream.set_nodelay(true).context("setting TCP_NODELAY")?;
            stream
                .set_read_timeout(Some(POLL))
                .context("setting the read timeout")?;
            return Ok(Link::Tcp(stream));
        }
        let serial = serialport::new(port, baud)
            .data_bits(serialport::DataBits::Eight)
            .parity(serialport::Parity::None)
            .stop_bits(serialport::StopBits::One)
            .flow_control(serialport::FlowControl::None)
            .timeout(POLL)
            .open()
            .with_context(|| {
                format!(
                    "opening serial port {port} at {baud} baud — check the path (`tcp:HOST:PORT` for \
                     QEMU) and your permissions (group dialout on Linux)"
                )
            })?;
        Ok(Link::Serial(serial))
    }
}

impl Read for Link {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self {
            Link::Tcp(s) => s.read(buf),
            Link::Serial(f) => f.read(buf),
        }
    }
}

impl Write for Link {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match self {
            Link::Tcp(s) => s.write(buf),
            Link::Serial(f) => f.write(buf),
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        match self {
            Link::Tcp(s) => s.flush(),
            Link::Serial(f) => f.flush(),
        }
    }
}

/// An answer with owned vectors (host side of [`Answer`]).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct OwnedAnswer {
    /// Request id.
    pub id: u32,
    /// Predicted class.
    pub class: u16,
    /// Runner-up class.
    pub runner_up: u16,
    /// Logit margin.
    pub margin: f32,
    /// ℓ2 certificate.
    #[serde(serialize_with = "ser_radius")]
    pub l2: Radius,
    /// ℓ∞ certificate.
    #[serde(serialize_with = "ser_radius")]
    pub linf: Radius,
    /// Internal (hidden-layer) ℓ2 radii.
    pub internal: Vec<f32>,
    /// Logits.
    pub logits: Vec<f32>,
}

fn ser_radius<S: serde::Serializer>(r: &Radius, s: S) -> Result<S::Ok, S::Error> {
    use serde::ser::SerializeStruct;
    let mut st = s.serialize_struct("Radius", 4)?;
    st.serialize_field("radius", &r.radius)?;
    st.serialize_field("binding", &r.binding)?;
    st.serialize_field("float_error", &r.float_error)?;
    st.serialize_field("refusal", &format!("{:?}", r.refusal))?;
    st.end()
}

impl From<&Answer<'_>> for OwnedAnswer {
    fn from(a: &Answer<'_>) -> Self {
        OwnedAnswer {
            id: a.id,
            class: a.class,
            runner_up: a.runner_up,
            margin: a.margin,
            l2: a.l2,
            linf: a.linf,
            internal: a.internal.iter().collect(),
            logits: a.logits.iter().collect(),
        }
    }
}

fn bits(v: &[f32]) -> Vec<u32> {
    v.iter().map(|x| x.to_bits()).collect()
}

struct Hex<'a>(&'a [f32]);

impl fmt::Display for Hex<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, v) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str(" ")?;
            }
            write!(f, "{:#010x}", v.to_bits())?;
        }
        Ok(())
    }
}

fn radius_text(r: &Radius) -> String {
    format!(
        "{:#010x} ({:.4}) by {} err {:#010x} {:?}",
        r.radius.to_bits(),
        r.radius,
        r.binding,
        r.float_error.to_bits(),
        r.refusal
    )
}

impl OwnedAnswer {
    /// The fields whose bits differ from `other`'s, as `(name, self, other)` texts.
    #[must_use]
    pub fn diff(&self, other: &OwnedAnswer) -> Vec<(String, String, String)> {
        let mut d = Vec::new();
        let mut field = |name: &str, same: bool, a: String, b: String| {
            if !same {
                d.push((name.to_owned(), a, b));
            }
        };
        field(
            "id",
            self.id == other.id,
            self.id.to_string(),
            other.id.to_string(),
        );
        field(
            "class",
            self.class == other.class,
            self.class.to_string(),
            other.class.to_string(),
        );
        field(
            "runner_up",
            self.runner_up == other.runner_up,
            self.runner_up.to_string(),
            other.runner_up.to_string(),
        );
        field(
            "margin",
            self.margin.to_bits() == other.margin.to_bits(),
            format!("{:#010x} ({})", self.margin.to_bits(), self.margin),
            format!("{:#010x} ({})", other.margin.to_bits(), other.margin),
        );
        let same_radius = |a: &Radius, b: &Radius| {
            a.radius.to_bits() == b.radius.to_bits()
                && a.binding == b.binding
                && a.float_error.to_bits() == b.float_error.to_bits()
                && a.refusal == b.refusal
        };
        field(
            "l2",
            same_radius(&self.l2, &other.l2),
            radius_text(&self.l2),
            radius_text(&other.l2),
        );
        field(
            "linf",
            same_radius(&self.linf, &other.linf),
            radius_text(&self.linf),
            radius_text(&other.linf),
        );
        field(
            "internal",
            bits(&self.internal) == bits(&other.internal),
            Hex(&self.internal).to_string(),
            Hex(&other.internal).to_string(),
        );
        field(
            "logits",
            bits(&self.logits) == bits(&other.logits),
            Hex(&self.logits).to_string(),
            Hex(&other.logits).to_string(),
        );
        d
    }
}

/// A decoded device message with owned data.
#[derive(Debug, Clone, PartialEq)]
pub enum Reply {
    /// `Ready`.
    Ready(Ready),
    /// `Answer`.
    Answer(OwnedAnswer),
    /// `Error`.
    Error(ErrorFrame),
}

/// A connected device: frames in and out over a [`Link`] (or any byte stream).
#[derive(Debug)]
pub struct Session<L> {
    link: L,
    pending: Vec<u8>,
    timeout: Duration,
    /// The device's self-description from the handshake.
    pub ready: Ready,
}

impl<L: Transport> Session<L> {
    /// Handshake: a lone `0x00`, then `Hello`, then the `Ready` that echoes its nonce (an earlier
    /// boot `Ready` and anything else before it are skipped).
    ///
    /// # Errors
    /// No matching `Ready` within `timeout`, a link error, or a device of another protocol
    /// version.
    pub fn connect(link: L, timeout: Duration) -> Result<Self> {
        let placeholder = Ready {
            reply_to: None,
            protocol: 0,
            input_dim: 0,
            classes: 0,
            layers: 0,
            sweeps: 0,
            model_len: 0,
            model_crc: 0,
            max_frame: 0,
        };
        let mut s = Session {
            link,
            pending: Vec::new(),
            timeout,
            ready: placeholder,
        };
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.subsec_nanos());
        let nonce = std::process::id().rotate_left(16) ^ nanos;
        s.send_raw(&[frame::DELIMITER])?;
        s.send(&Request::Hello { nonce })?;
        let deadline = Instant::now() + timeout;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            ensure!(
                !left.is_zero(),
                "the device did not answer Hello within {:.1} s — is the `serve` firmware running on \
                 this port?",
                timeout.as_secs_f64()
            );
            // A timeout or a link failure ends the handshake; frames that do not decode (boot
            // noise) and other messages (the boot Ready) are skipped.
            let mut f = s.recv_frame(left).context(
                "waiting for the device's answer to Hello — is the `serve` firmware running on \
                 this port?",
            )?;
            if let Ok(Response::Ready(r)) = frame::decode::<Response<'_>>(&mut f) {
                if r.reply_to == Some(nonce) {
                    ensure!(
                        r.protocol == PROTOCOL_VERSION,
                        "the device speaks protocol {}, this host {PROTOCOL_VERSION} — rebuild \
                         the firmware and the host from the same revision",
                        r.protocol
                    );
                    s.ready = r;
                    return Ok(s);
                }
            }
        }
    }

    /// Sends raw bytes (for tests of malformed frames).
    ///
    /// # Errors
    /// The link fails.
    pub fn send_raw(&mut self, bytes: &[u8]) -> Result<()> {
        self.link
            .write_all(bytes)
            .and_then(|()| self.link.flush())
            .context("writing to the device")
    }

    /// Sends one request frame.
    ///
    /// # Errors
    /// The link fails.
    pub fn send(&mut self, req: &Request<'_>) -> Result<()> {
        self.send_raw(&frame::encode_vec(req))
    }

    /// The next reply, within the session's timeout.
    ///
    /// # Errors
    /// Timeout, a closed link, or a frame that does not decode.
    pub fn recv(&mut self) -> Result<Reply> {
        let mut f = self.recv_frame(self.timeout)?;
        let msg: Response<'_> = frame::decode(&mut f)
            .map_err(|e| anyhow!("the device sent an undecodable frame ({e:?})"))?;
        Ok(match msg {
            Response::Ready(r) => Reply::Ready(r),
            Response::Answer(a) => Reply::Answer(OwnedAnswer::from(&a)),
            Response::Error(e) => Reply::Error(e),
        })
    }

    /// The next non-empty frame (COBS bytes without the delimiter).
    fn recv_frame(&mut self, timeout: Duration) -> Result<Vec<u8>> {
        let deadline = Instant::now() + timeout;
        loop {
            while let Some(end) = self.pending.iter().position(|&b| b == frame::DELIMITER) {
                let mut f: Vec<u8> = self.pending.drain(..=end).collect();
                f.pop();
                if !f.is_empty() {
                    return Ok(f);
                }
            }
            ensure!(
                Instant::now() < deadline,
                "no answer from the device within {:.1} s",
                timeout.as_secs_f64()
            );
            let mut buf = [0u8; 4096];
            match self.link.read(&mut buf) {
                // TCP: the peer closed. A tty with `min 0 time 1` returns 0 on its timeout.
                Ok(0) if self.link.zero_read_is_eof() => {
                    bail!("the device closed the connection")
                }
                Ok(n) => self.pending.extend_from_slice(buf.get(..n).unwrap_or(&[])),
                Err(e)
                    if matches!(
                        e.kind(),
                        io::ErrorKind::WouldBlock
                            | io::ErrorKind::TimedOut
                            | io::ErrorKind::Interrupted
                    ) => {}
                Err(e) => return Err(e).context("reading from the device"),
            }
        }
    }

    /// Sends `Shutdown` (a QEMU `serve` exits with status 0; a board answers `Unsupported`).
    ///
    /// # Errors
    /// The link fails.
    pub fn shutdown(&mut self) -> Result<()> {
        self.send(&Request::Shutdown)
    }

    /// The underlying link.
    pub fn into_link(self) -> L {
        self.link
    }
}

/// The host's own answer for input `x` (what the device must send, bit for bit), or the error
/// kind the device must report.
///
/// # Errors
/// Never for a valid model; the `Err` is the expected device error.
pub fn host_answer(model: &ModelView<'_>, id: u32, x: &[f32]) -> Result<OwnedAnswer, ErrorKind> {
    let mut buf = vec![0.0f32; Workspace::required(model)];
    let mut ws = Workspace::new(&mut buf);
    let out = infer(model, x, &mut ws).map_err(|e| match e {
        lifted_core::Error::InputNonFinite { index } => ErrorKind::InputNonFinite { index },
        lifted_core::Error::InputOutOfRange { index } => ErrorKind::InputOutOfRange { index },
        lifted_core::Error::InputLength { expected, got } => ErrorKind::InputLength {
            expected_bytes: expected.saturating_mul(4),
            got_bytes: got.saturating_mul(4),
        },
        _ => ErrorKind::Inference,
    })?;
    let l2 = certify(model, &out, Norm::L2);
    let linf = certify(model, &out, Norm::Linf);
    let mut lb = vec![0u8; 4 * out.logits.len()];
    let mut ib = vec![0u8; 4 * l2.internal.len()];
    let a = Answer::new(id, &out, &l2, &linf, &mut lb, &mut ib);
    Ok(OwnedAnswer::from(&a))
}

/// Certified accuracy at one radius.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct AtRadius {
    /// The radius ε.
    pub eps: f32,
    /// Fraction of the inputs classified correctly with a certified radius ≥ ε.
    pub accuracy: f64,
}

/// One input whose device answer differs from the host's.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Mismatch {
    /// Index in the streamed data set.
    pub index: usize,
    /// `(field, device, host)` for every differing field.
    pub fields: Vec<(String, String, String)>,
}

/// The result of streaming a data set.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Report {
    /// The port.
    pub port: String,
    /// The model's dimensions, e.g. `64-32-10`.
    pub model: String,
    /// CRC-32 of the model (device and host agree).
    pub model_crc: String,
    /// Data set and split, e.g. `digits:test`.
    pub dataset: String,
    /// Inputs sent.
    pub inputs: usize,
    /// Answers received (the rest were error frames).
    pub answered: usize,
    /// Error frames received.
    pub device_errors: usize,
    /// Device predictions equal to the label, over all inputs.
    pub accuracy: f64,
    /// Certified accuracy in ℓ2 at each `--cert-l2`.
    pub certified_l2: Vec<AtRadius>,
    /// Certified accuracy in ℓ∞ at each `--cert-linf`.
    pub certified_linf: Vec<AtRadius>,
    /// Inputs whose answer differs from the host's in any bit (or error vs answer).
    pub mismatches: usize,
    /// The first `--show` mismatches.
    pub first_mismatches: Vec<Mismatch>,
    /// Wall-clock seconds of the streaming.
    pub seconds: f64,
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "remote {}: model {} (crc {}), {} — {} inputs, {} answers, {} device errors in {:.1} s ({:.0} inputs/s)",
            self.port,
            self.model,
            self.model_crc,
            self.dataset,
            self.inputs,
            self.answered,
            self.device_errors,
            self.seconds,
            self.inputs as f64 / self.seconds.max(1e-9)
        )?;
        writeln!(f, "accuracy          {:.4}", self.accuracy)?;
        let row = |f: &mut fmt::Formatter<'_>, name: &str, v: &[AtRadius]| {
            write!(f, "certified {name:<7}")?;
            for a in v {
                write!(f, "  ε={} {:.4}", a.eps, a.accuracy)?;
            }
            writeln!(f)
        };
        row(f, "ℓ2", &self.certified_l2)?;
        row(f, "ℓ∞", &self.certified_linf)?;
        for m in &self.first_mismatches {
            writeln!(f, "mismatch at input {}:", m.index)?;
            for (name, dev, host) in &m.fields {
                writeln!(f, "  {name:<9} device {dev}")?;
                writeln!(f, "  {:<9} host   {host}", "")?;
            }
        }
        write!(
            f,
            "remote: {} mismatches (device vs host, bit for bit) in {} inputs",
            self.mismatches, self.inputs
        )
    }
}

/// Options of [`stream`].
#[derive(Debug, Clone, PartialEq)]
pub struct StreamOptions {
    /// ℓ2 radii for certified accuracy.
    pub eps_l2: Vec<f32>,
    /// ℓ∞ radii for certified accuracy.
    pub eps_linf: Vec<f32>,
    /// How many mismatches to keep in full.
    pub show: usize,
}

impl Default for StreamOptions {
    fn default() -> Self {
        StreamOptions {
            eps_l2: vec![0.1, 0.3, 0.5, 1.0],
            eps_linf: vec![0.01, 0.03, 0.05],
            show: 10,
        }
    }
}

/// The model's dimensions as `n0-n1-…-nL`.
#[must_use]
pub fn dims(model: &ModelView<'_>) -> String {
    let mut s = model.input_dim().to_string();
    for k in 1..=model.layers() {
        s.push_str(&format!("-{}", model.width(k)));
    }
    s
}

/// Checks that the device runs the model of `blob` (length and stored CRC-32, [`ModelView::crc`]).
///
/// # Errors
/// The device reports another model; the message names both and the fix.
pub fn check_model(ready: &Ready, blob: &[u8], model: &ModelView<'_>, path: &str) -> Result<()> {
    let crc = model.crc();
    ensure!(
        ready.model_len as usize == blob.len() && ready.model_crc == crc,
        "the device runs another model ({} bytes, crc {:#010x}) than {path} ({} bytes, crc {crc:#010x}) \
         — pass the blob the firmware was built with (LIFTED_MODEL) as --model, or rebuild the \
         firmware with LIFTED_MODEL={path}",
        ready.model_len,
        ready.model_crc,
        blob.len()
    );
    Ok(())
}

/// Streams every sample of `data` to the device, one request at a time, and compares each answer
/// with [`host_answer`].
///
/// # Errors
/// A link failure, a timeout, a device reset (unsolicited `Ready`) or an answer to another
/// request.
pub fn stream<L: Transport>(
    session: &mut Session<L>,
    model: &ModelView<'_>,
    data: &Dataset,
    opts: &StreamOptions,
) -> Result<Report> {
    let start = Instant::now();
    let mut answered = 0usize;
    let mut device_errors = 0usize;
    let mut mismatches = 0usize;
    let mut first = Vec::new();
    let mut correct = 0usize;
    let mut cert_l2 = vec![0usize; opts.eps_l2.len()];
    let mut cert_linf = vec![0usize; opts.eps_linf.len()];
    let mut bytes = Vec::new();
    for (index, (x, label)) in data.iter().enumerate() {
        let id = u32::try_from(index).context("more than 2^32 inputs")?;
        bytes.clear();
        for v in x {
            bytes.extend_from_slice(&v.to_le_bytes());
        }
        session.send(&Request::Infer {
            id,
            input: frame::F32s::from_le_bytes(&bytes),
        })?;
        let reply = session
            .recv()
            .with_context(|| format!("waiting for the answer to input {index}"))?;
        let host = host_answer(model, id, x);
        let fields = match (&reply, &host) {
            (Reply::Answer(dev), Ok(want)) => {
                answered += 1;
                if usize::from(dev.class) == usize::from(label) {
                    correct += 1;
                    let ok = |r: &Radius, eps: f32| r.refusal == Refusal::None && eps <= r.radius;
                    for (n, &eps) in cert_l2.iter_mut().zip(&opts.eps_l2) {
                        *n += usize::from(ok(&dev.l2, eps));
                    }
                    for (n, &eps) in cert_linf.iter_mut().zip(&opts.eps_linf) {
                        *n += usize::from(ok(&dev.linf, eps));
                    }
                }
                dev.diff(want)
            }
            (Reply::Error(e), want) => {
                device_errors += 1;
                ensure!(
                    e.id.is_none() || e.id == Some(id),
                    "the device answered request {:?} while {id} was expected",
                    e.id
                );
                match want {
                    Err(k) if e.id == Some(id) && e.kind == *k => Vec::new(),
                    Err(k) => vec![("error".into(), format!("{e:?}"), format!("{k:?}"))],
                    Ok(a) => vec![(
                        "answer".into(),
                        format!("error {}", e.kind),
                        format!("class {} margin {}", a.class, a.margin),
                    )],
                }
            }
            (Reply::Answer(dev), Err(k)) => {
                answered += 1;
                vec![(
                    "answer".into(),
                    format!("class {} margin {}", dev.class, dev.margin),
                    format!("error {k}"),
                )]
            }
            (Reply::Ready(_), _) => {
                bail!("the device was reset while processing input {index} (unsolicited Ready)")
            }
        };
        if let Reply::Answer(dev) = &reply {
            ensure!(
                dev.id == id,
                "the device answered request {} while {id} was expected",
                dev.id
            );
        }
        if !fields.is_empty() {
            mismatches += 1;
            if first.len() < opts.show {
                first.push(Mismatch { index, fields });
            }
        }
    }
    let n = data.len().max(1) as f64;
    let at = |eps: &[f32], counts: &[usize]| -> Vec<AtRadius> {
        eps.iter()
            .zip(counts)
            .map(|(&eps, &c)| AtRadius {
                eps,
                accuracy: c as f64 / n,
            })
            .collect()
    };
    Ok(Report {
        port: String::new(),
        model: dims(model),
        model_crc: format!("{:#010x}", session.ready.model_crc),
        dataset: data.name.clone(),
        inputs: data.len(),
        answered,
        device_errors,
        accuracy: correct as f64 / n,
        certified_l2: at(&opts.eps_l2, &cert_l2),
        certified_linf: at(&opts.eps_linf, &cert_linf),
        mismatches,
        first_mismatches: first,
        seconds: start.elapsed().as_secs_f64(),
    })
}

/// The default model: `firmware/models/demo.lfm` of the repository this binary was built from
/// (or of the current directory).
fn default_model() -> PathBuf {
    let rel = Path::new("firmware").join("models").join("demo.lfm");
    let repo = crate::device::repo::root().join(&rel);
    if rel.is_file() || !repo.is_file() {
        rel
    } else {
        repo
    }
}

/// Loads the split to stream.
///
/// # Errors
/// Missing or corrupt data files (the message names the file and the fetch command), or an
/// empty selection.
pub fn load_data(args: &RemoteArgs) -> Result<Dataset> {
    let kind = args.dataset.unwrap_or(DatasetKind::Digits);
    let splits = data::load_any(Some(kind), args.data_dir.as_deref(), &args.own, None)?;
    let (set, split) = match args.split {
        RemoteSplit::Train => (splits.train, "train"),
        RemoteSplit::Val => (splits.val, "val"),
        RemoteSplit::Test => (splits.test, "test"),
    };
    let base = match args.own.path() {
        Some(_) => args.own.name(),
        None => kind.name().to_owned(),
    };
    let name = format!("{base}:{split}");
    let set = match args.limit {
        Some(n) => set.slice(0..n, &name),
        None => Dataset { name, ..set },
    };
    ensure!(
        !set.is_empty(),
        "no samples selected from {} (--limit 0?)",
        set.name
    );
    Ok(set)
}

/// The longest `--timeout`: one day.
pub const MAX_TIMEOUT_SECS: f64 = 86_400.0;

/// `--timeout SECONDS` as a duration.
///
/// # Errors
/// Not a number in (0, [`MAX_TIMEOUT_SECS`]] (the message names the flag and the range).
pub fn timeout_of(secs: f64) -> Result<Duration> {
    let bad = || {
        anyhow!(
            "--timeout {secs:?}: give a number of seconds greater than 0 and at most {MAX_TIMEOUT_SECS} (one day)"
        )
    };
    if !(secs > 0.0 && secs <= MAX_TIMEOUT_SECS) {
        return Err(bad());
    }
    let d = Duration::try_from_secs_f64(secs).map_err(|_| bad())?;
    // A positive value so small that it rounds to zero would make every read time out at once.
    if d.is_zero() {
        return Err(bad());
    }
    Ok(d)
}

/// Runs `lifted remote`: prints the report (text or JSON) and fails if any answer differs from
/// the host's.
///
/// # Errors
/// Bad arguments, an unreadable model or data set, a link failure, a device running another
/// model, or at least one mismatch.
pub fn run(args: &RemoteArgs) -> Result<Report> {
    for &e in args.eps_l2.iter().chain(&args.eps_linf) {
        ensure!(
            e.is_finite() && e >= 0.0,
            "radius {e}: radii must be finite and ≥ 0"
        );
    }
    let timeout = timeout_of(args.timeout)?;
    let path = args.model.clone().unwrap_or_else(default_model);
    let bytes = crate::model::file::read_model_bytes(
        &path,
        "pass the blob the firmware was built with as --model",
    )?;
    let blob = Blob::from_bytes(&bytes);
    let model = ModelView::new_checked(blob.as_bytes())
        .map_err(|e| anyhow!("loading model {}: {e}", path.display()))?;
    let data = load_data(args)?;
    ensure!(
        data.dim == model.input_dim(),
        "{} has {} inputs per sample, the model {} — pick the data set the model was trained on",
        data.name,
        data.dim,
        model.input_dim()
    );
    let link = Link::open(&args.port, args.baud, timeout)?;
    let mut session = Session::connect(link, timeout)?;
    check_model(
        &session.ready,
        blob.as_bytes(),
        &model,
        &path.display().to_string(),
    )?;
    let opts = StreamOptions {
        eps_l2: args.eps_l2.clone(),
        eps_linf: args.eps_linf.clone(),
        show: args.show,
    };
    let mut report = stream(&mut session, &model, &data, &opts)?;
    report.port.clone_from(&args.port);
    if args.shutdown {
        session.shutdown()?;
    }
    if args.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        println!("{report}");
    }
    ensure!(
        report.mismatches == 0,
        "{} of {} device answers differ from the host's results",
        report.mismatches,
        report.inputs
    );
    Ok(report)
}
