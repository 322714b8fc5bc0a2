//! lifted on Cortex-M under QEMU.
//!
//! Architecture: the model blob is embedded at build time ([`MODEL`]) → `lifted_core::ModelView`
//! validates it in place (zero copy) → inference and certificate run from flash. This library holds
//! what every QEMU program of the firmware workspace shares:
//!
//! - [`MODEL`]: the blob named by `LIFTED_MODEL` at build time (default `models/demo.lfm`),
//!   4-byte aligned so that its f32 tensors are read in place;
//! - the `#[panic_handler]` and the `HardFault`/`DefaultHandler` exception handlers: each prints
//!   through semihosting and ends QEMU with a failure code ([`EXIT_PANIC`], [`EXIT_HARDFAULT`],
//!   [`EXIT_EXCEPTION`]), so a panic or a fault never hangs a run;
//! - [`exit`] and [`expect_panic`] (the `MAY_PANIC` pattern, docs/toolchain.md §5).
//!
//! Every program links this library (`use lifted_firmware as _;` at least), otherwise it has no
//! panic handler. Output goes through plain ARM semihosting (`hprintln!`); see the README for why.
#![no_std]
#![deny(missing_docs)]
#![warn(clippy::unwrap_used, clippy::expect_used)]

use core::fmt::Write as _;
use core::sync::atomic::{AtomicBool, Ordering};

use cortex_m as _; // links cortex-m's critical-section implementation (used by hprintln!)
use cortex_m_rt::{exception, ExceptionFrame};
use cortex_m_semihosting::{debug, hio};

pub mod cmsdk_uart;
pub mod kernels_baseline;
pub mod stack;

pub use cortex_m_semihosting::{hprint, hprintln};
pub use lifted_core;
pub use lifted_core::Aligned;
#[cfg(target_abi = "eabihf")]
pub use lifted_kernel_m4 as kernels_asm;

/// The kernels [`infer`] uses on this target: the hand-written `lifted_kernel_m4::M4f` on
/// `thumbv7em-none-eabihf` (M4F, M7), the portable `lifted_core::Portable` on the M0 and M3.
#[cfg(target_abi = "eabihf")]
pub type TargetKernels = lifted_kernel_m4::M4f;
/// The kernels [`infer`] uses on this target: the hand-written `lifted_kernel_m4::M4f` on
/// `thumbv7em-none-eabihf` (M4F, M7), the portable `lifted_core::Portable` on the M0 and M3.
#[cfg(not(target_abi = "eabihf"))]
pub type TargetKernels = lifted_core::Portable;

/// `lifted_core::infer` with this target's kernels ([`TargetKernels`]): the same bits as the
/// portable inference (and as the host), faster on the M4F/M7.
pub fn infer<'w>(
    model: &lifted_core::ModelView<'_>,
    input: &[f32],
    ws: &'w mut lifted_core::Workspace<'_>,
) -> Result<lifted_core::Outcome<'w>, lifted_core::Error> {
    lifted_core::infer_with(&TargetKernels::default(), model, input, ws)
}

/// `lifted_core::infer_and_certify` with this target's kernels ([`TargetKernels`]): inference
/// and both input certificates, bit for bit those of the host.
pub fn infer_and_certify<'w>(
    model: &lifted_core::ModelView<'_>,
    input: &[f32],
    ws: &'w mut lifted_core::Workspace<'_>,
) -> Result<lifted_core::Certified<'w>, lifted_core::Error> {
    lifted_core::infer_and_certify_with(&TargetKernels::default(), model, input, ws)
}

/// The model blob embedded at build time (`$LIFTED_MODEL`, default `firmware/models/demo.lfm`).
///
/// Zero-copy and 4-byte aligned: `ModelView::new_checked(&MODEL.0)` reads the tensors in place
/// from flash.
pub static MODEL: &Aligned<[u8]> =
    &Aligned(*include_bytes!(concat!(env!("OUT_DIR"), "/model.lfm")));

/// QEMU exit status after an unexpected panic.
pub const EXIT_PANIC: u8 = 101;
/// QEMU exit status after a HardFault (every fault on M0; on M3/M4/M7 the configurable faults are
/// disabled at reset and escalate to HardFault).
pub const EXIT_HARDFAULT: u8 = 102;
/// QEMU exit status after any other unhandled exception or interrupt (`DefaultHandler`).
pub const EXIT_EXCEPTION: u8 = 103;

/// Semihosting `SYS_EXIT_EXTENDED`: carries an arbitrary exit status to QEMU.
const SYS_EXIT_EXTENDED: usize = 0x20;
/// `ADP_Stopped_ApplicationExit`.
const ADP_STOPPED_APPLICATION_EXIT: usize = 0x2_0026;

static MAY_PANIC: AtomicBool = AtomicBool::new(false);
static PANICKING: AtomicBool = AtomicBool::new(false);

/// Ends the QEMU run with exit status `code` (0 = success). Never returns.
///
/// Under QEMU the status becomes the exit status of `qemu-system-arm`, hence of `cargo run` and
/// `cargo test`. Without a semihosting host (a real board without a debugger) the `bkpt` faults;
/// these programs are meant for QEMU only.
pub fn exit(code: u8) -> ! {
    if code == 0 {
        debug::exit(debug::EXIT_SUCCESS);
    } else {
        let block = [ADP_STOPPED_APPLICATION_EXIT, usize::from(code)];
        // SAFETY: SYS_EXIT_EXTENDED reads the two-word parameter block and does not return.
        unsafe {
            cortex_m_semihosting::syscall(SYS_EXIT_EXTENDED, &block);
        }
        // A host that ignores the extended call still gets a failure.
        debug::exit(debug::EXIT_FAILURE);
    }
    loop {
        cortex_m::asm::nop();
    }
}

/// Declares that the program is about to panic on purpose: the next panic exits with status 0
/// instead of [`EXIT_PANIC`]. Call it immediately before the expected panic, so that a stray panic
/// elsewhere still fails the run.
pub fn expect_panic() {
    MAY_PANIC.store(true, Ordering::SeqCst);
}

/// Writes to a fresh semihosting stdout handle, bypassing `hprintln!`'s shared handle (which may be
/// borrowed by the code that faulted). Errors are ignored: the exit status carries the verdict.
fn emergency_print(args: core::fmt::Arguments<'_>) {
    if let Ok(mut out) = hio::hstdout() {
        let _ = out.write_fmt(args);
    }
}

#[panic_handler]
fn panic(info: &core::panic::PanicInfo<'_>) -> ! {
    // Load + store, not `swap`: thumbv6m has no atomic read-modify-write.
    if PANICKING.load(Ordering::SeqCst) {
        exit(EXIT_PANIC); // panicked while reporting a panic
    }
    PANICKING.store(true, Ordering::SeqCst);
    if MAY_PANIC.load(Ordering::SeqCst) {
        emergency_print(format_args!("panicked (expected): {}\n", info.message()));
        exit(0);
    }
    emergency_print(format_args!("panicked: {info}\n"));
    exit(EXIT_PANIC)
}

#[exception]
unsafe fn HardFault(frame: &ExceptionFrame) -> ! {
    emergency_print(format_args!(
        "HardFault at pc={:#010x} lr={:#010x} xpsr={:#010x}\n",
        frame.pc(),
        frame.lr(),
        frame.xpsr()
    ));
    exit(EXIT_HARDFAULT)
}

#[exception]
unsafe fn DefaultHandler(irqn: i16) {
    emergency_print(format_args!(
        "unhandled exception or interrupt: irqn={irqn}\n"
    ));
    exit(EXIT_EXCEPTION)
}
