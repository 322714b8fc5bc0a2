//! Unit tests of the report: loading, aggregation, tables and figures on a hand-written grid.

use std::collections::BTreeMap;
use std::fs;
use std::path::Path;

use super::figures::{mean_line, stats_by_epoch};
use super::tables::{column_class, column_title, group_table, num, pct, table_columns};
use super::*;
use crate::experiment::{Job, RunSummary};
use crate::tol::Tol;
use crate::train::EpochRecord;

const GRID: &str = r#"
name = "tiny"
datasets = ["digits"]
n_train = [200, 400]
[base]
epochs = 3
widths = [16, 10]
[[row]]
id = "bp"
label = "BP | baseline"
objective = "bp"
seeds = [0, 1]
[[row]]
id = "arovr"
objective = "arovr"
"#;

const TOL: Tol = Tol::AbsRel {
    atol: 1e-12,
    rtol: 1e-12,
};

fn experiment(results: &Path) -> Experiment {
    let mut e = Experiment::parse(GRID).unwrap();
    e.results = results.to_path_buf();
    e
}

fn job(e: &Experiment, id: &str) -> Job {
    e.jobs().unwrap().into_iter().find(|j| j.id == id).unwrap()
}

fn record(epoch: usize, acc: f64, robust: bool) -> EpochRecord {
    let mut r = BTreeMap::new();
    if robust {
        r.insert("cert_l2_0.3".to_owned(), acc / 2.0);
        r.insert("pgd_linf_0.1".to_owned(), acc / 3.0);
    }
    EpochRecord {
        epoch,
        train_loss: 1.0 / (1.0 + epoch as f64),
        train_acc: acc,
        val_acc: acc,
        test_acc: acc - 0.01,
        lip_estimate: 2.0 + epoch as f64,
        lip_bound: 10.0 * (1.0 + epoch as f64),
        seconds: 0.5,
        mu_lower: None,
        gamma: vec![1.0, 1.0],
        robust: r,
    }
}

fn write_log(e: &Experiment, id: &str, recs: &[EpochRecord]) {
    let dir = e.run_dir(&job(e, id));
    fs::create_dir_all(&dir).unwrap();
    let text: String = recs
        .iter()
        .map(|r| serde_json::to_string(r).unwrap() + "\n")
        .collect();
    fs::write(dir.join("log.jsonl"), text).unwrap();
}

fn summary(e: &Experiment, id: &str, test_acc: f64, violations: usize) -> RunSummary {
    let j = job(e, id);
    RunSummary {
        version: super::super::summary::SUMMARY_VERSION,
        id: j.id.clone(),
        row: j.row.clone(),
        dataset: j.dataset.name().to_owned(),
        n_train: j.n_train,
        seed: j.seed,
        config: j.config.clone(),
        best_epoch: 2,
        val_acc: test_acc + 0.01,
        test_acc,
        lip_estimate: 4.0,
        lip_bound: 30.0,
        cert_pair_l2_max: 5.0,
        seconds_per_epoch: 0.5,
        epochs: 3,
        diverged: None,
        final_samples: 360,
        final_pgd: (40, 10),
        final_: BTreeMap::from([
            ("pgd_linf_0.1".to_owned(), test_acc / 3.0),
            ("pgd_l2_1".to_owned(), test_acc / 4.0),
            ("cert_l2_0.1".to_owned(), test_acc / 2.0),
            ("cert_l2_0.3".to_owned(), test_acc / 5.0),
            ("cert_l2_0.5".to_owned(), test_acc / 6.0),
            ("cert_linf_0.01".to_owned(), test_acc / 7.0),
        ]),
        radius_quantiles: BTreeMap::new(),
        soundness_violations: violations,
        settings: None,
    }
}

fn write_summary(e: &Experiment, id: &str, test_acc: f64, violations: usize) {
    let s = summary(e, id, test_acc, violations);
    let dir = e.run_dir(&job(e, id));
    fs::create_dir_all(&dir).unwrap();
    fs::write(dir.join("summary.json"), serde_json::to_string(&s).unwrap()).unwrap();
}

fn assert_png(path: &Path) {
    let bytes = fs::read(path).unwrap();
    assert!(
        bytes.len() > 1000,
        "{} is {} bytes",
        path.display(),
        bytes.len()
    );
    assert_eq!(&bytes[..8], b"\x89PNG\r\n\x1a\n", "{}", path.display());
}

