//! Exact instruction counts under QEMU (docs/toolchain.md §8): runs one inference, the input
//! certificate of each norm and the ℓ2 certificate with the internal radii on the embedded model
//! (`LIFTED_MODEL`), then every layer's kernels —
//! the kernels before this change (`kernels_baseline`), the current portable ones and, on
//! `thumbv7em-none-eabihf`, the hand-written one (`lifted-kernel-m4`, which
//! `lifted_firmware::infer` uses there) — each between the marker functions [`region_begin`] and
//! [`region_end`]. The measured inference is `lifted_firmware::infer` (this target's kernels).
//!
//! The program prints one `region <n> <label> macs <m>` line per region; the instruction counts
//! come from outside (the `qemu-icount` TCG plugin or the exec trace), which report region `n` in
//! the same order. `scripts/icount.sh` builds, runs and joins both. Region 1 is empty: its count is
//! the markers' own cost, which the script subtracts from the others.
//!
//! Exit status 0; 1 if the model is invalid, inference fails, or two kernels disagree on any bit.
#![no_std]
#![no_main]

use core::hint::black_box;
use core::ptr::{addr_of_mut, write_volatile};

use cortex_m_rt::entry;
use lifted_firmware::infer;
use lifted_firmware::kernels_baseline;
use lifted_firmware::lifted_core::kernels;
use lifted_firmware::lifted_core::schedule::{Update, Updates};
use lifted_firmware::lifted_core::{
    certify, certify_with_internal, Activation, Family, ModelView, Norm, Workspace,
};
use lifted_firmware::{exit, hprintln, MODEL};

static mut MARK: u32 = 0;

/// Start of a measured region (its body differs from [`region_end`], so LTO cannot merge them).
#[no_mangle]
#[inline(never)]
pub extern "C" fn region_begin() {
    // SAFETY: a volatile store to a private static; single-threaded program.
    unsafe { write_volatile(addr_of_mut!(MARK), 1) }
}

/// End of a measured region.
#[no_mangle]
#[inline(never)]
pub extern "C" fn region_end() {
    // SAFETY: as in `region_begin`.
    unsafe { write_volatile(addr_of_mut!(MARK), 2) }
}

/// Largest workspace, input and layer width this program supports (the 784-128-128-10 model
/// needs 650 workspace values).
const WS: usize = 1024;
const MAX_IN: usize = 1024;

struct Regions(u32);

impl Regions {
    /// Runs `f` between the markers as region `n` and prints its label. `f` gets its input through
    /// `black_box` after `region_begin`, and its result goes through `black_box` before
    /// `region_end`, so no work moves out of the region.
    fn run<T, R>(
        &mut self,
        label: impl core::fmt::Display,
        macs: usize,
        input: T,
        f: impl FnOnce(T) -> R,
    ) -> R {
        self.0 += 1;
        hprintln!("region {} {} macs {}", self.0, label, macs);
        region_begin();
        let r = f(black_box(input));
        let r = black_box(r);
        region_end();
        r
    }
}

/// xorshift64 in [-1, 1): the generator of `shared/examples/make_bench_models.rs`.
struct XorShift(u64);

impl XorShift {
    fn next(&mut self) -> f32 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        ((self.0 >> 40) as f32 / (1u64 << 24) as f32) * 2.0 - 1.0
    }
}

/// The activation pass of `lifted_core::infer` (private there): apply and check finiteness.
fn activate(act: Activation, v: &mut [f32]) -> bool {
    let mut finite = true;
    for x in v.iter_mut() {
        finite &= x.is_finite();
        *x = act.apply(*x);
    }
    finite
}

/// Multiply-accumulates of one inference: the affine products of every update `infer` runs
/// (`Updates::deployed`: a forward deployment skips its sweeps) (Forward/Output: n_k·n_{k−1};
/// family-A Hidden: n_k·n_{k−1} + 2·n_{k+1}·n_k; Hopfield Hidden: n_k·n_{k−1} + n_{k+1}·n_k).
fn inference_macs(m: &ModelView<'_>) -> usize {
    let l = m.layers();
    let width = |k: usize| if k == 0 { m.input_dim() } else { m.width(k) };
    Updates::deployed(l, m.family(), m.init(), m.sweeps(), m.schedule())
        .map(|u| match u {
            Update::Forward(k) => width(k) * width(k - 1),
            Update::Output => width(l) * width(l - 1),
            Update::Hidden(k) => {
                let feedback = match m.family() {
                    Family::FenchelYoung => 2,
                    Family::Hopfield => 1,
                };
                width(k) * width(k - 1) + feedback * width(k + 1) * width(k)
            }
        })
        .sum()
}

