//! The error of a resolution.

use std::error::Error as StdError;
use std::fmt;

use crate::report::{Outcome, Report, ResolveErrorKind};

/// A resolution that gave no flow, with the report of every candidate.
///
/// Its text is a headline and the [`Report`]: one line per candidate, each
/// failure with its whole cause chain (see [`Chain`](crate::report::Chain)).
///
/// ```text
/// could not connect: all 2 attempted candidates failed
///   1. tcp (priority 20) [::1]:8080: tcp failed after 0 ms: Connection refused (os error 111) [started at +0 ms]
///   2. tcp (priority 20) 127.0.0.1:8080: tcp failed after 0 ms: Connection refused (os error 111) [started at +0 ms]
///   never applicable (no input set): tls, unix
/// ```
///
/// Attempted candidates come first, then candidates that could not be
/// built though the context gave them some input (the headline counts
/// them: `; 1 more could not be built`); candidates that never had any
/// input are named on the last line. [`Report::full`] shows them all, and
/// mimic logs the whole report at debug level.
///
/// The report is the error's content, not its cause: there can be several
/// causes, one per candidate, and all of them are in the text already. So
/// [`source`](StdError::source) is `None`, and `{:#}` (the whole chain)
/// reads the same as `{}`: a printer that walks sources never shows a cause
/// twice. To act on a cause, walk [`report`](ResolveError::report)'s
/// entries: [`Outcome::Failed`] holds each connection failure (an
/// [`io::Error`](std::io::Error) for the built-in protocols), and
/// [`NotBuilt::DerivationFailed`](crate::report::NotBuilt::DerivationFailed)
/// each derivation's (such as a DNS lookup's).
#[derive(Clone)]
pub struct ResolveError {
    kind: ResolveErrorKind,
    report: Report,
}

impl ResolveError {
    pub(crate) fn new(kind: ResolveErrorKind, report: Report) -> Self {
        // The text sums up never-applicable candidates; the log has them all.
        tracing::debug!(
            "mimic: nothing connected ({kind:?}); every candidate:\n{}",
            report.full()
        );
        ResolveError { kind, report }
    }

    /// Why the resolution failed.
    pub fn kind(&self) -> ResolveErrorKind {
        self.kind
    }

    /// Every candidate and how it ended.
    pub fn report(&self) -> &Report {
        &self.report
    }

    /// Whether the overall deadline or a per-attempt timeout ended it.
    pub fn is_timeout(&self) -> bool {
        matches!(self.kind, ResolveErrorKind::Deadline(_))
            || self
                .report
                .entries
                .iter()
                .any(|e| matches!(e.outcome, Outcome::TimedOut { .. }))
    }
}

impl fmt::Display for ResolveError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let tried = self
            .report
            .entries
            .iter()
            .filter(|e| e.started.is_some())
            .count();
        match self.kind {
            ResolveErrorKind::NoProtocol => {
                f.write_str("could not connect: the context has no protocol registered")?
            }
            ResolveErrorKind::NoCandidate => {
                f.write_str("could not connect: no candidate endpoint could be built")?
            }
            ResolveErrorKind::AllFailed => {
                write!(
                    f,
                    "could not connect: all {tried} attempted candidates failed"
                )?;
                // The numbered lines are the attempted candidates and these.
                let (shown, _) = self.report.sorted();
                match shown.len() - tried.min(shown.len()) {
                    0 => {}
                    more => write!(f, "; {more} more could not be built")?,
                }
            }
            ResolveErrorKind::Deadline(after) => write!(
                f,
                "could not connect: the deadline of {} ms passed",
                after.as_millis()
            )?,
        }
        f.write_str("\n")?;
        // The report ends with a newline; keep the error's last line clean.
        let report = self.report.to_string();
        f.write_str(report.trim_end())
    }
}

/// The report itself: `expect` and `main` print `Debug`, and a dump of the
/// structure would be harder to read than the report.
impl fmt::Debug for ResolveError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

/// No source: the causes are in the report (see the type's documentation).
impl StdError for ResolveError {}
