//! Host ↔ firmware agreement: the `golden` firmware program runs `infer` and both certificates
//! under QEMU on every input of a golden file, and its output must equal the host's `lifted-core`
//! results bit for bit (every f32 is printed as its bit pattern).
//!
//! | test | target | QEMU machines | model | inputs |
//! |---|---|---|---|---|
//! | `m4f_and_m7_digits` | thumbv7em-none-eabihf (FPU) | mps2-an386, mps2-an500 | `firmware/models/demo.lfm` | 1797 digits |
//! | `m3_digits` | thumbv7m-none-eabi (soft float) | lm3s6965evb | demo.lfm | 1797 digits |
//! | `m0_digits` | thumbv6m-none-eabi (soft float) | microbit | demo.lfm | 1797 digits |
//! | `m4f_mnist_sized` | thumbv7em-none-eabihf | mps2-an386 | 784-128-128-10 fitted to those inputs (`models::mnist_sized`) | 200 MNIST test images |
//!
//! Each configuration is built once (`cargo build --release` in `firmware/`, builds serialised).
//! Without `qemu-system-arm` the QEMU tests print why and pass (CI installs QEMU first).

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use lifted_proto::golden::Golden;
use lifted_tests::events::TestEvent;
use lifted_tests::firmware::{
    self, firmware_dir, skip_without_qemu, Target, THUMBV6M_MICROBIT, THUMBV7EM, THUMBV7M_LM3S,
};
use lifted_tests::golden::{compare, device_lines, expected_lines};
use lifted_tests::models;

fn demo_model() -> PathBuf {
    firmware_dir().join("models").join("demo.lfm")
}

fn digits_golden() -> PathBuf {
    firmware_dir().join("golden").join("digits.lgi")
}

fn mnist_golden() -> PathBuf {
    firmware_dir().join("golden").join("mnist-200.lgi")
}

fn read(path: &Path) -> Vec<u8> {
    std::fs::read(path).unwrap_or_else(|e| panic!("reading {}: {e}", path.display()))
}

/// Runs the golden ELF on `machine` and asserts 0 mismatches against the host's lines.
fn check_machine(machine: &str, elf: &Path, model: &Path, golden: &Path, min_inputs: usize) {
    let expected = expected_lines(&read(model), &read(golden)).expect("host golden run");
    let inputs = expected.len() - 2;
    assert!(
        inputs >= min_inputs,
        "{}: {inputs} inputs, at least {min_inputs} required",
        golden.display()
    );
    let start = Instant::now();
    let out = firmware::run_qemu(machine, elf, Duration::from_secs(300)).expect("QEMU starts");
    let secs = start.elapsed().as_secs_f64();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let device = device_lines(&stdout);
    let cmp = compare(&device, &expected, 5);
    println!(
        "golden {machine} {}: {inputs} inputs, {} mismatches, QEMU {secs:.1} s, exit {:?}",
        golden
            .file_name()
            .map_or_else(String::new, |n| n.to_string_lossy().into_owned()),
        cmp.mismatches(),
        out.status.code()
    );
    if let Some(summary) = device.last() {
        println!("  device: {summary}");
    }
    assert!(
        out.status.success(),
        "{machine}: golden exited with {:?}\nstderr: {}\nlast lines: {:?}",
        out.status.code(),
        String::from_utf8_lossy(&out.stderr),
        device.iter().rev().take(3).collect::<Vec<_>>()
    );
    assert_eq!(
        cmp.mismatches(),
        0,
        "{machine}: {} of {} lines differ from the host (device printed {} lines):\n{}",
        cmp.mismatches(),
        cmp.expected,
        cmp.got,
        cmp.report
    );
}

/// Builds `golden` for `target`; `files` = (model, golden file), or `None` for the defaults of
/// `firmware/build.rs` (demo.lfm, digits.lgi). The defaults are passed by leaving the variables
/// unset, so that the build is the one `scripts/firmware-ci.sh` already made (a variable set to
/// the same path would still change cargo's fingerprint and rebuild).
fn build_golden(target: Target, files: Option<(&Path, &Path)>, tag: &str) -> PathBuf {
    let env = match files {
        Some((model, golden)) => vec![("LIFTED_MODEL", model), ("LIFTED_GOLDEN", golden)],
        None => Vec::new(),
    };
    firmware::build("golden", target, &env, tag).unwrap_or_else(|e| panic!("{e}"))
}

#[test]
fn m4f_and_m7_digits() {
    let mut event = TestEvent::start("golden::m4f_and_m7_digits");
    if event.skip_if(skip_without_qemu("m4f_and_m7_digits")) {
        return;
    }
    let (model, golden) = (demo_model(), digits_golden());
    let elf = build_golden(THUMBV7EM, None, "golden-digits");
    check_machine("mps2-an386", &elf, &model, &golden, 1000);
    check_machine("mps2-an500", &elf, &model, &golden, 1000);
}

#[test]
fn m3_digits() {
    let mut event = TestEvent::start("golden::m3_digits");
    if event.skip_if(skip_without_qemu("m3_digits")) {
        return;
    }
    let (model, golden) = (demo_model(), digits_golden());
    let elf = build_golden(THUMBV7M_LM3S, None, "golden-digits");
    check_machine("lm3s6965evb", &elf, &model, &golden, 1000);
}

