//! `lifted remote`: streams a data set to a device running the `serve` firmware, over a serial
//! port or QEMU's emulated UART, and checks every answer against this host's own `lifted-core`
//! result, bit for bit.
//!
//! ```text
//! lifted remote --port tcp:127.0.0.1:4444          # QEMU: -serial tcp:127.0.0.1:4444,server=on,wait=on
//! lifted remote --port /dev/ttyACM0 --baud 115200  # a board's serial port (the serialport crate)
//! lifted remote --port /dev/pts/3                  # QEMU: -serial pty
//! ```
//!
//! The frames are those of `lifted_proto::frame` (postcard + COBS, `0x00`-delimited). The session
//! starts with a lone `0x00` (which discards any partial frame on the device) and a `Hello` whose
//! nonce the device echoes in its `Ready`, then compares the device's model (length and CRC-32)
//! with `--model`, then sends one `Infer` request at a time and waits for its answer. A `Ready`
//! without the nonce in the middle of the session means the device was reset: the session stops
//! with an error.

mod answer;
mod link;
mod report;
mod session;

pub use answer::{host_answer, OwnedAnswer};
pub use link::{Link, Transport};
pub use report::{check_model, dims, stream, AtRadius, Mismatch, Report, StreamOptions};
pub use session::{Reply, Session};

use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{anyhow, ensure, Result};
use clap::Args;
use lifted_core::write::Blob;
use lifted_core::ModelView;
use serde::Serialize;

use crate::data::{self, Dataset, DatasetKind};
use crate::eval::args::CertRadii;

/// Which split of the data set to stream.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum RemoteSplit {
    /// The training split.
    Train,
    /// The validation split.
    Val,
    /// The test split (250 samples for the digits).
    Test,
}

/// Arguments of `lifted remote`.
#[derive(Debug, Clone, Args)]
pub struct RemoteArgs {
    /// Where the device is: a serial device (`/dev/ttyACM0`, `/dev/pts/3` for QEMU's
    /// `-serial pty`), or `tcp:HOST:PORT` for QEMU's `-serial tcp:HOST:PORT,server=on`.
    #[arg(long, value_name = "PORT")]
    pub port: String,
    /// The model blob the firmware was built with (its length and CRC-32 must match the
    /// device's). Default: `firmware/models/demo.lfm` of this repository.
    #[arg(long, value_name = "M.lfm")]
    pub model: Option<PathBuf>,
    /// Data set to stream (digits is embedded; mnist and fashion-mnist need `lifted data fetch`)
    /// [default: digits, unless --data gives your own file].
    #[arg(long, value_enum, conflicts_with = "file")]
    pub dataset: Option<DatasetKind>,
    /// Your own data file instead of --dataset.
    #[command(flatten)]
    pub own: data::OwnData,
    /// Folder of the data set's files (default: the embedded digits, or `data/DATASET/`).
    #[arg(long, value_name = "DIR", conflicts_with = "file")]
    pub data_dir: Option<PathBuf>,
    /// Which split to stream.
    #[arg(long, value_enum, default_value_t = RemoteSplit::Test)]
    pub split: RemoteSplit,
    /// Stream only the first N samples of the split.
    #[arg(long, value_name = "N")]
    pub limit: Option<usize>,
    /// Baud rate of a serial device (8N1, no flow control; ignored for tcp:).
    #[arg(long, default_value_t = 115_200)]
    pub baud: u32,
    /// Seconds to wait for each answer (and for the connection); more than 0, at most 86400 (one
    /// day).
    #[arg(long, default_value_t = 10.0, value_name = "SECONDS")]
    pub timeout: f64,
    #[command(flatten)]
    pub radii: CertRadii,
    /// Print at most N mismatches in full.
    #[arg(long, default_value_t = 10, value_name = "N")]
    pub show: usize,
    /// Send `Shutdown` at the end (a QEMU `serve` then exits with status 0).
    #[arg(long)]
    pub shutdown: bool,
    /// Print the report as JSON.
    #[arg(long)]
    pub json: bool,
}

