//! `--data FILE`: the embedded digits written out as CSV, NPZ and IDX load back to the same
//! tensors and the same seeded split as `--dataset digits`; malformed files fail with errors that
//! name the file, row and column; `lifted train` and `lifted certify` on a CSV file give the
//! numbers of the built-in digits.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

#[path = "cli_support/mod.rs"]
mod cli;

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};

use lifted::data::{digits, load, load_any, Dataset, DatasetKind, OwnData, Splits};
use lifted::npz::{write_npz, Array};

/// The 1797 embedded digits in file order: raw pixels 0…16 and labels.
fn raw_digits() -> (Vec<u8>, Vec<u8>) {
    let all = digits::embedded().unwrap();
    let px = all
        .inputs
        .iter()
        .map(|&x| (x * 16.0).round() as u8)
        .collect();
    (px, all.labels)
}

fn own(file: &Path, range: &str) -> OwnData {
    OwnData {
        file: Some(file.to_path_buf()),
        input_range: Some(range.to_owned()),
        ..OwnData::default()
    }
}

fn write_csv(path: &Path, header: bool, px: &[u8], labels: &[u8]) {
    let mut f = std::fs::File::create(path).unwrap();
    if header {
        let names: Vec<String> = (0..64).map(|j| format!("p{j}")).collect();
        writeln!(f, "label,{}", names.join(",")).unwrap();
    }
    for (row, l) in px.chunks(64).zip(labels) {
        let v: Vec<String> = row.iter().map(u8::to_string).collect();
        writeln!(f, "{l},{}", v.join(",")).unwrap();
    }
}

fn npy(descr: &str, shape: &[usize], body: &[u8]) -> Vec<u8> {
    let dims: Vec<String> = shape.iter().map(usize::to_string).collect();
    let shape = if shape.len() == 1 {
        format!("({},)", dims[0])
    } else {
        format!("({})", dims.join(", "))
    };
    let mut h = format!("{{'descr': '{descr}', 'fortran_order': False, 'shape': {shape}, }}");
    while (10 + h.len() + 1) % 64 != 0 {
        h.push(' ');
    }
    h.push('\n');
    let mut out = b"\x93NUMPY\x01\x00".to_vec();
    out.extend_from_slice(&u16::try_from(h.len()).unwrap().to_le_bytes());
    out.extend_from_slice(h.as_bytes());
    out.extend_from_slice(body);
    out
}

/// An .npz of raw arrays, deflate-compressed as `numpy.savez_compressed` writes it.
fn write_npz_raw(path: &Path, arrays: &[(&str, Vec<u8>)]) {
    let mut z = zip::ZipWriter::new(std::fs::File::create(path).unwrap());
    let opts = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated);
    for (name, bytes) in arrays {
        z.start_file(format!("{name}.npy"), opts).unwrap();
        z.write_all(bytes).unwrap();
    }
    z.finish().unwrap();
}

fn idx_images(px: &[u8], n: usize) -> Vec<u8> {
    let mut b = vec![0, 0, 8, 3];
    for d in [n as u32, 8, 8] {
        b.extend_from_slice(&d.to_be_bytes());
    }
    b.extend_from_slice(px);
    b
}

fn idx_labels(labels: &[u8]) -> Vec<u8> {
    let mut b = vec![0, 0, 8, 1];
    b.extend_from_slice(&(labels.len() as u32).to_be_bytes());
    b.extend_from_slice(labels);
    b
}

fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    e.write_all(bytes).unwrap();
    e.finish().unwrap()
}

fn bits(d: &Dataset) -> (Vec<u32>, Vec<u8>, usize, usize) {
    (
        d.inputs.iter().map(|x| x.to_bits()).collect(),
        d.labels.clone(),
        d.dim,
        d.classes,
    )
}

fn same_splits(a: &Splits, b: &Splits) {
    assert_eq!(bits(&a.train), bits(&b.train));
    assert_eq!(bits(&a.val), bits(&b.val));
    assert_eq!(bits(&a.test), bits(&b.test));
}

