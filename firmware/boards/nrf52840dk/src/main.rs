//! lifted on the nRF52840-DK.
//!
//! Boot: validate the embedded model (`ModelView::new_checked`, zero copy from flash) and log the
//! result with defmt over RTT; then serve inference requests on UARTE0 — the DK's J-Link virtual COM
//! port (P0.06 TX, P0.08 RX, 115200 8N1) — with the protocol of the QEMU `serve` program and
//! `lifted remote`: postcard + COBS frames (`lifted_proto::frame`), answered by
//! `lifted_proto::server::Server` through the serial loop shared with the QEMU program,
//! `lifted_proto::serve::run`, whose board boundary is embedded-io (the UARTE halves) and
//! embedded-hal (LED1, TIMER0 as the delay between retries of a failing reader). Each `Infer`
//! request runs `lifted_core::infer` (init + K sweeps) and both certificates; the answer carries
//! class, margin, ℓ2/ℓ∞ radii, internal radii and logits. Malformed frames get error frames;
//! `Shutdown` is answered `Unsupported`. LED1 (P0.13, active low) lights when serving starts and
//! toggles with every response. A bad model, a model too large for the buffers ([`memory`]) or a
//! panic ends in panic-probe, which makes `probe-rs run` print the defmt error and exit non-zero.
#![no_std]
#![no_main]

use cortex_m_rt::entry;
use defmt_rtt as _; // global defmt logger over RTT (needs a probe: not for QEMU)
use embedded_hal::digital::OutputPin;
use lifted_core::{Aligned, ModelView};
use lifted_nrf52840dk::memory::{self, Memory};
use lifted_proto::serve::{self, Board, Duplex, Event};
use lifted_proto::server::{OnShutdown, Sent};
use nrf52840_hal::gpio::{p0, Level};
use nrf52840_hal::pac;
use nrf52840_hal::uarte::{Baudrate, Parity, Pins, Uarte};
use nrf52840_hal::Timer;
use panic_probe as _; // panics log through defmt, then `udf` → probe-rs reports the failure

/// The model blob embedded at build time (`$LIFTED_MODEL`, default `firmware/models/demo.lfm`),
/// 4-byte aligned for in-place f32 reads.
static MODEL: &Aligned<[u8]> = &Aligned(*include_bytes!(concat!(env!("OUT_DIR"), "/model.lfm")));

/// The server's buffers (about 107 KB, in `.bss`).
static mut MEMORY: Memory = Memory::new();

#[entry]
fn main() -> ! {
    let Some(p) = pac::Peripherals::take() else {
        defmt::panic!("peripherals already taken");
    };
    let port0 = p0::Parts::new(p.P0);
    let led1 = port0.p0_13.into_push_pull_output(Level::High).degrade(); // active low: off

    // black_box: with a placeholder blob LLVM would otherwise evaluate the check at compile time and
    // drop everything after the panic, so the build would no longer prove the serving path links.
    let blob: &'static [u8] = core::hint::black_box(&MODEL.0);
    let view = match ModelView::new_checked(blob) {
        Ok(view) => view,
        Err(e) => defmt::panic!("model error: {} ({})", defmt::Display2Format(&e), e),
    };
    defmt::info!(
        "model ok: {} inputs, {} layers, {} classes, K = {}, {} parameter bytes",
        view.input_dim(),
        view.layers(),
        view.classes(),
        view.sweeps(),
        view.parameter_bytes()
    );

    // SAFETY: `main` runs once and is the only user of MEMORY (no interrupt handler touches it).
    let mem = unsafe { &mut *core::ptr::addr_of_mut!(MEMORY) };
    // The M4F's hand-written kernels: the same bits as the host, about 1.5× fewer instructions.
    let mut server = match mem.server(&view, blob, OnShutdown::Refuse) {
        Ok(server) => server.with_kernels(&lifted_kernel_m4::M4f),
        Err(e) => defmt::panic!(
            "model too large for the board's buffers: {} (n0 ≤ {}, C ≤ {}, workspace ≤ {} f32)",
            defmt::Display2Format(&e),
            memory::MAX_INPUT,
            memory::MAX_CLASSES,
            memory::MAX_WORKSPACE
        ),
    };
    let ready = *server.ready();

    let pins = Pins {
        txd: port0.p0_06.into_push_pull_output(Level::High).degrade(),
        rxd: port0.p0_08.into_floating_input().degrade(),
        cts: None,
        rts: None,
    };
    let uarte = Uarte::new(p.UARTE0, pins, Parity::EXCLUDED, Baudrate::BAUD115200);
    // EasyDMA buffers must live in RAM for the whole program. The receive buffer holds one byte:
    // a longer DMA transfer would wait for the buffer to fill.
    let tx_buf = cortex_m::singleton!(: [u8; 64] = [0; 64]);
    let rx_buf = cortex_m::singleton!(: [u8; 1] = [0; 1]);
    let (Some(tx_buf), Some(rx_buf)) = (tx_buf, rx_buf) else {
        defmt::panic!("UART buffers already taken");
    };
    let (tx, rx) = match uarte.split(tx_buf, rx_buf) {
        Ok(halves) => halves,
        Err(e) => defmt::panic!("UARTE split: {}", defmt::Debug2Format(&e)),
    };

    defmt::info!(
        "serving protocol {} on UARTE0 (P0.06 TX, P0.08 RX, 115200 8N1): model crc {=u32:#010x}, max frame {} bytes",
        ready.protocol,
        ready.model_crc,
        ready.max_frame
    );
    let mut board = Board {
        io: Duplex { rx, tx },
        led: led1,
        delay: Timer::new(p.TIMER0),
    };
    let stopped = serve::run(&mut board, &mut server, log);
    // Unreachable: a UART has no end of stream, and `Shutdown` is refused. LED1 off.
    let _ = board.led.set_high();
    defmt::panic!("serial loop ended: {}", defmt::Debug2Format(&stopped))
}

/// The defmt log of the serial loop: answers at `debug`, refusals and link errors at `warn`.
fn log(event: Event) {
    match event {
        Event::Sent(Sent::Ready { reply_to }) => defmt::info!("Ready sent (reply to {})", reply_to),
        Event::Sent(Sent::Answer {
            id,
            class,
            margin,
            radius_l2,
            radius_linf,
            confidence,
        }) => defmt::debug!(
            "answer {}: class {} (p ≈ {}) margin {} radius_l2 {} radius_linf {}",
            id,
            class,
            confidence,
            margin,
            radius_l2,
            radius_linf
        ),
        Event::Sent(Sent::Error(e)) => defmt::warn!(
            "request {} refused: {}",
            e.id,
            defmt::Display2Format(&e.kind)
        ),
        Event::ReadFailed(kind) => defmt::warn!("UART read failed: {}", kind),
        Event::WriteFailed(kind) => defmt::warn!("UART write failed (answer lost): {}", kind),
    }
}
