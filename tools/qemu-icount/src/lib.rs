//! `qemu-icount`: a QEMU TCG plugin that counts executed guest instructions between two addresses.
//!
//! ```text
//! qemu-system-arm … -plugin target/release/libqemu_icount.so,begin=0x<addr>,end=0x<addr> -kernel <elf>
//! ```
//!
//! Counting switches on when a translation block (TB) starting at `begin` executes and off when a
//! TB starting at `end` executes; the region's count is the sum of the sizes of the TBs executed in
//! between, the `begin` TB included and the `end` TB excluded. That is the number of instructions
//! from the first instruction of `begin` up to (not including) the first instruction of `end` —
//! the same quantity as the exec-trace method of docs/toolchain.md §8. Marker functions are only
//! entered through calls, so a TB always starts at them. The count is exact as long as no TB is
//! left early (an exception in the middle of the region); the measured regions raise none.
//!
//! Every region prints one line as soon as it ends, and the run ends with a summary:
//!
//! ```text
//! icount: region 1 insns 2721
//! icount: total 23770 regions 1
//! ```
//!
//! Arguments: `begin=` and `end=` (hex with `0x`, or decimal; the Thumb bit is ignored).

use std::io::Write as _;
use std::sync::{Arc, Mutex, PoisonError};

use qemu_plugin::install::{Args, Info, Value};
use qemu_plugin::plugin::{HasCallbacks, Register};
use qemu_plugin::{qemu_plugin_register_atexit_cb, register, Error, PluginId, TranslationBlock};

#[derive(Default)]
struct State {
    counting: bool,
    current: u64,
    regions: u64,
    total: u64,
}

#[derive(Default)]
struct ICount {
    begin: u64,
    end: u64,
    state: Arc<Mutex<State>>,
}

fn address(args: &Args, key: &str) -> Result<u64, Error> {
    // Any error makes QEMU refuse to start; the message names the argument.
    let bad = || Error::MissingArgValue {
        argument: format!("{key}=0x<address>"),
    };
    let addr = match args.parsed.get(key) {
        Some(Value::Integer(v)) => u64::try_from(*v).map_err(|_| bad())?,
        Some(Value::String(s)) => {
            let hex = s
                .strip_prefix("0x")
                .or_else(|| s.strip_prefix("0X"))
                .ok_or_else(bad)?;
            u64::from_str_radix(hex, 16).map_err(|_| bad())?
        }
        _ => {
            eprintln!("qemu-icount: missing argument {key}=0x<address>");
            return Err(bad());
        }
    };
    Ok(addr & !1) // Thumb function symbols carry bit 0; TB addresses do not
}

fn say(line: std::fmt::Arguments<'_>) {
    let mut out = std::io::stdout().lock();
    let _ = out.write_fmt(line);
    let _ = out.flush();
}

impl Register for ICount {
    fn register(&mut self, id: PluginId, args: &Args, _info: &Info) -> Result<(), Error> {
        self.begin = address(args, "begin")?;
        self.end = address(args, "end")?;
        let state = Arc::clone(&self.state);
        qemu_plugin_register_atexit_cb(id, move |_| {
            let s = state.lock().unwrap_or_else(PoisonError::into_inner);
            let open = if s.counting {
                " (a region was still open)"
            } else {
                ""
            };
            say(format_args!(
                "icount: total {} regions {}{open}\n",
                s.total, s.regions
            ));
        })
    }
}

impl HasCallbacks for ICount {
    fn on_translation_block_translate(
        &mut self,
        _id: PluginId,
        tb: TranslationBlock,
    ) -> Result<(), Error> {
        let vaddr = tb.vaddr();
        let n = tb.size() as u64;
        let (begin, end) = (self.begin, self.end);
        let state = Arc::clone(&self.state);
        tb.register_execute_callback(move |_vcpu| {
            let mut s = state.lock().unwrap_or_else(PoisonError::into_inner);
            s.total += n;
            if vaddr == end && s.counting {
                s.counting = false;
                s.regions += 1;
                say(format_args!(
                    "icount: region {} insns {}\n",
                    s.regions, s.current
                ));
            }
            if vaddr == begin && !s.counting {
                s.counting = true;
                s.current = 0;
            }
            if s.counting {
                s.current += n;
            }
        });
        Ok(())
    }
}

register!(ICount::default());
