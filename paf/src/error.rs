//! The one error type of this crate.

use std::error::Error as StdError;
use std::fmt;

/// A boxed error from user code (a handler, a body stream).
pub type BoxError = Box<dyn StdError + Send + Sync>;

/// Everything that can go wrong while serving or sending HTTP.
///
/// The kind of failure is told by the `is_*` methods. `Display` follows
/// the workspace's convention: `{}` says what failed in a few words,
/// [`source`](StdError::source) carries the cause, and `{:#}` prints the
/// whole chain, which is what to log or show a person:
///
/// ```
/// # async fn run() {
/// let client = paf::Client::new();
/// if let Err(err) = client.get("http://127.0.0.1:1/").await {
///     assert!(err.is_connect());
///     assert_eq!(err.to_string(), "connect failed");
///     // connect failed: cannot connect to `http://127.0.0.1:1/`: could not connect: ...
///     eprintln!("{err:#}");
/// }
/// # }
/// ```
pub struct Error {
    inner: Box<Inner>,
}

struct Inner {
    kind: Kind,
    source: Option<BoxError>,
}

/// Which part failed. Kept private so that kinds can be added and refined.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Kind {
    /// Reading or writing the connection failed.
    Io,
    /// The peer sent a message head that could not be parsed or was refused.
    Parse,
    /// The peer sent a malformed body (bad chunk framing, bad trailers).
    Body,
    /// A body was larger than the configured limit.
    BodyTooLarge,
    /// The connection closed before the message was complete.
    Incomplete,
    /// The connection is closed; nothing more can be sent on it.
    Closed,
    /// The connection closed after a request was sent, before any byte of
    /// its response arrived.
    Unanswered,
    /// A timeout.
    Timeout(Timeout),
    /// The handler or a user-provided body failed.
    User,
    /// The handler panicked.
    Panic,
    /// The request was canceled before a response arrived.
    Canceled,
    /// Switching protocols failed or was not possible.
    Upgrade,
    /// An HTTP/2 protocol error, or a stream reset by the peer.
    Http2,
    /// No connection could be made; the source is conduit's error with
    /// mimic's per-candidate report.
    Connect,
    /// As [`Kind::Connect`], and the TLS handshake is what failed.
    Tls,
    /// The request could not be built: a bad URI, scheme or header.
    Request,
    /// A redirect could not be followed: too many, a bad `location`, or a
    /// scheme that is not followed.
    Redirect,
}

/// Which timeout expired.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Timeout {
    /// The peer took too long to send a message head.
    Head,
    /// A kept-alive connection stayed idle too long.
    Idle,
    /// The peer paused too long in the middle of a body.
    Body,
    /// Connecting (resolution, TCP, TLS, proxy tunnel) took too long.
    Connect,
    /// The whole exchange, from sending to the end of the response body,
    /// took too long.
    Request,
    /// The response head, or the next piece of its body, took too long.
    Read,
}

impl Error {
    pub(crate) fn new(kind: Kind) -> Error {
        Error {
            inner: Box::new(Inner { kind, source: None }),
        }
    }

    pub(crate) fn with(kind: Kind, source: impl Into<BoxError>) -> Error {
        Error {
            inner: Box::new(Inner {
                kind,
                source: Some(source.into()),
            }),
        }
    }

    pub(crate) fn io(err: std::io::Error) -> Error {
        Error::with(Kind::Io, err)
    }

    /// An error from user code; one of ours passes through unwrapped, so
    /// its kind (a canceled body, say) is kept.
    pub(crate) fn user(err: impl Into<BoxError>) -> Error {
        match err.into().downcast::<Error>() {
            Ok(err) => *err,
            Err(err) => Error::with(Kind::User, err),
        }
    }

    /// An error from the `h2` crate, sorted: I/O failures are I/O, a stream
    /// the server refused (or never processed before going away) is
    /// unanswered and safe to retry (RFC 9113, section 8.7).
    pub(crate) fn h2(err: h2::Error) -> Error {
        if err.is_io() {
            return match err.into_io() {
                Some(io) => Error::io(io),
                None => Error::new(Kind::Io),
            };
        }
        if err.is_remote() && err.reason() == Some(h2::Reason::REFUSED_STREAM) {
            return Error::with(Kind::Unanswered, err);
        }
        Error::with(Kind::Http2, err)
    }

