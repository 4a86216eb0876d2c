//! Resolution: from a context to a connected flow. [`Ctx::resolve`] and
//! [`Ctx::explain`] are defined here: the resolver reads contexts, contexts
//! know nothing of it.
//!
//! # Organization
//! - `eval`: computing keys from values and derivations, memoised per resolution.
//! - `plan`: building candidates, applying layers, ordering and splitting them into attempts.
//! - `attempt`: one attempt, connecting its protocol and then each layer.
//! - `race`: connecting the attempts with the context's strategy and timeouts.

mod attempt;
mod eval;
mod plan;
mod race;

use std::sync::Arc;

use tokio::time::Instant;

use crate::ctx::Ctx;
use crate::error::ResolveError;
use crate::flow::Flow;
use crate::report::{Entry, Outcome, Report, ResolveErrorKind, Skipped};
use attempt::Attempt;
use plan::Row;
use race::Ended;

impl Ctx {
    /// Builds every candidate whose endpoint can be built, orders them, and
    /// connects with the context's [`Strategy`](crate::Strategy). The flow's
    /// [`Info::report`](crate::Info::report) tells how every candidate ended;
    /// on failure the error carries the same report.
    pub async fn resolve(&self) -> Result<Flow, ResolveError> {
        resolve(self).await
    }

    /// The plan [`resolve`](Ctx::resolve) would follow, without connecting:
    /// derivations run (a DNS lookup, for one), nothing else does.
    pub async fn explain(&self) -> Report {
        explain(self).await
    }
}

/// `now + d`, or decades ahead when that overflows: `Duration::MAX` means
/// "no limit", not a panic.
pub(crate) fn after(d: std::time::Duration) -> Instant {
    let now = Instant::now();
    now.checked_add(d)
        .unwrap_or_else(|| now + std::time::Duration::from_secs(86_400 * 365 * 30))
}

fn split(rows: Vec<Row>) -> (Vec<Attempt>, Vec<Option<Entry>>) {
    // Keep the row order for the report: attempts are taken out and put
    // back in place after the race.
    let mut attempts = Vec::with_capacity(rows.len());
    let mut slots = Vec::with_capacity(rows.len());
    for row in rows {
        match row {
            Row::Attempt(attempt) => {
                attempts.push(attempt);
                slots.push(None);
            }
            Row::NotBuilt(entry) => slots.push(Some(entry)),
        }
    }
    (attempts, slots)
}

fn report(attempts: Vec<Attempt>, slots: Vec<Option<Entry>>) -> Report {
    let mut attempts = attempts.into_iter();
    let entries = slots
        .into_iter()
        .filter_map(|slot| slot.or_else(|| attempts.next().map(|a| a.entry)))
        .collect();
    Report {
        entries,
        whole: false,
    }
}

async fn explain(ctx: &Ctx) -> Report {
    let deadline = ctx.inner.options.deadline.map(after);
    let (attempts, slots) = split(plan::plan(&ctx.inner, deadline).await);
    Report {
        whole: true,
        ..report(attempts, slots)
    }
}

async fn resolve(ctx: &Ctx) -> Result<Flow, ResolveError> {
    let inner = &*ctx.inner;
    if inner.protocols.is_empty() {
        return Err(ResolveError::new(
            ResolveErrorKind::NoProtocol,
            Report::default(),
        ));
    }
    let begun = Instant::now();
    let deadline = inner.options.deadline.map(after);
    let (mut attempts, slots) = split(plan::plan(inner, deadline).await);
    if attempts.is_empty() {
        return Err(ResolveError::new(
            ResolveErrorKind::NoCandidate,
            report(attempts, slots),
        ));
    }
    if deadline.is_some_and(|d| Instant::now() >= d) {
        for attempt in &mut attempts {
            attempt.entry.outcome = Outcome::NotAttempted(Skipped::Deadline);
        }
        let kind = ResolveErrorKind::Deadline(inner.options.deadline.unwrap_or_default());
        return Err(ResolveError::new(kind, report(attempts, slots)));
    }
    let ended = race::race(&mut attempts, &inner.options, begun, deadline).await;
    let report = report(attempts, slots);
    match ended {
        Ended::Connected(mut flow) => {
            tracing::debug!(
                protocol = flow.info().protocol(),
                endpoint = flow.info().endpoint(),
                "mimic: connected"
            );
            flow.info_mut().set_report(Arc::new(report));
            Ok(flow)
        }
        Ended::AllFailed => Err(ResolveError::new(ResolveErrorKind::AllFailed, report)),
        Ended::Deadline => {
            let kind = ResolveErrorKind::Deadline(inner.options.deadline.unwrap_or_default());
            Err(ResolveError::new(kind, report))
        }
    }
}
