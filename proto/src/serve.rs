//! The device's serial loop and its memory, shared by the QEMU `serve` program
//! (`firmware/src/bin/serve.rs`, CMSDK UART) and the nRF52840-DK (`firmware/boards/nrf52840dk`,
//! UARTE0): read bytes → [`Server::push`] (deframe, decode, infer + certify, encode) → write the
//! response frame. Both call [`run`] with their own [`Board`]; nothing here is target-specific.
//!
//! The board boundary is the embedded-hal family of traits:
//!
//! - the link is [`embedded_io::Read`] + [`embedded_io::Write`] (the CMSDK driver and the nRF HAL's
//!   UARTE halves implement them; [`Duplex`] joins two halves, [`NbSerial`] adapts a HAL that only
//!   implements the `embedded_hal_nb::serial` traits);
//! - the activity LED is an [`embedded_hal::digital::OutputPin`], driven low when serving starts
//!   and toggled after every response;
//! - the delay is an [`embedded_hal::delay::DelayNs`]: a reader whose errors persist (a broken
//!   line) is retried every [`READ_RETRY_US`] µs instead of in a busy loop.
//!
//! [`NoLed`] and [`NoDelay`] stand in where a board has neither (QEMU). [`Memory`] holds every
//! buffer of a [`Server`] in one fixed-size value (a `static` on a device); nothing is allocated.
//!
//! Link errors never end the loop: a failed read is reported and reading goes on (the frame it
//! damaged gets an error answer), a failed write loses that one response. Host tests drive [`run`]
//! through the serial, pin and delay mocks of `embedded-hal-mock`.

use core::convert::Infallible;

use embedded_hal::delay::DelayNs;
use embedded_hal::digital::{ErrorType as PinErrorType, OutputPin};
use embedded_io::{Error as _, ErrorKind, ErrorType, Read, Write};
use lifted_core::{ModelView, MAX_LAYERS};

use crate::server::{self, Buffers, OnShutdown, Sent, Server, Step, TooSmall};

/// Pause before reading again after a second read error in a row (no byte in between), in µs.
/// A first error is retried at once: it may be a single damaged byte of a live link.
pub const READ_RETRY_US: u32 = 1_000;

/// Every buffer of a [`Server`] for models with at most `INPUT` inputs, `CLASSES` classes and a
/// workspace of `WORKSPACE` f32 values, with a `FRAME`-byte receive buffer and a `TX`-byte
/// transmit buffer. `FRAME` must be at least [`server::frame_buffer_len`]`(INPUT)` and `TX` at least
/// [`server::tx_buffer_len`]`(CLASSES)` (checked when [`Memory::new`] is evaluated).
///
/// Zero-initialised, so a `static` of it goes to `.bss`:
///
/// ```
/// use lifted_proto::serve::Memory;
/// use lifted_proto::server::{frame_buffer_len, tx_buffer_len};
///
/// type Small = Memory<64, 10, 512, { frame_buffer_len(64) }, { tx_buffer_len(10) }>;
/// static mut MEMORY: Small = Small::new();
/// ```
#[derive(Debug)]
pub struct Memory<
    const INPUT: usize,
    const CLASSES: usize,
    const WORKSPACE: usize,
    const FRAME: usize,
    const TX: usize,
> {
    frame: [u8; FRAME],
    tx: [u8; TX],
    input: [f32; INPUT],
    workspace: [f32; WORKSPACE],
    logits: [[u8; 4]; CLASSES],
    internal: [[u8; 4]; MAX_LAYERS],
}