#[test]
fn stat_is_mean_and_sample_std() {
    let s = Stat::of([0.90, 0.92, 0.94]).unwrap();
    assert_eq!(s.n, 3);
    assert!(TOL.close(s.mean, 0.92), "{s:?}");
    assert!(TOL.close(s.std.unwrap(), 0.02), "{s:?}");
    let one = Stat::of([0.5, f64::NAN]).unwrap();
    assert_eq!(
        one,
        Stat {
            mean: 0.5,
            std: None,
            n: 1
        }
    );
    assert_eq!(Stat::of([f64::INFINITY]), None);
    assert_eq!(Stat::of(Vec::new()), None);
}

#[test]
fn cells_and_column_titles() {
    let two = Stat::of([0.9812, 0.9832]).unwrap();
    assert_eq!(pct(Some(&two), 2), "98.22 ± 0.14");
    let one = Stat::of([0.5]).unwrap();
    assert_eq!(pct(Some(&one), 1), "50.00");
    assert_eq!(pct(Some(&one), 3), "50.00 (n=1)");
    assert_eq!(pct(None, 3), "—");
    assert_eq!(num(12.3456), "12.35");
    assert_eq!(num(1234.56), "1234.6");
    assert_eq!(num(2.0), "2.000");
    assert_eq!(num(1.5e6), "1.500e6");
    assert_eq!(column_title("pgd_linf_0.1"), "PGD ℓ∞ 0.1");
    assert_eq!(column_title("pgd_l2_1"), "PGD ℓ2 1");
    assert_eq!(column_title("cert_linf_0.01"), "cert. ℓ∞ 0.01");
    assert_eq!(column_title("cert_l2_0.3"), "cert. ℓ2 0.3");
    assert_eq!(column_title("other"), "other");
}

#[test]
fn table_lists_rows_with_std_from_two_seeds() {
    let st = |v: &[f64]| Stat::of(v.iter().copied());
    let g = GroupStats {
        dataset: "digits".into(),
        n_train: 200,
        columns: vec!["pgd_linf_0.1".into(), "cert_l2_0.3".into()],
        final_samples: vec![360],
        final_pgd: vec![(40, 10)],
        rows: vec![
            RowStats {
                row: "bp".into(),
                label: "BP | baseline".into(),
                seeds: 3,
                finished: 2,
                partial: 1,
                best_epoch: st(&[2.0, 3.0]),
                val_acc: st(&[0.9, 0.92]),
                test_acc: st(&[0.9, 0.92]),
                final_: BTreeMap::from([("pgd_linf_0.1".to_owned(), st(&[0.5]).unwrap())]),
                lip_estimate: st(&[4.0, 4.0]),
                lip_bound: st(&[30.0, 32.0]),
                cert_pair_l2_max: st(&[5.0, 5.0]),
                seconds_per_epoch: st(&[0.5, 0.7]),
                diverged: 0,
                lip_diverged: false,
                soundness_violations: 0,
            },
            RowStats {
                row: "arovr".into(),
                label: "arovr".into(),
                seeds: 1,
                finished: 0,
                partial: 0,
                best_epoch: None,
                val_acc: None,
                test_acc: None,
                final_: BTreeMap::new(),
                lip_estimate: None,
                lip_bound: None,
                cert_pair_l2_max: None,
                seconds_per_epoch: None,
                diverged: 0,
                lip_diverged: false,
                soundness_violations: 0,
            },
        ],
    };
    assert_eq!(
        group_table(&g),
        "| row | seeds done | clean test acc (%) | PGD ℓ∞ 0.1 (%) | cert. ℓ2 0.3 (%) \
         | sound Lipschitz bound | s/epoch |\n\
         |---|---:|---:|---:|---:|---:|---:|\n\
         | BP \\| baseline | 2/3 +1 partial | 91.00 ± 1.41 | 50.00 (n=1) | — | 31.00 | 0.600 |\n\
         | arovr | 0/1 | — | — | — | — | — |\n"
    );
}