// Every kernel variant is called through its own non-inlined function, so that all of them are
// compiled in the same context (a kernel inlined into a region's closure can get different code).

#[inline(never)]
fn affine_before(w: &[f32], b: &[f32], x: &[f32], y: &mut [f32]) {
    kernels_baseline::affine(w, b, x, y)
}

#[inline(never)]
fn affine_after(w: &[f32], b: &[f32], x: &[f32], y: &mut [f32]) {
    kernels::affine(w, b, x, y)
}

#[cfg(target_abi = "eabihf")]
#[inline(never)]
fn affine_asm(w: &[f32], b: &[f32], x: &[f32], y: &mut [f32]) {
    lifted_firmware::kernels_asm::affine(w, b, x, y)
}

#[inline(never)]
fn affine_t_before(w: &[f32], d: &[f32], y: &mut [f32]) {
    kernels_baseline::affine_t(w, d, y)
}

#[inline(never)]
fn affine_t_after(w: &[f32], d: &[f32], y: &mut [f32]) {
    kernels::affine_t(w, d, y)
}

/// The kernels on shapes the model layers do not cover (rows not a multiple of the block, columns
/// not a multiple of the step, fewer columns than one step, one row, no column), against the
/// kernels before this change: every output bit must agree. Values include ±0, subnormals and
/// large magnitudes.
fn edge_shapes() -> bool {
    const SPECIAL: [f32; 6] = [0.0, -0.0, 1.0e-39, -3.0e-40, 3.0e37, -2.5];
    let mut rng = XorShift(99);
    let mut fill = |v: &mut [f32]| {
        for (i, x) in v.iter_mut().enumerate() {
            let r = rng.next();
            *x = if i % 5 == 3 {
                SPECIAL[((r + 1.0) * 3.0) as usize % SPECIAL.len()]
            } else {
                r
            };
        }
    };
    let mut ok = true;
    for (m, n) in [
        (1, 0),
        (1, 1),
        (3, 7),
        (4, 8),
        (5, 9),
        (9, 17),
        (13, 33),
        (17, 64),
        (2, 100),
    ] {
        let (mut w, mut b, mut x) = ([0.0f32; 1700], [0.0f32; 17], [0.0f32; 100]);
        let (w, b, x) = (&mut w[..m * n], &mut b[..m], &mut x[..n]);
        fill(w);
        fill(b);
        fill(x);
        let (mut y0, mut y1) = ([f32::NAN; 17], [f32::NAN; 17]);
        let (y0, y1) = (&mut y0[..m], &mut y1[..m]);
        kernels_baseline::affine(w, b, x, y0);
        kernels::affine(w, b, x, y1);
        ok &= check("edge affine", m * 1000 + n, y0, y1);
        #[cfg(target_abi = "eabihf")]
        {
            let mut y2 = [f32::NAN; 17];
            let y2 = &mut y2[..m];
            lifted_firmware::kernels_asm::affine(w, b, x, y2);
            ok &= check("edge affine asm", m * 1000 + n, y0, y2);
        }
        let (mut t0, mut t1) = ([f32::NAN; 100], [f32::NAN; 100]);
        let (t0, t1) = (&mut t0[..n], &mut t1[..n]);
        kernels_baseline::affine_t(w, b, t0);
        kernels::affine_t(w, b, t1);
        ok &= check("edge affine_t", m * 1000 + n, t0, t1);
    }
    hprintln!("edge shapes {}", if ok { "ok" } else { "FAILED" });
    ok
}