/// The default model: `firmware/models/demo.lfm` of the repository this binary was built from
/// (or of the current directory).
fn default_model() -> PathBuf {
    let rel = Path::new("firmware").join("models").join("demo.lfm");
    let repo = crate::device::repo::root().join(&rel);
    if rel.is_file() || !repo.is_file() {
        rel
    } else {
        repo
    }
}

/// Loads the split to stream.
///
/// # Errors
/// Missing or corrupt data files (the message names the file and the fetch command), or an
/// empty selection.
pub fn load_data(args: &RemoteArgs) -> Result<Dataset> {
    let kind = args.dataset.unwrap_or(DatasetKind::Digits);
    let splits = data::load_any(Some(kind), args.data_dir.as_deref(), &args.own, None)?;
    let (set, split) = match args.split {
        RemoteSplit::Train => (splits.train, "train"),
        RemoteSplit::Val => (splits.val, "val"),
        RemoteSplit::Test => (splits.test, "test"),
    };
    let base = match args.own.path() {
        Some(_) => args.own.name(),
        None => kind.name().to_owned(),
    };
    let name = format!("{base}:{split}");
    let set = match args.limit {
        Some(n) => set.slice(0..n, &name),
        None => Dataset { name, ..set },
    };
    ensure!(
        !set.is_empty(),
        "no samples selected from {} (--limit 0?)",
        set.name
    );
    Ok(set)
}

/// The longest `--timeout`: one day.
pub const MAX_TIMEOUT_SECS: f64 = 86_400.0;

/// `--timeout SECONDS` as a duration.
///
/// # Errors
/// Not a number in (0, [`MAX_TIMEOUT_SECS`]] (the message names the flag and the range).
pub fn timeout_of(secs: f64) -> Result<Duration> {
    let bad = || {
        anyhow!(
            "--timeout {secs:?}: give a number of seconds greater than 0 and at most {MAX_TIMEOUT_SECS} (one day)"
        )
    };
    if !(secs > 0.0 && secs <= MAX_TIMEOUT_SECS) {
        return Err(bad());
    }
    let d = Duration::try_from_secs_f64(secs).map_err(|_| bad())?;
    // A positive value so small that it rounds to zero would make every read time out at once.
    if d.is_zero() {
        return Err(bad());
    }
    Ok(d)
}

/// Runs `lifted remote`: prints the report (text or JSON) and fails if any answer differs from
/// the host's.
///
/// # Errors
/// Bad arguments, an unreadable model or data set, a link failure, a device running another
/// model, or at least one mismatch.
pub fn run(args: &RemoteArgs) -> Result<Report> {
    args.radii.check()?;
    let timeout = timeout_of(args.timeout)?;
    let path = args.model.clone().unwrap_or_else(default_model);
    let bytes = crate::model::file::read_model_bytes(
        &path,
        "pass the blob the firmware was built with as --model",
    )?;
    let blob = Blob::from_bytes(&bytes);
    let model = ModelView::new_checked(blob.as_bytes())
        .map_err(|e| anyhow!("loading model {}: {e}", path.display()))?;
    let data = load_data(args)?;
    ensure!(
        data.dim == model.input_dim(),
        "{} has {} inputs per sample, the model {} — pick the data set the model was trained on",
        data.name,
        data.dim,
        model.input_dim()
    );
    let link = Link::open(&args.port, args.baud, timeout)?;
    let mut session = Session::connect(link, timeout)?;
    check_model(
        &session.ready,
        blob.as_bytes(),
        &model,
        &path.display().to_string(),
    )?;
    let opts = StreamOptions {
        eps_l2: args.radii.l2.clone(),
        eps_linf: args.radii.linf.clone(),
        show: args.show,
    };
    let mut report = stream(&mut session, &model, &data, &opts)?;
    report.port.clone_from(&args.port);
    if args.shutdown {
        session.shutdown()?;
    }
    if args.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        println!("{report}");
    }
    ensure!(
        report.mismatches == 0,
        "{} of {} device answers differ from the host's results",
        report.mismatches,
        report.inputs
    );
    Ok(report)
}
