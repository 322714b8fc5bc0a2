//! `lifted export`: parameters → model blob with every certificate constant, plus an optional
//! sidecar readable from Python without this project.
//!
//! - The constants come from `lifted_core::bounds::compute` (sound f64 bounds, rounded up to f32)
//!   and the blob from `ModelParams::to_blob`; the written file is read back and validated with
//!   `ModelView::new_checked` (the firmware's loader) before the command succeeds.
//! - Sidecar (`--sidecar`), next to `M.lfm`: `M.npz` with the arrays, read back from the blob
//!   (so they are bit-identical to what the firmware uses), and `M.json` with the configuration,
//!   metadata and certificate constants. Arrays: `W{k}` (n_{k+1} × n_k), `b{k}` (n_{k+1}) for
//!   k = 0 … L−1; `K_l2`, `K_inf` (C × C, symmetric, zero diagonal: K[i, j] bounds the Lipschitz
//!   constant of x ↦ s_i − s_j); `K_internal_{k}` for hidden blocks k = 1 … L−1.

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};

use anyhow::{ensure, Context, Result};
use lifted_core::bounds::{compute, Limits};
use lifted_core::format::pair_index;
use lifted_core::write::{Blob, ModelParams};
use lifted_core::{ModelView, FORMAT_VERSION};
use serde::Serialize;
use serde_json::json;

use crate::model::file::open;
use crate::model::inspect::method_name;
use crate::model::params::validate;
use crate::npz::{write_npz, Array};

/// Value of the sidecar's `format` field.
pub const SIDECAR_FORMAT: &str = "lifted-sidecar";

/// What an export wrote.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ExportSummary {
    /// The blob file.
    pub blob: PathBuf,
    /// Its size in bytes.
    pub blob_bytes: usize,
    /// Its CRC-32 (the last four bytes).
    pub crc32: u32,
    /// Whether the certificate constants are valid (otherwise the model never certifies).
    pub constants_valid: bool,
    /// Smallest and largest ℓ2 pair constant.
    pub pairs_l2: (f32, f32),
    /// The sidecar files (`.npz`, `.json`), if written.
    pub sidecar: Option<(PathBuf, PathBuf)>,
}

/// Checks export limits.
///
/// # Errors
/// A radius limit that is not finite and positive, or Gram steps outside 1 … 30.
pub fn check_limits(l: &Limits) -> Result<()> {
    for (name, v) in [
        ("--eps-l2-max", l.eps_l2_max),
        ("--eps-linf-max", l.eps_inf_max),
        ("--eps-internal-max", l.eps_internal_max),
    ] {
        ensure!(
            v.is_finite() && v > 0.0,
            "{name} {v} must be a positive number"
        );
    }
    ensure!(
        (1..=30).contains(&l.gram_steps),
        "--gram-steps {} must be between 1 and 30",
        l.gram_steps
    );
    Ok(())
}

/// Computes the constants and serialises the blob.
///
/// # Errors
/// Invalid parameters or limits, or a blob `lifted_core` refuses to load.
pub fn build_blob(params: &ModelParams, limits: &Limits) -> Result<Blob> {
    validate(params)?;
    check_limits(limits)?;
    let constants = compute(params, limits);
    let blob = params
        .to_blob(&constants)
        .map_err(|e| anyhow::anyhow!("serialising the model: {e}"))?;
    open(&blob).context("the written blob does not load (a bug in the exporter)")?;
    Ok(blob)
}

/// The sidecar paths for blob path `out`: `out` with extensions `.npz` and `.json`.
#[must_use]
pub fn sidecar_paths(out: &Path) -> (PathBuf, PathBuf) {
    (out.with_extension("npz"), out.with_extension("json"))
}

fn min_max(v: &[f32]) -> (f32, f32) {
    v.iter().fold((f32::INFINITY, 0.0f32), |(lo, hi), &x| {
        (lo.min(x), hi.max(x))
    })
}

/// Expands a pair table (upper triangle) to a symmetric C × C matrix with zero diagonal.
#[must_use]
pub fn pair_matrix(table: &[f32], classes: usize) -> Array {
    let mut data = vec![0.0f32; classes * classes];
    for i in 0..classes {
        for j in 0..classes {
            if i != j {
                data[i * classes + j] = table
                    .get(pair_index(classes, i, j))
                    .copied()
                    .unwrap_or(f32::NAN);
            }
        }
    }
    Array {
        shape: vec![classes, classes],
        data,
    }
}

/// The sidecar arrays of a model (see the module docs).
#[must_use]
pub fn sidecar_arrays(model: &ModelView<'_>) -> BTreeMap<String, Array> {
    let mut m = BTreeMap::new();
    for k in 0..model.layers() {
        m.insert(
            format!("W{k}"),
            Array {
                shape: vec![model.width(k + 1), model.width(k)],
                data: model.weights(k).to_vec(),
            },
        );
        m.insert(
            format!("b{k}"),
            Array {
                shape: vec![model.width(k + 1)],
                data: model.bias(k).to_vec(),
            },
        );
    }
    let c = model.classes();
    m.insert("K_l2".into(), pair_matrix(model.pairs_l2(), c));
    m.insert("K_inf".into(), pair_matrix(model.pairs_inf(), c));
    for k in 1..model.layers() {
        m.insert(
            format!("K_internal_{k}"),
            pair_matrix(model.pairs_internal(k), c),
        );
    }
    m
}

