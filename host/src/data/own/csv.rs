//! The CSV reader of `--data` (`*.csv`, `*.csv.gz`): a label column, every other column a
//! feature, an optional header row.

use anyhow::{bail, ensure, Context, Result};

use super::super::idx;
use super::{check_memory, label_value, OwnData, Table};

pub(super) fn read_csv(file: &str, bytes: Vec<u8>, o: &OwnData) -> Result<Table> {
    let spec = o
        .label_column
        .as_deref()
        .with_context(|| format!("{file}: --label-column NAME|INDEX is required for a CSV file"))?;
    let bytes = idx::decompress(bytes)
        .map_err(anyhow::Error::new)
        .with_context(|| format!("{file}: cannot decompress the gzip data"))?;
    let text = String::from_utf8(bytes).with_context(|| format!("{file}: not UTF-8 text"))?;
    // At most one value per comma or line end.
    check_memory(
        file,
        text.bytes().filter(|&b| b == b',' || b == b'\n').count() as u64 + 1,
    )?;
    let mut lines = text
        .lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
        .peekable();
    let split = |l: &str| -> Vec<String> { l.split(',').map(|f| f.trim().to_owned()).collect() };
    let header: Option<Vec<String>> = match lines.peek() {
        Some((_, l)) if split(l).iter().any(|f| f.parse::<f64>().is_err()) => {
            let h = split(l);
            lines.next();
            Some(h)
        }
        _ => None,
    };
    let Some((_, first)) = lines.peek() else {
        bail!("{file}: no data rows");
    };
    let ncols = split(first).len();
    ensure!(
        ncols >= 2,
        "{file}: a row needs a label and at least one feature"
    );
    let label_col = match (spec.parse::<usize>(), &header) {
        (Ok(i), _) => i,
        (Err(_), Some(h)) => h.iter().position(|n| n == spec).with_context(|| {
            format!(
                "{file}: no column named `{spec}` in the header ({})",
                h.join(", ")
            )
        })?,
        (Err(_), None) => {
            bail!("{file}: --label-column `{spec}` is a name, but the file has no header row")
        }
    };
    ensure!(
        label_col < ncols,
        "{file}: --label-column {label_col} is beyond the {ncols} columns (indices from 0)"
    );
    if let Some(h) = &header {
        ensure!(
            h.len() == ncols,
            "{file}: the header has {} columns, the first row {ncols}",
            h.len()
        );
    }
    // File column of feature j.
    let col_of = move |j: usize| if j < label_col { j } else { j + 1 };
    let name_of = {
        let header = header.clone();
        move |c: usize| match &header {
            Some(h) => format!("column {c} `{}`", h.get(c).map_or("", String::as_str)),
            None => format!("column {c}"),
        }
    };
    let mut values = Vec::new();
    let mut labels = Vec::new();
    for (row, (i, line)) in lines.enumerate() {
        let (row, lineno) = (row + 1, i + 1);
        let fields = split(line);
        ensure!(
            fields.len() == ncols,
            "{file}: row {row} (line {lineno}) has {} columns, expected {ncols}",
            fields.len()
        );
        for (c, f) in fields.iter().enumerate() {
            let v: f64 = f.parse().map_err(|_| {
                anyhow::anyhow!(
                    "{file}: row {row} (line {lineno}), {}: `{f}` is not a number",
                    name_of(c)
                )
            })?;
            if c == label_col {
                let Some(l) = label_value(v) else {
                    bail!(
                        "{file}: row {row} (line {lineno}), {}: label `{f}` is not an integer",
                        name_of(c)
                    );
                };
                labels.push(l);
            } else {
                ensure!(
                    v.is_finite(),
                    "{file}: row {row} (line {lineno}), {}: `{f}` is not finite",
                    name_of(c)
                );
                values.push(v);
            }
        }
    }
    Ok(Table {
        dim: ncols - 1,
        values,
        labels,
        label_name: name_of(label_col),
        column_name: Box::new(move |j| name_of(col_of(j))),
    })
}
