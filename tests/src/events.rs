//! Machine-readable test events: each test of this package holds a [`TestEvent`] for its whole
//! body, which appends `{"type":"test","name":…,"event":"ok"|"failed"|"skipped"}` to the file named by
//! `LIFTED_TEST_EVENTS` when the test ends (failed if it ends by panicking). `scripts/firmware-ci.sh`
//! counts these events (`scripts/test-events.py`) instead of reading `cargo test`'s human output;
//! without the variable nothing is written.

use std::io::Write;

/// Reports one test's end as a JSON event (see the module documentation).
#[derive(Debug)]
#[must_use = "hold the event for the whole test body: it reports when dropped"]
pub struct TestEvent {
    name: &'static str,
    skipped: bool,
}

impl TestEvent {
    /// Starts the report of the test `name`.
    pub fn start(name: &'static str) -> Self {
        TestEvent {
            name,
            skipped: false,
        }
    }

    /// Reports the test as skipped (event `"skipped"`, which CI counts as failed) when `skip`;
    /// returns `skip`, for `if event.skip_if(…) { return; }`.
    pub fn skip_if(&mut self, skip: bool) -> bool {
        self.skipped = skip;
        skip
    }
}

impl Drop for TestEvent {
    fn drop(&mut self) {
        let Some(path) = std::env::var_os("LIFTED_TEST_EVENTS") else {
            return;
        };
        let event = if std::thread::panicking() {
            "failed"
        } else if self.skipped {
            "skipped"
        } else {
            "ok"
        };
        let line = format!(
            "{{\"type\":\"test\",\"name\":{},\"event\":\"{event}\"}}\n",
            serde_json::Value::from(self.name)
        );
        // One append of one short line: lines of tests running in parallel do not interleave.
        let written = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&path)
            .and_then(|mut f| f.write_all(line.as_bytes()));
        if let Err(e) = written {
            eprintln!(
                "cannot append the test event to {}: {e}",
                path.to_string_lossy()
            );
        }
    }
}
