//! Answers with owned data, their comparison with the host's, and the host's own answer.

use std::fmt;

use anyhow::Result;
use lifted_core::{infer_and_certify, ModelView, Workspace};
use lifted_proto::frame::{Answer, ErrorKind, Radius};
use serde::Serialize;

/// An answer with owned vectors (host side of [`Answer`]).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct OwnedAnswer {
    /// Request id.
    pub id: u32,
    /// Predicted class.
    pub class: u16,
    /// Runner-up class.
    pub runner_up: u16,
    /// Logit margin.
    pub margin: f32,
    /// ℓ2 certificate.
    #[serde(serialize_with = "ser_radius")]
    pub l2: Radius,
    /// ℓ∞ certificate.
    #[serde(serialize_with = "ser_radius")]
    pub linf: Radius,
    /// Internal (hidden-layer) ℓ2 radii.
    pub internal: Vec<f32>,
    /// Logits.
    pub logits: Vec<f32>,
}

fn ser_radius<S: serde::Serializer>(r: &Radius, s: S) -> Result<S::Ok, S::Error> {
    use serde::ser::SerializeStruct;
    let mut st = s.serialize_struct("Radius", 4)?;
    st.serialize_field("radius", &r.radius)?;
    st.serialize_field("binding", &r.binding)?;
    st.serialize_field("float_error", &r.float_error)?;
    st.serialize_field("refusal", &format!("{:?}", r.refusal))?;
    st.end()
}

impl From<&Answer<'_>> for OwnedAnswer {
    fn from(a: &Answer<'_>) -> Self {
        OwnedAnswer {
            id: a.id,
            class: a.class,
            runner_up: a.runner_up,
            margin: a.margin,
            l2: a.l2,
            linf: a.linf,
            internal: a.internal.iter().collect(),
            logits: a.logits.iter().collect(),
        }
    }
}

fn bits(v: &[f32]) -> Vec<u32> {
    v.iter().map(|x| x.to_bits()).collect()
}

struct Hex<'a>(&'a [f32]);

impl fmt::Display for Hex<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, v) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str(" ")?;
            }
            write!(f, "{:#010x}", v.to_bits())?;
        }
        Ok(())
    }
}

fn radius_text(r: &Radius) -> String {
    format!(
        "{:#010x} ({:.4}) by {} err {:#010x} {:?}",
        r.radius.to_bits(),
        r.radius,
        r.binding,
        r.float_error.to_bits(),
        r.refusal
    )
}

impl OwnedAnswer {
    /// The fields whose bits differ from `other`'s, as `(name, self, other)` texts.
    #[must_use]
    pub fn diff(&self, other: &OwnedAnswer) -> Vec<(String, String, String)> {
        let mut d = Vec::new();
        let mut field = |name: &str, same: bool, a: String, b: String| {
            if !same {
                d.push((name.to_owned(), a, b));
            }
        };
        field(
            "id",
            self.id == other.id,
            self.id.to_string(),
            other.id.to_string(),
        );
        field(
            "class",
            self.class == other.class,
            self.class.to_string(),
            other.class.to_string(),
        );
        field(
            "runner_up",
            self.runner_up == other.runner_up,
            self.runner_up.to_string(),
            other.runner_up.to_string(),
        );
        field(
            "margin",
            self.margin.to_bits() == other.margin.to_bits(),
            format!("{:#010x} ({})", self.margin.to_bits(), self.margin),
            format!("{:#010x} ({})", other.margin.to_bits(), other.margin),
        );
        let same_radius = |a: &Radius, b: &Radius| {
            a.radius.to_bits() == b.radius.to_bits()
                && a.binding == b.binding
                && a.float_error.to_bits() == b.float_error.to_bits()
                && a.refusal == b.refusal
        };
        field(
            "l2",
            same_radius(&self.l2, &other.l2),
            radius_text(&self.l2),
            radius_text(&other.l2),
        );
        field(
            "linf",
            same_radius(&self.linf, &other.linf),
            radius_text(&self.linf),
            radius_text(&other.linf),
        );
        field(
            "internal",
            bits(&self.internal) == bits(&other.internal),
            Hex(&self.internal).to_string(),
            Hex(&other.internal).to_string(),
        );
        field(
            "logits",
            bits(&self.logits) == bits(&other.logits),
            Hex(&self.logits).to_string(),
            Hex(&other.logits).to_string(),
        );
        d
    }
}

/// The host's own answer for input `x` (what the device must send, bit for bit), or the error
/// kind the device must report.
///
/// # Errors
/// Never for a valid model; the `Err` is the expected device error.
pub fn host_answer(model: &ModelView<'_>, id: u32, x: &[f32]) -> Result<OwnedAnswer, ErrorKind> {
    let mut buf = vec![0.0f32; Workspace::required(model)];
    let mut ws = Workspace::new(&mut buf);
    let c = infer_and_certify(model, x, &mut ws).map_err(lifted_proto::server::input_error)?;
    let mut lb = vec![0u8; 4 * c.outcome.logits.len()];
    let mut ib = vec![0u8; 4 * c.l2.internal.len()];
    let a = Answer::new(id, &c.outcome, &c.l2, &c.linf, &mut lb, &mut ib);
    Ok(OwnedAnswer::from(&a))
}
