//! Serial inference server: answers the postcard + COBS requests of `lifted_proto::frame` on the
//! MPS2 CMSDK UART0 (`0x4000_4000`, QEMU's first `-serial` port) with class, margin, ℓ2/ℓ∞ radii,
//! internal radii and logits, computed by `lifted_core` on the embedded model.
//!
//! Runs on QEMU `mps2-an386` (M4F) and `mps2-an500` (M7); `lifted remote --port tcp:HOST:PORT`
//! is the host side:
//!
//! ```text
//! qemu-system-arm -machine mps2-an386 -nographic -semihosting-config enable=on,target=native \
//!     -serial tcp:127.0.0.1:4444,server=on,wait=on -kernel target/thumbv7em-none-eabihf/release/serve
//! ```
//!
//! Semihosting stdout carries a one-line banner; a `Shutdown` request ends QEMU with status 0.
#![no_std]
#![no_main]

use cortex_m_rt::entry;

/// lm3s6965evb and microbit have other UARTs (and the microbit too little RAM for the buffers).
#[cfg(any(feature = "lm3s", feature = "microbit"))]
#[entry]
fn main() -> ! {
    lifted_firmware::hprintln!(
        "serve: needs an MPS2 board (mps2-an386 or mps2-an500): the CMSDK UART driver only"
    );
    lifted_firmware::exit(1)
}

#[cfg(not(any(feature = "lm3s", feature = "microbit")))]
#[entry]
fn main() -> ! {
    mps2::main()
}

#[cfg(not(any(feature = "lm3s", feature = "microbit")))]
mod mps2 {
    use lifted_firmware::cmsdk_uart::{CmsdkUart, MPS2_PCLK_HZ, MPS2_UART_RX_IRQ, UART0};
    use lifted_firmware::lifted_core::ModelView;
    use lifted_firmware::{exit, hprintln, TargetKernels, MODEL};
    use lifted_proto::serve::{self, Board, NoDelay, NoLed, Stopped};
    use lifted_proto::server::{frame_buffer_len, tx_buffer_len, OnShutdown};

    /// Baud rate of the divider programmed into the UART (QEMU ignores it).
    const BAUD: u32 = 115_200;

    /// The server's memory (about 25 KB, in `.bss`): n0 ≤ 1024, C ≤ 64, a workspace of 4096 f32;
    /// the longest request frame accepted holds a 1024-value input.
    type Memory = serve::Memory<1024, 64, 4096, { frame_buffer_len(1024) }, { tx_buffer_len(64) }>;

    static mut MEMORY: Memory = Memory::new();

    pub fn main() -> ! {
        let model = match ModelView::new_checked(&MODEL.0) {
            Ok(m) => m,
            Err(e) => {
                hprintln!("serve: model error: {}", e);
                exit(1)
            }
        };
        // SAFETY: `main` runs once and is the only user of MEMORY (no interrupts touch it).
        let mem = unsafe { &mut *core::ptr::addr_of_mut!(MEMORY) };
        // This target's kernels (the hand-written ones on the M4F/M7): the same bits as the host.
        let kernels = TargetKernels::default();
        let mut server = match mem.server(&model, &MODEL.0, OnShutdown::Stop) {
            Ok(s) => s.with_kernels(&kernels),
            Err(e) => {
                hprintln!("serve: model too large for the server buffers: {}", e);
                exit(1)
            }
        };
        // SAFETY: UART0 of the MPS2 boards; nothing else in this program uses it.
        let mut uart = unsafe { CmsdkUart::new(UART0, MPS2_PCLK_HZ, BAUD) };
        // SAFETY: UART0's RX interrupt; this program never unmasks interrupts.
        unsafe { uart.sleep_until_rx(MPS2_UART_RX_IRQ[0]) };
        let ready = *server.ready();
        hprintln!(
            "serve: model {} inputs, {} classes, crc {:#010x}; protocol {} on UART0 {:#x}",
            ready.input_dim,
            ready.classes,
            ready.model_crc,
            ready.protocol,
            UART0
        );
        // The CMSDK UART cannot fail (its errors are `Infallible`) and QEMU has no LED.
        let mut board = Board {
            io: uart,
            led: NoLed,
            delay: NoDelay,
        };
        match serve::run(&mut board, &mut server, |_| {}) {
            Stopped::Shutdown => {
                hprintln!("serve: shutdown requested");
                exit(0)
            }
            Stopped::EndOfStream => {
                hprintln!("serve: UART0 ended");
                exit(1)
            }
        }
    }
}
