use std::borrow::Cow;
use std::error::Error as StdError;
use std::fmt;
use std::time::Duration;

use crate::derive::Cause;

/// Every candidate of a resolution, in the order they were (or would be)
/// tried, and how each one ended.
///
/// A failed resolution gives it inside its [`ResolveError`]; a successful one
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

/// Why an endpoint could not be built. Each path names keys from the
/// endpoint key down to the key at fault, which comes last.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub enum NotBuilt {
    /// A required key has no value and no derivation.
    Missing {
        /// From the endpoint key to the missing key.
        path: Vec<&'static str>,
    },
    /// A derivation said it does not apply (gave no value).
    NotApplicable {
        /// From the endpoint key to the key whose derivation gave nothing.
        path: Vec<&'static str>,
    },
    /// A derivation failed.
    DerivationFailed {
        /// From the endpoint key to the key whose derivation failed.
        path: Vec<&'static str>,
        /// The derivation's error.
        cause: Cause,
    },
    /// Derivations depend on each other in a loop.
    Cycle {
        /// From the endpoint key into the loop, whose first key is repeated
        /// at the end: `endpoint -> a -> b -> a`.
        path: Vec<&'static str>,
    },
    /// A layer whose endpoint was built found no candidate to wrap.
    NothingToWrap,
}

struct Path<'a>(&'a [&'static str]);

impl fmt::Display for Path<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (n, key) in self.0.iter().enumerate() {
            if n > 0 {
                f.write_str(" -> ")?;
            }
            write!(f, "`{key}`")?;
        }
        Ok(())
    }
}

/// ` (for `a` -> `b`)` when the key at fault is not the endpoint key itself.
struct Via<'a>(&'a [&'static str]);

impl fmt::Display for Via<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0.split_last() {
            Some((_, via)) if !via.is_empty() => write!(f, " (for {})", Path(via)),
            _ => Ok(()),
        }
    }
}

fn last(path: &[&'static str]) -> &'static str {
    path.last().copied().unwrap_or("?")
}

impl fmt::Display for NotBuilt {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            NotBuilt::Missing { path } => {
                write!(f, "missing input `{}`{}", last(path), Via(path))
            }
            NotBuilt::NotApplicable { path } => write!(
                f,
                "derivation of `{}` said not applicable{}",
                last(path),
                Via(path)
            ),
            NotBuilt::DerivationFailed { path, cause } => write!(
                f,
                "derivation of `{}` failed{}: {}",
                last(path),
                Via(path),
                Chain(&**cause)
            ),
            NotBuilt::Cycle { path } => {
                let start = path
                    .iter()
                    .position(|k| Some(k) == path.last())
                    .unwrap_or(0);
                write!(f, "cycle {}", Path(&path[start..]))?;
                if start > 0 {
                    write!(f, " (for {})", Path(&path[..start]))?;
                }
                Ok(())
            }
            NotBuilt::NothingToWrap => f.write_str("no candidate for this layer to wrap"),
        }
    }
}

/// Displays an error followed by its sources, `: `-separated, skipping a
/// source whose text the outer message already contains (errors that show
/// their cause and also return it from `source`).
///
/// ```
/// let io = std::io::Error::other("refused");
/// assert_eq!(mimic::Chain(&io).to_string(), "refused");
/// ```
pub struct Chain<'a>(pub &'a (dyn StdError + 'static));

impl fmt::Display for Chain<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut shown = self.0.to_string();
        f.write_str(&shown)?;
        let mut next = self.0.source();
        while let Some(err) = next {
            let text = err.to_string();
            if !shown.contains(&text) {
                write!(f, ": {text}")?;
                shown = text;
            }
            next = err.source();
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

/// A resolution that gave no flow, with the report of every candidate.
///
/// Its `Display` is a multi-line report:
///
/// ```text
/// could not connect: all 2 attempted candidates failed
///   1. tcp (priority 20) [::1]:8080: tcp failed after 0 ms: Connection refused (os error 111) [started at +0 ms]
///   2. tcp (priority 20) 127.0.0.1:8080: tcp failed after 0 ms: Connection refused (os error 111) [started at +0 ms]
///   3. unix (priority 10): not built: missing input `unix path`
/// ```
#[derive(Clone)]
pub struct ResolveError {
    kind: ResolveErrorKind,
    report: Report,
}

impl ResolveError {
    pub(crate) fn new(kind: ResolveErrorKind, report: Report) -> Self {
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
            ResolveErrorKind::AllFailed => write!(
                f,
                "could not connect: all {tried} attempted candidates failed"
            )?,
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

impl StdError for ResolveError {
    fn source(&self) -> Option<&(dyn StdError + 'static)> {
        self.report.entries.iter().find_map(|e| match &e.outcome {
            Outcome::Failed { cause, .. } => Some(&**cause as &(dyn StdError + 'static)),
            _ => None,
        })
    }
}