#[test]
fn columns_follow_the_spec_then_extras_grouped() {
    let e = experiment(Path::new("unused"));
    let mut s = summary(&e, "digits-200/bp-s0", 0.8, 0);
    s.final_.insert("cert_l2_1".to_owned(), 0.1);
    s.final_.insert("internal_r1".to_owned(), 0.2);
    s.final_.insert("pgd_l2_1.5".to_owned(), 0.3);
    let spec = vec!["pgd_linf_0.1".to_owned(), "cert_l2_0.3".to_owned()];
    assert_eq!(
        table_columns(spec, std::iter::once(&s)),
        [
            "pgd_linf_0.1",
            "pgd_l2_1",
            "pgd_l2_1.5",
            "cert_l2_0.3",
            "cert_l2_0.1",
            "cert_l2_0.5",
            "cert_l2_1",
            "cert_linf_0.01",
            "internal_r1"
        ]
    );
    assert_eq!(column_class("pgd_l2_1.5"), 0);
    assert_eq!(column_class("cert_l2_1"), 1);
    assert_eq!(column_class("x"), 2);
}

#[test]
fn curves_are_mean_and_std_over_the_seeds_present_at_each_epoch() {
    let a = [record(0, 0.5, false), record(1, 0.7, false)];
    let b = [record(0, 0.7, false)];
    let c = [record(0, 0.9, false), record(1, f64::NAN, false)];
    let epochs = [0, 1, 2].into_iter().collect();
    let s = stats_by_epoch(&epochs, &[&a, &b, &c], &|r| Some(r.val_acc));
    // Epoch 0: three seeds, mean 0.7, sample std 0.2; epoch 1: the NaN is left out; epoch 2: none.
    let s0 = s[0].unwrap();
    assert_eq!(s0.n, 3);
    assert!(
        TOL.close(s0.mean, 0.7) && TOL.close(s0.std.unwrap(), 0.2),
        "{s0:?}"
    );
    assert_eq!((s[1].unwrap().n, s[1].unwrap().std), (1, None));
    assert!(TOL.close(s[1].unwrap().mean, 0.7));
    assert!(s[2].is_none());
    let l = mean_line(&epochs, &[&a, &b], &|r| Some(r.val_acc), true);
    assert_eq!(l.x, [0.0, 1.0, 2.0]);
    assert!(TOL.close(l.mean[0], 0.6) && TOL.close(l.mean[1], 0.7) && l.mean[2].is_nan());
    // Two seeds at epoch 0 give a std (√0.02), one seed at epoch 1 none.
    assert!(TOL.close(l.std[0], 0.02f64.sqrt()), "{l:?}");
    assert!(l.std[1].is_nan() && l.dashed);
    let r = mean_line(
        &epochs,
        &[&a],
        &|r| r.robust.get("cert_l2_0.3").copied(),
        false,
    );
    assert!(r.mean.iter().all(|v| v.is_nan()));
}

#[test]
fn a_row_whose_weights_blow_up_is_marked_diverged() {
    let tmp = tempfile::tempdir().unwrap();
    let e = experiment(tmp.path());
    let normal: Vec<EpochRecord> = (0..=3).map(|k| record(k, 0.8, false)).collect();
    let mut blown = normal.clone();
    blown[3].lip_estimate = 1e6;
    write_log(&e, "digits-200/bp-s0", &normal);
    write_log(&e, "digits-200/bp-s1", &normal);
    write_log(&e, "digits-200/arovr-s0", &blown);
    write_log(&e, "digits-400/bp-s0", &normal);
    write_log(&e, "digits-400/arovr-s0", &normal);
    let loaded: Vec<Loaded> = e
        .jobs()
        .unwrap()
        .into_iter()
        .map(|j| {
            let dir = e.run_dir(&j);
            load_run(j, &dir, &mut Vec::new())
        })
        .collect();
    let d = super::figures::diverged_rows(&e, &loaded, crate::data::DatasetKind::Digits, 200);
    assert_eq!(d.into_iter().collect::<Vec<_>>(), ["arovr"]);
    assert!(
        super::figures::diverged_rows(&e, &loaded, crate::data::DatasetKind::Digits, 400)
            .is_empty()
    );
    // Figure 1: the diverged row's Lipschitz curves get a panel of their own at N_train = 200, on
    // an axis fitted to them; the main Lipschitz panel holds the other rows only.
    let panels = super::figures::figure1_panels(&e, &loaded, crate::data::DatasetKind::Digits);
    let labels = |p: &crate::plot::panel::Panel| -> Vec<String> {
        p.rows.iter().map(|r| r.label.clone()).collect()
    };
    assert_eq!(
        panels[0].len(),
        3,
        "N_train = 200: Lipschitz, accuracy, diverged"
    );
    assert_eq!(panels[1].len(), 2, "N_train = 400: nothing diverged");
    let (main, acc, gone) = (&panels[0][0], &panels[0][1], &panels[0][2]);
    assert!(!labels(main)
        .iter()
        .any(|l| l.contains("arovr") || l.contains("AROVR")));
    assert_eq!(labels(gone).len(), 1);
    assert!(gone.rows[0].diverged && gone.fit_diverged && !main.fit_diverged);
    assert_eq!(
        acc.rows.len(),
        main.rows.len() + 1,
        "accuracy keeps every row"
    );
    // The tables keep the row and mark it.
    for id in [
        "digits-200/bp-s0",
        "digits-200/bp-s1",
        "digits-200/arovr-s0",
    ] {
        write_summary(&e, id, 0.8, 0);
    }
    let out = tmp.path().join("report");
    report(&e, &out).unwrap();
    let md = fs::read_to_string(out.join("tables.md")).unwrap();
    assert!(md.contains("| arovr † | 1/1 |"), "{md}");
    assert!(md.contains("| BP \\| baseline | 2/2 |"), "{md}");
    assert_eq!(md.matches("† Diverged").count(), 1, "{md}");
    assert_png(&out.join("figure1-digits.png"));
}

