//! The experiment file (`experiments/<name>.toml`): a grid of training runs and how to measure
//! them, expanded into independent, seeded [`Job`]s.
//!
//! ```toml
//! name = "figure1"                  # results go to results/<name>/ unless `results` is set
//! datasets = ["mnist", "fashion-mnist"]
//! n_train = [5000, 50000]
//! seeds = [0]                       # rows without their own `seeds` use these
//!
//! [base]                            # TrainConfig keys shared by every run (see `lifted train`)
//! epochs = 20
//!
//! [measure]                         # per epoch, on the first `subset` test samples
//! subset = 1000
//!
//! [[row]]                           # one curve of Figure 1; every other key is a TrainConfig key
//! id = "bp"
//! objective = "bp"
//! seeds = [0, 1, 2]
//! ```

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::{bail, ensure, Context, Result};
use serde::{Deserialize, Serialize};

use crate::data::DatasetKind;
use crate::limits::{check_max, MAX_PGD_RESTARTS, MAX_PGD_STEPS};
use crate::train::TrainConfig;

/// PGD and certified-accuracy radii of one measurement (per epoch or at the selected epoch).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct MeasureSpec {
    /// Test samples measured: the first `subset` of the test split (0: all of them).
    pub subset: usize,
    /// PGD steps per restart (1 to 10000).
    pub pgd_steps: usize,
    /// PGD restarts per sample and radius (1 to 1000).
    pub pgd_restarts: usize,
    /// ℓ∞ PGD radii per data set (`mnist = [0.1]`); a data set not listed gets none.
    pub pgd_linf: BTreeMap<String, Vec<f64>>,
    /// ℓ2 PGD radii.
    pub pgd_l2: Vec<f64>,
    /// Certified-accuracy radii, ℓ2.
    pub cert_l2: Vec<f64>,
    /// Certified-accuracy radii, ℓ∞.
    pub cert_linf: Vec<f64>,
}

impl Default for MeasureSpec {
    fn default() -> Self {
        MeasureSpec {
            subset: 1000,
            pgd_steps: 40,
            pgd_restarts: 1,
            pgd_linf: BTreeMap::from([
                ("mnist".to_owned(), vec![0.1]),
                ("fashion-mnist".to_owned(), vec![0.05]),
                ("digits".to_owned(), vec![0.1]),
            ]),
            pgd_l2: vec![1.0],
            cert_l2: vec![0.1, 0.3, 0.5],
            cert_linf: vec![0.01],
        }
    }
}

impl MeasureSpec {
    /// The column names this measurement produces on `dataset`, in a fixed order:
    /// `pgd_linf_ε`, `pgd_l2_ε`, `cert_l2_ε`, `cert_linf_ε`.
    #[must_use]
    pub fn columns(&self, dataset: &str) -> Vec<String> {
        let mut c = Vec::new();
        for e in self.linf_radii(dataset) {
            c.push(column("pgd_linf", *e));
        }
        for e in &self.pgd_l2 {
            c.push(column("pgd_l2", *e));
        }
        for e in &self.cert_l2 {
            c.push(column("cert_l2", *e));
        }
        for e in &self.cert_linf {
            c.push(column("cert_linf", *e));
        }
        c
    }

    /// The ℓ∞ PGD radii for `dataset`.
    #[must_use]
    pub fn linf_radii(&self, dataset: &str) -> &[f64] {
        self.pgd_linf.get(dataset).map_or(&[], Vec::as_slice)
    }

    fn validate(&self, what: &str) -> Result<()> {
        ensure!(
            self.pgd_restarts >= 1 && self.pgd_steps >= 1,
            "[{what}] pgd_steps and pgd_restarts must be at least 1"
        );
        check_max(
            &format!("[{what}] pgd_steps"),
            self.pgd_steps,
            MAX_PGD_STEPS,
        )?;
        check_max(
            &format!("[{what}] pgd_restarts"),
            self.pgd_restarts,
            MAX_PGD_RESTARTS,
        )?;
        let radii = self
            .pgd_linf
            .values()
            .flatten()
            .chain(&self.pgd_l2)
            .chain(&self.cert_l2)
            .chain(&self.cert_linf);
        for &e in radii {
            ensure!(
                e.is_finite() && e > 0.0,
                "[{what}] radius {e} must be a positive number"
            );
        }
        Ok(())
    }
}

