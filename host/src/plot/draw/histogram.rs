//! The certified-radius histogram of `lifted certify --plot`: ℓ2 and ℓ∞ panels side by side.

use std::path::Path;

use anyhow::Result;
use plotters::coord::Shift;
use plotters::prelude::*;

use super::{pe, render};

/// Counts of `values` in `bins` equal bins over [0, max]; returns (bin width, counts).
pub(super) fn bin(values: &[f32], bins: usize) -> (f64, Vec<usize>) {
    let max = values.iter().copied().fold(0.0f32, f32::max);
    let width = if max > 0.0 {
        f64::from(max) / bins as f64
    } else {
        1.0
    };
    let mut counts = vec![0usize; bins];
    for &v in values {
        let i = ((f64::from(v) / width) as usize).min(bins - 1);
        counts[i] += 1;
    }
    (width, counts)
}

fn histogram_panel<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    title: &str,
    radii: &[f32],
    samples: usize,
) -> Result<()> {
    let certified: Vec<f32> = radii.iter().copied().filter(|&r| r > 0.0).collect();
    let bins = 30;
    let (width, counts) = bin(&certified, bins);
    let top = counts.iter().copied().max().unwrap_or(0).max(1);
    let caption = format!(
        "{title}: {} of {samples} samples certified",
        certified.len()
    );
    let mut chart = pe(ChartBuilder::on(area)
        .caption(caption, ("sans-serif", 20))
        .margin(12)
        .x_label_area_size(40)
        .y_label_area_size(50)
        .build_cartesian_2d(0.0..width * bins as f64, 0usize..top + top / 10 + 1))?;
    pe(chart
        .configure_mesh()
        .x_desc("certified radius (correct and certified samples)")
        .y_desc("samples")
        .label_style(("sans-serif", 14))
        .draw())?;
    let bars = counts
        .iter()
        .enumerate()
        .filter(|(_, &c)| c > 0)
        .map(|(i, &c)| {
            let x0 = i as f64 * width;
            Rectangle::new([(x0, 0), (x0 + width, c)], BLUE.mix(0.6).filled())
        });
    pe(chart.draw_series(bars))?;
    Ok(())
}

/// Draws histograms of certified ℓ2 and ℓ∞ radii (zeros — misclassified or refused — are left
/// out and counted in the captions) side by side into `path` (.png or .svg).
///
/// # Errors
/// Unknown extension or the file cannot be written.
pub fn radius_histogram(path: &Path, l2: &[f32], linf: &[f32], title: &str) -> Result<()> {
    render(
        path,
        (1200, 500),
        |root| histograms(root, title, l2, linf),
        |root| histograms(root, title, l2, linf),
    )
}

fn histograms<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    title: &str,
    l2: &[f32],
    linf: &[f32],
) -> Result<()> {
    let root = pe(root.titled(title, ("sans-serif", 22)))?;
    let (left, right) = root.split_horizontally(root.dim_in_pixel().0 / 2);
    histogram_panel(&left, "ℓ2", l2, l2.len())?;
    histogram_panel(&right, "ℓ∞", linf, linf.len())
}
