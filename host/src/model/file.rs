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
    ModelView::new_checked(blob.as_bytes()).map_err(|e| {
        let detail = match e {
            Error::InvalidConfig
            | Error::NonFiniteParameter
            | Error::BadConstant
            | Error::InconsistentDims => diagnose(blob.as_bytes()),
            _ => None,
        };
        match detail {
            Some(d) => anyhow!("{e}: {d}{}", fix_for(&e)),
            None => anyhow!(explain(&e)),
        }
    })
}

/// Names the field, layer and value that `ModelView::new_checked` refuses in a blob whose CRC
/// is intact, by decoding its header here (the same rules, see `shared/src/model.rs`). `None`
/// when nothing specific is found.
#[must_use]
pub fn diagnose(blob: &[u8]) -> Option<String> {
    use lifted_core::format::{header_padding, TensorLayout, PREFIX_LEN};
    use lifted_core::{Activation, Header, MAX_SWEEPS};

    let header_len = u32::from_le_bytes(blob.get(8..12)?.try_into().ok()?) as usize;
    let header: Header<'_> =
        match postcard::take_from_bytes(blob.get(PREFIX_LEN..PREFIX_LEN.checked_add(header_len)?)?)
        {
            Ok((h, [])) => h,
            _ => return None,
        };
    let layers = header.layers.len();
    // Dimensions.
    if layers == 0 {
        return Some("the model has no layers (it needs at least one)".into());
    }
    if header.input_dim == 0 {
        return Some("input_dim = 0 must be at least 1".into());
    }
    for (k, l) in header.layers.iter().enumerate() {
        if l.width == 0 {
            return Some(format!("layer {}: width = 0 must be at least 1", k + 1));
        }
    }
    let classes = header.layers[layers - 1].width;
    if !(2..=u32::from(u16::MAX)).contains(&classes) {
        return Some(format!(
            "layer {layers} (output): width = {classes} is the class count and must be in [2, {}]",
            u16::MAX
        ));
    }
    // Configuration.
    if header.sweeps > MAX_SWEEPS {
        return Some(format!(
            "sweeps = {} must be at most {MAX_SWEEPS}",
            header.sweeps
        ));
    }
    for (name, v) in [
        ("input_min", header.input_min),
        ("input_max", header.input_max),
    ] {
        if !v.is_finite() {
            return Some(format!("{name} = {v} must be finite"));
        }
    }
    if header.input_min > header.input_max {
        return Some(format!(
            "input_min = {} must not exceed input_max = {}",
            header.input_min, header.input_max
        ));
    }
    for (k, l) in header.layers.iter().enumerate() {
        let at = k + 1;
        for (name, v) in [("gamma", l.gamma), ("rho", l.rho), ("step", l.step)] {
            if !v.is_finite() {
                return Some(format!("layer {at}: {name} = {v} must be finite"));
            }
        }
        if l.gamma <= 0.0 {
            return Some(format!("layer {at}: gamma = {} must be > 0", l.gamma));
        }
        if l.rho < 0.0 {
            return Some(format!("layer {at}: rho = {} must be ≥ 0", l.rho));
        }
        if !(l.step > 0.0 && l.step <= 1.0) {
            return Some(format!("layer {at}: step = {} must be in (0, 1]", l.step));
        }
        match l.activation {
            Activation::Identity => {}
            a if at == layers => {
                return Some(format!(
                    "layer {at} (output): activation = {a:?} must be the identity"
                ))
            }
            Activation::ClippedRelu { bound } if !(bound.is_finite() && bound > 0.0) => {
                return Some(format!(
                    "layer {at}: clipped-ReLU bound = {bound} must be finite and > 0"
                ))
            }
            _ => {}
        }
    }
    // Parameters and certificate constants.
    let widths: Vec<usize> = header.layers.iter().map(|l| l.width as usize).collect();
    let layout = TensorLayout::new(header.input_dim as usize, &widths)?;
    let at = PREFIX_LEN
        .checked_add(header_len)?
        .checked_add(header_padding(header_len))?;
    let value = |i: usize| -> Option<f32> {
        let o = at.checked_add(i.checked_mul(4)?)?;
        Some(f32::from_le_bytes(blob.get(o..o + 4)?.try_into().ok()?))
    };
    let mut fan_in = header.input_dim as usize;
    for (k, &w) in widths.iter().enumerate() {
        for r in 0..w {
            for c in 0..fan_in {
                let v = value(layout.weights[k] + r * fan_in + c)?;
                if !v.is_finite() {
                    return Some(format!(
                        "layer {}: weight [{r}, {c}] = {v} must be finite",
                        k + 1
                    ));
                }
            }
            let v = value(layout.biases[k] + r)?;
            if !v.is_finite() {
                return Some(format!("layer {}: bias [{r}] = {v} must be finite", k + 1));
            }
        }
        fan_in = w;
    }
    for i in layout.pairs_l2..layout.total {
        let v = value(i)?;
        if !v.is_finite() || (header.cert.valid && v < 0.0) {
            return Some(format!(
                "certificate pair constant #{} = {v} must be finite and ≥ 0",
                i - layout.pairs_l2
            ));
        }
    }
    if header.cert.valid {
        let c = &header.cert;
        for (name, v) in [
            ("eps_l2_max", c.eps_l2_max),
            ("eps_inf_max", c.eps_inf_max),
            ("eps_internal_max", c.eps_internal_max),
        ] {
            if !(v.is_finite() && v > 0.0) {
                return Some(format!("certificate {name} = {v} must be finite and > 0"));
            }
        }
        if !(c.contraction.is_finite() && c.contraction >= 0.0) {
            return Some(format!(
                "certificate contraction = {} must be finite and ≥ 0",
                c.contraction
            ));
        }
        for (k, l) in header.layers.iter().enumerate() {
            let b = &l.bounds;
            let named = [
                ("w_l2", b.w_l2),
                ("w_inf", b.w_inf),
                ("w_one", b.w_one),
                ("b_inf", b.b_inf),
                ("lip_l2", b.lip_l2),
                ("lip_inf", b.lip_inf),
                ("hidden_l2[0]", b.hidden_l2[0]),
                ("hidden_l2[1]", b.hidden_l2[1]),
                ("hidden_l2[2]", b.hidden_l2[2]),
            ];
            for (name, v) in named {
                if !(v.is_finite() && v >= 0.0) {
                    return Some(format!(
                        "layer {}: bound {name} = {v} must be finite and ≥ 0",
                        k + 1
                    ));
                }
            }
            let s = b.sqrt_width;
            if !((1.0..=4096.0).contains(&s) && s.fract() == 0.0 && s * s >= l.width as f32) {
                return Some(format!(
                    "layer {}: bound sqrt_width = {s} must be ⌈√{}⌉",
                    k + 1,
                    l.width
                ));
            }
        }
        // The norm bounds the loader re-derives from the weights (sums in f64: the loader's,
        // rounded down in f32, are at most these).
        let mut fan_in = header.input_dim as usize;
        for (k, l) in header.layers.iter().enumerate() {
            let rows = widths[k];
            let w = |r: usize, c: usize| value(layout.weights[k] + r * fan_in + c).map(f32::abs);
            let mut row_max = 0f64;
            for r in 0..rows {
                let mut sum = 0f64;
                for c in 0..fan_in {
                    sum += f64::from(w(r, c)?);
                }
                row_max = row_max.max(sum);
            }
            let mut col_max = 0f64;
            for c in 0..fan_in {
                let mut sum = 0f64;
                for r in 0..rows {
                    sum += f64::from(w(r, c)?);
                }
                col_max = col_max.max(sum);
            }
            let mut b_max = 0f64;
            for r in 0..rows {
                b_max = b_max.max(f64::from(value(layout.biases[k] + r)?.abs()));
            }
            let b = &l.bounds;
            for (name, bound, norm, what) in [
                (
                    "w_inf",
                    b.w_inf,
                    row_max,
                    "largest row abs-sum of its weights",
                ),
                (
                    "w_one",
                    b.w_one,
                    col_max,
                    "largest column abs-sum of its weights",
                ),
                ("b_inf", b.b_inf, b_max, "largest bias magnitude"),
            ] {
                if f64::from(bound) < norm * (1.0 - 1e-6) {
                    return Some(format!(
                        "layer {}: bound {name} = {bound} is below the {what}, {norm}",
                        k + 1
                    ));
                }
            }
            fan_in = rows;
        }
        return Some(
            "a certificate norm bound (w_inf, w_one or b_inf) is below the norm of its layer's \
             weights or biases"
                .into(),
        );
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use lifted_core::bounds::{compute, Limits};
    use lifted_core::write::{LayerParams, ModelParams};
    use lifted_core::{Activation, Family, Init, Schedule};

    fn params() -> ModelParams {
        let layer = |rows: usize, cols: usize, act| LayerParams {
            weights: (0..rows * cols)
                .map(|i| ((i * 7 % 11) as f32 - 5.0) / 20.0)
                .collect(),
            bias: (0..rows).map(|i| i as f32 / 10.0).collect(),
            activation: act,
            gamma: 1.0,
            rho: 0.5,
            step: 0.5,
        };
        ModelParams {
            input_dim: 4,
            input_range: (0.0, 1.0),
            family: Family::Hopfield,
            init: Init::Zero,
            schedule: Schedule::BwdFwdTopDown,
            sweeps: 2,
            layers: vec![
                layer(3, 4, Activation::Relu),
                layer(2, 3, Activation::Identity),
            ],
            class_names: vec!["a".into(), "b".into()],
            metadata: String::new(),
        }
    }

    /// The blob of `p` with freshly computed constants, sealed with a valid CRC.
    fn blob(p: &ModelParams) -> Blob {
        p.to_blob(&compute(p, &Limits::default())).unwrap()
    }

    fn refusal(p: &ModelParams) -> String {
        format!("{:#}", open(&blob(p)).unwrap_err())
    }

    #[test]
    fn a_valid_blob_opens() {
        open(&blob(&params())).unwrap();
    }

    #[test]
    fn refusals_name_the_layer_field_and_value() {
        let mut p = params();
        p.layers[0].step = 2.0;
        let e = refusal(&p);
        assert!(e.contains("layer 1: step = 2 must be in (0, 1]"), "{e}");
        assert!(e.contains("re-export"), "{e}");

        let mut p = params();
        p.layers[1].gamma = 0.0;
        let e = refusal(&p);
        assert!(e.contains("layer 2: gamma = 0 must be > 0"), "{e}");

        let mut p = params();
        p.layers[0].rho = f32::NAN;
        let e = refusal(&p);
        assert!(e.contains("layer 1: rho = NaN must be finite"), "{e}");

        let mut p = params();
        p.layers[1].activation = Activation::Relu;
        let e = refusal(&p);
        assert!(e.contains("layer 2 (output): activation"), "{e}");

        let mut p = params();
        p.input_range = (1.0, 0.0);
        let e = refusal(&p);
        assert!(
            e.contains("input_min = 1 must not exceed input_max = 0"),
            "{e}"
        );

        let mut p = params();
        p.sweeps = lifted_core::MAX_SWEEPS + 1;
        let e = refusal(&p);
        assert!(e.contains("sweeps = "), "{e}");

        // A non-finite weight, written after the constants were computed.
        let p = params();
        let c = compute(&p, &Limits::default());
        let mut q = p.clone();
        q.layers[1].weights[4] = f32::INFINITY;
        let e = format!("{:#}", open(&q.to_blob(&c).unwrap()).unwrap_err());
        assert!(
            e.contains("layer 2: weight [1, 1] = inf must be finite"),
            "{e}"
        );

        // A certificate constant out of range.
        let mut c = compute(&p, &Limits::default());
        assert!(c.cert.valid);
        c.layers[0].lip_l2 = -1.0;
        let e = format!("{:#}", open(&p.to_blob(&c).unwrap()).unwrap_err());
        assert!(e.contains("layer 1: bound lip_l2 = -1"), "{e}");
        let mut c = compute(&p, &Limits::default());
        c.layers[1].w_one *= 0.5;
        let e = format!("{:#}", open(&p.to_blob(&c).unwrap()).unwrap_err());
        assert!(e.contains("layer 2: bound w_one = "), "{e}");
        assert!(e.contains("below the largest column abs-sum"), "{e}");
    }
}
