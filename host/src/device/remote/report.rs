//! Streaming a data set through a [`Session`] and the report of the agreement with the host.

use std::fmt;
use std::time::Instant;

use anyhow::{bail, ensure, Context, Result};
use lifted_core::ModelView;
use lifted_proto::frame::{self, Radius, Ready, Refusal, Request};
use serde::Serialize;

use super::{host_answer, Reply, Session, Transport};
use crate::data::Dataset;

/// Certified accuracy at one radius.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct AtRadius {
    /// The radius ε.
    pub eps: f32,
    /// Fraction of the inputs classified correctly with a certified radius ≥ ε.
    pub accuracy: f64,
}

/// One input whose device answer differs from the host's.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Mismatch {
    /// Index in the streamed data set.
    pub index: usize,
    /// `(field, device, host)` for every differing field.
    pub fields: Vec<(String, String, String)>,
}

/// The result of streaming a data set.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Report {
    /// The port.
    pub port: String,
    /// The model's dimensions, e.g. `64-32-10`.
    pub model: String,
    /// CRC-32 of the model (device and host agree).
    pub model_crc: String,
    /// Data set and split, e.g. `digits:test`.
    pub dataset: String,
    /// Inputs sent.
    pub inputs: usize,
    /// Answers received (the rest were error frames).
    pub answered: usize,
    /// Error frames received.
    pub device_errors: usize,
    /// Device predictions equal to the label, over all inputs.
    pub accuracy: f64,
    /// Certified accuracy in ℓ2 at each `--cert-l2`.
    pub certified_l2: Vec<AtRadius>,
    /// Certified accuracy in ℓ∞ at each `--cert-linf`.
    pub certified_linf: Vec<AtRadius>,
    /// Inputs whose answer differs from the host's in any bit (or error vs answer).
    pub mismatches: usize,
    /// The first `--show` mismatches.
    pub first_mismatches: Vec<Mismatch>,
    /// Wall-clock seconds of the streaming.
    pub seconds: f64,
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "remote {}: model {} (crc {}), {} — {} inputs, {} answers, {} device errors in {:.1} s ({:.0} inputs/s)",
            self.port,
            self.model,
            self.model_crc,
            self.dataset,
            self.inputs,
            self.answered,
            self.device_errors,
            self.seconds,
            self.inputs as f64 / self.seconds.max(1e-9)
        )?;
        writeln!(f, "accuracy          {:.4}", self.accuracy)?;
        let row = |f: &mut fmt::Formatter<'_>, name: &str, v: &[AtRadius]| {
            write!(f, "certified {name:<7}")?;
            for a in v {
                write!(f, "  ε={} {:.4}", a.eps, a.accuracy)?;
            }
            writeln!(f)
        };
        row(f, "ℓ2", &self.certified_l2)?;
        row(f, "ℓ∞", &self.certified_linf)?;
        for m in &self.first_mismatches {
            writeln!(f, "mismatch at input {}:", m.index)?;
            for (name, dev, host) in &m.fields {
                writeln!(f, "  {name:<9} device {dev}")?;
                writeln!(f, "  {:<9} host   {host}", "")?;
            }
        }
        write!(
            f,
            "remote: {} mismatches (device vs host, bit for bit) in {} inputs",
            self.mismatches, self.inputs
        )
    }
}

/// Options of [`stream`].
#[derive(Debug, Clone, PartialEq)]
pub struct StreamOptions {
    /// ℓ2 radii for certified accuracy.
    pub eps_l2: Vec<f32>,
    /// ℓ∞ radii for certified accuracy.
    pub eps_linf: Vec<f32>,
    /// How many mismatches to keep in full.
    pub show: usize,
}

impl Default for StreamOptions {
    fn default() -> Self {
        StreamOptions {
            eps_l2: vec![0.1, 0.3, 0.5, 1.0],
            eps_linf: vec![0.01, 0.03, 0.05],
            show: 10,
        }
    }
}

/// The model's dimensions as `n0-n1-…-nL`.
#[must_use]
pub fn dims(model: &ModelView<'_>) -> String {
    let mut s = model.input_dim().to_string();
    for k in 1..=model.layers() {
        s.push_str(&format!("-{}", model.width(k)));
    }
    s
}