#[test]
fn report_handles_finished_partial_and_missing_runs() {
    let tmp = tempfile::tempdir().unwrap();
    let e = experiment(tmp.path());
    let full: Vec<EpochRecord> = (0..=3)
        .map(|k| record(k, 0.5 + 0.1 * k as f64, true))
        .collect();
    write_log(&e, "digits-200/bp-s0", &full);
    write_summary(&e, "digits-200/bp-s0", 0.8, 0);
    write_log(&e, "digits-200/bp-s1", &full[..2]);
    fs::write(
        e.results.join("strong.csv"),
        "id,row,dataset,n_train,seed,strong_samples,strong_restarts,internal_rel_z1_0.05\n\
         digits-200/bp-s0,bp,digits,200,0,100,2,0.7\n",
    )
    .unwrap();
    let out = tmp.path().join("report");
    let o = report(&e, &out).unwrap();
    assert_eq!((o.runs, o.finished, o.partial, o.missing), (6, 1, 1, 4));
    assert_eq!(o.soundness_violations, 0);
    let names: Vec<String> = o
        .files
        .iter()
        .map(|p| p.file_name().unwrap().to_string_lossy().into_owned())
        .collect();
    assert_eq!(
        names,
        [
            "figure1-digits.png",
            "robust-digits.png",
            "certified-digits.png",
            "internal-digits.png",
            "tables.md",
            "report.json"
        ]
    );
    assert_png(&out.join("figure1-digits.png"));
    assert_png(&out.join("robust-digits.png"));
    assert_png(&out.join("certified-digits.png"));
    assert_png(&out.join("internal-digits.png"));
    let md = fs::read_to_string(out.join("tables.md")).unwrap();
    assert!(
        md.contains("1 of 6 runs finished (1 partial, 4 not started)"),
        "{md}"
    );
    assert!(
        md.contains("| BP \\| baseline | 1/2 +1 partial | 80.00 | 26.67 | 20.00 | 40.00 | 16.00 | 13.33 | 11.43 | 30.00 | 0.500 |"),
        "{md}"
    );
    assert!(
        md.contains("| arovr | 0/1 | — | — | — | — | — | — | — | — | — |"),
        "{md}"
    );
    assert!(
        md.contains("`digits-200/bp-s1` (logged to epoch 1 of 3)"),
        "{md}"
    );
    assert!(md.contains("`digits-400/arovr-s0` (not started)"), "{md}");
    assert!(md.contains("Final measurement: 360 test samples; PGD 40 steps × 10 restarts."));
    assert!(!md.contains("SOUNDNESS"), "{md}");
    let json: serde_json::Value =
        serde_json::from_str(&fs::read_to_string(out.join("report.json")).unwrap()).unwrap();
    assert_eq!(json["version"], REPORT_VERSION);
    assert_eq!(json["groups"].as_array().unwrap().len(), 2);
    let bp = &json["groups"][0]["rows"][0];
    assert_eq!(bp["finished"], 1);
    assert!(TOL.close(bp["test_acc"]["mean"].as_f64().unwrap(), 0.8));
    assert!(bp["test_acc"]["std"].is_null());
    assert_eq!(json["runs"][1]["state"], "partial");
    assert_eq!(json["runs"][2]["state"], "missing");
    let shown = o.to_string();
    assert!(
        shown.starts_with("6 runs: 1 finished, 1 partial, 4 not started"),
        "{shown}"
    );
}

