//! Proves that a fault ends the QEMU run instead of hanging it: executes a permanently undefined
//! instruction (`udf`), which raises a HardFault (escalated from UsageFault on M3/M4/M7). The
//! library's handler prints `HardFault at pc=…` and exits with `EXIT_HARDFAULT` (102).
//!
//! `scripts/firmware-ci.sh` requires exactly that status; 124 would mean `timeout` had to kill QEMU.
#![no_std]
#![no_main]

use cortex_m_rt::entry;
use lifted_firmware::{exit, hprintln};

#[entry]
fn main() -> ! {
    hprintln!("fault: executing udf, expecting a HardFault");
    cortex_m::asm::udf();
    #[allow(unreachable_code)]
    {
        hprintln!("fault: udf returned");
        exit(1)
    }
}
