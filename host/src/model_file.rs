//! Reading exported model blobs (`*.lfm`) with messages that name the problem and the fix.

use std::fs::File;
use std::io::Read;
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
            " — the file is damaged or incomplete; copy it again or re-export it with `lifted export`"
        }
        _ => " — re-export the model with `lifted export`",
    }
}

/// `lifted_core::Error`'s message followed by the fix.
#[must_use]
pub fn explain(e: &Error) -> String {
    format!("{e}{}", fix_for(e))
}

/// The largest model blob the CLI reads: 64 MiB, far above any model that fits a
/// microcontroller's flash. A larger file (or an endless one such as `/dev/zero`) is refused
/// before it fills the memory.
pub const MAX_MODEL_BYTES: u64 = 64 << 20;

/// Reads the bytes of a model file, at most [`MAX_MODEL_BYTES`]; every command that reads a
/// model blob goes through this function.
///
/// # Errors
/// The file is missing or unreadable (the message names the file and `hint`, the fix), or it
/// is larger than [`MAX_MODEL_BYTES`].
pub fn read_model_bytes(path: &Path, hint: &str) -> Result<Vec<u8>> {
    let too_big = || {
        anyhow!(
            "model {} is larger than {} MiB, the most a model blob may have — pass an .lfm \
             file written by `lifted export`",
            path.display(),
            MAX_MODEL_BYTES >> 20
        )
    };
    let file =
        File::open(path).with_context(|| format!("reading model {} — {hint}", path.display()))?;
    if file
        .metadata()
        .is_ok_and(|m| m.is_file() && m.len() > MAX_MODEL_BYTES)
    {
        return Err(too_big());
    }
    let mut bytes = Vec::new();
    file.take(MAX_MODEL_BYTES + 1)
        .read_to_end(&mut bytes)
        .with_context(|| format!("reading model {} — {hint}", path.display()))?;
    if bytes.len() as u64 > MAX_MODEL_BYTES {
        return Err(too_big());
    }
    Ok(bytes)
}

/// Reads a blob file (see [`read_model_bytes`]) and validates it with
/// [`ModelView::new_checked`] (the firmware's loader).
///
/// # Errors
/// The file is missing, unreadable or too large, or the blob is refused; the message names the
/// file, the problem and the fix.
pub fn read_blob(path: &Path) -> Result<Blob> {
    let hint = format!(
        "write one with `lifted export --params … --out {}`",
        path.display()
    );
    let bytes = read_model_bytes(path, &hint)?;
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
