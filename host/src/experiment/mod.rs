//! Experiment grids (docs/method.md §7): `lifted experiment run` trains
//! every job of an experiment file as an independent, seeded, resumable run, measures it per
//! epoch and at the validation-selected epoch, and writes one folder per run plus a grid summary;
//! `lifted experiment report` turns the results into Figure-1 plots and tables.
//!
//! ```text
//! experiments/<name>.toml ──Experiment::load──▶ jobs (dataset × n_train × row × seed)
//!   run:    for each job → results/<name>/runs/<dataset>-<n>/<row>-s<seed>/
//!             config.toml, log.csv, log.jsonl (+ pgd_/cert_ columns), summary.json,
//!             model.lfm, best/last.params.json, checkpoint.json (the last three not committed)
//!           → results/<name>/summary.json, summary.csv
//!   report: summaries + logs → results/<name>/report/*.png, tables.md
//! ```

pub mod cli;
pub mod measure;
pub mod report;
pub mod run;
pub mod spec;
pub mod summary;

pub use spec::{Experiment, Job, MeasureSpec, Row};
pub use summary::RunSummary;
