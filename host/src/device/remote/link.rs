//! The byte link to a device: a TCP connection to QEMU's UART or a serial port.

use std::io::{self, Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use anyhow::{Context, Result};

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
pub(super) const POLL: Duration = Duration::from_millis(100);

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
