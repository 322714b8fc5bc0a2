//! The serial loop: bytes from an `embedded_io::Read` go through a [`Server`], and the frames it
//! returns go to an `embedded_io::Write`. Generic over the traits only, so any implementation
//! works: the nRF UARTE halves on the board, another board's UART, or the in-memory doubles of the
//! tests below.
//!
//! The protocol (postcard + COBS frames, see `lifted_proto::frame`) is the one of the QEMU `serve`
//! program: a boot `Ready`, then one response per request frame; malformed frames get error frames.
//! A link error does not end the loop either: a failed read is reported and reading goes on (the
//! frame it damaged gets an error answer), a failed write loses that one response.

use embedded_io::{Error as _, ErrorKind, Read, Write};
use lifted_proto::server::{Sent, Server, Step};

/// Something that happened on the link, for the caller's log.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Event {
    /// A response frame was written and flushed.
    Sent(Sent),
    /// A read failed (e.g. a UART framing error); the loop reads on.
    ReadFailed(ErrorKind),
    /// Writing or flushing a response failed; that response is lost, the loop reads on.
    WriteFailed(ErrorKind),
}

/// Why [`serve`] returned.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(target_os = "none", derive(defmt::Format))]
pub enum Stopped {
    /// A `Shutdown` request arrived and the server was built with `OnShutdown::Stop` (a board
    /// uses `OnShutdown::Refuse`, so this does not happen there).
    Shutdown,
    /// The reader reported end of stream (`Ok(0)`), which a UART never does.
    EndOfStream,
}

/// Sends the server's boot `Ready`, then serves requests read from `rx`, writing each response
/// to `tx`, until [`Stopped`]. Link errors do not stop it: they are passed to `on_event`, like
/// every response sent.
///
/// A reader whose errors persist without waiting for data keeps this loop busy; the nRF UARTE
/// waits for a byte on every read.
pub fn serve<R, W, F>(rx: &mut R, tx: &mut W, server: &mut Server<'_>, mut on_event: F) -> Stopped
where
    R: Read,
    W: Write,
    F: FnMut(Event),
{
    send(tx, server.boot(), &mut on_event);
    let mut chunk = [0u8; 64];
    loop {
        let n = match rx.read(&mut chunk) {
            Ok(0) => return Stopped::EndOfStream,
            Ok(n) => n,
            Err(e) => {
                on_event(Event::ReadFailed(e.kind()));
                continue;
            }
        };
        for &byte in chunk.get(..n).unwrap_or(&[]) {
            match server.push(byte) {
                Step::Shutdown => return Stopped::Shutdown,
                step => send(tx, step, &mut on_event),
            }
        }
    }
}

fn send<W: Write, F: FnMut(Event)>(tx: &mut W, step: Step<'_>, on_event: &mut F) {
    if let Step::Send { frame, sent } = step {
        match tx.write_all(frame).and_then(|()| tx.flush()) {
            Ok(()) => on_event(Event::Sent(sent)),
            Err(e) => on_event(Event::WriteFailed(e.kind())),
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]
mod tests;
