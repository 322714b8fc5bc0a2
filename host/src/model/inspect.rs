//! `lifted inspect`: what a model blob holds and what the firmware needs to run it.

use std::fmt;

use lifted_core::schedule::{Update, Updates};
use lifted_core::write::Blob;
use lifted_core::{
    certify, infer, BoundMethod, Family, Init, ModelView, Norm, Workspace, FORMAT_VERSION,
};
use serde::Serialize;

/// One layer (block z_k and `W_{k−1}`).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LayerInfo {
    /// k (1 … L).
    pub layer: usize,
    /// n_k.
    pub width: usize,
    /// n_{k−1}.
    pub fan_in: usize,
    /// Activation f_k.
    pub activation: String,
    /// γ_k.
    pub gamma: f32,
    /// ρ_k.
    pub rho: f32,
    /// η_k (family-A damped step).
    pub step: f32,
    /// ‖W_{k−1}‖₂ upper bound.
    pub w_l2: f32,
    /// ‖W_{k−1}‖_∞ upper bound.
    pub w_inf: f32,
    /// ‖W_{k−1}‖₁ upper bound.
    pub w_one: f32,
    /// ‖b_{k−1}‖_∞.
    pub b_inf: f32,
    /// ℓ2 sensitivity bound of z_k to the input.
    pub lip_l2: f32,
    /// ℓ∞ sensitivity bound of z_k to the input.
    pub lip_inf: f32,
}

/// Smallest and largest entry of a constant table.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Range {
    /// Smallest.
    pub min: f32,
    /// Largest.
    pub max: f32,
}

impl Range {
    fn of(v: &[f32]) -> Self {
        let (min, max) = v
            .iter()
            .fold((f32::INFINITY, 0.0f32), |(a, b), &x| (a.min(x), b.max(x)));
        Range {
            min: if v.is_empty() { 0.0 } else { min },
            max,
        }
    }
}

/// Certificate constants and what they imply.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CertInfo {
    /// Whether the constants are valid.
    pub valid: bool,
    /// Method of the ℓ2 constants.
    pub l2_method: &'static str,
    /// Method of the ℓ∞ constants.
    pub inf_method: &'static str,
    /// ℓ2 radius limit.
    pub eps_l2_max: f32,
    /// ℓ∞ radius limit.
    pub eps_inf_max: f32,
    /// Hidden-activity radius limit.
    pub eps_internal_max: f32,
    /// Contraction factor q of one sweep (ℓ2, weighted block norm); < 1: bounded in K.
    pub contraction: f32,
    /// ℓ2 pair constants K_ij.
    pub pairs_l2: Range,
    /// ℓ∞ pair constants.
    pub pairs_inf: Range,
    /// Internal pair constants per hidden layer.
    pub pairs_internal: Vec<Range>,
    /// Float error bound subtracted from the margin at the mid-range input (ℓ2 ball).
    pub float_error_l2_at_mid_input: f32,
    /// Same for the ℓ∞ ball.
    pub float_error_linf_at_mid_input: f32,
    /// Certified ℓ2 radius per unit of logit margin (beyond the float error): 1/max K … 1/min K.
    pub l2_radius_per_unit_margin: Range,
    /// Certified ℓ∞ radius per unit of logit margin.
    pub linf_radius_per_unit_margin: Range,
}

/// Flash bytes of the blob.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Flash {
    /// Weights W_0 … W_{L−1}.
    pub weights: usize,
    /// Biases.
    pub biases: usize,
    /// Certificate pair tables.
    pub constants: usize,
    /// Prefix, header (configuration, per-layer constants, names, metadata), padding and CRC.
    pub header: usize,
    /// The whole blob.
    pub blob: usize,
}

/// RAM the firmware needs for one inference.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Ram {
    /// f32 values of the workspace (`Workspace::required`).
    pub workspace_f32: usize,
    /// Its bytes (`Workspace::required_bytes`).
    pub workspace_bytes: usize,
    /// The input vector (n₀ f32).
    pub input_bytes: usize,
}