/// The digits in every format, with the `OwnData` that reads each.
fn digit_files(dir: &Path) -> Vec<(String, OwnData)> {
    let (px, labels) = raw_digits();
    let n = labels.len();
    let mut out = Vec::new();

    let csv = dir.join("digits.csv");
    write_csv(&csv, true, &px, &labels);
    for col in ["label", "0"] {
        let mut o = own(&csv, "0,16");
        o.label_column = Some(col.to_owned());
        out.push((format!("csv --label-column {col}"), o));
    }
    let plain = dir.join("plain.csv");
    write_csv(&plain, false, &px, &labels);
    let mut o = own(&plain, "0,16");
    o.label_column = Some("0".to_owned());
    out.push(("csv without header".to_owned(), o));

    // NPZ: uint8 pixels of shape (N, 8, 8) and int64 labels, compressed, named by flag.
    let npz = dir.join("digits.npz");
    let y: Vec<u8> = labels
        .iter()
        .flat_map(|&l| i64::from(l).to_le_bytes())
        .collect();
    write_npz_raw(
        &npz,
        &[
            ("images", npy("|u1", &[n, 8, 8], &px)),
            ("targets", npy("<i8", &[n], &y)),
        ],
    );
    let mut o = own(&npz, "0,16");
    o.x_array = Some("images".into());
    o.y_array = Some("targets".into());
    out.push(("npz u1/i8 compressed".to_owned(), o));

    // NPZ: float32 arrays with the default names, stored (numpy.savez).
    let npz32 = dir.join("digits32.npz");
    let mut arrays = BTreeMap::new();
    arrays.insert(
        "x".to_owned(),
        Array {
            shape: vec![n, 64],
            data: px.iter().map(|&p| f32::from(p)).collect(),
        },
    );
    arrays.insert(
        "y".to_owned(),
        Array {
            shape: vec![n],
            data: labels.iter().map(|&l| f32::from(l)).collect(),
        },
    );
    write_npz(&npz32, &arrays).unwrap();
    out.push(("npz f4".to_owned(), own(&npz32, "0,16")));

    // IDX, raw and gzip.
    let (im, lb) = (dir.join("digits-images.idx"), dir.join("digits-labels.idx"));
    std::fs::write(&im, idx_images(&px, n)).unwrap();
    std::fs::write(&lb, idx_labels(&labels)).unwrap();
    let mut o = own(&im, "0,16");
    o.labels = Some(lb);
    out.push(("idx".to_owned(), o));
    let (im, lb) = (
        dir.join("images-idx3-ubyte.gz"),
        dir.join("labels-idx1-ubyte.gz"),
    );
    std::fs::write(&im, gzip(&idx_images(&px, n))).unwrap();
    std::fs::write(&lb, gzip(&idx_labels(&labels))).unwrap();
    let mut o = own(&im, "0,16");
    o.labels = Some(lb);
    out.push(("idx.gz".to_owned(), o));
    out
}

#[test]
fn every_format_round_trips_with_the_digits_split() {
    let dir = tempfile::tempdir().unwrap();
    let embedded = digits::embedded().unwrap();
    let builtin = load(DatasetKind::Digits, None, None).unwrap();
    for (what, o) in digit_files(dir.path()) {
        let all = o.read().unwrap_or_else(|e| panic!("{what}: {e:#}"));
        assert_eq!(bits(&all), bits(&embedded), "{what}");
        let splits = load_any(None, None, &o, None).unwrap();
        assert_eq!(
            (splits.train.len(), splits.val.len(), splits.test.len()),
            (1297, 250, 250),
            "{what}"
        );
        same_splits(&splits, &builtin);
        // The same seed gives the same split; another seed another one.
        let mut other = o.clone();
        other.split_seed = Some(7);
        let s7 = load_any(None, None, &other, None).unwrap();
        assert_ne!(bits(&s7.test), bits(&builtin.test), "{what}");
        same_splits(&s7, &load_any(None, None, &other, None).unwrap());
        // --n-train keeps the first samples of the pool.
        let s100 = load_any(None, None, &o, Some(100)).unwrap();
        assert_eq!(bits(&s100.train), bits(&builtin.train.slice(0..100, "x")));
    }
}

#[test]
fn input_range_maps_to_the_unit_interval() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("small.csv");
    std::fs::write(&p, "a,b,y\n-1,3,0\n1,-3,1\n0,0,1\n2,1,0\n").unwrap();
    let mut o = own(&p, "-3,3");
    o.label_column = Some("y".into());
    let d = o.read().unwrap();
    assert_eq!((d.dim, d.classes, d.len()), (2, 2, 4));
    assert_eq!(
        d.inputs,
        [
            2.0 / 6.0,
            1.0,
            4.0 / 6.0,
            0.0,
            0.5,
            0.5,
            5.0 / 6.0,
            4.0 / 6.0
        ]
    );
    assert_eq!(d.labels, [0, 1, 1, 0]);
    o.classes = Some(5);
    assert_eq!(o.read().unwrap().classes, 5);
}

