//! A polled driver for the ARM CMSDK APB UART of the MPS2 boards (QEMU `mps2-an386`, `mps2-an385`,
//! `mps2-an500`), implementing [`embedded_io::Read`] and [`embedded_io::Write`].
//!
//! QEMU's MPS2 boards have five of these UARTs; UART0 at [`UART0`] (`0x4000_4000`) is connected to
//! QEMU's first serial port, i.e. the first `-serial` option (`-serial tcp::4444,server`,
//! `-serial pty`, `-serial stdio`, …). The emulated UART holds one received byte and QEMU delivers
//! the next one only after the guest has read it, so no byte is ever lost while the firmware is
//! busy; on a real FPGA board the baud rate applies and a busy firmware could overrun.
//!
//! Registers (CMSDK APB UART TRM): `DATA` 0x00, `STATE` 0x04 (bit 0 TX full, bit 1 RX full),
//! `CTRL` 0x08 (bit 0 TX enable, bit 1 RX enable, bit 3 RX interrupt enable), `INTSTATUS/INTCLEAR`
//! 0x0C, `BAUDDIV` 0x10.
//!
//! **Waiting.** By default a read spins on `STATE`. Under QEMU every poll is an emulated MMIO
//! access that competes with QEMU's I/O thread, which must deliver the next byte.
//! [`CmsdkUart::sleep_until_rx`] makes a read poll [`SPIN_POLLS`] times and then sleep in `wfi`
//! until the UART's RX interrupt is *pending* — with interrupts masked by PRIMASK, so no handler
//! ever runs (a pending interrupt still ends `wfi`, ARMv7-M ARM B1.5.19). Measured on the 2-core
//! VM, 250 digits through `lifted remote`: idle host, spinning 2.5–2.7 s, `wfi` alone 3.7–3.9 s
//! (every wake-up goes through the host's scheduler), poll-then-`wfi` 2.4–2.6 s; both cores busy,
//! spinning 4.4–4.8 s, `wfi` 2.9–3.4 s, poll-then-`wfi` 3.3–4.9 s. Between requests the core
//! sleeps instead of keeping a host core busy.

use core::convert::Infallible;
use core::ptr::{read_volatile, write_volatile};

/// Base address of UART0 on the MPS2 boards (QEMU's first serial port).
pub const UART0: usize = 0x4000_4000;
/// APB clock of QEMU's MPS2 boards (25 MHz).
pub const MPS2_PCLK_HZ: u32 = 25_000_000;

const DATA: usize = 0x00;
const STATE: usize = 0x04;
const CTRL: usize = 0x08;
const INTCLEAR: usize = 0x0C;
const BAUDDIV: usize = 0x10;

const STATE_TX_FULL: u32 = 1 << 0;
const STATE_RX_FULL: u32 = 1 << 1;
const STATE_OVERRUNS: u32 = 0b1100;
const CTRL_TX_EN: u32 = 1 << 0;
const CTRL_RX_EN: u32 = 1 << 1;

/// IRQ numbers of the MPS2 UARTs' receive interrupts (the TX interrupt is the next number):
/// UART0…UART4 = 0, 2, 4, 18, 20 (QEMU `hw/arm/mps2.c`, AN385/AN386/AN500).
pub const MPS2_UART_RX_IRQ: [u16; 5] = [0, 2, 4, 18, 20];

const CTRL_RX_INTEN: u32 = 1 << 3;
/// `STATE` polls before sleeping in `wfi` (see [`CmsdkUart::sleep_until_rx`]).
pub const SPIN_POLLS: u32 = 2000;
const INT_RX: u32 = 1 << 1;

#[derive(Debug, Clone, Copy)]
struct Irq(u16);

// SAFETY: `Irq` only carries IRQ numbers of the MPS2 UARTs, which exist on these boards.
unsafe impl cortex_m::interrupt::InterruptNumber for Irq {
    fn number(self) -> u16 {
        self.0
    }
}

/// One CMSDK APB UART, polled: interrupt handlers never run (see [`CmsdkUart::sleep_until_rx`]).
#[derive(Debug)]
pub struct CmsdkUart {
    base: usize,
    rx_irq: Option<u16>,
}

impl CmsdkUart {
    /// Takes the UART at `base`, sets its baud-rate divider (`pclk_hz / baud`, at least 16 as the
    /// hardware requires) and enables the transmitter and receiver.
    ///
    /// # Safety
    /// `base` must be the address of a CMSDK APB UART, and nothing else may use it while the
    /// returned value exists.
    pub unsafe fn new(base: usize, pclk_hz: u32, baud: u32) -> Self {
        let uart = CmsdkUart { base, rx_irq: None };
        let div = (pclk_hz / baud.max(1)).max(16);
        uart.write_reg(CTRL, 0);
        uart.write_reg(BAUDDIV, div);
        uart.write_reg(INTCLEAR, 0xF);
        uart.write_reg(STATE, STATE_OVERRUNS); // write 1 to clear the overrun flags
        uart.write_reg(CTRL, CTRL_TX_EN | CTRL_RX_EN);
        uart
    }

