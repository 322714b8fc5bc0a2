//! The result tables: per data set × N_train, mean ± std over the finished seeds of every row
//! (`tables.md` and the groups of `report.json`).

use std::collections::BTreeSet;
use std::fmt::Write as _;

use super::figures::diverged_rows;
use super::load::Loaded;
use super::{GroupStats, ReportJson, RowStats, RunState, RunStatus, Stat};
use crate::data::DatasetKind;
use crate::experiment::{Experiment, RunSummary};
use crate::plot::axes::DIVERGED_FACTOR;

/// Shown in a table cell without a value.
const MISSING: &str = "—";

/// 0 for PGD columns, 1 for certified ones, 2 for anything else (the table order).
pub(super) fn column_class(c: &str) -> u8 {
    if c.starts_with("pgd_") {
        0
    } else if c.starts_with("cert_") {
        1
    } else {
        2
    }
}

/// The table's measurement columns: those of the experiment's final measurement, then any other
/// column a summary holds (sorted), grouped PGD, certified, other.
pub(super) fn table_columns<'a>(
    spec: Vec<String>,
    summaries: impl Iterator<Item = &'a RunSummary>,
) -> Vec<String> {
    let mut cols = spec;
    let extra: BTreeSet<&String> = summaries.flat_map(|s| s.final_.keys()).collect();
    for c in extra {
        if !cols.contains(c) {
            cols.push(c.clone());
        }
    }
    cols.sort_by_key(|c| column_class(c));
    cols
}

pub(super) fn aggregate(exp: &Experiment, loaded: &[Loaded]) -> Vec<GroupStats> {
    let mut groups = Vec::new();
    for &ds in &exp.datasets {
        for &n in &exp.n_train {
            let in_group = || {
                loaded
                    .iter()
                    .filter(move |l| l.job.dataset == ds && l.job.n_train == n)
            };
            let done = || in_group().filter_map(|l| l.summary.as_ref());
            let columns = table_columns(exp.final_.columns(ds.name()), done());
            let final_samples: BTreeSet<usize> = done().map(|s| s.final_samples).collect();
            let final_pgd: BTreeSet<(usize, usize)> = done().map(|s| s.final_pgd).collect();
            let lip_diverged = diverged_rows(exp, loaded, ds, n);
            let rows = exp
                .rows
                .iter()
                .map(|row| {
                    let runs: Vec<&Loaded> = in_group().filter(|l| l.job.row == row.id).collect();
                    let sums: Vec<&RunSummary> =
                        runs.iter().filter_map(|l| l.summary.as_ref()).collect();
                    let stat = |f: &dyn Fn(&RunSummary) -> f64| Stat::of(sums.iter().map(|s| f(s)));
                    let final_ = columns
                        .iter()
                        .filter_map(|c| {
                            Stat::of(sums.iter().filter_map(|s| s.final_.get(c).copied()))
                                .map(|st| (c.clone(), st))
                        })
                        .collect();
                    RowStats {
                        row: row.id.clone(),
                        label: row.label.clone(),
                        seeds: runs.len(),
                        finished: sums.len(),
                        partial: runs
                            .iter()
                            .filter(|l| l.state() == RunState::Partial)
                            .count(),
                        best_epoch: stat(&|s| s.best_epoch as f64),
                        val_acc: stat(&|s| s.val_acc),
                        test_acc: stat(&|s| s.test_acc),
                        final_,
                        lip_estimate: stat(&|s| s.lip_estimate),
                        lip_bound: stat(&|s| s.lip_bound),
                        cert_pair_l2_max: stat(&|s| s.cert_pair_l2_max),
                        seconds_per_epoch: stat(&|s| s.seconds_per_epoch),
                        diverged: sums.iter().filter(|s| s.diverged.is_some()).count(),
                        lip_diverged: lip_diverged.contains(&row.id),
                        soundness_violations: sums.iter().map(|s| s.soundness_violations).sum(),
                    }
                })
                .collect();
            groups.push(GroupStats {
                dataset: ds.name().to_owned(),
                n_train: n,
                columns,
                final_samples: final_samples.into_iter().collect(),
                final_pgd: final_pgd.into_iter().collect(),
                rows,
            });
        }
    }
    groups
}

pub(super) fn pretty_name(ds: DatasetKind) -> &'static str {
    match ds {
        DatasetKind::Digits => "digits",
        DatasetKind::Mnist => "MNIST",
        DatasetKind::FashionMnist => "Fashion-MNIST",
    }
}

/// `pgd_linf_0.1` → `PGD ℓ∞ 0.1`; an unknown column stays as it is.
pub(super) fn column_title(c: &str) -> String {
    for (prefix, title) in [
        ("pgd_linf_", "PGD ℓ∞"),
        ("pgd_l2_", "PGD ℓ2"),
        ("cert_linf_", "cert. ℓ∞"),
        ("cert_l2_", "cert. ℓ2"),
    ] {
        if let Some(eps) = c.strip_prefix(prefix) {
            return format!("{title} {eps}");
        }
    }
    c.to_owned()
}

/// A fraction as a percentage with 2 decimals, `± std` from two seeds on, `(n=k)` when fewer
/// than `finished` seeds have the value; `—` for none.
pub(super) fn pct(s: Option<&Stat>, finished: usize) -> String {
    let Some(s) = s else {
        return MISSING.to_owned();
    };
    let mut t = format!("{:.2}", 100.0 * s.mean);
    if let Some(sd) = s.std {
        let _ = write!(t, " ± {:.2}", 100.0 * sd);
    }
    if s.n < finished {
        let _ = write!(t, " (n={})", s.n);
    }
    t
}