#[test]
fn m0_digits() {
    let mut event = TestEvent::start("golden::m0_digits");
    if event.skip_if(skip_without_qemu("m0_digits")) {
        return;
    }
    // All 1797 digits fit the microbit's 256 KB of flash next to the demo model (the golden file
    // is 93 KB); its 16 KB of RAM hold the 64-input workspace easily.
    let (model, golden) = (demo_model(), digits_golden());
    let elf = build_golden(THUMBV6M_MICROBIT, None, "golden-digits");
    check_machine("microbit", &elf, &model, &golden, 1000);
}

#[test]
fn m4f_mnist_sized() {
    let mut event = TestEvent::start("golden::m4f_mnist_sized");
    if event.skip_if(skip_without_qemu("m4f_mnist_sized")) {
        return;
    }
    let golden = mnist_golden();
    let model = firmware::work_dir().join("mnist-sized.lfm");
    let blob = models::mnist_sized(&read(&golden)).expect("the MNIST-sized model");
    std::fs::write(&model, blob.as_bytes()).expect("writing the MNIST-sized model");
    let elf = build_golden(THUMBV7EM, Some((&model, &golden)), "golden-mnist");
    check_machine("mps2-an386", &elf, &model, &golden, 200);
}

/// The committed golden inputs are exactly the host loader's inputs (x = pixel / denominator, bit
/// for bit), in file order, with the same labels.
#[test]
fn golden_inputs_match_the_host_loader() {
    let _event = TestEvent::start("golden::golden_inputs_match_the_host_loader");
    let bytes = read(&digits_golden());
    let file = Golden::new(&bytes).expect("digits.lgi is valid");
    let all = match lifted::data::read(lifted::data::DatasetKind::Digits, None) {
        Ok(lifted::data::RawData::Digits { all, .. }) => all,
        _ => panic!("the embedded digits load"),
    };
    assert_eq!((file.len(), file.dim(), file.denominator()), (1797, 64, 16));
    let mut px = vec![0u8; 64];
    let mut x = vec![0f32; 64];
    let mut samples = file.samples();
    for (i, (want, label)) in all.iter().enumerate() {
        assert_eq!(
            samples.next_input(&mut px, &mut x),
            Some(Ok(label)),
            "sample {i}"
        );
        let same = x.iter().zip(want).all(|(a, b)| a.to_bits() == b.to_bits());
        assert!(
            same,
            "digits sample {i}: golden input differs from the host loader's"
        );
    }
    let mnist = read(&mnist_golden());
    let file = Golden::new(&mnist).expect("mnist-200.lgi is valid");
    assert_eq!(
        (file.len(), file.dim(), file.denominator()),
        (200, 784, 255)
    );
}

/// The MNIST-sized model is regenerated bit for bit (it is not committed).
#[test]
fn mnist_sized_model_is_deterministic() {
    let _event = TestEvent::start("golden::mnist_sized_model_is_deterministic");
    let golden = read(&mnist_golden());
    let a = models::mnist_sized(&golden).expect("model");
    let b = models::mnist_sized(&golden).expect("model");
    assert_eq!(a.as_bytes(), b.as_bytes());
    let view = lifted_core::ModelView::new_checked(a.as_bytes()).expect("valid model");
    assert_eq!(
        (
            view.input_dim(),
            view.width(1),
            view.width(2),
            view.width(3)
        ),
        (784, 128, 128, 10)
    );
}

/// The comparison is sensitive: the same golden run with one weight changed by one unit in the
/// last place differs in some printed bit pattern, and `compare` reports those lines.
#[test]
fn one_ulp_in_one_weight_is_a_mismatch() {
    let _event = TestEvent::start("golden::one_ulp_in_one_weight_is_a_mismatch");
    let blob = read(&demo_model());
    let golden = read(&digits_golden());
    let want = expected_lines(&blob, &golden).expect("host golden run");
    // W_0[0][27] (a central pixel of the first hidden unit) + 1 ulp; the CRC is recomputed.
    let view = lifted_core::ModelView::new_checked(&blob).expect("demo model loads");
    let tensors_end = blob.len() - 4 - view.layout().total * 4;
    let at = tensors_end + 27 * 4;
    let mut changed = blob.clone();
    let w = f32::from_le_bytes(changed[at..at + 4].try_into().expect("4 bytes"));
    changed[at..at + 4].copy_from_slice(&w.next_up().to_le_bytes());
    let n = changed.len() - 4;
    let crc = lifted_core::format::CRC32.checksum(&changed[..n]);
    changed[n..].copy_from_slice(&crc.to_le_bytes());
    let got = expected_lines(&changed, &golden).expect("changed model loads");
    let got: Vec<&str> = got.iter().map(String::as_str).collect();
    let cmp = compare(&got, &want, 2);
    assert!(
        cmp.mismatches() > 0,
        "a one-ulp weight change went unnoticed"
    );
    assert!(cmp.report.contains("differing: token"), "{}", cmp.report);
    println!(
        "one ulp in W_0[0][27]: {} of {} lines differ",
        cmp.mismatches(),
        want.len()
    );
}