    pub(crate) fn kind(&self) -> Kind {
        self.inner.kind
    }

    /// Reading from or writing to the connection failed.
    pub fn is_io(&self) -> bool {
        self.inner.kind == Kind::Io
    }

    /// The peer sent a message head that could not be parsed or was refused.
    pub fn is_parse(&self) -> bool {
        self.inner.kind == Kind::Parse
    }

    /// The peer sent a malformed body, or the connection closed in the middle
    /// of one.
    pub fn is_body(&self) -> bool {
        matches!(self.inner.kind, Kind::Body | Kind::Incomplete)
    }

    /// A body was larger than the configured limit.
    pub fn is_body_too_large(&self) -> bool {
        self.inner.kind == Kind::BodyTooLarge
    }

    /// The connection closed before the message was complete.
    pub fn is_incomplete(&self) -> bool {
        self.inner.kind == Kind::Incomplete
    }

    /// The connection is closed, so the request could not be sent.
    pub fn is_closed(&self) -> bool {
        self.inner.kind == Kind::Closed
    }

    /// The connection closed (cleanly or with a reset) after the request was
    /// sent, before any byte of its response arrived.
    ///
    /// The server may or may not have processed the request, so only an
    /// idempotent request (`GET`, `HEAD`, `PUT`, `DELETE`, ...) is safe to
    /// send again, on another connection. The usual cause is a kept-alive
    /// connection that the server closed while the request was on its way.
    pub fn is_unanswered(&self) -> bool {
        self.inner.kind == Kind::Unanswered
    }

    /// A timeout expired; [`is_connect_timeout`](Error::is_connect_timeout),
    /// [`is_request_timeout`](Error::is_request_timeout) and
    /// [`is_read_timeout`](Error::is_read_timeout) tell the client's apart.
    pub fn is_timeout(&self) -> bool {
        matches!(self.inner.kind, Kind::Timeout(_))
    }

    /// The client's connect timeout expired (also [`is_connect`](Error::is_connect)).
    pub fn is_connect_timeout(&self) -> bool {
        self.inner.kind == Kind::Timeout(Timeout::Connect)
    }

    /// The client's whole-request timeout expired.
    pub fn is_request_timeout(&self) -> bool {
        self.inner.kind == Kind::Timeout(Timeout::Request)
    }

    /// The client's read timeout expired: the response head, or the next
    /// piece of the body, did not arrive in time.
    pub fn is_read_timeout(&self) -> bool {
        self.inner.kind == Kind::Timeout(Timeout::Read)
    }

    /// No connection could be made (refused, unreachable, DNS, TLS, proxy,
    /// timeout). [`report`](Error::report) says what each candidate did.
    pub fn is_connect(&self) -> bool {
        matches!(
            self.inner.kind,
            Kind::Connect | Kind::Tls | Kind::Timeout(Timeout::Connect)
        )
    }

    /// Connecting failed in the TLS handshake (a certificate that does not
    /// verify, a protocol mismatch); also [`is_connect`](Error::is_connect).
    pub fn is_tls(&self) -> bool {
        self.inner.kind == Kind::Tls
    }

    /// The request could not be built: a bad URI, an unknown scheme, a bad
    /// header value.
    pub fn is_request(&self) -> bool {
        self.inner.kind == Kind::Request
    }

    /// A redirect could not be followed: more than the policy allows, a
    /// `location` that is not a usable URI, or one in a scheme other than
    /// `http` and `https` (the caller's own scheme aside).
    pub fn is_redirect(&self) -> bool {
        self.inner.kind == Kind::Redirect
    }

    /// For a connect failure, mimic's report: every candidate tried, in
    /// order, and how each one ended.
    pub fn report(&self) -> Option<&mimic::report::Report> {
        let mut source = self.source();
        while let Some(err) = source {
            if let Some(report) = err
                .downcast_ref::<conduit::Error>()
                .and_then(conduit::Error::report)
            {
                return Some(report);
            }
            if let Some(resolve) = err.downcast_ref::<mimic::ResolveError>() {
                return Some(resolve.report());
            }
            source = err.source();
        }
        None
    }

