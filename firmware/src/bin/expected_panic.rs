//! Exercises the panic handler and the `MAY_PANIC` pattern (docs/toolchain.md §5): declares the panic
//! with `expect_panic()`, then panics. The handler prints `panicked (expected): …` and exits 0.
//! A panic without `expect_panic()` exits with `EXIT_PANIC` (101) instead.
#![no_std]
#![no_main]

use core::hint::black_box;

use cortex_m_rt::entry;
use lifted_firmware::{exit, expect_panic, hprintln};

#[entry]
fn main() -> ! {
    let v = black_box([1u32, 2, 3]);
    let i = black_box(7usize);
    expect_panic();
    let x = v[i]; // index out of bounds: panics
    hprintln!("expected_panic: no panic ({})", x);
    exit(1)
}