impl<
        const INPUT: usize,
        const CLASSES: usize,
        const WORKSPACE: usize,
        const FRAME: usize,
        const TX: usize,
    > Memory<INPUT, CLASSES, WORKSPACE, FRAME, TX>
{
    /// Zeroed buffers.
    pub const fn new() -> Self {
        const {
            assert!(
                FRAME >= server::frame_buffer_len(INPUT),
                "FRAME too small for INPUT"
            );
            assert!(
                TX >= server::tx_buffer_len(CLASSES),
                "TX too small for CLASSES"
            );
        }
        Memory {
            frame: [0; FRAME],
            tx: [0; TX],
            input: [0.0; INPUT],
            workspace: [0.0; WORKSPACE],
            logits: [[0; 4]; CLASSES],
            internal: [[0; 4]; MAX_LAYERS],
        }
    }

    /// The longest request frame accepted ([`crate::frame::Ready::max_frame`]).
    pub const MAX_FRAME: usize = FRAME;

    /// The buffers as a [`Server`] takes them.
    pub fn buffers(&mut self) -> Buffers<'_> {
        Buffers {
            frame: &mut self.frame,
            tx: &mut self.tx,
            input: &mut self.input,
            workspace: &mut self.workspace,
            logits: self.logits.as_flattened_mut(),
            internal: self.internal.as_flattened_mut(),
        }
    }

    /// A server of `model` (whose blob is `blob`) in this memory, or the first buffer too small
    /// for the model (check this at boot, before serving).
    pub fn server<'a>(
        &'a mut self,
        model: &'a ModelView<'a>,
        blob: &[u8],
        on_shutdown: OnShutdown,
    ) -> Result<Server<'a>, TooSmall> {
        let bufs = self.buffers();
        bufs.check(model)?;
        let ready = server::describe(model, blob, FRAME);
        Ok(Server::new(model, ready, bufs, on_shutdown))
    }
}

impl<
        const INPUT: usize,
        const CLASSES: usize,
        const WORKSPACE: usize,
        const FRAME: usize,
        const TX: usize,
    > Default for Memory<INPUT, CLASSES, WORKSPACE, FRAME, TX>
{
    fn default() -> Self {
        Self::new()
    }
}

/// What [`run`] works with: the serial link, the activity LED and a delay.
#[derive(Debug)]
pub struct Board<IO, L, D> {
    /// The serial link ([`Duplex`] joins separate receive and transmit halves).
    pub io: IO,
    /// Driven low when serving starts, toggled after every response ([`NoLed`]: none).
    pub led: L,
    /// Waits between retries of a failing reader ([`NoDelay`]: none).
    pub delay: D,
}

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

/// Why [`run`] returned.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stopped {
    /// A `Shutdown` request arrived and the server was built with [`OnShutdown::Stop`] (a board
    /// uses [`OnShutdown::Refuse`], so this does not happen there).
    Shutdown,
    /// The reader reported end of stream (`Ok(0)`), which a UART never does.
    EndOfStream,
}

/// Sends the server's boot `Ready`, drives the LED low, then serves the requests read from
/// `board.io`, writing each response back, until [`Stopped`]. Every response sent and every link
/// error goes to `on_event`; LED errors are ignored.
pub fn run<IO, L, D, F>(
    board: &mut Board<IO, L, D>,
    server: &mut Server<'_>,
    mut on_event: F,
) -> Stopped
where
    IO: Read + Write,
    L: OutputPin,
    D: DelayNs,
    F: FnMut(Event),
{
    let Board { io, led, delay } = board;
    send(io, server.boot(), &mut on_event);
    let mut lit = false;
    let _ = led.set_low();
    let mut failed_reads = 0u32;
    let mut chunk = [0u8; 64];
    loop {
        let n = match io.read(&mut chunk) {
            Ok(0) => return Stopped::EndOfStream,
            Ok(n) => n,
            Err(e) => {
                on_event(Event::ReadFailed(e.kind()));
                failed_reads = failed_reads.saturating_add(1);
                if failed_reads > 1 {
                    delay.delay_us(READ_RETRY_US);
                }
                continue;
            }
        };
        failed_reads = 0;
        for &byte in chunk.get(..n).unwrap_or(&[]) {
            match server.push(byte) {
                Step::Idle => {}
                Step::Shutdown => return Stopped::Shutdown,
                step => {
                    send(io, step, &mut on_event);
                    lit = !lit;
                    let _ = if lit { led.set_high() } else { led.set_low() };
                }
            }
        }
    }
}

