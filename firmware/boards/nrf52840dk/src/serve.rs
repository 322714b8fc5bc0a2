//! The UART protocol, written against the `embedded-io` traits only (no HAL types), so any
//! `Read`/`Write` implementation works: the nRF UARTE halves here, another board's UART, or a test
//! double.
//!
//! Protocol (binary, little-endian; one request at a time):
//! - at start the board writes one text line: `lifted ready in=<n0> out=<C>\n`;
//! - request: `n0` f32 values, 4·n0 bytes;
//! - reply: `0x00` followed by `out` f32 values (4·out bytes), or `0x01` followed by a one-line
//!   reason (UTF-8 text ending in `\n`). On the nRF52840-DK, `out` = C + 1: the C logits, then the
//!   certified ℓ2 radius.

use core::fmt::Display;

use embedded_io::{Read, ReadExactError, Write};

/// Reply status byte: the outputs follow.
pub const STATUS_OK: u8 = 0x00;
/// Reply status byte: a one-line reason follows.
pub const STATUS_ERR: u8 = 0x01;

/// Why [`serve`] stopped: the link failed (the caller decides whether to restart).
#[derive(Debug, defmt::Format)]
pub enum LinkError {
    /// The reader reached end of stream in the middle of a request.
    Eof,
    /// A read failed.
    Read(embedded_io::ErrorKind),
    /// A write failed.
    Write(embedded_io::ErrorKind),
}

fn read_err<E: embedded_io::Error>(e: ReadExactError<E>) -> LinkError {
    match e {
        ReadExactError::UnexpectedEof => LinkError::Eof,
        ReadExactError::Other(e) => LinkError::Read(e.kind()),
    }
}

fn write_err<E: embedded_io::Error>(e: E) -> LinkError {
    LinkError::Write(e.kind())
}

/// Serves requests forever: reads `x.len()` f32 values into `x`, calls `infer(x, y)` and writes the
/// reply with `y`. Returns only when the link fails. An inference error is a reply, not a link
/// failure.
pub fn serve<R, W, E, F>(
    rx: &mut R,
    tx: &mut W,
    x: &mut [f32],
    y: &mut [f32],
    mut infer: F,
) -> LinkError
where
    R: Read,
    W: Write,
    E: Display,
    F: FnMut(&[f32], &mut [f32]) -> Result<(), E>,
{
    if let Err(e) = writeln!(tx, "lifted ready in={} out={}", x.len(), y.len()) {
        return LinkError::Write(fmt_kind(e));
    }
    if let Err(e) = tx.flush() {
        return write_err(e);
    }
    loop {
        if let Err(e) = serve_one(rx, tx, x, y, &mut infer) {
            return e;
        }
    }
}

fn serve_one<R, W, E, F>(
    rx: &mut R,
    tx: &mut W,
    x: &mut [f32],
    y: &mut [f32],
    infer: &mut F,
) -> Result<(), LinkError>
where
    R: Read,
    W: Write,
    E: Display,
    F: FnMut(&[f32], &mut [f32]) -> Result<(), E>,
{
    for v in x.iter_mut() {
        let mut b = [0u8; 4];
        rx.read_exact(&mut b).map_err(read_err)?;
        *v = f32::from_le_bytes(b);
    }
    match infer(x, y) {
        Ok(()) => {
            tx.write_all(&[STATUS_OK]).map_err(write_err)?;
            for v in y.iter() {
                tx.write_all(&v.to_le_bytes()).map_err(write_err)?;
            }
        }
        Err(e) => {
            defmt::warn!("request refused: {}", defmt::Display2Format(&e));
            tx.write_all(&[STATUS_ERR]).map_err(write_err)?;
            writeln!(tx, "{e}").map_err(|e| LinkError::Write(fmt_kind(e)))?;
        }
    }
    tx.flush().map_err(write_err)
}

/// `write!` on an `embedded_io::Write` reports either a formatting error or the writer's error.
fn fmt_kind<E: embedded_io::Error>(e: embedded_io::WriteFmtError<E>) -> embedded_io::ErrorKind {
    match e {
        embedded_io::WriteFmtError::Other(e) => e.kind(),
        _ => embedded_io::ErrorKind::Other,
    }
}