fn err(o: &OwnData) -> String {
    format!("{:#}", o.read().unwrap_err())
}

#[test]
fn errors_name_file_row_and_column() {
    let dir = tempfile::tempdir().unwrap();
    let csv = dir.path().join("bad.csv");
    let with = |text: &str, col: &str| {
        std::fs::write(&csv, text).unwrap();
        let mut o = own(&csv, "0,16");
        o.label_column = Some(col.to_owned());
        err(&o)
    };
    let e = with("y,a,b\n1,3,4\n0,2,17\n", "y");
    assert!(
        e.contains("bad.csv: row 2, column 2 `b`: value 17 is outside the input range [0, 16]"),
        "{e}"
    );
    let e = with("y,a,b\n1,3,4\n0,x,1\n", "y");
    assert!(
        e.contains("bad.csv: row 2 (line 3), column 1 `a`: `x` is not a number"),
        "{e}"
    );
    let e = with("1,3,4\n0,2,1\n2.5,1,1\n", "0");
    assert!(
        e.contains("bad.csv: row 3 (line 3), column 0: label `2.5` is not an integer"),
        "{e}"
    );
    let e = with("1,3,4\n-1,2,1\n", "0");
    assert!(
        e.contains("bad.csv: row 2, column 0: label -1 is out of range"),
        "{e}"
    );
    let e = with("1,3,4\n0,2\n", "0");
    assert!(
        e.contains("bad.csv: row 2 (line 2) has 2 columns, expected 3"),
        "{e}"
    );
    let e = with("y,a\n1,3\n", "z");
    assert!(e.contains("bad.csv: no column named `z`"), "{e}");
    // --classes bounds the labels.
    std::fs::write(&csv, "y,a\n1,3\n9,2\n").unwrap();
    let mut o = own(&csv, "0,16");
    o.label_column = Some("y".into());
    o.classes = Some(5);
    let e = err(&o);
    assert!(
        e.contains(
            "bad.csv: row 2, column 0 `y`: label 9 is out of range (expected an integer 0..=4"
        ),
        "{e}"
    );
    // Missing flags.
    o.input_range = None;
    assert!(
        err(&o).contains("--input-range LO,HI is required"),
        "{}",
        err(&o)
    );
    let mut o = own(&csv, "0,16");
    assert!(
        err(&o).contains("--label-column NAME|INDEX is required"),
        "{}",
        err(&o)
    );
    o.label_column = Some("y".into());
    o.input_range = Some("5,1".into());
    assert!(err(&o).contains("--input-range"), "{}", err(&o));

    // NPZ: a value out of range, a label out of range, a missing array, an unsupported dtype.
    let npz = dir.path().join("bad.npz");
    let x: Vec<u8> = [0.5f64, 0.25, 1.5, 0.0]
        .iter()
        .flat_map(|v| v.to_le_bytes())
        .collect();
    let y: Vec<u8> = [0i32, 3].iter().flat_map(|v| v.to_le_bytes()).collect();
    write_npz_raw(
        &npz,
        &[("x", npy("<f8", &[2, 2], &x)), ("y", npy("<i4", &[2], &y))],
    );
    let e = err(&own(&npz, "0,1"));
    assert!(
        e.contains("bad.npz: row 2, column 0 of array `x`: value 1.5 is outside"),
        "{e}"
    );
    let mut o = own(&npz, "0,2");
    o.classes = Some(3);
    let e = err(&o);
    assert!(
        e.contains("bad.npz: row 2, array `y`: label 3 is out of range"),
        "{e}"
    );
    o.y_array = Some("labels".into());
    let e = err(&o);
    assert!(
        e.contains("bad.npz: no array `labels` (--y-array); the file has: x, y"),
        "{e}"
    );
    write_npz_raw(
        &npz,
        &[
            ("x", npy(">f4", &[1, 1], &[0; 4])),
            ("y", npy("<i4", &[1], &[0; 4])),
        ],
    );
    let e = err(&own(&npz, "0,1"));
    assert!(
        e.contains("bad.npz: array `x`") && e.contains("`>f4` is not supported"),
        "{e}"
    );

    // IDX: a pixel above the range names the image and the pixel; missing --labels.
    let (px, labels) = raw_digits();
    let im = dir.path().join("im.idx");
    std::fs::write(&im, idx_images(&px[..64 * 3], 3)).unwrap();
    let lb = dir.path().join("lb.idx");
    std::fs::write(&lb, idx_labels(&labels[..3])).unwrap();
    let mut o = own(&im, "0,12");
    let e = err(&o);
    assert!(e.contains("im.idx") && e.contains("--labels FILE"), "{e}");
    o.labels = Some(lb.clone());
    let e = err(&o);
    let first = px[..64 * 3].iter().position(|&p| p > 12).unwrap();
    assert!(
        e.contains(&format!(
            "im.idx: row {}, pixel {} (image row {}, column {}): value {} is outside",
            first / 64 + 1,
            first % 64,
            first % 64 / 8,
            first % 8,
            px[first]
        )),
        "{e}"
    );
    std::fs::write(&lb, idx_labels(&labels[..2])).unwrap();
    o.input_range = Some("0,16".into());
    let e = err(&o);
    assert!(e.contains("lb.idx: 2 labels for the 3 images"), "{e}");
}