fn send<W: Write, F: FnMut(Event)>(io: &mut W, step: Step<'_>, on_event: &mut F) {
    if let Step::Send { frame, sent } = step {
        match io.write_all(frame).and_then(|()| io.flush()) {
            Ok(()) => on_event(Event::Sent(sent)),
            Err(e) => on_event(Event::WriteFailed(e.kind())),
        }
    }
}

/// A receive half and a transmit half as one link (e.g. the nRF HAL's `UarteRx` and `UarteTx`).
/// Errors are reduced to their [`ErrorKind`].
#[derive(Debug)]
pub struct Duplex<R, W> {
    /// Where bytes are read.
    pub rx: R,
    /// Where bytes are written.
    pub tx: W,
}

impl<R, W> ErrorType for Duplex<R, W> {
    type Error = ErrorKind;
}

impl<R: Read, W> Read for Duplex<R, W> {
    fn read(&mut self, buf: &mut [u8]) -> Result<usize, ErrorKind> {
        self.rx.read(buf).map_err(|e| e.kind())
    }
}

impl<R, W: Write> Write for Duplex<R, W> {
    fn write(&mut self, buf: &[u8]) -> Result<usize, ErrorKind> {
        self.tx.write(buf).map_err(|e| e.kind())
    }

    fn flush(&mut self) -> Result<(), ErrorKind> {
        self.tx.flush().map_err(|e| e.kind())
    }
}

/// A serial port with the word-at-a-time `embedded_hal_nb::serial::{Read, Write}` traits as an
/// `embedded_io` link: a read blocks for one byte and returns it, a write sends one byte, a flush
/// blocks until the transmitter is done. Overrun, framing, parity and noise errors become
/// [`ErrorKind::InvalidData`].
#[derive(Debug)]
pub struct NbSerial<S>(pub S);

fn nb_kind(e: &impl embedded_hal_nb::serial::Error) -> ErrorKind {
    use embedded_hal_nb::serial::ErrorKind as Nb;
    match e.kind() {
        Nb::Overrun | Nb::FrameFormat | Nb::Parity | Nb::Noise => ErrorKind::InvalidData,
        _ => ErrorKind::Other,
    }
}

impl<S> ErrorType for NbSerial<S> {
    type Error = ErrorKind;
}

impl<S: embedded_hal_nb::serial::Read<u8>> Read for NbSerial<S> {
    fn read(&mut self, buf: &mut [u8]) -> Result<usize, ErrorKind> {
        let Some(slot) = buf.first_mut() else {
            return Ok(0);
        };
        *slot = embedded_hal_nb::nb::block!(self.0.read()).map_err(|e| nb_kind(&e))?;
        Ok(1)
    }
}

impl<S: embedded_hal_nb::serial::Write<u8>> Write for NbSerial<S> {
    fn write(&mut self, buf: &[u8]) -> Result<usize, ErrorKind> {
        let Some(&byte) = buf.first() else {
            return Ok(0);
        };
        embedded_hal_nb::nb::block!(self.0.write(byte)).map_err(|e| nb_kind(&e))?;
        Ok(1)
    }

    fn flush(&mut self) -> Result<(), ErrorKind> {
        embedded_hal_nb::nb::block!(self.0.flush()).map_err(|e| nb_kind(&e))
    }
}

/// No LED: every call succeeds and does nothing.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoLed;

impl PinErrorType for NoLed {
    type Error = Infallible;
}

impl OutputPin for NoLed {
    fn set_low(&mut self) -> Result<(), Infallible> {
        Ok(())
    }

    fn set_high(&mut self) -> Result<(), Infallible> {
        Ok(())
    }
}

/// No delay: returns at once (for links whose reads cannot fail).
#[derive(Debug, Clone, Copy, Default)]
pub struct NoDelay;

impl DelayNs for NoDelay {
    fn delay_ns(&mut self, _ns: u32) {}
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]
mod tests;
