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
#[derive(Clone, Debug, Default)]
pub struct Report {
    pub(crate) entries: Vec<Entry>,
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
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.entries.is_empty() {
            return writeln!(f, "  (no protocol registered)");
        }
        for (n, entry) in self.entries.iter().enumerate() {
            writeln!(f, "  {}. {entry}", n + 1)?;
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