/// The column name of a measurement at radius `eps` (`cert_l2_0.3`).
#[must_use]
pub fn column(kind: &str, eps: f64) -> String {
    format!("{kind}_{eps}")
}

/// Certificate limits of the exported models (see `lifted export --help`).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ExportSpec {
    /// Largest certified ℓ2 input radius.
    pub eps_l2_max: f32,
    /// Largest certified ℓ∞ input radius.
    pub eps_linf_max: f32,
    /// Largest certified ℓ2 radius of hidden activities.
    pub eps_internal_max: f32,
    /// Gram-iteration steps.
    pub gram_steps: u32,
}

impl Default for ExportSpec {
    fn default() -> Self {
        let l = lifted_core::bounds::Limits::default();
        ExportSpec {
            eps_l2_max: l.eps_l2_max,
            eps_linf_max: l.eps_inf_max,
            eps_internal_max: l.eps_internal_max,
            gram_steps: l.gram_steps,
        }
    }
}

impl ExportSpec {
    /// As `lifted_core` limits.
    #[must_use]
    pub fn limits(&self) -> lifted_core::bounds::Limits {
        lifted_core::bounds::Limits {
            eps_l2_max: self.eps_l2_max,
            eps_inf_max: self.eps_linf_max,
            eps_internal_max: self.eps_internal_max,
            gram_steps: self.gram_steps,
        }
    }
}

/// The experiment file as written.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct File {
    name: String,
    #[serde(default)]
    description: String,
    results: Option<PathBuf>,
    datasets: Vec<String>,
    n_train: Vec<usize>,
    #[serde(default = "default_seeds")]
    seeds: Vec<u64>,
    #[serde(default)]
    base: toml::Table,
    #[serde(default)]
    measure: MeasureSpec,
    #[serde(rename = "final", default = "final_default")]
    final_: MeasureSpec,
    #[serde(default)]
    export: ExportSpec,
    #[serde(rename = "row")]
    rows: Vec<toml::Table>,
}

fn default_seeds() -> Vec<u64> {
    vec![0]
}

fn final_default() -> MeasureSpec {
    MeasureSpec {
        subset: 0,
        ..MeasureSpec::default()
    }
}

/// One row (one curve / table line): an id, its seeds and its training configuration keys.
#[derive(Debug, Clone, PartialEq)]
pub struct Row {
    /// Identifier (letters, digits, `-`, `_`, `.`).
    pub id: String,
    /// Human-readable label for plots and tables (default: the id).
    pub label: String,
    /// Seeds of this row.
    pub seeds: Vec<u64>,
    /// TrainConfig keys of this row (on top of `[base]`).
    pub keys: toml::Table,
}

/// A parsed, validated experiment.
#[derive(Debug, Clone)]
pub struct Experiment {
    /// Name.
    pub name: String,
    /// Free text.
    pub description: String,
    /// Folder of the results (`results/<name>` relative to the current directory by default).
    pub results: PathBuf,
    /// Data sets.
    pub datasets: Vec<DatasetKind>,
    /// Training-set sizes.
    pub n_train: Vec<usize>,
    /// Rows in file order.
    pub rows: Vec<Row>,
    /// Per-epoch measurement.
    pub measure: MeasureSpec,
    /// Measurement at the selected epoch.
    pub final_: MeasureSpec,
    /// Export limits.
    pub export: ExportSpec,
    base: toml::Table,
}

/// One training run of the grid.
#[derive(Debug, Clone, PartialEq)]
pub struct Job {
    /// `<dataset>-<n_train>/<row>-s<seed>`, also the run folder below `runs/`.
    pub id: String,
    /// Row id.
    pub row: String,
    /// Data set.
    pub dataset: DatasetKind,
    /// Training-set size.
    pub n_train: usize,
    /// Seed.
    pub seed: u64,
    /// The complete training configuration.
    pub config: TrainConfig,
}

