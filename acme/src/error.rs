//! The crate's one error type, and the CA's problem documents.

use std::fmt;
use std::io;
use std::path::PathBuf;

use crate::kind::ChallengeKind;

/// What went wrong while getting or renewing a certificate.
///
/// Grouped by who can fix it: the settings ([`Error::Setting`],
/// [`Error::TermsNotAccepted`]), the machine ([`Error::Cache`]), the network
/// ([`Error::Unreachable`], [`Error::Timeout`]), or the CA and the
/// challenges it checks ([`Error::Ca`], [`Error::Challenge`],
/// [`Error::ChallengeUnavailable`]). `{}` is this error's own text, with
/// the CA's problem detail where there is one; [`source`](std::error::Error::source)
/// carries the cause.
#[derive(Debug)]
#[non_exhaustive]
pub enum Error {
    /// The CA's terms of service were not accepted
    /// ([`AcmeBuilder::accept_terms`](crate::AcmeBuilder::accept_terms)).
    TermsNotAccepted,
    /// A setting is missing or malformed.
    Setting {
        /// Which setting.
        setting: &'static str,
        /// What is wrong with it, and what would do.
        reason: String,
        /// The cause, if any (a file that cannot be read, say).
        source: Option<Box<dyn std::error::Error + Send + Sync>>,
    },
    /// The cache directory or one of its files could not be read or
    /// written.
    Cache {
        /// The file or directory.
        path: PathBuf,
        /// What was being done.
        action: &'static str,
        /// The cause.
        source: io::Error,
    },
    /// The CA could not be reached, or its answer not read.
    Unreachable {
        /// What was being done.
        during: &'static str,
        /// The cause, from paf's client.
        source: paf::Error,
    },
    /// The CA refused a request, with this problem document.
    Ca {
        /// What was being done.
        during: &'static str,
        /// The CA's account of the problem.
        problem: Problem,
    },
    /// One or more challenges failed: the CA could not check that we
    /// control the names.
    Challenge {
        /// Each failed name with the CA's detail.
        failures: Vec<ChallengeFailure>,
    },
    /// The CA does not offer this kind of challenge for a name.
    ChallengeUnavailable {
        /// The name.
        name: String,
        /// The kind asked for.
        kind: ChallengeKind,
        /// The kinds the CA offers.
        offered: Vec<String>,
    },
    /// The CA took too long to validate or to issue.
    Timeout {
        /// What was being waited for.
        during: &'static str,
    },
    /// The certificate or key we were given, or made, is unusable.
    Certificate {
        /// What is wrong.
        reason: String,
        /// The cause, if any.
        source: Option<Box<dyn std::error::Error + Send + Sync>>,
    },
    /// The ACME exchange failed in a way not covered above (an answer
    /// that is not JSON, a missing field).
    Protocol {
        /// What was being done.
        during: &'static str,
        /// The cause.
        source: Box<dyn std::error::Error + Send + Sync>,
    },
}

impl Error {
    /// Whether trying again later may succeed: network trouble, timeouts,
    /// the CA's own errors and rate limits, failed challenges. Settings and
    /// cache errors need a person.
    pub fn is_transient(&self) -> bool {
        !matches!(
            self,
            Error::TermsNotAccepted | Error::Setting { .. } | Error::Cache { .. }
        )
    }

    /// The CA's problem document, when the CA refused a request.
    pub fn problem(&self) -> Option<&Problem> {
        match self {
            Error::Ca { problem, .. } => Some(problem),
            Error::Challenge { failures } => failures.iter().find_map(|f| f.problem.as_ref()),
            _ => None,
        }
    }

    /// Maps an error from the ACME client library, saying what was being done.
    pub(crate) fn acme(during: &'static str, err: instant_acme::Error) -> Error {
        match err {
            instant_acme::Error::Api(problem) => Error::Ca {
                during,
                problem: Problem::from(problem),
            },
            instant_acme::Error::Timeout(_) => Error::Timeout { during },
            instant_acme::Error::Other(source) => match source.downcast::<paf::Error>() {
                Ok(source) => Error::Unreachable {
                    during,
                    source: *source,
                },
                Err(source) => Error::Protocol { during, source },
            },
            other => Error::Protocol {
                during,
                source: Box::new(other),
            },
        }
    }

    pub(crate) fn setting(setting: &'static str, reason: impl Into<String>) -> Error {
        Error::Setting {
            setting,
            reason: reason.into(),
            source: None,
        }
    }

    /// A setting that cannot be used, because of `source`.
    pub(crate) fn setting_caused(
        setting: &'static str,
        reason: impl Into<String>,
        source: impl std::error::Error + Send + Sync + 'static,
    ) -> Error {
        Error::Setting {
            setting,
            reason: reason.into(),
            source: Some(Box::new(source)),
        }
    }

    pub(crate) fn certificate(reason: impl Into<String>) -> Error {
        Error::Certificate {
            reason: reason.into(),
            source: None,
        }
    }
}

impl fmt::Display for Error {
    /// `{}` is this error's own text; `{:#}` adds its causes, joined by `: `.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.own_text(f)?;
        if f.alternate() {
            let mut source = std::error::Error::source(self);
            while let Some(cause) = source {
                write!(f, ": {cause}")?;
                source = cause.source();
            }
        }
        Ok(())
    }
}

