//! Progress reporting: an indicatif bar over the minibatches (hidden when stderr is not a
//! terminal, or when quiet) and an optional callback per finished epoch.

use std::io::IsTerminal;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use super::log::EpochRecord;

/// A per-epoch callback.
type EpochCallback = Box<dyn FnMut(&EpochRecord) + Send>;
/// A callback after an epoch's training loop: (epoch, samples, seconds).
type TrainedCallback = Box<dyn FnMut(usize, usize, f64) + Send>;

/// Receives progress from [`super::train`].
#[derive(Default)]
pub struct Progress {
    bar: Option<ProgressBar>,
    on_epoch: Option<EpochCallback>,
    on_trained: Option<TrainedCallback>,
}

impl std::fmt::Debug for Progress {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Progress")
            .field("bar", &self.bar.is_some())
            .finish_non_exhaustive()
    }
}

impl Progress {
    /// No bar, no callback.
    pub fn hidden() -> Self {
        Progress::default()
    }

    /// A bar on stderr unless `quiet` or stderr is not a terminal.
    pub fn new(quiet: bool) -> Self {
        if quiet || !std::io::stderr().is_terminal() {
            return Progress::hidden();
        }
        let bar = ProgressBar::with_draw_target(Some(0), ProgressDrawTarget::stderr());
        let style = ProgressStyle::with_template(
            "epoch {prefix:>3} [{bar:30}] {pos}/{len} batches {elapsed} (eta {eta}) {msg}",
        )
        .unwrap_or_else(|_| ProgressStyle::default_bar())
        .progress_chars("=> ");
        bar.set_style(style);
        Progress {
            bar: Some(bar),
            on_epoch: None,
            on_trained: None,
        }
    }

    /// True if a progress bar is drawn.
    pub fn has_bar(&self) -> bool {
        self.bar.is_some()
    }

    /// Calls `f` with every finished epoch's log row.
    #[must_use]
    pub fn on_epoch(mut self, f: impl FnMut(&EpochRecord) + Send + 'static) -> Self {
        self.on_epoch = Some(Box::new(f));
        self
    }

    /// Calls `f(epoch, samples, seconds)` when the training loop of an epoch ≥ 1 ends, before
    /// the epoch's measurements: `seconds` is the training time alone.
    #[must_use]
    pub fn on_trained(mut self, f: impl FnMut(usize, usize, f64) + Send + 'static) -> Self {
        self.on_trained = Some(Box::new(f));
        self
    }

    pub(crate) fn epoch_trained(&mut self, epoch: usize, samples: usize, seconds: f64) {
        if let Some(b) = &self.bar {
            b.println(trained_line(epoch, samples, seconds));
        }
        if let Some(f) = self.on_trained.as_mut() {
            f(epoch, samples, seconds);
        }
    }

    pub(crate) fn start_epoch(&mut self, epoch: usize, batches: usize) {
        if let Some(b) = &self.bar {
            b.set_prefix(epoch.to_string());
            b.set_length(batches as u64);
            b.set_position(0);
        }
    }

    pub(crate) fn batch_done(&mut self) {
        if let Some(b) = &self.bar {
            b.inc(1);
        }
    }

    pub(crate) fn epoch_done(&mut self, r: &EpochRecord) {
        if let Some(b) = &self.bar {
            b.set_message(format!(
                "loss {:.4} val {:.2}%",
                r.train_loss,
                100.0 * r.val_acc
            ));
            b.println(epoch_line(r));
        }
        if let Some(f) = self.on_epoch.as_mut() {
            f(r);
        }
    }

    pub(crate) fn finish(&mut self) {
        if let Some(b) = &self.bar {
            b.finish_and_clear();
        }
    }
}

/// The training time of an epoch, without its measurements (e.g. for scripts/bench-vs-jax.sh).
pub fn trained_line(epoch: usize, samples: usize, seconds: f64) -> String {
    format!(
        "epoch {epoch:>3}  trained {samples} samples in {seconds:.3}s ({:.0} samples/s, training only)",
        samples as f64 / seconds.max(1e-9)
    )
}

/// A one-line summary of an epoch.
pub fn epoch_line(r: &EpochRecord) -> String {
    format!(
        "epoch {:>3}  loss {:.5}  train {:.2}%  val {:.2}%  test {:.2}%  lip {:.3} (bound {:.3})  {:.2}s",
        r.epoch,
        r.train_loss,
        100.0 * r.train_acc,
        100.0 * r.val_acc,
        100.0 * r.test_acc,
        r.lip_estimate,
        r.lip_bound,
        r.seconds
    )
}
