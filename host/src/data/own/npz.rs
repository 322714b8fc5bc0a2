//! The NPZ reader of `--data` (`*.npz`): the `--x-array` and `--y-array` arrays of a stored or
//! compressed NumPy archive.

use std::io::Read;

use anyhow::{bail, ensure, Context, Result};

use super::super::npy::{parse_npy, Npy};
use super::{check_memory, label_value, OwnData, Table};
use crate::limits::MAX_DATA_BYTES;
use crate::npz::npy_header;

pub(super) fn read_npz(file: &str, bytes: Vec<u8>, o: &OwnData) -> Result<Table> {
    let x_name = o.x_array.clone().unwrap_or_else(|| "x".to_owned());
    let y_name = o.y_array.clone().unwrap_or_else(|| "y".to_owned());
    let mut zip = zip::ZipArchive::new(std::io::Cursor::new(bytes))
        .with_context(|| format!("{file}: not a .npz (zip) file"))?;
    let names: Vec<String> = zip
        .file_names()
        .filter_map(|n| n.ok().map(|n| n.into_owned()))
        .collect();
    let mut get = |name: &str, flag: &str| -> Result<Npy> {
        let entry = format!("{name}.npy");
        let mut f = zip.by_name(&entry).map_err(|_| {
            anyhow::anyhow!(
                "{file}: no array `{name}` ({flag}); the file has: {}",
                names
                    .iter()
                    .map(|n| n.trim_end_matches(".npy"))
                    .collect::<Vec<_>>()
                    .join(", ")
            )
        })?;
        // Bounded: a small compressed entry may inflate without end.
        let mut buf = Vec::new();
        (&mut f)
            .take(MAX_DATA_BYTES + 1)
            .read_to_end(&mut buf)
            .with_context(|| format!("{file}: reading array `{name}`"))?;
        ensure!(
            buf.len() as u64 <= MAX_DATA_BYTES,
            "{file}: array `{name}` decompresses to more than {} MiB, the most a data file may \
             have — use a smaller file",
            MAX_DATA_BYTES >> 20
        );
        let header = npy_header(&buf).with_context(|| format!("{file}: array `{name}`"))?;
        check_memory(file, header.count as u64)?;
        parse_npy(&buf).with_context(|| format!("{file}: array `{name}`"))
    };
    let x = get(&x_name, "--x-array")?;
    let y = get(&y_name, "--y-array")?;
    ensure!(
        !x.shape.is_empty(),
        "{file}: array `{x_name}` is a scalar; expected shape (N, features…)"
    );
    let n = x.shape[0];
    // The product of every dim but the first: it can overflow when the first is 0.
    let dim = x.shape[1..]
        .iter()
        .try_fold(1usize, |p, &d| p.checked_mul(d))
        .with_context(|| {
            format!(
                "{file}: array `{x_name}` has shape {:?}; its samples have too many features",
                x.shape
            )
        })?;
    ensure!(
        y.shape.len() == 1 && y.shape[0] == n,
        "{file}: array `{y_name}` has shape {:?}; expected ({n},) to match `{x_name}` {:?}",
        y.shape,
        x.shape
    );
    for (i, &v) in x.data.iter().enumerate() {
        ensure!(
            v.is_finite(),
            "{file}: array `{x_name}` row {}, column {}: {v} is not finite",
            i / dim.max(1) + 1,
            i % dim.max(1)
        );
    }
    let mut labels = Vec::with_capacity(n);
    for (i, &v) in y.data.iter().enumerate() {
        let Some(l) = label_value(v) else {
            bail!(
                "{file}: array `{y_name}` row {}: label {v} is not an integer",
                i + 1
            );
        };
        labels.push(l);
    }
    let xn = x_name.clone();
    Ok(Table {
        dim,
        values: x.data,
        labels,
        label_name: format!("array `{y_name}`"),
        column_name: Box::new(move |c| format!("column {c} of array `{xn}`")),
    })
}