impl Error {
    fn own_text(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::TermsNotAccepted => f.write_str(
                "the CA's terms of service must be accepted first (AcmeBuilder::accept_terms)",
            ),
            Error::Setting {
                setting, reason, ..
            } => write!(f, "{setting}: {reason}"),
            Error::Cache { path, action, .. } => {
                write!(f, "cannot {action} {}", path.display())
            }
            Error::Unreachable { during, .. } => write!(f, "cannot reach the CA ({during})"),
            Error::Ca { during, problem } => write!(f, "the CA refused to {during}: {problem}"),
            Error::Challenge { failures } => {
                for (i, failure) in failures.iter().enumerate() {
                    if i > 0 {
                        f.write_str("; ")?;
                    }
                    write!(f, "{failure}")?;
                }
                Ok(())
            }
            Error::ChallengeUnavailable {
                name,
                kind,
                offered,
            } => {
                let offered = match offered.is_empty() {
                    true => "none".to_string(),
                    false => offered.join(", "),
                };
                write!(
                    f,
                    "{name}: the CA offers no {kind} challenge (it offers {offered})"
                )
            }
            Error::Timeout { during } => write!(f, "timed out waiting for the CA to {during}"),
            Error::Certificate { reason, .. } => f.write_str(reason),
            Error::Protocol { during, .. } => write!(f, "unexpected answer from the CA ({during})"),
        }
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Error::Setting { source, .. } => source.as_deref().map(|e| e as _),
            Error::Cache { source, .. } => Some(source),
            Error::Unreachable { source, .. } => Some(source),
            Error::Certificate { source, .. } => source.as_deref().map(|e| e as _),
            Error::Protocol { source, .. } => Some(source.as_ref()),
            _ => None,
        }
    }
}

/// A challenge the CA could not validate.
#[derive(Clone, Debug)]
pub struct ChallengeFailure {
    /// The name (DNS identifier).
    pub name: String,
    /// The kind of challenge.
    pub kind: ChallengeKind,
    /// The CA's detail, when it gave one.
    pub problem: Option<Problem>,
}

impl fmt::Display for ChallengeFailure {
    /// `example.com: HTTP-01 failed: <the CA's detail> (<problem type>)`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {} failed", self.name, self.kind)?;
        match &self.problem {
            Some(problem) => write!(f, ": {problem}"),
            None => f.write_str(" (the CA gave no detail)"),
        }
    }
}

/// An RFC 7807 problem document from the CA: what it refused, and why.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Problem {
    /// The problem type, such as `urn:ietf:params:acme:error:connection`.
    pub kind: Option<String>,
    /// The CA's explanation.
    pub detail: Option<String>,
    /// The HTTP status the CA answered with.
    pub status: Option<u16>,
    /// Problems about single names.
    pub subproblems: Vec<Subproblem>,
}

/// The part of a [`Problem`] about one name.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Subproblem {
    /// The name.
    pub name: Option<String>,
    /// The problem type.
    pub kind: Option<String>,
    /// The CA's explanation.
    pub detail: Option<String>,
}

impl Problem {
    /// The type without its `urn:ietf:params:acme:error:` prefix
    /// (`connection`, `rateLimited`, `unauthorized`...).
    pub fn short_kind(&self) -> Option<&str> {
        let kind = self.kind.as_deref()?;
        Some(
            kind.strip_prefix("urn:ietf:params:acme:error:")
                .unwrap_or(kind),
        )
    }
}

impl From<instant_acme::Problem> for Problem {
    fn from(problem: instant_acme::Problem) -> Problem {
        let subproblems = problem
            .subproblems
            .into_iter()
            .map(|sub| Subproblem {
                name: sub.identifier.map(|id| id.authorized(false).to_string()),
                kind: sub.r#type,
                detail: sub.detail,
            })
            .collect();
        Problem {
            kind: problem.r#type,
            detail: problem.detail,
            status: problem.status,
            subproblems,
        }
    }
}

impl fmt::Display for Problem {
    /// The detail, then the short type in parentheses, then the
    /// subproblems.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (&self.detail, self.short_kind()) {
            (Some(detail), Some(kind)) => write!(f, "{detail} ({kind})")?,
            (Some(detail), None) => f.write_str(detail)?,
            (None, Some(kind)) => f.write_str(kind)?,
            (None, None) => f.write_str("no detail given")?,
        }
        for sub in &self.subproblems {
            let name = sub.name.as_deref().unwrap_or("?");
            let detail = sub.detail.as_deref().or(sub.kind.as_deref());
            let detail = detail.unwrap_or("no detail");
            write!(f, "; {name}: {detail}")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn challenge_failure_names_the_name_kind_and_detail() {
        let failure = ChallengeFailure {
            name: "example.com".into(),
            kind: ChallengeKind::Http01,
            problem: Some(Problem {
                kind: Some("urn:ietf:params:acme:error:connection".into()),
                detail: Some("the CA could not connect to 203.0.113.5:80".into()),
                ..Problem::default()
            }),
        };
        let err = Error::Challenge {
            failures: vec![failure],
        };
        assert_eq!(
            err.to_string(),
            "example.com: HTTP-01 failed: the CA could not connect to 203.0.113.5:80 (connection)"
        );
        assert!(err.is_transient());
        assert!(!Error::TermsNotAccepted.is_transient());
    }
}
