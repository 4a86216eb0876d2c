//! One candidate of a resolution and how it ended.

use std::borrow::Cow;
use std::fmt;
use std::time::Duration;

use super::{Cause, Chain, NotBuilt};

/// One candidate of a resolution: a protocol stack and one endpoint.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct Entry {
    /// The protocol stack, outermost first, joined with `/`: `tls/tcp`.
    pub protocol: Cow<'static, str>,
    /// The priority the candidate is ordered by (the outermost protocol's).
    pub priority: i32,
    /// The endpoint, as its protocols describe it, when it was built.
    pub endpoint: Option<String>,
    /// When the attempt started, from the start of the resolution.
    pub started: Option<Duration>,
    /// How it ended.
    pub outcome: Outcome,
    /// Whether the candidate was ever in play: `false` for a registration
    /// not built because the context gives none of its inputs (the TLS
    /// layer for a clear-text URI, a Unix socket for a TCP one). Reports
    /// sum these up on one line; [`Report::full`](super::Report::full) and
    /// [`Ctx::explain`](crate::Ctx::explain) show them whole.
    pub applicable: bool,
}

impl fmt::Display for Entry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} (priority {})", self.protocol, self.priority)?;
        if let Some(endpoint) = &self.endpoint {
            write!(f, " {endpoint}")?;
        }
        write!(f, ": {}", self.outcome)?;
        if let Some(started) = self.started {
            write!(f, " [started at +{} ms]", started.as_millis())?;
        }
        Ok(())
    }
}

/// How a candidate ended.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub enum Outcome {
    /// Its endpoint could not be built.
    NotBuilt(NotBuilt),
    /// It would be tried (only in [`Ctx::explain`](crate::Ctx::explain)).
    Planned,
    /// It connected and its flow was returned.
    Connected {
        /// How long it took.
        after: Duration,
    },
    /// Connecting failed.
    Failed {
        /// The protocol of the stack whose step failed: `tcp`, `tls`...
        stage: &'static str,
        /// How long the attempt ran.
        after: Duration,
        /// Why it failed.
        cause: Cause,
    },
    /// The attempt ran out of its per-attempt time.
    TimedOut {
        /// The per-attempt timeout.
        after: Duration,
    },
    /// The attempt was running when another candidate won; it was dropped.
    Cancelled {
        /// How long it had been running.
        after: Duration,
    },
    /// The attempt was running when the overall deadline passed.
    DeadlineExceeded {
        /// How long it had been running.
        after: Duration,
    },
    /// The attempt never started.
    NotAttempted(Skipped),
}

impl fmt::Display for Outcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Outcome::NotBuilt(why) => write!(f, "not built: {why}"),
            Outcome::Planned => f.write_str("would be tried"),
            Outcome::Connected { after } => write!(f, "connected in {} ms", after.as_millis()),
            Outcome::Failed {
                stage,
                after,
                cause,
            } => write!(
                f,
                "{stage} failed after {} ms: {}",
                after.as_millis(),
                Chain(&**cause)
            ),
            Outcome::TimedOut { after } => write!(f, "timed out after {} ms", after.as_millis()),
            Outcome::Cancelled { after } => write!(
                f,
                "cancelled after {} ms because another candidate won",
                after.as_millis()
            ),
            Outcome::DeadlineExceeded { after } => write!(
                f,
                "stopped after {} ms by the overall deadline",
                after.as_millis()
            ),
            Outcome::NotAttempted(why) => write!(f, "not attempted: {why}"),
        }
    }
}

/// Why a candidate was not attempted.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Skipped {
    /// Another candidate connected first.
    AnotherWon,
    /// The overall deadline passed first.
    Deadline,
}

impl fmt::Display for Skipped {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Skipped::AnotherWon => f.write_str("another candidate connected first"),
            Skipped::Deadline => f.write_str("the overall deadline passed first"),
        }
    }
}