#[test]
fn two_seeds_give_a_std_and_violations_are_highlighted() {
    let tmp = tempfile::tempdir().unwrap();
    let e = experiment(tmp.path());
    let log: Vec<EpochRecord> = (0..=3).map(|k| record(k, 0.6, false)).collect();
    for (id, acc, bad) in [("digits-200/bp-s0", 0.80, 0), ("digits-200/bp-s1", 0.84, 3)] {
        write_log(&e, id, &log);
        write_summary(&e, id, acc, bad);
    }
    let out = tmp.path().join("r");
    let o = report(&e, &out).unwrap();
    assert_eq!(o.soundness_violations, 3);
    assert!(o.to_string().contains("SOUNDNESS VIOLATIONS: 3"));
    // No per-epoch robustness columns in these logs: no robust figure.
    assert!(!out.join("robust-digits.png").exists());
    assert!(
        o.warnings.iter().any(|w| w.contains("robust-digits.png")),
        "{o:?}"
    );
    assert_png(&out.join("figure1-digits.png"));
    let md = fs::read_to_string(out.join("tables.md")).unwrap();
    assert!(md.contains("**⚠ SOUNDNESS VIOLATIONS.**"), "{md}");
    assert!(
        md.contains("> - **`digits-200/bp-s1`: 3 sample(s)**"),
        "{md}"
    );
    assert!(!md.contains("`digits-200/bp-s0`: 0"), "{md}");
    assert!(
        md.contains("| BP \\| baseline | 2/2 | 82.00 ± 2.83 |"),
        "{md}"
    );
}

#[test]
fn empty_or_broken_results_are_warnings_not_errors() {
    let tmp = tempfile::tempdir().unwrap();
    let e = experiment(tmp.path());
    let out = tmp.path().join("empty");
    let o = report(&e, &out).unwrap();
    assert_eq!((o.finished, o.partial, o.missing), (0, 0, 6));
    assert!(!out.join("figure1-digits.png").exists());
    assert!(out.join("tables.md").is_file() && out.join("report.json").is_file());

    // A half-written last line and an unreadable summary.
    write_log(
        &e,
        "digits-400/arovr-s0",
        &[record(0, 0.5, false), record(1, 0.6, false)],
    );
    let dir = e.run_dir(&job(&e, "digits-400/arovr-s0"));
    let mut text = fs::read_to_string(dir.join("log.jsonl")).unwrap();
    text.push_str("{\"epoch\": 2, \"train_lo");
    fs::write(dir.join("log.jsonl"), text).unwrap();
    fs::write(dir.join("summary.json"), "{ not json").unwrap();
    let o = report(&e, &out).unwrap();
    assert_eq!((o.finished, o.partial, o.missing), (0, 1, 5));
    assert!(o.warnings.iter().any(|w| w.contains("line 3")), "{o:?}");
    assert!(
        o.warnings.iter().any(|w| w.contains("summary.json")),
        "{o:?}"
    );
    assert_png(&out.join("figure1-digits.png"));
    let md = fs::read_to_string(out.join("tables.md")).unwrap();
    assert!(
        md.contains("`digits-400/arovr-s0` (logged to epoch 1 of 3)"),
        "{md}"
    );
}

mod final_figures {
    use std::collections::BTreeMap;

    use super::super::final_figures::{
        cert_series, certified_panels, headline, internal_panels, internal_series, parse_strong,
        read_strong, value_legend, wrap, SeedCounts,
    };
    use super::super::{GroupStats, RowStats, Stat};

