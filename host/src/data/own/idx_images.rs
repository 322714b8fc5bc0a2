//! The IDX reader of `--data` (any other file name): an IDX image file with its labels in
//! `--labels FILE`.

use anyhow::{ensure, Context, Result};

use super::super::idx;
use super::{check_memory, OwnData, Table};

pub(super) fn read_idx(
    file: &str,
    bytes: Vec<u8>,
    labels: Option<Vec<u8>>,
    o: &OwnData,
) -> Result<Table> {
    let labels_path = o.labels.as_deref().with_context(|| {
        format!(
            "{file}: not .npz or .csv, so read as IDX images; --labels FILE (the IDX labels) is \
             required"
        )
    })?;
    let label_bytes = labels.with_context(|| format!("{file}: the labels file is missing"))?;
    let images = idx::decompress_idx(bytes, idx::IMAGES_MAGIC)
        .and_then(idx::parse_images)
        .map_err(|e| anyhow::anyhow!("{file}: {e}"))?;
    let lfile = labels_path.display().to_string();
    let labels = idx::decompress_idx(label_bytes, idx::LABELS_MAGIC)
        .and_then(|b| idx::parse_labels(b, 256))
        .map_err(|e| anyhow::anyhow!("{lfile}: {e}"))?;
    ensure!(
        labels.len() == images.count,
        "{lfile}: {} labels for the {} images of {file}",
        labels.len(),
        images.count
    );
    check_memory(file, images.pixels.len() as u64)?;
    let cols = images.cols;
    Ok(Table {
        dim: images.rows * images.cols,
        values: images.pixels.iter().map(|&p| f64::from(p)).collect(),
        labels: labels.into_iter().map(i64::from).collect(),
        label_name: format!("label in {lfile}"),
        column_name: Box::new(move |c| {
            format!("pixel {c} (image row {}, column {})", c / cols, c % cols)
        }),
    })
}
