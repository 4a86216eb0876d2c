//! Shared helpers: a scripted protocol whose attempts connect, fail or hang
//! after a set delay, for deterministic tests on tokio's paused clock.

#![allow(dead_code)]

use std::io;
use std::time::Duration;

use mimic::flow::Addr;
use mimic::report::{Entry, Outcome};
use mimic::{Ctx, Info, Key, Protocol, Registration, req};
use tokio::io::DuplexStream;

/// What an attempt does once its delay has passed.
#[derive(Clone, Copy, Debug)]
pub enum Then {
    Connect,
    Fail,
    Hang,
}

/// One scripted attempt.
#[derive(Clone, Debug)]
pub struct Step {
    pub label: &'static str,
    pub delay: Duration,
    pub then: Then,
}

pub fn step(label: &'static str, delay_ms: u64, then: Then) -> Step {
    Step {
        label,
        delay: Duration::from_millis(delay_ms),
        then,
    }
}

/// A protocol whose endpoint is a list of steps, split into one attempt each.
#[derive(Clone, Copy, Debug, Default)]
pub struct Script;

impl Protocol for Script {
    type Endpoint = Vec<Step>;
    type Flow = DuplexStream;

    async fn connect(&self, steps: &Vec<Step>) -> io::Result<DuplexStream> {
        let Some(step) = steps.first() else {
            return Err(io::Error::other("empty script"));
        };
        tokio::time::sleep(step.delay).await;
        match step.then {
            Then::Connect => Ok(tokio::io::duplex(64).0),
            Then::Fail => Err(io::Error::new(
                io::ErrorKind::ConnectionRefused,
                format!("{} refused", step.label),
            )),
            Then::Hang => std::future::pending().await,
        }
    }

    fn split(&self, steps: &Vec<Step>) -> Vec<Vec<Step>> {
        steps.iter().map(|s| vec![s.clone()]).collect()
    }

    fn describe(&self, steps: &Vec<Step>) -> String {
        let labels: Vec<_> = steps.iter().map(|s| s.label).collect();
        labels.join(",")
    }

    fn info(&self, steps: &Vec<Step>, _: &DuplexStream) -> Info {
        Info::default().with_peer_addr(Addr::Other(self.describe(steps)))
    }
}

/// A scripted registration with its own endpoint key.
pub fn scripted(name: &'static str, priority: i32) -> Registration<Vec<Step>> {
    Registration::new(name, priority, Script)
}

/// `(endpoint, started ms)` of every entry, in report order.
pub fn starts(entries: &[Entry]) -> Vec<(String, Option<u128>)> {
    entries
        .iter()
        .map(|e| {
            (
                e.endpoint.clone().unwrap_or_default(),
                e.started.map(|s| s.as_millis()),
            )
        })
        .collect()
}

/// A short name for each outcome, for table-like assertions.
pub fn kinds(entries: &[Entry]) -> Vec<String> {
    entries
        .iter()
        .map(|e| match &e.outcome {
            Outcome::NotBuilt(_) => "not built".to_string(),
            Outcome::Planned => "planned".to_string(),
            Outcome::Connected { after } => format!("connected {}", after.as_millis()),
            Outcome::Failed { after, .. } => format!("failed {}", after.as_millis()),
            Outcome::TimedOut { after } => format!("timed out {}", after.as_millis()),
            Outcome::Cancelled { after } => format!("cancelled {}", after.as_millis()),
            Outcome::DeadlineExceeded { after } => format!("deadline {}", after.as_millis()),
            Outcome::NotAttempted(why) => format!("not attempted: {why}"),
            other => format!("{other}"),
        })
        .collect()
}

/// A unique path for a Unix socket in the temporary directory.
pub fn socket_path(tag: &str) -> std::path::PathBuf {
    use std::sync::atomic::{AtomicU32, Ordering};
    static N: AtomicU32 = AtomicU32::new(0);
    let n = N.fetch_add(1, Ordering::Relaxed);
    std::env::temp_dir().join(format!("mimic-{tag}-{}-{n}.sock", std::process::id()))
}

/// Derives `a` from `b` and `b` from `a`: a cycle.
pub fn cycle<T: Clone + Send + Sync + 'static>(ctx: Ctx, a: &Key<T>, b: &Key<T>) -> Ctx {
    ctx.derive(a, req(b), |v| async move { Ok::<_, io::Error>(Some(v)) })
        .derive(b, req(a), |v| async move { Ok::<_, io::Error>(Some(v)) })
}
