//! What the load generators (`client-load`, `handshake-load`,
//! `download-load`) share: their failures, counted, with the first kept to
//! be shown, and their exit status.

use std::error::Error;
use std::fmt::Display;
use std::process::ExitCode;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

/// Failures of a load generator's tasks or threads.
#[derive(Default)]
pub struct Failures {
    count: AtomicU64,
    first: Mutex<Option<String>>,
}

impl Failures {
    /// Counts one failure, and keeps it if it is the first.
    pub fn record(&self, error: impl Display) {
        self.count.fetch_add(1, Ordering::Relaxed);
        if let Ok(mut first) = self.first.lock() {
            first.get_or_insert_with(|| error.to_string());
        }
    }

    /// How many there were; when any, says so on stderr with the first,
    /// as `TOOL: N errors; the first: ...`.
    pub fn report(&self, tool: &str) -> u64 {
        let count = self.count.load(Ordering::Relaxed);
        if let Some(first) = self.first.lock().ok().and_then(|first| first.clone()) {
            eprintln!("{tool}: {count} errors; the first: {first}");
        }
        count
    }
}

/// A load generator's exit status: success when its run was clean
/// (`Ok(true)`); an error is printed as `TOOL: ...`.
pub fn exit_code(tool: &str, outcome: Result<bool, Box<dyn Error>>) -> ExitCode {
    match outcome {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::FAILURE,
        Err(error) => {
            eprintln!("{tool}: {error}");
            ExitCode::FAILURE
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn failures_are_counted_and_the_first_is_kept() {
        let failures = Failures::default();
        assert_eq!(failures.report("test"), 0);
        failures.record("one");
        failures.record(format_args!("two {}", 2));
        assert_eq!(failures.report("test"), 2);
        assert_eq!(
            failures
                .first
                .lock()
                .ok()
                .and_then(|f| f.clone())
                .as_deref(),
            Some("one")
        );
    }
}
