//! Exit statuses, as curl numbers them, and the failures that carry them.

use std::error::Error as StdError;
use std::fmt;

use mimic::report::{NotBuilt, Outcome, Report};

/// curl's exit statuses that `paf-curl` uses.
pub mod code {
    /// Unsupported protocol: a scheme no rule knows.
    pub const UNSUPPORTED_PROTOCOL: u8 = 1;
    /// Bad usage: an unknown option, a missing argument, options that
    /// cannot go together.
    pub const USAGE: u8 = 2;
    /// Failed to initialize: the runtime could not start. curl gives the
    /// same status as for bad usage.
    pub const FAILED_INIT: u8 = 2;
    /// The URL is malformed.
    pub const URL_MALFORMAT: u8 = 3;
    /// The proxy's host name could not be resolved, or the proxy setting
    /// is unusable.
    pub const COULDNT_RESOLVE_PROXY: u8 = 5;
    /// The host name could not be resolved.
    pub const COULDNT_RESOLVE_HOST: u8 = 6;
    /// No connection could be made.
    pub const COULDNT_CONNECT: u8 = 7;
    /// The server sent something that is not HTTP.
    pub const WEIRD_SERVER_REPLY: u8 = 8;
    /// An HTTP/2 protocol error.
    pub const HTTP2: u8 = 16;
    /// The body ended before its announced length.
    pub const PARTIAL_FILE: u8 = 18;
    /// `--fail` and a status of 400 or more.
    pub const HTTP_RETURNED_ERROR: u8 = 22;
    /// Writing the output failed.
    pub const WRITE_ERROR: u8 = 23;
    /// Reading a local file (-d @FILE, -T FILE) failed.
    pub const READ_ERROR: u8 = 26;
    /// A timeout expired.
    pub const OPERATION_TIMEDOUT: u8 = 28;
    /// The TLS handshake failed.
    pub const SSL_CONNECT_ERROR: u8 = 35;
    /// More redirects than --max-redirs.
    pub const TOO_MANY_REDIRECTS: u8 = 47;
    /// A --resolve or --connect-to entry cannot be read.
    pub const SETOPT_OPTION_SYNTAX: u8 = 49;
    /// The connection closed without a response.
    pub const GOT_NOTHING: u8 = 52;
    /// Receiving data failed.
    pub const RECV_ERROR: u8 = 56;
    /// The client certificate or key cannot be used.
    pub const SSL_CERTPROBLEM: u8 = 58;
    /// The server's certificate did not verify.
    pub const PEER_FAILED_VERIFICATION: u8 = 60;
    /// The CA file cannot be used.
    pub const SSL_CACERT_BADFILE: u8 = 77;
}

/// A transfer that failed: curl's exit status and the message to show as
/// `paf-curl: (CODE) MESSAGE`.
#[derive(Debug)]
pub struct Failure {
    /// The exit status.
    pub code: u8,
    /// What went wrong.
    pub message: String,
}

impl Failure {
    /// A failure with this status and message.
    pub fn new(code: u8, message: impl Into<String>) -> Failure {
        Failure {
            code,
            message: message.into(),
        }
    }

    /// Bad usage (status 2), shown as clap shows its own errors.
    pub fn usage(message: impl Into<String>) -> Failure {
        Failure::new(code::USAGE, message)
    }

    /// The failure of a request, its status chosen as curl would.
    pub fn from_paf(err: &paf::Error) -> Failure {
        Failure::new(status_of(err), format!("{err:#}"))
    }
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "({}) {}", self.code, self.message)
    }
}

/// curl's exit status for a paf error.
pub fn status_of(err: &paf::Error) -> u8 {
    if err.is_timeout() {
        code::OPERATION_TIMEDOUT
    } else if err.is_tls() {
        if certificate_rejected(err) {
            code::PEER_FAILED_VERIFICATION
        } else {
            code::SSL_CONNECT_ERROR
        }
    } else if err.is_connect() {
        let through_proxy = format!("{err:#}").contains("` through the proxy `");
        match (err.report().is_some_and(name_not_resolved), through_proxy) {
            (true, true) => code::COULDNT_RESOLVE_PROXY,
            (true, false) => code::COULDNT_RESOLVE_HOST,
            (false, _) => code::COULDNT_CONNECT,
        }
    } else if err.is_redirect() {
        if format!("{err:#}").contains("is not a usable URI") {
            // A `location` that cannot be followed, rather than too many.
            code::URL_MALFORMAT
        } else {
            code::TOO_MANY_REDIRECTS
        }
    } else if err.is_request() {
        if unknown_scheme(err) {
            code::UNSUPPORTED_PROTOCOL
        } else if format!("{err:#}").contains("invalid proxy") {
            code::COULDNT_RESOLVE_PROXY
        } else {
            code::URL_MALFORMAT
        }
    } else if err.is_user() {
        // The request body failed: reading the -T file.
        code::READ_ERROR
    } else if err.is_unanswered() || err.is_closed() {
        code::GOT_NOTHING
    } else if err.is_incomplete() {
        code::PARTIAL_FILE
    } else if err.is_parse() {
        code::WEIRD_SERVER_REPLY
    } else if err.is_http2() {
        code::HTTP2
    } else {
        code::RECV_ERROR
    }
}

/// Whether a connection failed because the host name did not resolve:
/// the DNS derivation failed for a candidate, and no candidate was
/// attempted.
pub fn name_not_resolved(report: &Report) -> bool {
    let dns = mimic::keys::ADDRS.name();
    let attempted = report.entries().iter().any(|e| e.started.is_some());
    let dns_failed = report.entries().iter().any(|e| {
        matches!(
            &e.outcome,
            Outcome::NotBuilt(NotBuilt::DerivationFailed { path, .. })
                if path.last() == Some(&dns)
        )
    });
    dns_failed && !attempted
}

/// Whether the TLS handshake failed because the server's certificate did
/// not verify (curl's 60) rather than for another reason (35).
fn certificate_rejected(err: &paf::Error) -> bool {
    let Some(report) = err.report() else {
        return false;
    };
    report.entries().iter().any(|entry| match &entry.outcome {
        Outcome::Failed {
            stage: "tls",
            cause,
            ..
        } => chain(&**cause).any(|e| {
            let rustls = e.downcast_ref::<rustls::Error>().or_else(|| {
                e.downcast_ref::<std::io::Error>()
                    .and_then(|io| io.get_ref())
                    .and_then(|inner| inner.downcast_ref::<rustls::Error>())
            });
            matches!(
                rustls,
                Some(rustls::Error::InvalidCertificate(_) | rustls::Error::NoCertificatesPresented)
            )
        }),
        _ => false,
    })
}

fn unknown_scheme(err: &paf::Error) -> bool {
    chain(err as &(dyn StdError + 'static)).any(|e| {
        e.downcast_ref::<conduit::Error>()
            .is_some_and(conduit::Error::is_unknown_scheme)
    })
}

/// An error and its sources.
fn chain<'a>(
    err: &'a (dyn StdError + 'static),
) -> impl Iterator<Item = &'a (dyn StdError + 'static)> {
    std::iter::successors(Some(err), |e: &&'a (dyn StdError + 'static)| (*e).source())
}