/// About four significant digits, scientific above 10⁵.
pub(super) fn num(x: f64) -> String {
    let a = x.abs();
    if a >= 1e5 {
        format!("{x:.3e}")
    } else if a >= 100.0 {
        format!("{x:.1}")
    } else if a >= 10.0 {
        format!("{x:.2}")
    } else {
        format!("{x:.3}")
    }
}

pub(super) fn mean_cell(s: Option<&Stat>) -> String {
    s.map_or_else(|| MISSING.to_owned(), |s| num(s.mean))
}

pub(super) fn md_escape(s: &str) -> String {
    s.replace('|', "\\|")
}

/// The markdown table of one group (header, alignment row, one line per experiment row).
pub(super) fn group_table(g: &GroupStats) -> String {
    let mut s = String::from("| row | seeds done | clean test acc (%)");
    for c in &g.columns {
        let _ = write!(s, " | {} (%)", column_title(c));
    }
    s.push_str(" | sound Lipschitz bound | s/epoch |\n|---|---:|---:");
    for _ in &g.columns {
        s.push_str("|---:");
    }
    s.push_str("|---:|---:|\n");
    for r in &g.rows {
        let mut seeds = format!("{}/{}", r.finished, r.seeds);
        if r.partial > 0 {
            let _ = write!(seeds, " +{} partial", r.partial);
        }
        let mark = if r.lip_diverged { " †" } else { "" };
        let _ = write!(
            s,
            "| {}{mark} | {seeds} | {}",
            md_escape(&r.label),
            pct(r.test_acc.as_ref(), r.finished)
        );
        for c in &g.columns {
            let _ = write!(s, " | {}", pct(r.final_.get(c), r.finished));
        }
        let _ = writeln!(
            s,
            " | {} | {} |",
            mean_cell(r.lip_bound.as_ref()),
            mean_cell(r.seconds_per_epoch.as_ref())
        );
    }
    s
}

/// `tables.md`: soundness violations first, then one table per data set × training size with
/// notes on the measurement and on unfinished or diverged runs.
pub(super) fn tables_md(r: &ReportJson) -> String {
    let mut s = format!("# Experiment `{}`: results\n\n", r.experiment);
    if !r.description.trim().is_empty() {
        let _ = writeln!(s, "{}\n", r.description.trim());
    }
    let count = |st: RunState| r.runs.iter().filter(|x| x.state == st).count();
    let _ = writeln!(
        s,
        "{} of {} runs finished ({} partial, {} not started). Written by `lifted experiment \
         report`; figures: `figure1-<dataset>.png`, `robust-<dataset>.png`.\n",
        count(RunState::Finished),
        r.runs.len(),
        count(RunState::Partial),
        count(RunState::Missing)
    );
    let bad: Vec<&RunStatus> = r
        .runs
        .iter()
        .filter(|x| x.soundness_violations > 0)
        .collect();
    if !bad.is_empty() {
        s.push_str(
            "> **⚠ SOUNDNESS VIOLATIONS.** Test samples certified at ε and broken by PGD at ε \
             (docs/method.md §7.6): a bug in the certificate or the attack, never a statistic.\n>\n",
        );
        for b in &bad {
            let _ = writeln!(
                s,
                "> - **`{}`: {} sample(s)**",
                b.id, b.soundness_violations
            );
        }
        s.push('\n');
    }
    s.push_str(
        "Accuracies are at the validation-selected epoch (best val_acc, ties to the earlier \
         epoch), in %, mean ± sample standard deviation over the finished seeds (± from two \
         seeds on; `(n=k)`: only k seeds have the column). The Lipschitz bound is the sound \
         Π σ̄_k at that epoch, mean over seeds. `—`: no finished seed.\n",
    );
    for g in &r.groups {
        let pretty = DatasetKind::ALL
            .iter()
            .find(|k| k.name() == g.dataset)
            .map_or(g.dataset.as_str(), |&k| pretty_name(k));
        let _ = writeln!(s, "\n## {pretty}, N_train = {}\n", g.n_train);
        s.push_str(&group_table(g));
        if !g.final_samples.is_empty() {
            let samples: Vec<String> = g.final_samples.iter().map(|n| n.to_string()).collect();
            let pgd: Vec<String> = g
                .final_pgd
                .iter()
                .map(|(st, re)| format!("{st} steps × {re} restarts"))
                .collect();
            let _ = writeln!(
                s,
                "\nFinal measurement: {} test samples; PGD {}.",
                samples.join(" / "),
                pgd.join(" / ")
            );
        }
        if g.rows.iter().any(|x| x.lip_diverged) {
            let _ = writeln!(
                s,
                "\n† Diverged: the row's last logged ‖W_{{L−1}}⋯W_0‖₂ (mean over its seeds) is more \
                 than {DIVERGED_FACTOR}× the (lower) median of this table's rows, or not finite. Kept here; \
                 drawn in a Lipschitz panel of their own in Figure 1."
            );
        }
        let runs = r
            .runs
            .iter()
            .filter(|x| x.dataset == g.dataset && x.n_train == g.n_train);
        let open: Vec<String> = runs
            .clone()
            .filter_map(|x| match (x.state, x.last_epoch) {
                (RunState::Finished, _) => None,
                (_, Some(e)) => Some(format!("`{}` (logged to epoch {e} of {})", x.id, x.epochs)),
                (_, None) => Some(format!("`{}` (not started)", x.id)),
            })
            .collect();
        if !open.is_empty() {
            let _ = writeln!(s, "\nNot finished: {}.", open.join(", "));
        }
        let diverged: Vec<String> = runs
            .filter_map(|x| x.diverged.as_ref().map(|d| format!("`{}` ({d})", x.id)))
            .collect();
        if !diverged.is_empty() {
            let _ = writeln!(s, "\nDiverged: {}.", diverged.join(", "));
        }
    }
    s
}
