//! Figures: the certified-radius histogram of `lifted certify --plot` and the Figure-1-style
//! training curves of `lifted plot` (docs/method.md §7.7).
//!
//! PNG and SVG are chosen by the file extension. Text is drawn with DejaVu Sans embedded in the
//! binary (the `dejavu` crate; Bitstream Vera / DejaVu licence), so PNGs render the same on
//! machines without system fonts.
//!
//! Files: this one holds the output formats, the embedded font and `render`; `histogram` the
//! certified-radius histogram ([`radius_histogram`]); `run_log` the per-epoch logs the curves are
//! drawn from ([`read_log`], [`RunLog`]); `axes` the pure choices (diverged rows, axis ranges, tick
//! labels, clipping); `panel` a panel of mean ± std curves and the shared legend; `curves` the
//! Figure-1 training curves ([`training_curves`]).

pub mod axes;
mod curves;
mod histogram;
pub(crate) mod panel;
mod run_log;
#[cfg(test)]
mod tests;

pub use curves::training_curves;
pub use histogram::radius_histogram;
pub use run_log::{read_log, selected_row, RunLog, LOG_AXIS_COLUMNS, LOG_COLUMNS};

use std::fs;
use std::path::Path;
use std::sync::Once;

use anyhow::{anyhow, bail, ensure, Context, Result};
use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::FontStyle;

/// Registers the embedded font for every family plotters asks for (once per process).
fn ensure_fonts() {
    static FONTS: Once = Once::new();
    FONTS.call_once(|| {
        for family in ["sans-serif", "serif", "monospace"] {
            // The bytes are a valid TrueType font; a failure would only lose the text.
            let _ =
                plotters::style::register_font(family, FontStyle::Normal, dejavu::sans::regular());
            let _ = plotters::style::register_font(family, FontStyle::Bold, dejavu::sans::bold());
        }
    });
}

/// The image format of an output path.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Format {
    Png,
    Svg,
}

fn format_of(path: &Path) -> Result<Format> {
    match path
        .extension()
        .and_then(|e| e.to_str())
        .map(str::to_ascii_lowercase)
        .as_deref()
    {
        Some("png") => Ok(Format::Png),
        Some("svg") => Ok(Format::Svg),
        _ => bail!(
            "cannot tell the image format of {} — name the file .png or .svg",
            path.display()
        ),
    }
}

/// Turns a plotters error into an `anyhow` error.
pub(crate) fn pe<T, E: std::fmt::Display>(r: Result<T, E>) -> Result<T> {
    r.map_err(|e| anyhow!("drawing failed: {e}"))
}

/// Renders `draw_png` or `draw_svg` into `path` (PNG or SVG by extension) at `size` pixels, on a
/// white background with the embedded font; creates the parent folder.
pub(crate) fn render(
    path: &Path,
    size: (u32, u32),
    draw_png: impl FnOnce(&DrawingArea<BitMapBackend<'_>, Shift>) -> Result<()>,
    draw_svg: impl FnOnce(&DrawingArea<SVGBackend<'_>, Shift>) -> Result<()>,
) -> Result<()> {
    ensure_fonts();
    let format = format_of(path)?;
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    }
    match format {
        Format::Png => {
            let root = BitMapBackend::new(path, size).into_drawing_area();
            pe(root.fill(&WHITE))?;
            draw_png(&root)?;
            pe(root.present()).with_context(|| format!("writing {}", path.display()))?;
        }
        Format::Svg => {
            let root = SVGBackend::new(path, size).into_drawing_area();
            pe(root.fill(&WHITE))?;
            draw_svg(&root)?;
            pe(root.present()).with_context(|| format!("writing {}", path.display()))?;
        }
    }
    ensure!(path.is_file(), "{} was not written", path.display());
    Ok(())
}
