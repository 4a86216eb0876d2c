//! What the certificate manager reports: to `tracing`, and to a hook.

use std::fmt;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use crate::error::Error;
use crate::kind::ChallengeKind;

/// Something that happened to the account or the certificate.
///
/// Every event is logged with `tracing` (target `acme`) and handed to the
/// hook set with [`AcmeBuilder::on_event`](crate::AcmeBuilder::on_event).
#[derive(Debug)]
#[non_exhaustive]
pub enum Event<'a> {
    /// A new account was registered with the CA.
    AccountCreated {
        /// The account's URL.
        id: &'a str,
    },
    /// The account kept in the cache is used.
    AccountReused {
        /// The account's URL.
        id: &'a str,
    },
    /// An order for these names was placed.
    OrderPlaced {
        /// The names.
        names: &'a [String],
    },
    /// A challenge answer is in place and the CA was told to check it.
    ChallengeReady {
        /// The name.
        name: &'a str,
        /// The kind.
        kind: ChallengeKind,
    },
    /// A certificate now serves new connections: from the cache at start,
    /// or just issued.
    CertificateInstalled {
        /// The names it covers.
        names: &'a [String],
        /// When it expires.
        not_after: SystemTime,
        /// Whether it was just issued (rather than read from the cache).
        issued: bool,
    },
    /// When the next renewal is due.
    RenewalScheduled {
        /// The time.
        at: SystemTime,
        /// Why then: `"renewal information"` (the CA's window) or
        /// `"two thirds of the lifetime"`.
        by: &'static str,
    },
    /// Getting a certificate failed; another attempt follows.
    Failed {
        /// What went wrong.
        error: &'a Error,
        /// When the next attempt is made.
        retry_in: Duration,
    },
}

/// The hook given events.
pub(crate) type Hook = Arc<dyn Fn(&Event<'_>) + Send + Sync>;

/// Where events go: tracing, and the hook if there is one.
#[derive(Clone, Default)]
pub(crate) struct Reporter {
    pub(crate) hook: Option<Hook>,
}

impl Reporter {
    /// Reports `event` to tracing and to the hook.
    pub(crate) fn emit(&self, event: Event<'_>) {
        emit(self.hook.as_ref(), event);
    }
}

fn emit(hook: Option<&Hook>, event: Event<'_>) {
    match &event {
        Event::Failed { error, retry_in } => {
            let error = format!("{error:#}");
            tracing::warn!(target: "acme", %error, ?retry_in, "certificate not obtained");
        }
        event => tracing::info!(target: "acme", "{event}"),
    }
    if let Some(hook) = hook {
        hook(&event);
    }
}

impl fmt::Display for Event<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Event::AccountCreated { id } => write!(f, "account created: {id}"),
            Event::AccountReused { id } => write!(f, "account reused: {id}"),
            Event::OrderPlaced { names } => write!(f, "order placed for {}", names.join(", ")),
            Event::ChallengeReady { name, kind } => write!(f, "{name}: {kind} answer ready"),
            Event::CertificateInstalled {
                names,
                not_after,
                issued,
            } => write!(
                f,
                "certificate {} for {}, valid until {}",
                if *issued {
                    "issued"
                } else {
                    "loaded from the cache"
                },
                names.join(", "),
                httpdate::fmt_http_date(*not_after)
            ),
            Event::RenewalScheduled { at, by } => {
                write!(f, "renewal due at {} ({by})", httpdate::fmt_http_date(*at))
            }
            Event::Failed { error, retry_in } => write!(
                f,
                "certificate not obtained: {error:#}; trying again in {retry_in:?}"
            ),
        }
    }
}
