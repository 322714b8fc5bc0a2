//! Stack high-water mark by painting: [`paint`] fills the unused stack with [`PAINT`], the code to
//! measure runs, and [`high_water`] scans up from the stack's bottom for the first overwritten word.
//!
//! The stack of cortex-m-rt grows down from `_stack_start` (the end of RAM) to `_stack_end` (the end
//! of `.bss`). The mark counts every byte between `_stack_start` and the deepest overwritten word,
//! so it includes the frames that were live when [`paint`] ran. A frame that happens to leave
//! [`PAINT`] in its deepest words is under-counted by those words (the usual limit of the method).

use core::ptr::{addr_of, read_volatile, write_volatile};

/// The fill pattern.
pub const PAINT: u32 = 0xC0DE_57AC;

extern "C" {
    /// Top of the stack (highest address + 1), from cortex-m-rt's `link.x`.
    static _stack_start: u32;
    /// Bottom of the stack (end of `.bss`), from cortex-m-rt's `link.x`.
    static _stack_end: u32;
}

fn bounds() -> (usize, usize) {
    // Only the addresses of the linker symbols are taken (no read): no `unsafe` needed.
    (
        addr_of!(_stack_end) as usize,
        addr_of!(_stack_start) as usize,
    )
}

/// Bytes of stack available to the program (`_stack_start − _stack_end`).
pub fn size() -> usize {
    let (bottom, top) = bounds();
    top - bottom
}

/// Words just below the stack pointer that [`paint`] leaves alone: the compiler may read `msp`
/// before this function's own prologue pushes registers there.
const MARGIN: usize = 64;

/// Paints every word from the stack's bottom up to [`MARGIN`] bytes below the current stack
/// pointer with [`PAINT`]. Call it right before the code to measure, which must go deeper than
/// the margin (any real workload does); those 64 bytes are counted as used.
#[inline(never)]
pub fn paint() {
    let (bottom, _) = bounds();
    let sp = (cortex_m::register::msp::read() as usize & !3).saturating_sub(MARGIN);
    let mut p = bottom;
    while p < sp {
        // SAFETY: [bottom, sp) is stack memory below the live frames and below this function's
        // own saved registers; nothing else uses it (no interrupt is enabled in these programs).
        unsafe { write_volatile(p as *mut u32, PAINT) };
        p += 4;
    }
}

/// Bytes of stack used since [`paint`] (deepest overwritten word up to `_stack_start`).
#[inline(never)]
pub fn high_water() -> usize {
    let (bottom, top) = bounds();
    let mut p = bottom;
    // SAFETY: reads of stack memory below the live frames.
    while p < top && unsafe { read_volatile(p as *const u32) } == PAINT {
        p += 4;
    }
    top - p
}