fn json_field(text: &str, key: &str) -> serde_json::Value {
    let v: serde_json::Value = serde_json::from_str(text).unwrap();
    v[key].clone()
}

fn last_line(s: &str) -> String {
    s.lines().last().unwrap_or("").to_owned()
}

/// `lifted train` + `lifted export` + `lifted certify` on `data` args; returns the training
/// summary line (without the run folder) and the certify report.
fn pipeline(dir: &Path, name: &str, data: &[&str]) -> (String, serde_json::Value) {
    let out: PathBuf = dir.join(name);
    let mut args = vec![
        "train",
        "--objective",
        "bp",
        "--widths",
        "16,10",
        "--epochs",
        "20",
        "--lr",
        "0.01",
        "--seed",
        "3",
        "--threads",
        "1",
        "--quiet",
        "--out",
    ];
    args.push(cli::s(&out));
    args.extend_from_slice(data);
    let line = last_line(&cli::ok(&args));
    let line = line.split(" → ").next().unwrap().to_owned();
    let model = dir.join(format!("{name}.lfm"));
    cli::ok(&[
        "export",
        "--params",
        cli::s(&out.join("best.params.json")),
        "--out",
        cli::s(&model),
    ]);
    let mut args = vec![
        "certify",
        "--model",
        cli::s(&model),
        "--json",
        "--threads",
        "1",
    ];
    args.extend_from_slice(data);
    let report: serde_json::Value = serde_json::from_str(&cli::ok(&args)).unwrap();
    (line, report)
}

#[test]
fn train_and_certify_on_a_csv_file_match_the_builtin_digits() {
    let dir = tempfile::tempdir().unwrap();
    let (px, labels) = raw_digits();
    let csv = dir.path().join("my.csv");
    write_csv(&csv, true, &px, &labels);
    let own = [
        "--data",
        cli::s(&csv),
        "--label-column",
        "label",
        "--input-range",
        "0,16",
    ];
    let (a, ra) = pipeline(dir.path(), "own", &own);
    let (b, rb) = pipeline(dir.path(), "builtin", &["--dataset", "digits"]);
    assert!(a.starts_with("best epoch"), "{a}");
    assert_eq!(a, b);
    assert_eq!(ra["samples"], 250);
    assert_eq!(ra["dataset"], "my:test");
    for key in ["samples", "correct", "clean_accuracy", "l2", "linf"] {
        assert_eq!(ra[key], rb[key], "{key}");
    }
    assert!(ra["clean_accuracy"].as_f64().unwrap() > 0.3, "{ra}");
    // evaluate takes --data too, and an out-of-range file fails naming it.
    let model = dir.path().join("own.lfm");
    let mut args = vec![
        "evaluate",
        "--model",
        cli::s(&model),
        "--json",
        "--limit",
        "20",
    ];
    args.extend_from_slice(&own);
    let ev = cli::ok(&args);
    assert_eq!(json_field(&ev, "samples"), 20, "{ev}");
    let e = cli::fails(&[
        "certify",
        "--model",
        cli::s(&model),
        "--data",
        cli::s(&csv),
        "--label-column",
        "label",
        "--input-range",
        "0,15",
    ]);
    assert!(
        e.contains("my.csv: row ") && e.contains("outside the input range [0, 15]"),
        "{e}"
    );
    // remote loads --data before it connects: a bad range fails naming the file; a good one gets
    // as far as the (absent) device.
    let remote = |range: &str| {
        cli::fails(&[
            "remote",
            "--port",
            "tcp:127.0.0.1:9",
            "--timeout",
            "1",
            "--model",
            cli::s(&model),
            "--data",
            cli::s(&csv),
            "--label-column",
            "label",
            "--input-range",
            range,
        ])
    };
    let e = remote("0,15");
    assert!(
        e.contains("my.csv: row ") && e.contains("outside the input range [0, 15]"),
        "{e}"
    );
    let e = remote("0,16");
    assert!(!e.contains("my.csv"), "{e}");
    for flag in ["--dataset", "--data-dir"] {
        let value = if flag == "--dataset" { "digits" } else { "." };
        let mut args = vec!["certify", "--model", cli::s(&model), flag, value];
        args.extend_from_slice(&own);
        let e = cli::fails(&args);
        assert!(e.contains("cannot be used with"), "{e}");
    }
    let e = cli::fails(&["certify", "--model", cli::s(&model)]);
    assert!(e.contains("--dataset") || e.contains("--data"), "{e}");
}