    fn row(id: &str, finals: &[(&str, &[f64])]) -> RowStats {
        RowStats {
            row: id.to_owned(),
            label: id.to_uppercase(),
            seeds: 2,
            finished: 2,
            partial: 0,
            best_epoch: None,
            val_acc: None,
            test_acc: None,
            final_: finals
                .iter()
                .map(|(c, v)| ((*c).to_owned(), Stat::of(v.iter().copied()).unwrap()))
                .collect(),
            lip_estimate: None,
            lip_bound: None,
            cert_pair_l2_max: None,
            seconds_per_epoch: None,
            diverged: 0,
            lip_diverged: false,
            soundness_violations: 0,
        }
    }

    fn group(rows: Vec<RowStats>) -> GroupStats {
        GroupStats {
            dataset: "mnist".to_owned(),
            n_train: 5000,
            columns: Vec::new(),
            final_samples: Vec::new(),
            final_pgd: Vec::new(),
            rows,
        }
    }

    fn index(id: &str) -> usize {
        ["bp", "lm", "zero"].iter().position(|r| *r == id).unwrap()
    }

    #[test]
    fn cert_series_sorts_by_eps_with_mean_and_std() {
        let g = group(vec![row(
            "lm",
            &[
                ("cert_l2_0.5", &[0.2, 0.4]),
                ("cert_l2_0.1", &[0.8]),
                ("cert_linf_0.01", &[0.5, 0.5]),
                ("pgd_l2_1", &[0.9, 0.9]),
            ],
        )]);
        let s = cert_series(&g, "l2", &index);
        assert_eq!(s.len(), 1);
        assert_eq!((s[0].index, s[0].seeds), (1, 2));
        assert_eq!(s[0].line.x, vec![0.1, 0.5]);
        assert!((s[0].line.mean[0] - 0.8).abs() < 1e-12 && s[0].line.std[0].is_nan());
        assert!((s[0].line.mean[1] - 0.3).abs() < 1e-12);
        assert!((s[0].line.std[1] - 0.02f64.sqrt()).abs() < 1e-12);
        let linf = cert_series(&g, "linf", &index);
        assert_eq!(linf[0].line.x, vec![0.01]);
        assert!(cert_series(&g, "l1", &index).is_empty());
    }

    #[test]
    fn headline_keeps_rows_certifying_something() {
        let g = group(vec![
            row(
                "bp",
                &[("cert_l2_0.1", &[0.0, 0.0]), ("cert_l2_0.3", &[0.0])],
            ),
            row(
                "lm",
                &[("cert_l2_0.1", &[0.0, 0.002]), ("cert_l2_0.3", &[0.0])],
            ),
        ]);
        let (kept, zero) = headline(cert_series(&g, "l2", &index));
        assert_eq!(kept.len(), 1);
        assert_eq!(kept[0].label, "LM");
        assert_eq!(zero, vec!["BP".to_owned()]);

        let mut seeds = SeedCounts::new();
        let (panels, notes) = certified_panels(&[&g], &index, &mut seeds).unwrap();
        assert_eq!(panels.len(), 1);
        assert_eq!(panels[0].len(), 1, "no ℓ∞ column, one panel");
        assert_eq!(panels[0][0].rows.len(), 1);
        assert_eq!(notes.len(), 1);
        assert!(notes[0].contains("BP certify 0 % at every ε"), "{notes:?}");
        assert_eq!(seeds.get(&1), Some(&2));

        let none = group(vec![row("bp", &[("cert_l2_0.1", &[0.0, 0.0])])]);
        assert!(certified_panels(&[&none], &index, &mut SeedCounts::new()).is_none());
        let no_cols = group(vec![row("bp", &[("pgd_l2_1", &[0.5])])]);
        assert!(certified_panels(&[&no_cols], &index, &mut SeedCounts::new()).is_none());
    }

    const STRONG: &str = "id,row,dataset,n_train,seed,strong_samples,strong_restarts,strong_clean,\
        internal_rel_z1_0.05,internal_rel_z1_0.1,internal_rel_z2_0.1,strong_pgd_linf_0.05\n\
        mnist-5000/bp-s0,bp,mnist,5000,0,1000,10,0.95,0.9,0.8,0.93,\n\
        mnist-5000/bp-s1,bp,mnist,5000,1,1000,10,0.95,0.7,0.6,,\n\
        mnist-5000/lm-s0,lm,mnist,5000,0,1000,10,0.95,0.5,,0.4,\n\
        fashion-mnist-5000/bp-s0,bp,fashion-mnist,5000,0,500,5,0.8,,,,0.1\n";