/// Everything `lifted inspect` shows.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Inspection {
    /// File shown.
    pub path: String,
    /// Blob format version.
    pub format_version: u16,
    /// Input dimension.
    pub input_dim: usize,
    /// Declared input range.
    pub input_range: (f32, f32),
    /// Number of classes.
    pub classes: usize,
    /// Class names (may be empty).
    pub class_names: Vec<String>,
    /// Family.
    pub family: &'static str,
    /// Init.
    pub init: &'static str,
    /// Schedule.
    pub schedule: &'static str,
    /// Sweeps K.
    pub sweeps: usize,
    /// Whether the deployed map is the plain forward pass.
    pub forward_deployment: bool,
    /// Block updates of the stored schedule (init + K sweeps).
    pub updates: usize,
    /// Block updates `infer` executes: for a forward deployment only the L forward updates,
    /// since the sweeps provably change nothing.
    pub executed_updates: usize,
    /// Why the sweeps run or are skipped, in words.
    pub sweeps_note: String,
    /// Multiply-accumulates per inference (of the executed updates).
    pub macs: usize,
    /// Layers.
    pub layers: Vec<LayerInfo>,
    /// Certificate constants.
    pub certificate: CertInfo,
    /// Flash.
    pub flash: Flash,
    /// RAM.
    pub ram: Ram,
    /// Metadata string stored with the model.
    pub metadata: String,
    /// The check of the stored constants against the weights (`--verify`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub verification: Option<crate::model::verify::Verification>,
}

/// Why `infer` runs or skips the sweeps of `model`, in words.
#[must_use]
pub fn sweeps_note(model: &ModelView<'_>) -> String {
    let k = model.sweeps();
    if model.is_forward_deployment() {
        if k == 0 && model.schedule() == lifted_core::Schedule::BwdFwd {
            "K = 0 without a top-down pass: the deployed map is the forward pass".into()
        } else if model.family() == Family::FenchelYoung && model.init() == Init::Forward {
            format!(
                "the stored sweeps (K = {k}{}) are skipped: under the fenchel-young potential the forward \
                 pass is an exact fixed point of every block update, so they cannot change the state",
                if model.schedule() == lifted_core::Schedule::BwdFwdTopDown {
                    ", plus the top-down pass"
                } else {
                    ""
                }
            )
        } else {
            "no block update besides the forward pass: the deployed map is the forward pass".into()
        }
    } else {
        let why = match (model.family(), model.init()) {
            (_, Init::Zero) => "zero init starts away from the forward pass",
            (Family::Hopfield, _) => "hopfield updates add top-down feedback",
            _ => "the updates move the state",
        };
        format!("iterative: every update runs ({why}); the constants follow the update list")
    }
}

/// The name of a bound method as reports print it.
#[must_use]
pub fn method_name(m: BoundMethod) -> &'static str {
    match m {
        BoundMethod::None => "none",
        BoundMethod::ProductOfNorms => "product-of-norms",
        BoundMethod::SweepRecursion => "sweep-recursion",
        BoundMethod::Minimum => "minimum",
    }
}

fn deployed(model: &ModelView<'_>) -> Updates {
    Updates::deployed(
        model.layers(),
        model.family(),
        model.init(),
        model.sweeps(),
        model.schedule(),
    )
}

fn macs(model: &ModelView<'_>) -> usize {
    let l = model.layers();
    deployed(model)
        .map(|u| match u {
            Update::Forward(k) => model.width(k) * model.width(k - 1),
            Update::Output => model.width(l) * model.width(l - 1),
            Update::Hidden(k) => {
                let own = model.width(k) * model.width(k - 1);
                let up = model.width(k + 1) * model.width(k);
                match model.family() {
                    Family::FenchelYoung => own + 2 * up,
                    Family::Hopfield => own + up,
                }
            }
        })
        .sum()
}

