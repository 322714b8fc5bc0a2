//! Memory footprint of one inference and its certificates, for `scripts/size-report.sh`: the
//! stack high-water mark (painted stack, `lifted_firmware::stack`) of `infer` + `certify` (ℓ2,
//! then ℓ2 with the internal radii, then ℓ∞) on the embedded model (`LIFTED_MODEL`), so that the
//! code measured holds both ways of asking for the ℓ2 certificate.
//!
//! The workspace and the input live in `.bss` (they are sized for the largest supported model and
//! show up in the static RAM of the size report); the stack mark therefore measures the frames of
//! `lifted-core` itself. Floats are printed as bit patterns only, so the program links no float
//! formatting and its flash size stays close to what inference and certificate need.
//!
//! Prints `footprint: stack <bytes> of <bytes> workspace-needed <bytes> class <c> l2 <bits>
//! linf <bits> internal <count>` and exits 0; exits 1 on a bad model or an inference error.
#![no_std]
#![no_main]

use cortex_m_rt::entry;
use lifted_firmware::infer;
use lifted_firmware::lifted_core::{
    certify, certify_with_internal, ModelView, Norm, Outcome, Workspace,
};
use lifted_firmware::{exit, hprintln, stack, MODEL};

/// Workspace values reserved in `.bss` (the 784-128-128-10 model needs 650).
const WS: usize = 1024;
/// Largest input dimension supported.
const MAX_IN: usize = 1024;

/// What one run returns (the certificate radii as bit patterns).
struct Summary {
    class: usize,
    l2: u32,
    linf: u32,
    internal: usize,
}

/// One inference and the certificates; `inline(never)` so that its frame is measured as a unit.
#[inline(never)]
fn run(model: &ModelView<'_>, x: &[f32], buf: &mut [f32]) -> Option<Summary> {
    let mut ws = Workspace::new(buf);
    let outcome = infer(model, x, &mut ws).ok()?;
    let l2 = l2_radius(model, &outcome);
    let full = certify_with_internal(model, &outcome);
    let linf = certify(model, &outcome, Norm::Linf);
    if full.radius.to_bits() != l2 {
        return None;
    }
    Some(Summary {
        class: outcome.class,
        l2,
        linf: linf.radius.to_bits(),
        internal: full.internal.len(),
    })
}

/// The ℓ2 input certificate's radius bits, in a frame of its own: the measured stack is that of
/// the serial server's step (`certify_with_internal`, then ℓ∞), while the code measured also holds
/// the plain ℓ2 certificate.
#[inline(never)]
fn l2_radius(model: &ModelView<'_>, outcome: &Outcome<'_>) -> u32 {
    certify(model, outcome, Norm::L2).radius.to_bits()
}

#[entry]
fn main() -> ! {
    let model = match ModelView::new_checked(&MODEL.0) {
        Ok(m) => m,
        Err(e) => {
            hprintln!("model error: {}", e);
            exit(1)
        }
    };
    let (Some(buf), Some(x)) = (
        cortex_m::singleton!(: [f32; WS] = [0.0; WS]),
        cortex_m::singleton!(: [f32; MAX_IN] = [0.0; MAX_IN]),
    ) else {
        exit(1)
    };
    let n0 = model.input_dim();
    if Workspace::required(&model) > WS || n0 > MAX_IN {
        hprintln!("model too large for footprint");
        exit(1)
    }
    // The benchmark input of `icount` and `make_bench_models`: xorshift64, seed 7, in [0, 1).
    let mut s = 7u64;
    for v in x.iter_mut().take(n0) {
        s ^= s << 13;
        s ^= s >> 7;
        s ^= s << 17;
        *v = (((s >> 40) as f32 / (1u64 << 24) as f32) * 2.0 - 1.0 + 1.0) * 0.5;
    }
    stack::paint();
    let summary = run(&model, &x[..n0], buf);
    let used = stack::high_water();
    let Some(r) = summary else {
        hprintln!("inference error");
        exit(1)
    };
    hprintln!(
        "footprint: stack {} of {} workspace-needed {} class {} l2 {:#010x} linf {:#010x} internal {}",
        used,
        stack::size(),
        Workspace::required_bytes(&model),
        r.class,
        r.l2,
        r.linf,
        r.internal
    );
    exit(0)
}
