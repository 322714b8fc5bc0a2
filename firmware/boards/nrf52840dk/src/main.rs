//! lifted on the nRF52840-DK.
//!
//! Boot: validate the embedded model (`ModelView::new_checked`, zero copy from flash) and log the
//! result with defmt over RTT; then serve inference requests on UARTE0 — the DK's J-Link virtual COM
//! port (P0.06 TX, P0.08 RX, 115200 8N1) — with the protocol of [`serve`]: each request runs
//! `lifted_core::infer` (init + K sweeps) and `certify` (ℓ2), and the reply carries the logits and
//! the certified ℓ2 radius. LED1 (P0.13) is lit while serving. A bad model, a model too large for
//! the buffers, a panic or a link failure ends in panic-probe, which makes `probe-rs run` print the
//! defmt error and exit non-zero.
#![no_std]
#![no_main]

mod serve;

use cortex_m_rt::entry;
use defmt_rtt as _; // global defmt logger over RTT (needs a probe: not for QEMU)
use embedded_hal::digital::OutputPin;
use lifted_core::{certify, infer, Aligned, Error, ModelView, Norm, Workspace};
use nrf52840_hal::gpio::{p0, Level};
use nrf52840_hal::pac;
use nrf52840_hal::uarte::{Baudrate, Parity, Pins, Uarte};
use panic_probe as _; // panics log through defmt, then `udf` → probe-rs reports the failure

/// Largest input dimension n0 the request buffer holds.
const MAX_INPUT: usize = 4096;
/// Largest class count C the reply buffer holds (plus one value for the radius).
const MAX_CLASSES: usize = 1024;
/// f32 values of inference workspace (`Workspace::required`): 64 KB of the 256 KB of RAM.
const WORKSPACE: usize = 16 * 1024;

/// The model blob embedded at build time (`$LIFTED_MODEL`, default `firmware/models/demo.lfm`),
/// 4-byte aligned for in-place f32 reads.
static MODEL: &Aligned<[u8]> = &Aligned(*include_bytes!(concat!(env!("OUT_DIR"), "/model.lfm")));

#[entry]
fn main() -> ! {
    let Some(p) = pac::Peripherals::take() else {
        defmt::panic!("peripherals already taken");
    };
    let port0 = p0::Parts::new(p.P0);
    let mut led1 = port0.p0_13.into_push_pull_output(Level::High).degrade(); // active low: off

    // black_box: with a placeholder blob LLVM would otherwise evaluate the check at compile time and
    // drop everything after the panic, so the build would no longer prove the serving path links.
    let view = match ModelView::new_checked(core::hint::black_box(&MODEL.0)) {
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
    let needed = Workspace::required(&view);
    if view.input_dim() > MAX_INPUT || view.classes() > MAX_CLASSES || needed > WORKSPACE {
        defmt::panic!(
            "model too large for the board's buffers: n0 = {} (max {}), C = {} (max {}), workspace {} f32 (max {})",
            view.input_dim(),
            MAX_INPUT,
            view.classes(),
            MAX_CLASSES,
            needed,
            WORKSPACE
        );
    }

    let pins = Pins {
        txd: port0.p0_06.into_push_pull_output(Level::High).degrade(),
        rxd: port0.p0_08.into_floating_input().degrade(),
        cts: None,
        rts: None,
    };
    let uarte = Uarte::new(p.UARTE0, pins, Parity::EXCLUDED, Baudrate::BAUD115200);
    // EasyDMA buffers must live in RAM for the whole program.
    let tx_buf = cortex_m::singleton!(: [u8; 64] = [0; 64]);
    let rx_buf = cortex_m::singleton!(: [u8; 1] = [0; 1]);
    let (Some(tx_buf), Some(rx_buf)) = (tx_buf, rx_buf) else {
        defmt::panic!("UART buffers already taken");
    };
    let (mut tx, mut rx) = match uarte.split(tx_buf, rx_buf) {
        Ok(halves) => halves,
        Err(e) => defmt::panic!("UARTE split: {}", defmt::Debug2Format(&e)),
    };

    // On main's stack (main never returns): about 84 KB.
    let mut x = [0f32; MAX_INPUT];
    let mut reply = [0f32; MAX_CLASSES + 1];
    let mut buf = [0f32; WORKSPACE];
    let (n0, classes) = (view.input_dim(), view.classes());

    let _ = led1.set_low(); // on: serving
    defmt::info!("serving on UARTE0 (P0.06 TX, P0.08 RX, 115200 8N1)");
    let err = serve::serve(
        &mut rx,
        &mut tx,
        &mut x[..n0],
        &mut reply[..=classes],
        |x, reply| {
            let mut ws = Workspace::new(&mut buf);
            let out = infer(&view, x, &mut ws)?;
            let cert = certify(&view, &out, Norm::L2);
            let (logits, radius) = reply.split_at_mut(classes);
            logits.copy_from_slice(out.logits);
            radius.fill(cert.radius); // 0 when the certificate is refused
            defmt::debug!(
                "class {} margin {} radius_l2 {}",
                out.class,
                out.margin,
                cert.radius
            );
            Ok::<(), Error>(())
        },
    );
    let _ = led1.set_high();
    defmt::panic!("UART link failed: {}", err)
}