/// The sidecar JSON of a model.
#[must_use]
pub fn sidecar_json(
    model: &ModelView<'_>,
    blob: &Blob,
    blob_name: &str,
    npz_name: &str,
) -> serde_json::Value {
    let h = model.header();
    let c = &h.cert;
    let layers: Vec<serde_json::Value> = (1..=model.layers())
        .filter_map(|k| {
            let s = model.layer(k)?;
            let b = s.bounds;
            Some(json!({
                "layer": k,
                "width": s.width,
                "fan_in": model.width(k - 1),
                "activation": s.activation.to_string(),
                "gamma": s.gamma, "rho": s.rho, "step": s.step,
                "weights": format!("W{}", k - 1), "bias": format!("b{}", k - 1),
                "bounds": {
                    "w_l2": b.w_l2, "w_inf": b.w_inf, "w_one": b.w_one, "b_inf": b.b_inf,
                    "lip_l2": b.lip_l2, "lip_inf": b.lip_inf
                }
            }))
        })
        .collect();
    let metadata =
        serde_json::from_str::<serde_json::Value>(h.metadata).unwrap_or_else(|_| json!(h.metadata));
    let bytes = blob.as_bytes();
    let crc = model.crc();
    json!({
        "format": SIDECAR_FORMAT,
        "version": 1,
        "blob": blob_name,
        "blob_format_version": FORMAT_VERSION,
        "blob_bytes": bytes.len(),
        "blob_crc32": format!("{crc:#010x}"),
        "npz": npz_name,
        "exported_by": format!("lifted {}", env!("CARGO_PKG_VERSION")),
        "input_dim": model.input_dim(),
        "input_range": [h.input_min, h.input_max],
        "widths": (1..=model.layers()).map(|k| model.width(k)).collect::<Vec<_>>(),
        "family": model.family().name(),
        "init": model.init().name(),
        "schedule": model.schedule().name(),
        "sweeps": model.sweeps(),
        "forward_deployment": model.is_forward_deployment(),
        "layers": layers,
        "class_names": if h.class_names.is_empty() { Vec::new() } else { h.class_names.split('\n').collect::<Vec<_>>() },
        "metadata": metadata,
        "certificate": {
            "valid": c.valid,
            "eps_l2_max": c.eps_l2_max,
            "eps_inf_max": c.eps_inf_max,
            "eps_internal_max": c.eps_internal_max,
            "l2_method": method_name(c.l2_method),
            "inf_method": method_name(c.inf_method),
            "pairs_l2": "K_l2",
            "pairs_inf": "K_inf",
            "pairs_internal": (1..model.layers()).map(|k| format!("K_internal_{k}")).collect::<Vec<_>>(),
            "rule": "class c is certified at radius r if for all j != c: (s_c - s_j) - float_error > r * K[c, j]"
        },
        "arrays": sidecar_arrays(model).iter().map(|(n, a)| (n.clone(), json!({"shape": a.shape, "dtype": "<f4"}))).collect::<serde_json::Map<_, _>>(),
    })
}

/// Exports `params` to `out` (and the sidecar next to it if `sidecar`).
///
/// # Errors
/// Invalid parameters or limits, or a file cannot be written.
pub fn export(
    params: &ModelParams,
    out: &Path,
    limits: &Limits,
    sidecar: bool,
) -> Result<ExportSummary> {
    let ext = out.extension().and_then(|e| e.to_str()).unwrap_or("");
    ensure!(
        !(sidecar && (ext == "npz" || ext == "json")),
        "--out {} would be overwritten by the sidecar — name the blob model.lfm",
        out.display()
    );
    let blob = build_blob(params, limits)?;
    if let Some(dir) = out.parent().filter(|d| !d.as_os_str().is_empty()) {
        fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    }
    fs::write(out, blob.as_bytes()).with_context(|| format!("writing {}", out.display()))?;
    let back = crate::model::file::read_blob(out)?;
    ensure!(
        back == blob,
        "{} does not read back identically",
        out.display()
    );
    let model = open(&blob)?;
    let name = |p: &Path| {
        p.file_name()
            .map_or_else(String::new, |n| n.to_string_lossy().into_owned())
    };
    let sidecar_files = if sidecar {
        let (npz, json_path) = sidecar_paths(out);
        write_npz(&npz, &sidecar_arrays(&model))?;
        let text =
            serde_json::to_string_pretty(&sidecar_json(&model, &blob, &name(out), &name(&npz)))?;
        fs::write(&json_path, text + "\n")
            .with_context(|| format!("writing {}", json_path.display()))?;
        Some((npz, json_path))
    } else {
        None
    };
    let bytes = blob.as_bytes();
    Ok(ExportSummary {
        blob: out.to_path_buf(),
        blob_bytes: bytes.len(),
        crc32: model.crc(),
        constants_valid: model.header().cert.valid,
        pairs_l2: min_max(model.pairs_l2()),
        sidecar: sidecar_files,
    })
}