    #[test]
    fn strong_csv_parses_internal_columns_and_missing_cells() {
        let r = parse_strong(STRONG);
        assert_eq!(r.len(), 4);
        assert_eq!(
            (r[0].row.as_str(), r[0].n_train, r[0].seed),
            ("bp", 5000, 0)
        );
        assert_eq!((r[0].samples, r[0].restarts), (Some(1000), Some(10)));
        assert_eq!(r[0].internal.len(), 3);
        assert_eq!(r[0].internal[&(1, "0.05".to_owned())], 0.9);
        assert_eq!(r[1].internal.len(), 2, "empty cell is missing");
        assert!(r[3].internal.is_empty());
        assert!(parse_strong("").is_empty());
        let no_internal =
            parse_strong("id,row,dataset,n_train,seed,strong_clean\na,bp,mnist,5000,0,0.9\n");
        assert_eq!(no_internal.len(), 1);
        assert!(no_internal[0].internal.is_empty());
        let rows = vec![("bp".to_owned(), "BP".to_owned())];
        assert!(internal_panels(
            &no_internal,
            "mnist",
            &[5000],
            &rows,
            &mut SeedCounts::new()
        )
        .is_none());
    }

    #[test]
    fn strong_csv_missing_file_is_none() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(read_strong(&dir.path().join("strong.csv")).unwrap(), None);
        std::fs::write(dir.path().join("strong.csv"), STRONG).unwrap();
        assert_eq!(
            read_strong(&dir.path().join("strong.csv"))
                .unwrap()
                .unwrap()
                .len(),
            4
        );
    }

    #[test]
    fn internal_series_mean_std_per_fraction_and_panels() {
        let r = parse_strong(STRONG);
        let rows = vec![
            ("bp".to_owned(), "BP".to_owned()),
            ("lm".to_owned(), "LM".to_owned()),
        ];
        let s = internal_series(&r, "mnist", 5000, 1, &rows);
        assert_eq!(s.len(), 2);
        assert_eq!(s[0].line.x, vec![0.05, 0.1]);
        assert!((s[0].line.mean[0] - 0.8).abs() < 1e-12);
        assert!((s[0].line.std[0] - 0.02f64.sqrt()).abs() < 1e-12);
        assert!((s[0].line.mean[1] - 0.7).abs() < 1e-12);
        assert_eq!(s[0].seeds, 2);
        assert_eq!((s[1].index, s[1].line.x.clone()), (1, vec![0.05]));
        assert!(s[1].line.std[0].is_nan());
        let z2 = internal_series(&r, "mnist", 5000, 2, &rows);
        assert_eq!(z2[0].seeds, 1);
        assert!(internal_series(&r, "mnist", 400, 1, &rows).is_empty());

        let mut seeds = SeedCounts::new();
        let (panels, note) = internal_panels(&r, "mnist", &[400, 5000], &rows, &mut seeds).unwrap();
        assert_eq!(panels.len(), 1, "N_train = 400 has no data");
        assert_eq!(panels[0].len(), 2, "blocks z1 and z2");
        assert_eq!(panels[0][0].reference, Some(0));
        assert!(
            note.contains("first 1000 test images, 10 restarts"),
            "{note}"
        );
        assert!(note.contains("thick line: BP"));
        assert!(internal_panels(&r, "fashion-mnist", &[5000], &rows, &mut seeds).is_none());
        let (entries, seed_note) = value_legend(&panels, &seeds);
        assert_eq!(entries.len(), 2);
        assert_eq!(entries[0].label, "BP (2 seeds)");
        assert_eq!(entries[1].label, "LM (1 seed)");
        assert!(seed_note.contains("per row"));
        let one: SeedCounts = BTreeMap::from([(0, 3), (1, 3)]);
        let (entries, seed_note) = value_legend(&panels, &one);
        assert_eq!(entries[0].label, "BP");
        assert!(seed_note.contains("over 3 seeds"));
    }

    #[test]
    fn wrap_breaks_at_spaces() {
        assert_eq!(wrap("aa bb cc", 5), vec!["aa bb", "cc"]);
        assert_eq!(wrap("abcdefg h", 3), vec!["abcdefg", "h"]);
        assert!(wrap("", 5).is_empty());
    }
}