/// Inputs that used to overflow, read without end or allocate without bound: a zero-sample array
/// whose feature dims multiply beyond `usize` (an overflow panic), a file larger than the data
/// limit (read whole before, `/dev/zero` without end), and a data set above the memory limit
/// (`LIFTED_MAX_MEMORY`), each refused with a message that names the file, the problem and the
/// fix.
#[test]
fn oversized_inputs_are_refused_before_they_are_allocated() {
    let dir = tempfile::tempdir().unwrap();
    let npz = dir.path().join("huge.npz");
    write_npz_raw(
        &npz,
        &[
            ("x", npy("<f4", &[0, 1 << 32, 1 << 32], &[])),
            ("y", npy("<i8", &[0], &[])),
        ],
    );
    let e = err(&own(&npz, "0,1"));
    assert!(
        e.contains("huge.npz: array `x` has shape [0, 4294967296, 4294967296]")
            && e.contains("too many features"),
        "{e}"
    );

    // A sparse file one byte above the limit: refused by its size, before it is read.
    let big = dir.path().join("big.csv");
    let f = std::fs::File::create(&big).unwrap();
    f.set_len(lifted::limits::MAX_DATA_BYTES + 1).unwrap();
    let mut o = own(&big, "0,1");
    o.label_column = Some("0".into());
    let e = err(&o);
    assert!(
        e.contains("cannot read") && e.contains("big.csv") && e.contains("larger than 1024 MiB"),
        "{e}"
    );
    // An endless file is cut at the limit (the bound is tested on /dev/zero in limits.rs).

    // 3 rows of 4 values, counted before parsing as 13 (a value per comma or line end, plus one)
    // of 12 bytes each (f64 while read, then f32): 156 bytes.
    let csv = dir.path().join("small.csv");
    std::fs::write(&csv, "0,1,2,3\n1,2,3,4\n0,0,0,0\n").unwrap();
    let out = dir.path().join("run");
    let train = |limit: &str| {
        std::process::Command::new(env!("CARGO_BIN_EXE_lifted"))
            .args(["train", "--data", cli::s(&csv), "--input-range", "0,16"])
            .args(["--label-column", "0", "--epochs", "1", "--quiet"])
            .args(["--out", cli::s(&out)])
            .env("LIFTED_MAX_MEMORY", limit)
            .output()
            .unwrap()
    };
    let o = train("100");
    let e = String::from_utf8_lossy(&o.stderr);
    assert!(!o.status.success(), "{e}");
    assert!(
        e.contains(
            "small.csv: the data set (at most 13 values) needs about 156 bytes of memory, more \
             than the 100 bytes of LIFTED_MAX_MEMORY"
        ) && e.contains("use a smaller file"),
        "{e}"
    );
    assert!(!out.exists(), "the run folder was created");
    // Above the estimate the data passes this check (training then needs far more).
    let e = String::from_utf8_lossy(&train("156").stderr).into_owned();
    assert!(!e.contains("the data set"), "{e}");
}
