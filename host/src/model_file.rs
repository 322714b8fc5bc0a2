//! Reading exported model blobs (`*.lfm`) with messages that name the problem and the fix.

use std::fs;
use std::path::Path;

use anyhow::{anyhow, Context, Result};
use lifted_core::write::Blob;
use lifted_core::{Error, ModelView};

/// What to do about a blob that `lifted_core` refused, appended to its `Display`.
#[must_use]
pub fn fix_for(e: &Error) -> &'static str {
    match e {
        // These messages already name the fix.
        Error::Truncated { .. } | Error::UnsupportedVersion { .. } | Error::Misaligned => "",
        Error::BadMagic => {
            " — pass a model blob written by `lifted export` (a .params.json must be exported first)"
        }
        Error::BadChecksum { .. } | Error::TrailingBytes => {
            " — the file is damaged; copy it again or re-export it with `lifted export`"
        }
        _ => " — re-export the model with `lifted export`",
    }
}

/// `lifted_core::Error`'s message followed by the fix.
#[must_use]
pub fn explain(e: &Error) -> String {
    format!("{e}{}", fix_for(e))
}

/// Reads a blob file and validates it with [`ModelView::new_checked`] (the firmware's loader).
///
/// # Errors
/// The file is missing or unreadable, or the blob is refused; the message names the file, the
/// problem and the fix.
pub fn read_blob(path: &Path) -> Result<Blob> {
    let bytes = fs::read(path).with_context(|| {
        format!(
            "reading model {} — write one with `lifted export --params … --out {}`",
            path.display(),
            path.display()
        )
    })?;
    let blob = Blob::from_bytes(&bytes);
    open(&blob).with_context(|| format!("loading model {}", path.display()))?;
    Ok(blob)
}

/// The checked view of a blob.
///
/// # Errors
/// The blob is refused (see [`explain`]).
pub fn open(blob: &Blob) -> Result<ModelView<'_>> {
    ModelView::new_checked(blob.as_bytes()).map_err(|e| anyhow!(explain(&e)))
}