    /// The handler, or a body given by the application, failed.
    pub fn is_user(&self) -> bool {
        matches!(self.inner.kind, Kind::User | Kind::Panic)
    }

    /// The request was canceled before its response arrived.
    pub fn is_canceled(&self) -> bool {
        self.inner.kind == Kind::Canceled
    }

    /// Switching protocols (Upgrade, CONNECT) failed.
    pub fn is_upgrade(&self) -> bool {
        self.inner.kind == Kind::Upgrade
    }

    /// The HTTP/2 peer broke the protocol, closed the connection with an
    /// error, or reset the stream; the source names the reason.
    pub fn is_http2(&self) -> bool {
        self.inner.kind == Kind::Http2
    }

    fn description(&self) -> &'static str {
        match self.inner.kind {
            Kind::Io => "connection error",
            Kind::Parse => "invalid message head",
            Kind::Body => "invalid message body",
            Kind::BodyTooLarge => "body larger than the limit",
            Kind::Incomplete => "connection closed before the message was complete",
            Kind::Closed => "connection closed",
            Kind::Unanswered => "connection closed before the response began",
            Kind::Timeout(Timeout::Head) => "timed out reading the message head",
            Kind::Timeout(Timeout::Idle) => "idle connection timed out",
            Kind::Timeout(Timeout::Body) => "timed out waiting for the rest of the message body",
            Kind::Timeout(Timeout::Connect) => "timed out connecting",
            Kind::Timeout(Timeout::Request) => "request timed out",
            Kind::Timeout(Timeout::Read) => "timed out waiting for the response",
            Kind::User => "application error",
            Kind::Panic => "handler panicked",
            Kind::Canceled => "request canceled",
            Kind::Upgrade => "protocol upgrade failed",
            Kind::Http2 => "HTTP/2 error",
            Kind::Connect => "connect failed",
            Kind::Tls => "TLS handshake failed",
            Kind::Request => "invalid request",
            Kind::Redirect => "cannot follow the redirect",
        }
    }
}

/// What a caught panic said, for the log.
pub(crate) fn panic_message(panic: &(dyn std::any::Any + Send)) -> &str {
    if let Some(s) = panic.downcast_ref::<&'static str>() {
        s
    } else if let Some(s) = panic.downcast_ref::<String>() {
        s
    } else {
        "(not a string)"
    }
}

/// `{}` is what failed, in a few words; `{:#}` adds every cause, down to
/// the operating system's or mimic's per-candidate report.
impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if f.alternate() {
            return mimic::report::Chain(self).fmt(f);
        }
        f.write_str(self.description())
    }
}

impl fmt::Debug for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut d = f.debug_struct("paf::Error");
        d.field("kind", &self.inner.kind);
        if let Some(source) = &self.inner.source {
            d.field("source", source);
        }
        d.finish()
    }
}

impl StdError for Error {
    fn source(&self) -> Option<&(dyn StdError + 'static)> {
        self.inner
            .source
            .as_deref()
            .map(|err| err as &(dyn StdError + 'static))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_shows_its_own_text_and_the_alternate_the_chain() {
        let io = std::io::Error::new(std::io::ErrorKind::ConnectionReset, "reset by peer");
        let err = Error::io(io);
        assert!(err.is_io());
        assert_eq!(err.to_string(), "connection error");
        assert_eq!(format!("{err:#}"), "connection error: reset by peer");
        let nested = Error::with(Kind::User, Error::io(std::io::Error::other("disk full")));
        assert_eq!(
            format!("{nested:#}"),
            "application error: connection error: disk full"
        );
    }

    #[test]
    fn kinds_are_told_apart() {
        assert!(Error::new(Kind::Timeout(Timeout::Head)).is_timeout());
        assert!(Error::new(Kind::Incomplete).is_body());
        assert!(Error::new(Kind::Panic).is_user());
        assert!(!Error::new(Kind::Closed).is_timeout());
    }
}