/// Checks that the device runs the model of `blob` (length and stored CRC-32, [`ModelView::crc`]).
///
/// # Errors
/// The device reports another model; the message names both and the fix.
pub fn check_model(ready: &Ready, blob: &[u8], model: &ModelView<'_>, path: &str) -> Result<()> {
    let crc = model.crc();
    ensure!(
        ready.model_len as usize == blob.len() && ready.model_crc == crc,
        "the device runs another model ({} bytes, crc {:#010x}) than {path} ({} bytes, crc {crc:#010x}) \
         — pass the blob the firmware was built with (LIFTED_MODEL) as --model, or rebuild the \
         firmware with LIFTED_MODEL={path}",
        ready.model_len,
        ready.model_crc,
        blob.len()
    );
    Ok(())
}

/// Streams every sample of `data` to the device, one request at a time, and compares each answer
/// with [`host_answer`].
///
/// # Errors
/// A link failure, a timeout, a device reset (unsolicited `Ready`) or an answer to another
/// request.
pub fn stream<L: Transport>(
    session: &mut Session<L>,
    model: &ModelView<'_>,
    data: &Dataset,
    opts: &StreamOptions,
) -> Result<Report> {
    let start = Instant::now();
    let mut answered = 0usize;
    let mut device_errors = 0usize;
    let mut mismatches = 0usize;
    let mut first = Vec::new();
    let mut correct = 0usize;
    let mut cert_l2 = vec![0usize; opts.eps_l2.len()];
    let mut cert_linf = vec![0usize; opts.eps_linf.len()];
    let mut bytes = Vec::new();
    for (index, (x, label)) in data.iter().enumerate() {
        let id = u32::try_from(index).context("more than 2^32 inputs")?;
        bytes.clear();
        for v in x {
            bytes.extend_from_slice(&v.to_le_bytes());
        }
        session.send(&Request::Infer {
            id,
            input: frame::F32s::from_le_bytes(&bytes),
        })?;
        let reply = session
            .recv()
            .with_context(|| format!("waiting for the answer to input {index}"))?;
        let host = host_answer(model, id, x);
        let fields = match (&reply, &host) {
            (Reply::Answer(dev), Ok(want)) => {
                answered += 1;
                if usize::from(dev.class) == usize::from(label) {
                    correct += 1;
                    let ok = |r: &Radius, eps: f32| r.refusal == Refusal::None && eps <= r.radius;
                    for (n, &eps) in cert_l2.iter_mut().zip(&opts.eps_l2) {
                        *n += usize::from(ok(&dev.l2, eps));
                    }
                    for (n, &eps) in cert_linf.iter_mut().zip(&opts.eps_linf) {
                        *n += usize::from(ok(&dev.linf, eps));
                    }
                }
                dev.diff(want)
            }
            (Reply::Error(e), want) => {
                device_errors += 1;
                ensure!(
                    e.id.is_none() || e.id == Some(id),
                    "the device answered request {:?} while {id} was expected",
                    e.id
                );
                match want {
                    Err(k) if e.id == Some(id) && e.kind == *k => Vec::new(),
                    Err(k) => vec![("error".into(), format!("{e:?}"), format!("{k:?}"))],
                    Ok(a) => vec![(
                        "answer".into(),
                        format!("error {}", e.kind),
                        format!("class {} margin {}", a.class, a.margin),
                    )],
                }
            }
            (Reply::Answer(dev), Err(k)) => {
                answered += 1;
                vec![(
                    "answer".into(),
                    format!("class {} margin {}", dev.class, dev.margin),
                    format!("error {k}"),
                )]
            }
            (Reply::Ready(_), _) => {
                bail!("the device was reset while processing input {index} (unsolicited Ready)")
            }
        };
        if let Reply::Answer(dev) = &reply {
            ensure!(
                dev.id == id,
                "the device answered request {} while {id} was expected",
                dev.id
            );
        }
        if !fields.is_empty() {
            mismatches += 1;
            if first.len() < opts.show {
                first.push(Mismatch { index, fields });
            }
        }
    }
    let n = data.len().max(1) as f64;
    let at = |eps: &[f32], counts: &[usize]| -> Vec<AtRadius> {
        eps.iter()
            .zip(counts)
            .map(|(&eps, &c)| AtRadius {
                eps,
                accuracy: c as f64 / n,
            })
            .collect()
    };
    Ok(Report {
        port: String::new(),
        model: dims(model),
        model_crc: format!("{:#010x}", session.ready.model_crc),
        dataset: data.name.clone(),
        inputs: data.len(),
        answered,
        device_errors,
        accuracy: correct as f64 / n,
        certified_l2: at(&opts.eps_l2, &cert_l2),
        certified_linf: at(&opts.eps_linf, &cert_linf),
        mismatches,
        first_mismatches: first,
        seconds: start.elapsed().as_secs_f64(),
    })
}