    fn read_reg(&self, offset: usize) -> u32 {
        // SAFETY: `new`'s contract: `base` is a CMSDK UART whose registers are 32-bit MMIO words.
        unsafe { read_volatile((self.base + offset) as *const u32) }
    }

    fn write_reg(&self, offset: usize, value: u32) {
        // SAFETY: as in `read_reg`.
        unsafe { write_volatile((self.base + offset) as *mut u32, value) }
    }

    /// Makes reads poll [`SPIN_POLLS`] times, then sleep in `wfi` until a byte arrives, instead of
    /// spinning without end: masks all interrupts
    /// (PRIMASK), then enables the UART's RX interrupt `rx_irq` (e.g. `MPS2_UART_RX_IRQ[0]`) in the
    /// UART and the NVIC, so that it becomes *pending* — waking `wfi` — but is never taken.
    ///
    /// # Safety
    /// `rx_irq` must be this UART's RX interrupt, and nothing may unmask interrupts (PRIMASK)
    /// afterwards: the interrupt has no handler (`DefaultHandler` would end the program).
    pub unsafe fn sleep_until_rx(&mut self, rx_irq: u16) {
        cortex_m::interrupt::disable();
        self.write_reg(INTCLEAR, INT_RX);
        cortex_m::peripheral::NVIC::unpend(Irq(rx_irq));
        self.write_reg(CTRL, self.read_reg(CTRL) | CTRL_RX_INTEN);
        // SAFETY: PRIMASK is set, so unmasking only lets the IRQ pend; the caller keeps it set.
        unsafe { cortex_m::peripheral::NVIC::unmask(Irq(rx_irq)) };
        self.rx_irq = Some(rx_irq);
    }

    /// Waits a little for a received byte: polls, then `wfi` after [`CmsdkUart::sleep_until_rx`];
    /// one spin-loop hint otherwise.
    fn wait_rx(&mut self) {
        let Some(irq) = self.rx_irq else {
            core::hint::spin_loop();
            return;
        };
        // Poll a little first: inside a frame the next byte comes soon.
        for _ in 0..SPIN_POLLS {
            if self.read_reg(STATE) & STATE_RX_FULL != 0 {
                return;
            }
        }
        // Clear the (sticky) interrupt status and the NVIC's pending bit, then look again: a byte
        // that arrives after this point pends the interrupt anew and ends `wfi` at once.
        self.write_reg(INTCLEAR, INT_RX);
        cortex_m::peripheral::NVIC::unpend(Irq(irq));
        if self.read_reg(STATE) & STATE_RX_FULL == 0 {
            cortex_m::asm::wfi();
        }
    }

    /// A received byte, if one is waiting.
    pub fn try_read_byte(&mut self) -> Option<u8> {
        if self.read_reg(STATE) & STATE_RX_FULL != 0 {
            Some(self.read_reg(DATA) as u8)
        } else {
            None
        }
    }

    /// Sends one byte, waiting while the transmit buffer is full.
    pub fn write_byte(&mut self, byte: u8) {
        while self.read_reg(STATE) & STATE_TX_FULL != 0 {
            core::hint::spin_loop();
        }
        self.write_reg(DATA, u32::from(byte));
    }
}

impl embedded_io::ErrorType for CmsdkUart {
    type Error = Infallible;
}

impl embedded_io::Read for CmsdkUart {
    /// Blocks until at least one byte has arrived, then returns every byte already waiting (up to
    /// `buf.len()`).
    fn read(&mut self, buf: &mut [u8]) -> Result<usize, Infallible> {
        if buf.is_empty() {
            return Ok(0);
        }
        let mut n = 0;
        for slot in buf.iter_mut() {
            let byte = loop {
                match self.try_read_byte() {
                    Some(b) => break Some(b),
                    None if n > 0 => break None,
                    None => self.wait_rx(),
                }
            };
            match byte {
                Some(b) => {
                    *slot = b;
                    n += 1;
                }
                None => break,
            }
        }
        Ok(n)
    }
}

impl embedded_io::Write for CmsdkUart {
    fn write(&mut self, buf: &[u8]) -> Result<usize, Infallible> {
        for &b in buf {
            self.write_byte(b);
        }
        Ok(buf.len())
    }

    /// Waits until the last byte has left the transmit buffer.
    fn flush(&mut self) -> Result<(), Infallible> {
        while self.read_reg(STATE) & STATE_TX_FULL != 0 {
            core::hint::spin_loop();
        }
        Ok(())
    }
}