impl Experiment {
    /// Reads and validates an experiment file.
    ///
    /// # Errors
    /// An unreadable file, unknown keys, an invalid row configuration, duplicate row ids.
    pub fn load(path: &Path) -> Result<Self> {
        let text = std::fs::read_to_string(path).with_context(|| {
            format!(
                "reading the experiment file {} (see experiments/ for examples)",
                path.display()
            )
        })?;
        Self::parse(&text).with_context(|| format!("in {}", path.display()))
    }

    /// Parses an experiment from TOML text.
    ///
    /// # Errors
    /// As [`Experiment::load`].
    pub fn parse(text: &str) -> Result<Self> {
        let f: File = toml::from_str(text).context("parsing the experiment")?;
        ensure!(
            valid_id(&f.name),
            "name {:?}: use letters, digits, '-', '_' and '.'",
            f.name
        );
        ensure!(!f.datasets.is_empty(), "`datasets` is empty");
        ensure!(!f.n_train.is_empty(), "`n_train` is empty");
        ensure!(!f.rows.is_empty(), "no [[row]] given");
        let datasets = f
            .datasets
            .iter()
            .map(|d| d.parse::<DatasetKind>())
            .collect::<Result<Vec<_>>>()?;
        for key in ["data", "seed"] {
            ensure!(
                !f.base.contains_key(key),
                "[base] must not set `{key}`: the grid sets it (datasets, n_train, seeds)"
            );
        }
        f.measure.validate("measure")?;
        f.final_.validate("final")?;
        crate::model::export::check_limits(&f.export.limits())?;
        let mut rows: Vec<Row> = Vec::new();
        for mut t in f.rows {
            let id = match t.remove("id") {
                Some(toml::Value::String(s)) => s,
                _ => bail!("every [[row]] needs a string `id`"),
            };
            ensure!(
                valid_id(&id),
                "row id {id:?}: use letters, digits, '-', '_' and '.'"
            );
            ensure!(
                rows.iter().all(|r| r.id != id),
                "row id {id:?} appears twice"
            );
            let label = match t.remove("label") {
                Some(toml::Value::String(s)) => s,
                None => id.clone(),
                Some(_) => bail!("row {id}: `label` must be a string"),
            };
            let seeds = match t.remove("seeds") {
                Some(v) => v
                    .try_into::<Vec<u64>>()
                    .with_context(|| format!("row {id}: `seeds` must be a list of integers"))?,
                None => f.seeds.clone(),
            };
            ensure!(!seeds.is_empty(), "row {id}: no seeds");
            for key in ["data", "seed"] {
                ensure!(!t.contains_key(key), "row {id} must not set `{key}`");
            }
            rows.push(Row {
                id,
                label,
                seeds,
                keys: t,
            });
        }
        let e = Experiment {
            results: f
                .results
                .unwrap_or_else(|| Path::new("results").join(&f.name)),
            name: f.name,
            description: f.description,
            datasets,
            n_train: f.n_train,
            rows,
            measure: f.measure,
            final_: f.final_,
            export: f.export,
            base: f.base,
        };
        // Build every job once so that a bad row fails before anything runs.
        for j in e.jobs()? {
            let kind = j.dataset;
            j.config
                .validate(kind.dim(), kind.classes())
                .with_context(|| format!("run {}", j.id))?;
        }
        Ok(e)
    }

    /// Every job, in grid order: data set, training size, row, seed.
    ///
    /// # Errors
    /// A row whose keys do not form a valid training configuration.
    pub fn jobs(&self) -> Result<Vec<Job>> {
        let mut jobs = Vec::new();
        for &dataset in &self.datasets {
            for &n in &self.n_train {
                for row in &self.rows {
                    for &seed in &row.seeds {
                        let mut t = self.base.clone();
                        for (k, v) in &row.keys {
                            t.insert(k.clone(), v.clone());
                        }
                        let mut cfg = TrainConfig::from_toml(&toml::to_string(&t)?)
                            .with_context(|| format!("row {}", row.id))?;
                        cfg.seed = seed;
                        cfg.data.dataset = dataset.name().to_owned();
                        cfg.data.n_train = Some(n);
                        if cfg.widths.is_empty() {
                            cfg.widths = vec![128, 128, dataset.classes()];
                        }
                        jobs.push(Job {
                            id: format!("{}-{n}/{}-s{seed}", dataset.name(), row.id),
                            row: row.id.clone(),
                            dataset,
                            n_train: n,
                            seed,
                            config: cfg,
                        });
                    }
                }
            }
        }
        Ok(jobs)
    }

