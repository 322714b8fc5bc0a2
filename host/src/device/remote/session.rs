//! A connected device: the handshake, one request at a time, the answers as [`Reply`]s.

use std::io;
use std::time::{Duration, Instant};

use anyhow::{anyhow, bail, ensure, Context, Result};
use lifted_proto::frame::{self, ErrorFrame, Ready, Request, Response, PROTOCOL_VERSION};

use super::{OwnedAnswer, Transport};

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

/// A connected device: frames in and out over a [`Link`](super::Link) (or any byte stream).
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
