//! What a resolution tried and how each candidate ended: the diagnostics
//! behind [`ResolveError`](crate::ResolveError), [`Info::report`](crate::Info::report)
//! and [`Ctx::explain`](crate::Ctx::explain).
//!
//! # Organization
//! - [`Report`]: every candidate, in the order they were (or would be) tried.
//! - [`Entry`], [`Outcome`], [`Skipped`] (`entry.rs`): one candidate and how it ended.
//! - [`NotBuilt`], [`SameName`] (`not_built.rs`): why a candidate's endpoint
//!   could not be built, with the path of keys that led there.
//! - [`ResolveErrorKind`]: why a resolution gave no flow.
//! - [`Cause`]: an error kept in a report, shared.
//! - [`Chain`] (`chain.rs`): displays an error and its sources.

mod chain;
mod entry;
mod not_built;

use std::error::Error as StdError;
use std::fmt;
use std::sync::Arc;
use std::time::Duration;

pub use chain::Chain;
pub use entry::{Entry, Outcome, Skipped};
pub use not_built::{NotBuilt, SameName};

/// A shared, type-erased error, as kept in reports.
pub type Cause = Arc<dyn StdError + Send + Sync>;

/// Every candidate of a resolution, in the order they were (or would be)
/// tried, and how each one ended.
///
/// A failed resolution gives it inside its [`ResolveError`](crate::ResolveError); a successful one
/// through the flow's [`Info::report`](crate::Info::report);
/// [`Ctx::explain`](crate::Ctx::explain) gives the plan without connecting.
///
/// `{}` leads with what was tried: attempted candidates first, then those
/// that could not be built though the context gave them an input, each on
/// a numbered line; candidates never in play (no input at all, such as the
/// TLS layer for a clear-text URI) are named together on one last line.
/// [`full`](Report::full) shows every candidate whole, in order, as
/// [`Ctx::explain`](crate::Ctx::explain)'s report and mimic's debug log do.
#[derive(Clone, Debug, Default)]
pub struct Report {
    pub(crate) entries: Vec<Entry>,
    /// Shown whole by `{}`: a plan from `explain`.
    pub(crate) whole: bool,
}

impl Report {
    /// The candidates, in order.
    pub fn entries(&self) -> &[Entry] {
        &self.entries
    }

    /// The candidate that connected, if any.
    pub fn winner(&self) -> Option<&Entry> {
        self.entries
            .iter()
            .find(|e| matches!(e.outcome, Outcome::Connected { .. }))
    }

    /// Every candidate on its own numbered line, in order, never-applicable
    /// ones included.
    pub fn full(&self) -> impl fmt::Display + '_ {
        Full(self)
    }

    /// The numbered lines of `{}`: attempted candidates, then the ones not
    /// built though in play; and the never-applicable ones.
    pub(crate) fn sorted(&self) -> (Vec<&Entry>, Vec<&Entry>) {
        let not_built = |e: &&Entry| matches!(e.outcome, Outcome::NotBuilt(_));
        let mut shown: Vec<&Entry> = self.entries.iter().filter(|e| !not_built(e)).collect();
        let (in_play, idle): (Vec<&Entry>, Vec<&Entry>) = self
            .entries
            .iter()
            .filter(not_built)
            .partition(|e| e.applicable);
        shown.extend(in_play);
        (shown, idle)
    }
}

struct Full<'a>(&'a Report);

impl fmt::Display for Full<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.0.entries.is_empty() {
            return writeln!(f, "  (no protocol registered)");
        }
        for (n, entry) in self.0.entries.iter().enumerate() {
            writeln!(f, "  {}. {entry}", n + 1)?;
        }
        Ok(())
    }
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (shown, idle) = self.sorted();
        if self.whole || shown.is_empty() {
            return Full(self).fmt(f);
        }
        for (n, entry) in shown.iter().enumerate() {
            writeln!(f, "  {}. {entry}", n + 1)?;
        }
        if !idle.is_empty() {
            let names: Vec<&str> = idle.iter().map(|e| &*e.protocol).collect();
            writeln!(f, "  never applicable (no input set): {}", names.join(", "))?;
        }
        Ok(())
    }
}

/// Why a resolution gave no flow.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum ResolveErrorKind {
    /// The context has no protocol registered.
    NoProtocol,
    /// No candidate's endpoint could be built.
    NoCandidate,
    /// Every candidate was tried and failed.
    AllFailed,
    /// The overall deadline passed before any candidate connected.
    Deadline(Duration),
}