    /// The row with this id.
    #[must_use]
    pub fn row(&self, id: &str) -> Option<&Row> {
        self.rows.iter().find(|r| r.id == id)
    }

    /// The folder of a job's run.
    #[must_use]
    pub fn run_dir(&self, job: &Job) -> PathBuf {
        self.results.join("runs").join(&job.id)
    }
}

fn valid_id(s: &str) -> bool {
    !s.is_empty()
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
}

/// Whether `id` matches a filter pattern: `*` matches any run of characters (including `/`).
#[must_use]
pub fn matches(pattern: &str, id: &str) -> bool {
    fn go(p: &[u8], s: &[u8]) -> bool {
        match p.split_first() {
            None => s.is_empty(),
            Some((b'*', rest)) => (0..=s.len()).any(|i| go(rest, &s[i..])),
            Some((c, rest)) => s.first() == Some(c) && go(rest, &s[1..]),
        }
    }
    go(pattern.as_bytes(), id.as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    const SMALL: &str = r#"
name = "tiny"
datasets = ["digits"]
n_train = [200, 400]
[base]
epochs = 1
widths = [16, 10]
[[row]]
id = "bp"
objective = "bp"
seeds = [0, 1]
[[row]]
id = "arovr-g0.5"
objective = "arovr"
gamma = [0.5, 1.0]
"#;

    #[test]
    fn expands_the_grid_in_order() {
        let e = Experiment::parse(SMALL).unwrap();
        let ids: Vec<String> = e.jobs().unwrap().into_iter().map(|j| j.id).collect();
        assert_eq!(
            ids,
            [
                "digits-200/bp-s0",
                "digits-200/bp-s1",
                "digits-200/arovr-g0.5-s0",
                "digits-400/bp-s0",
                "digits-400/bp-s1",
                "digits-400/arovr-g0.5-s0"
            ]
        );
        let j = &e.jobs().unwrap()[2];
        assert_eq!(j.config.gamma, [0.5, 1.0]);
        assert_eq!(j.config.epochs, 1);
        assert_eq!(j.config.data.n_train, Some(200));
        assert_eq!(e.results, Path::new("results/tiny"));
        assert_eq!(
            e.measure.columns("digits"),
            [
                "pgd_linf_0.1",
                "pgd_l2_1",
                "cert_l2_0.1",
                "cert_l2_0.3",
                "cert_l2_0.5",
                "cert_linf_0.01"
            ]
        );
    }

    #[test]
    fn rejects_bad_files_with_a_reason() {
        let bad = |from: &str, to: &str, want: &str| {
            let e = Experiment::parse(&SMALL.replace(from, to)).unwrap_err();
            let msg = format!("{e:#}");
            assert!(msg.contains(want), "{msg}");
        };
        bad("objective = \"bp\"", "objective = \"nope\"", "row bp");
        bad("id = \"arovr-g0.5\"", "id = \"bp\"", "appears twice");
        bad("epochs = 1", "epochs = 1\nseed = 3", "must not set `seed`");
        bad("[\"digits\"]", "[\"cifar\"]", "cifar");
        bad(
            "gamma = [0.5, 1.0]",
            "gamma = [0.5, 1.0]\nbogus = 1",
            "bogus",
        );
        bad(
            "widths = [16, 10]",
            "widths = [16, 10]\n[measure]\npgd_l2 = [-1.0]",
            "positive",
        );
    }

    #[test]
    fn filter_patterns() {
        assert!(matches("mnist-5000/*", "mnist-5000/bp-s0"));
        assert!(!matches("mnist-5000/*", "mnist-50000/bp-s0"));
        assert!(matches("*/bp-*", "fashion-mnist-50000/bp-s2"));
        assert!(matches("*", "x"));
    }
}
