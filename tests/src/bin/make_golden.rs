//! Writes the golden input files and models of the firmware golden runs.
//!
//! ```text
//! cargo run -p lifted-tests --bin make_golden -- digits      [--model BLOB] [--out FILE]
//! cargo run -p lifted-tests --bin make_golden -- mnist       [--model BLOB] [--out FILE] [--data-dir DIR] [--count N]
//! cargo run -p lifted-tests --bin make_golden -- mnist-model [--out FILE]
//! ```
//!
//! - `digits`: all 1797 8×8 digits (pixels 0…16, x = v / 16) → `firmware/golden/digits.lgi`.
//! - `mnist`: the first N (default 200) MNIST test images (pixels 0…255, x = v / 255; needs
//!   `lifted data fetch --dataset mnist`) → `firmware/golden/mnist-200.lgi`.
//!
//! The firmware's default model, `firmware/models/demo.lfm`, is made by `lifted train` (see
//! `scripts/make-demo-model.sh`).
//! - `mnist-model`: the deterministic 784-128-128-10 model fitted to `mnist-200.lgi` →
//!   `target/lifted-tests/mnist-sized.lfm` (the tests regenerate it; it is not committed).
//!
//! The inputs are taken from `lifted`'s own data loaders and converted back to pixels; the
//! conversion is checked to give back the loader's f32 values bit for bit, so the firmware (which
//! computes `pixel as f32 / denominator as f32`) sees exactly the host's inputs. With `--model`,
//! the inputs are also checked against the model (dimension, input range) and the model's
//! accuracy on them is printed.
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use lifted::data::{self, Dataset, DatasetKind, RawData};
use lifted_core::write::Blob;
use lifted_core::{check_input, infer, ModelView, Workspace};
use lifted_tests::firmware::{firmware_dir, work_dir};
use lifted_tests::models;

struct Args {
    command: String,
    out: Option<PathBuf>,
    model: Option<PathBuf>,
    data_dir: Option<PathBuf>,
    count: usize,
}

fn parse() -> Result<Args, String> {
    let mut it = std::env::args().skip(1);
    let command = it
        .next()
        .ok_or("usage: make_golden digits|mnist|mnist-model [--out FILE] [--model BLOB] [--data-dir DIR] [--count N]")?;
    let mut args = Args {
        command,
        out: None,
        model: None,
        data_dir: None,
        count: 200,
    };
    while let Some(flag) = it.next() {
        let value = it.next().ok_or(format!("{flag} needs a value"))?;
        match flag.as_str() {
            "--out" => args.out = Some(value.into()),
            "--model" => args.model = Some(value.into()),
            "--data-dir" => args.data_dir = Some(value.into()),
            "--count" => args.count = value.parse().map_err(|e| format!("--count: {e}"))?,
            _ => return Err(format!("unknown option {flag}")),
        }
    }
    Ok(args)
}

/// Pixels of every sample of `set`, checked to give back its inputs exactly.
fn pixels_of(set: &Dataset, denominator: u16) -> Result<Vec<u8>, String> {
    let d = f32::from(denominator);
    set.inputs
        .iter()
        .enumerate()
        .map(|(i, &x)| {
            let p = (x * d).round();
            if !(0.0..=255.0).contains(&p) || (p / d).to_bits() != x.to_bits() {
                return Err(format!(
                    "{}: input {} of sample {} is {x}, not a pixel / {denominator}",
                    set.name,
                    i % set.dim,
                    i / set.dim
                ));
            }
            Ok(p as u8)
        })
        .collect()
}

fn write(path: &Path, bytes: &[u8]) -> Result<(), String> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(|e| format!("creating {}: {e}", dir.display()))?;
    }
    std::fs::write(path, bytes).map_err(|e| format!("writing {}: {e}", path.display()))?;
    println!("wrote {} ({} bytes)", path.display(), bytes.len());
    Ok(())
}

/// Checks the golden inputs against a model and prints its accuracy on them.
fn check_model(path: &Path, file: &[u8]) -> Result<(), String> {
    let bytes = std::fs::read(path).map_err(|e| format!("reading {}: {e}", path.display()))?;
    let blob = Blob::from_bytes(&bytes);
    let model = ModelView::new_checked(blob.as_bytes())
        .map_err(|e| format!("model {}: {e}", path.display()))?;
    let golden = lifted_proto::golden::Golden::new(file).map_err(|e| e.to_string())?;
    if golden.dim() != model.input_dim() {
        return Err(format!(
            "the inputs have {} values, the model {} expects {}",
            golden.dim(),
            path.display(),
            model.input_dim()
        ));
    }
    let (mut px, mut x) = (vec![0u8; golden.dim()], vec![0f32; golden.dim()]);
    let mut buf = vec![0f32; Workspace::required(&model)];
    let (mut correct, mut n) = (0usize, 0usize);
    let mut samples = golden.samples();
    while let Some(label) = samples.next_input(&mut px, &mut x) {
        let label = label.map_err(|e| e.to_string())?;
        check_input(&model, &x).map_err(|e| format!("sample {n}: {e}"))?;
        let mut ws = Workspace::new(&mut buf);
        let out = infer(&model, &x, &mut ws).map_err(|e| format!("sample {n}: {e}"))?;
        correct += usize::from(out.class == usize::from(label));
        n += 1;
    }
    println!(
        "model {}: accuracy {correct}/{n} on these inputs",
        path.display()
    );
    Ok(())
}

fn run(args: &Args) -> Result<(), String> {
    let golden = |set: &Dataset, denominator: u16, default: &str| -> Result<(), String> {
        let pixels = pixels_of(set, denominator)?;
        let file = lifted_proto::golden::write_file(denominator, set.dim, &set.labels, &pixels);
        let out = args
            .out
            .clone()
            .unwrap_or_else(|| firmware_dir().join("golden").join(default));
        write(&out, &file)?;
        match &args.model {
            Some(m) => check_model(m, &file),
            None => Ok(()),
        }
    };
    match args.command.as_str() {
        "digits" => {
            let RawData::Digits { all, .. } =
                data::read(DatasetKind::Digits, None).map_err(|e| format!("{e:#}"))?
            else {
                return Err("the digits loader returned another data set".into());
            };
            golden(&all, 16, "digits.lgi")
        }
        "mnist" => {
            let raw = data::read(DatasetKind::Mnist, args.data_dir.as_deref())
                .map_err(|e| format!("{e:#}"))?;
            let RawData::Idx { test_file, .. } = raw else {
                return Err("the MNIST loader returned another data set".into());
            };
            let set = test_file.slice(0..args.count, "mnist:test");
            golden(&set, 255, &format!("mnist-{}.lgi", args.count))
        }
        "mnist-model" => {
            let golden = firmware_dir().join("golden").join("mnist-200.lgi");
            let bytes = std::fs::read(&golden).map_err(|e| {
                format!(
                    "reading {}: {e} — run `make_golden mnist` first",
                    golden.display()
                )
            })?;
            let blob = models::mnist_sized(&bytes)?;
            let out = args
                .out
                .clone()
                .unwrap_or_else(|| work_dir().join("mnist-sized.lfm"));
            write(&out, blob.as_bytes())
        }
        other => Err(format!(
            "unknown command {other} — use digits, mnist or mnist-model"
        )),
    }
}

fn main() -> ExitCode {
    match parse().and_then(|a| run(&a)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}