/// Inspects a checked model (`blob` is its bytes).
#[must_use]
pub fn inspect(path: &str, model: &ModelView<'_>, blob: &Blob) -> Inspection {
    let h = model.header();
    let c = &h.cert;
    let layers = (1..=model.layers())
        .filter_map(|k| {
            let s = model.layer(k)?;
            let b = s.bounds;
            Some(LayerInfo {
                layer: k,
                width: model.width(k),
                fan_in: model.width(k - 1),
                activation: s.activation.to_string(),
                gamma: s.gamma,
                rho: s.rho,
                step: s.step,
                w_l2: b.w_l2,
                w_inf: b.w_inf,
                w_one: b.w_one,
                b_inf: b.b_inf,
                lip_l2: b.lip_l2,
                lip_inf: b.lip_inf,
            })
        })
        .collect();
    // A reference input in the middle of the range, to show the size of the float error terms.
    let mid = vec![0.5 * (h.input_min + h.input_max); model.input_dim()];
    let mut buf = vec![0.0f32; Workspace::required(model)];
    let (fe2, fei) = match infer(model, &mid, &mut Workspace::new(&mut buf)) {
        Ok(o) => (
            certify(model, &o, Norm::L2).float_error,
            certify(model, &o, Norm::Linf).float_error,
        ),
        Err(_) => (f32::INFINITY, f32::INFINITY),
    };
    let per_margin = |r: Range| Range {
        min: if r.max > 0.0 { 1.0 / r.max } else { 0.0 },
        max: if r.min > 0.0 {
            1.0 / r.min
        } else {
            f32::INFINITY
        },
    };
    let (p2, pi) = (Range::of(model.pairs_l2()), Range::of(model.pairs_inf()));
    let lay = model.layout();
    let weights: usize = (0..model.layers())
        .map(|k| model.weights(k).len() * 4)
        .sum();
    let biases: usize = (0..model.layers()).map(|k| model.bias(k).len() * 4).sum();
    let constants = (lay.total - lay.pairs_l2) * 4;
    let blob_len = blob.as_bytes().len();
    Inspection {
        path: path.to_owned(),
        format_version: FORMAT_VERSION,
        input_dim: model.input_dim(),
        input_range: (h.input_min, h.input_max),
        classes: model.classes(),
        class_names: (0..model.classes())
            .filter_map(|c| model.class_name(c).map(str::to_owned))
            .collect(),
        family: model.family().name(),
        init: model.init().name(),
        schedule: model.schedule().name(),
        sweeps: model.sweeps(),
        forward_deployment: model.is_forward_deployment(),
        updates: Updates::new(
            model.layers(),
            model.sweeps(),
            model.init(),
            model.schedule(),
        )
        .total(),
        executed_updates: deployed(model).total(),
        sweeps_note: sweeps_note(model),
        macs: macs(model),
        layers,
        certificate: CertInfo {
            valid: c.valid,
            l2_method: method_name(c.l2_method),
            inf_method: method_name(c.inf_method),
            eps_l2_max: c.eps_l2_max,
            eps_inf_max: c.eps_inf_max,
            eps_internal_max: c.eps_internal_max,
            contraction: c.contraction,
            pairs_l2: p2,
            pairs_inf: pi,
            pairs_internal: (1..model.layers())
                .map(|k| Range::of(model.pairs_internal(k)))
                .collect(),
            float_error_l2_at_mid_input: fe2,
            float_error_linf_at_mid_input: fei,
            l2_radius_per_unit_margin: per_margin(p2),
            linf_radius_per_unit_margin: per_margin(pi),
        },
        flash: Flash {
            weights,
            biases,
            constants,
            header: blob_len - weights - biases - constants,
            blob: blob_len,
        },
        ram: Ram {
            workspace_f32: Workspace::required(model),
            workspace_bytes: Workspace::required_bytes(model),
            input_bytes: model.input_dim() * 4,
        },
        metadata: h.metadata.to_owned(),
        verification: None,
    }
}

fn kib(b: usize) -> String {
    format!("{b} B ({:.1} KiB)", b as f64 / 1024.0)
}

