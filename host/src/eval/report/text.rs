//! The human-readable report (`Display` of [`CertifyReport`]).

use std::fmt;

use super::{CertifyReport, Quantiles, Refusals};

fn pct(x: f64) -> String {
    format!("{:6.2} %", 100.0 * x)
}

fn write_quantiles(
    f: &mut fmt::Formatter<'_>,
    name: &str,
    q: &Quantiles,
    limit: Option<f32>,
) -> fmt::Result {
    write!(
        f,
        "  {name:<6} {:>8.4} {:>8.4} {:>8.4} {:>8.4} {:>8.4} {:>8.4} {:>8.4} {:>8.4}",
        q.mean, q.min, q.p10, q.p25, q.median, q.p75, q.p90, q.max
    )?;
    match limit {
        Some(l) => writeln!(f, " {l:>8}"),
        None => writeln!(f),
    }
}

fn write_refusals(f: &mut fmt::Formatter<'_>, name: &str, r: &Refusals) -> fmt::Result {
    writeln!(
        f,
        "  {name:<6} {:>9} {:>13} {:>8} {:>6} {:>10} {:>9} {:>7} {:>11}",
        r.certified,
        r.certified_misclassified,
        r.margin,
        r.tie,
        r.non_finite,
        r.constants_invalid,
        r.other,
        r.inference_errors
    )
}

impl fmt::Display for CertifyReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let m = &self.model;
        writeln!(
            f,
            "model      {}: {}, {}, init {}, {} K = {}{}",
            self.model_path,
            m.shape(),
            m.family,
            m.init,
            m.schedule,
            m.sweeps,
            if m.constants_valid {
                ""
            } else {
                "  (certificate constants INVALID: nothing certifies)"
            }
        )?;
        writeln!(f, "data       {}, {} samples", self.dataset, self.samples)?;
        writeln!(
            f,
            "clean      {}  ({}/{})",
            pct(self.clean_accuracy),
            self.correct,
            self.samples
        )?;
        writeln!(f)?;
        writeln!(f, "certified accuracy (correctly classified and certified)")?;
        writeln!(
            f,
            "  norm   {:>8} {:>9} {:>10}",
            "ε", "certified", "accuracy"
        )?;
        for (name, r) in [("ℓ2", &self.l2), ("ℓ∞", &self.linf)] {
            for a in &r.certified_accuracy {
                let note = if a.above_limit {
                    format!("  (above the model's limit {})", r.eps_max)
                } else {
                    String::new()
                };
                writeln!(
                    f,
                    "  {name:<6} {:>8} {:>9} {:>10}{note}",
                    a.eps,
                    a.certified,
                    pct(a.certified_accuracy)
                )?;
            }
        }
        writeln!(f)?;
        writeln!(
            f,
            "certified radius per sample (0 if misclassified or refused)"
        )?;
        writeln!(
            f,
            "  {:<6} {:>8} {:>8} {:>8} {:>8} {:>8} {:>8} {:>8} {:>8} {:>8}",
            "norm", "mean", "min", "p10", "p25", "median", "p75", "p90", "max", "limit"
        )?;
        write_quantiles(f, "ℓ2", &self.l2.radius, Some(self.l2.eps_max))?;
        write_quantiles(f, "ℓ∞", &self.linf.radius, Some(self.linf.eps_max))?;
        if self.internal.is_empty() {
            writeln!(
                f,
                "  internal radii: defined for forward-pass deployment only (docs/method.md §8.3)"
            )?;
            if let Some(g) = &self.forward_gap {
                writeln!(
                    f,
                    "  iterative deployment: ‖s_K − s_fwd‖₂ mean {:.4} (max {:.4}), relative to ‖s_K‖₂ \
                     mean {:.2} % (max {:.2} %); same class as the forward pass of the same weights on \
                     {:.2} % of {} samples",
                    g.mean_l2,
                    g.max_l2,
                    100.0 * g.mean_relative,
                    100.0 * g.max_relative,
                    100.0 * g.class_agreement,
                    g.samples
                )?;
            }
        } else {
            writeln!(
                f,
                "hidden-activity radii (ℓ2 perturbation of z_k, later layers forward; limit {})",
                m.eps_internal_max
            )?;
            for r in &self.internal {
                write_quantiles(f, &format!("z{}", r.layer), &r.radius, None)?;
            }
            writeln!(
                f,
                "relative to the activity (radius / ‖z_k(x)‖₂: unchanged by rescaling a layer, \
                 comparable between models)"
            )?;
            for r in &self.internal {
                write_quantiles(f, &format!("z{}/‖z‖", r.layer), &r.relative, None)?;
            }
        }
        writeln!(f)?;
        writeln!(f, "certificates issued and refused (all samples)")?;
        writeln!(
            f,
            "  {:<6} {:>9} {:>13} {:>8} {:>6} {:>10} {:>9} {:>7} {:>11}",
            "norm",
            "certified",
            "wrong class",
            "margin",
            "tie",
            "non-finite",
            "constants",
            "other",
            "infer error"
        )?;
        write_refusals(f, "ℓ2", &self.l2.refusals)?;
        write_refusals(f, "ℓ∞", &self.linf.refusals)?;
        if let Some(s) = &self.self_check {
            writeln!(f)?;
            let attacked: Vec<String> =
                s.attacked.iter().map(|(l, n)| format!("{l} {n}")).collect();
            writeln!(
                f,
                "self-check PGD at {} × the certified radius ({} steps, {} restarts, step {}·ε, {:?} schedule)",
                s.radius_scale, s.pgd.steps, s.pgd.restarts, s.pgd.rel_step, s.pgd.schedule
            )?;
            writeln!(f, "  attacked   {}", attacked.join(", "))?;
            let broken: Vec<String> = s
                .broken_by_target
                .iter()
                .map(|(l, n)| format!("{l} {n}"))
                .collect();
            writeln!(
                f,
                "  broken     {}  (total {})",
                broken.join(", "),
                s.broken
            )?;
            for b in &s.examples {
                writeln!(
                    f,
                    "  BROKEN: sample {} {} radius {} class {} → {:?}",
                    b.sample,
                    b.target.label(),
                    b.radius,
                    b.class,
                    b.adversarial_class
                )?;
            }
        }
        Ok(())
    }
}