fn bits_equal(a: &[f32], b: &[f32]) -> bool {
    a.len() == b.len() && a.iter().zip(b).all(|(p, q)| p.to_bits() == q.to_bits())
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
    let n0 = model.input_dim();
    let needed = Workspace::required(&model);
    let widest = (1..=model.layers())
        .map(|k| model.width(k))
        .max()
        .unwrap_or(0);
    if needed > WS || n0 > MAX_IN || widest > MAX_IN {
        hprintln!(
            "model too large for icount: workspace {}, input {}",
            needed,
            n0
        );
        exit(1)
    }
    hprint_model(&model);

    let mut rng = XorShift(7);
    let mut x = [0.0f32; MAX_IN];
    for v in x.iter_mut().take(n0) {
        *v = (rng.next() + 1.0) * 0.5; // [0, 1), the declared input range
    }
    let x = &x[..n0];
    let mut failed = false;
    let mut regions = Regions(0);

    failed |= !edge_shapes();
    regions.run("empty", 0, (), |()| ());

    // One inference, then the input certificate in each norm, then the l2 one with the internal
    // radii.
    let mut buf = [0.0f32; WS];
    let mut ws = Workspace::new(&mut buf);
    let macs = inference_macs(&model);
    let outcome = regions.run("infer", macs, (&model, x), |(m, x)| infer(m, x, &mut ws));
    let outcome = match outcome {
        Ok(o) => o,
        Err(e) => {
            hprintln!("inference error: {}", e);
            exit(1)
        }
    };
    let c2 = regions.run("certify-l2", 0, (&model, &outcome), |(m, o)| {
        certify(m, o, Norm::L2)
    });
    let ci = regions.run("certify-linf", 0, (&model, &outcome), |(m, o)| {
        certify(m, o, Norm::Linf)
    });
    let cf = regions.run("certify-l2-internal", 0, (&model, &outcome), |(m, o)| {
        certify_with_internal(m, o)
    });
    if cf.radius.to_bits() != c2.radius.to_bits() || cf.rejection != c2.rejection {
        hprintln!("certify_with_internal's input certificate differs from certify's");
        failed = true;
    }
    hprintln!(
        "result class {} margin {} radius-l2 {} ({:?}) radius-linf {} ({:?}) internal {:?}",
        outcome.class,
        outcome.margin,
        c2.radius,
        c2.rejection,
        ci.radius,
        ci.rejection,
        cf.internal
    );

    // Kernels, layer by layer, on the model's weights: y = f(W x + b), then z = Wᵀ y.
    let mut input = [0.0f32; MAX_IN];
    input[..n0].copy_from_slice(x);
    let mut n_in = n0;
    for k in 1..=model.layers() {
        let (w, b) = (model.weights(k - 1), model.bias(k - 1));
        let act = model
            .layer(k)
            .map_or(Activation::Identity, |s| s.activation);
        let rows = model.width(k);
        let mac = rows * n_in;
        let xin = &input[..n_in];
        let mut y_old = [0.0f32; MAX_IN];
        let mut y_new = [0.0f32; MAX_IN];
        let (y_old, y_new) = (&mut y_old[..rows], &mut y_new[..rows]);
        let label = |what: &'static str| LayerLabel {
            what,
            k,
            rows,
            cols: n_in,
        };

        regions.run(
            label("affine+act-before"),
            mac,
            (w, b, xin),
            |(w, b, xin)| {
                affine_before(w, b, xin, y_old);
                activate(act, y_old)
            },
        );
        regions.run(
            label("affine+act-after"),
            mac,
            (w, b, xin),
            |(w, b, xin)| {
                affine_after(w, b, xin, y_new);
                activate(act, y_new)
            },
        );
        failed |= !check("affine layer", k, y_old, y_new);
        #[cfg(target_abi = "eabihf")]
        {
            let mut y_asm = [0.0f32; MAX_IN];
            let y_asm = &mut y_asm[..rows];
            regions.run(label("affine+act-asm"), mac, (w, b, xin), |(w, b, xin)| {
                affine_asm(w, b, xin, y_asm);
                activate(act, y_asm)
            });
            failed |= !check("affine asm layer", k, y_new, y_asm);
        }

        let mut t_old = [0.0f32; MAX_IN];
        let mut t_new = [0.0f32; MAX_IN];
        let (t_old, t_new) = (&mut t_old[..n_in], &mut t_new[..n_in]);
        let d: &[f32] = y_new;
        regions.run(label("affine_t-before"), mac, (w, d), |(w, d)| {
            affine_t_before(w, d, t_old)
        });
        regions.run(label("affine_t-after"), mac, (w, d), |(w, d)| {
            affine_t_after(w, d, t_new)
        });
        failed |= !check("affine_t layer", k, t_old, t_new);

        input[..rows].copy_from_slice(y_new);
        n_in = rows;
    }
    hprintln!("regions {}", regions.0);
    exit(if failed { 1 } else { 0 })
}

fn hprint_model(m: &ModelView<'_>) {
    lifted_firmware::hprint!("model {}", m.input_dim());
    for k in 1..=m.layers() {
        lifted_firmware::hprint!("-{}", m.width(k));
    }
    hprintln!(
        " family {:?} init {:?} K {} forward-deployment {}",
        m.family(),
        m.init(),
        m.sweeps(),
        m.is_forward_deployment()
    );
}

fn check(what: &str, k: usize, want: &[f32], got: &[f32]) -> bool {
    let ok = bits_equal(want, got);
    if !ok {
        hprintln!("MISMATCH {} {}: kernels disagree on some bit", what, k);
    }
    ok
}

/// `layer<k>-<rows>x<cols>-<what>`.
struct LayerLabel<'a> {
    what: &'a str,
    k: usize,
    rows: usize,
    cols: usize,
}

impl core::fmt::Display for LayerLabel<'_> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(
            f,
            "layer{}-{}x{}-{}",
            self.k, self.rows, self.cols, self.what
        )
    }
}