impl fmt::Display for Inspection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let shape: Vec<String> = std::iter::once(self.input_dim)
            .chain(self.layers.iter().map(|l| l.width))
            .map(|w| w.to_string())
            .collect();
        writeln!(
            f,
            "model       {} (format version {})",
            self.path, self.format_version
        )?;
        writeln!(
            f,
            "shape       {}  (L = {})",
            shape.join(" → "),
            self.layers.len()
        )?;
        writeln!(
            f,
            "input       {} values in [{}, {}]",
            self.input_dim, self.input_range.0, self.input_range.1
        )?;
        let names = if self.class_names.is_empty() {
            String::from("(unnamed)")
        } else {
            self.class_names.join(", ")
        };
        writeln!(f, "classes     {}: {names}", self.classes)?;
        writeln!(
            f,
            "inference   family {}, init {}, schedule {}, K = {}: {} block updates stored, {} executed, {} MACs{}",
            self.family,
            self.init,
            self.schedule,
            self.sweeps,
            self.updates,
            self.executed_updates,
            self.macs,
            if self.forward_deployment {
                " (deployed map = forward pass)"
            } else {
                ""
            }
        )?;
        writeln!(f, "  sweeps    {}", self.sweeps_note)?;
        writeln!(f)?;
        writeln!(
            f,
            "  {:>5} {:>6} {:>6} {:<16} {:>8} {:>8} {:>8} {:>9} {:>9} {:>9} {:>9} {:>10} {:>10}",
            "layer",
            "width",
            "fan-in",
            "activation",
            "γ",
            "ρ",
            "η",
            "‖W‖₂",
            "‖W‖∞",
            "‖W‖₁",
            "‖b‖∞",
            "Lip₂",
            "Lip∞"
        )?;
        for l in &self.layers {
            writeln!(
                f,
                "  {:>5} {:>6} {:>6} {:<16} {:>8.4} {:>8.4} {:>8.4} {:>9.4} {:>9.4} {:>9.4} {:>9.4} {:>10.4} {:>10.4}",
                l.layer, l.width, l.fan_in, l.activation, l.gamma, l.rho, l.step, l.w_l2, l.w_inf, l.w_one, l.b_inf, l.lip_l2, l.lip_inf
            )?;
        }
        writeln!(f)?;
        let c = &self.certificate;
        writeln!(
            f,
            "certificate constants {} (ℓ2: {}, ℓ∞: {}); radius limits ℓ2 {}, ℓ∞ {}, internal {}",
            if c.valid {
                "valid"
            } else {
                "INVALID — this model never certifies"
            },
            c.l2_method,
            c.inf_method,
            c.eps_l2_max,
            c.eps_inf_max,
            c.eps_internal_max
        )?;
        writeln!(
            f,
            "  sweep contraction q = {:.4}{}",
            c.contraction,
            if self.forward_deployment {
                " (not used: the sweeps are skipped)"
            } else if c.contraction < 1.0 {
                " < 1: sensitivities and float errors stay bounded in K"
            } else {
                " ≥ 1: not a proven contraction, bounds may grow with K"
            }
        )?;
        writeln!(
            f,
            "  pair constants K_ij   ℓ2 {:.4} … {:.4}   ℓ∞ {:.4} … {:.4}",
            c.pairs_l2.min, c.pairs_l2.max, c.pairs_inf.min, c.pairs_inf.max
        )?;
        for (k, r) in c.pairs_internal.iter().enumerate() {
            writeln!(
                f,
                "  internal z{}           ℓ2 {:.4} … {:.4}",
                k + 1,
                r.min,
                r.max
            )?;
        }
        writeln!(
            f,
            "  a logit margin m certifies (m − float error)·[{:.4} … {:.4}] in ℓ2 and ·[{:.4} … {:.4}] in ℓ∞",
            c.l2_radius_per_unit_margin.min, c.l2_radius_per_unit_margin.max, c.linf_radius_per_unit_margin.min, c.linf_radius_per_unit_margin.max
        )?;
        writeln!(
            f,
            "  float error at the mid-range input: ℓ2 {:.3e}, ℓ∞ {:.3e}",
            c.float_error_l2_at_mid_input, c.float_error_linf_at_mid_input
        )?;
        writeln!(f)?;
        let fl = &self.flash;
        writeln!(f, "flash       {} total", kib(fl.blob))?;
        writeln!(
            f,
            "  weights {}, biases {}, certificate tables {}, header+CRC {}",
            kib(fl.weights),
            kib(fl.biases),
            kib(fl.constants),
            kib(fl.header)
        )?;
        writeln!(
            f,
            "RAM         workspace {} f32 = {} (Workspace::required_bytes), input {}",
            self.ram.workspace_f32,
            kib(self.ram.workspace_bytes),
            kib(self.ram.input_bytes)
        )?;
        if !self.metadata.is_empty() {
            writeln!(f, "metadata    {}", self.metadata)?;
        }
        if let Some(v) = &self.verification {
            write!(f, "{v}")?;
        }
        Ok(())
    }
}
