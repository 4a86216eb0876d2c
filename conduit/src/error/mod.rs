//! The one error type of this crate.
//!
//! # Organization
//! - [`Error`] (here): the opaque error, its predicates and constructors.
//! - `listen.rs`: why a listener could not be set up, with advice.
//! - `tls.rs`: why a TLS configuration could not be built.

mod listen;
mod tls;

use std::error::Error as StdError;
use std::fmt;
use std::io;
use std::path::PathBuf;

use mimic::ResolveError;
use mimic::report::{Chain, Outcome, Report};

pub(crate) use listen::Listen;
pub(crate) use tls::Tls;

/// Everything that can go wrong in conduit, client side and server side.
///
/// The error is opaque: ask it what happened with the `is_*` methods,
/// grouped here by who can fix it.
///
/// | who | predicates |
/// |---|---|
/// | the caller's input | [`is_invalid_uri`](Error::is_invalid_uri), [`is_unknown_scheme`](Error::is_unknown_scheme), [`is_invalid_endpoint`](Error::is_invalid_endpoint) |
/// | the local setup | [`is_tls`](Error::is_tls) (certificates, keys, names), [`is_docker`](Error::is_docker) (`DOCKER_*` variables), [`is_listen`](Error::is_listen) and [`is_addr_in_use`](Error::is_addr_in_use) (a listener's address) |
/// | the network or the peer | [`is_connect`](Error::is_connect), [`is_timeout`](Error::is_timeout), and [`is_tls`](Error::is_tls) for a failed handshake; [`report`](Error::report) tells what each candidate did |
///
/// # Display
///
/// `{}` is the error's own text, with the advice it has ("another socket is
/// bound there: stop it or choose another address"); [`source`](StdError::source)
/// is the cause; `{:#}` is the whole chain, as [`Chain`] prints it:
///
/// ```
/// use conduit::listener::TcpListener;
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let taken = TcpListener::bind("127.0.0.1:0".parse()?)?;
/// let addr = taken.local_socket_addr();
/// let err = TcpListener::bind(addr).expect_err("the port is taken");
/// assert!(err.is_listen() && err.is_addr_in_use());
/// assert_eq!(
///     err.to_string(),
///     format!("cannot listen on {addr} (bind failed; another socket is bound there: stop it or choose another address)"),
/// );
/// let cause = std::error::Error::source(&err).expect("the system's error");
/// assert_eq!(format!("{err:#}"), format!("{err}: {cause}"));
/// # Ok(()) }
/// ```
///
/// A connection failure's cause is mimic's [`ResolveError`], whose text is
/// the report of every candidate; [`report`](Error::report) gives it.
pub struct Error {
    kind: Box<Kind>,
}

/// What went wrong, with what the message needs. Private, so that kinds can
/// be added and refined.
#[derive(Debug)]
pub(crate) enum Kind {
    InvalidUri {
        uri: String,
        reason: String,
    },
    UnknownScheme {
        scheme: String,
        /// The known schemes closest to it, closest first.
        close: Vec<String>,
        /// The known schemes, sorted, but for the services file's.
        listed: Vec<String>,
        /// How many schemes the services file adds.
        more: usize,
    },
    InvalidEndpoint {
        text: String,
        reason: String,
    },
    ServicesFile {
        path: PathBuf,
        source: io::Error,
    },
    Docker {
        why: String,
        /// The TLS files named by `DOCKER_CERT_PATH`, when they are the problem.
        tls: Option<mimic::tls::ConfigError>,
    },
    Tls(Tls),
    Connect {
        uri: String,
        source: ResolveError,
    },
    Listen(Listen),
}

impl Error {
    pub(crate) fn new(kind: Kind) -> Error {
        Error {
            kind: Box::new(kind),
        }
    }

    /// A URI that cannot be used, and why: for the handlers of
    /// [`ResolverBuilder::custom_scheme`](crate::ResolverBuilder::custom_scheme).
    pub fn invalid_uri(uri: impl Into<String>, reason: impl Into<String>) -> Error {
        Error::new(Kind::InvalidUri {
            uri: uri.into(),
            reason: reason.into(),
        })
    }

    /// A connection to `uri` that failed as `source` says: for code that
    /// resolves a [`Resolution`](crate::Resolution)'s context itself and
    /// reports failures as [`Resolver::connect`](crate::Resolver::connect) does.
    pub fn connect(uri: impl Into<String>, source: ResolveError) -> Error {
        Error::new(Kind::Connect {
            uri: uri.into(),
            source,
        })
    }

    pub(crate) fn invalid_endpoint(text: impl Into<String>, reason: impl Into<String>) -> Error {
        Error::new(Kind::InvalidEndpoint {
            text: text.into(),
            reason: reason.into(),
        })
    }

    pub(crate) fn docker(why: impl Into<String>) -> Error {
        Error::new(Kind::Docker {
            why: why.into(),
            tls: None,
        })
    }

    /// The URI could not be read: no scheme, a bad host or port, no host
    /// where one is needed, a Unix path that is not absolute...
    pub fn is_invalid_uri(&self) -> bool {
        matches!(*self.kind, Kind::InvalidUri { .. })
    }

    /// No scheme entry, rule or custom handler covers the URI's scheme;
    /// the message suggests the closest known schemes (or lists the known
    /// ones when none is close) and says how to add one.
    pub fn is_unknown_scheme(&self) -> bool {
        matches!(*self.kind, Kind::UnknownScheme { .. })
    }

    /// An [`Endpoint`](crate::Endpoint) could not be read from its text.
    pub fn is_invalid_endpoint(&self) -> bool {
        matches!(*self.kind, Kind::InvalidEndpoint { .. })
    }

    /// The Docker environment (`DOCKER_HOST`, `DOCKER_TLS_VERIFY`,
    /// `DOCKER_CERT_PATH` and the TLS files there) is unusable.
    pub fn is_docker(&self) -> bool {
        matches!(*self.kind, Kind::Docker { .. })
    }

    /// TLS is at fault: a configuration that could not be built
    /// (certificate or key files, names, a CA bundle), or, with
    /// [`is_connect`](Error::is_connect), a connection whose TLS handshake
    /// failed (a certificate that does not verify, no common protocol).
    pub fn is_tls(&self) -> bool {
        match &*self.kind {
            Kind::Tls(_) => true,
            Kind::Connect { source, .. } => source
                .report()
                .entries()
                .iter()
                .any(|e| matches!(e.outcome, Outcome::Failed { stage: "tls", .. })),
            _ => false,
        }
    }

    /// Nothing connected: every candidate failed, none could be built, or
    /// time ran out. [`report`](Error::report) says what each one did.
    pub fn is_connect(&self) -> bool {
        matches!(*self.kind, Kind::Connect { .. })
    }

    /// A connection ran out of time: the context's deadline or a
    /// per-attempt timeout (also [`is_connect`](Error::is_connect)).
    pub fn is_timeout(&self) -> bool {
        matches!(&*self.kind, Kind::Connect { source, .. } if source.is_timeout())
    }

    /// A listener could not be set up: its socket, its address, its Unix
    /// socket file or the file's mode.
    pub fn is_listen(&self) -> bool {
        matches!(*self.kind, Kind::Listen(_))
    }

    /// A listener's address is taken: another socket is bound there, a live
    /// server answers on the Unix socket path, or a file that is not a
    /// socket is in the way (also [`is_listen`](Error::is_listen)).
    pub fn is_addr_in_use(&self) -> bool {
        matches!(&*self.kind, Kind::Listen(l) if l.io_kind() == io::ErrorKind::AddrInUse)
    }

    /// For a connection failure, mimic's report: every candidate, in the
    /// order they were tried, and how each one ended.
    pub fn report(&self) -> Option<&Report> {
        match &*self.kind {
            Kind::Connect { source, .. } => Some(source.report()),
            _ => None,
        }
    }

    /// The closest [`io::ErrorKind`], for the conversion into an
    /// [`io::Error`].
    fn io_kind(&self) -> io::ErrorKind {
        match &*self.kind {
            Kind::Listen(listen) => listen.io_kind(),
            Kind::ServicesFile { source, .. } => source.kind(),
            Kind::Connect { source, .. } if source.is_timeout() => io::ErrorKind::TimedOut,
            Kind::InvalidUri { .. } | Kind::UnknownScheme { .. } | Kind::InvalidEndpoint { .. } => {
                io::ErrorKind::InvalidInput
            }
            _ => io::ErrorKind::Other,
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if f.alternate() {
            return Chain(self).fmt(f);
        }
        match &*self.kind {
            Kind::InvalidUri { uri, reason } => write!(f, "invalid URI `{uri}`: {reason}"),
            Kind::UnknownScheme {
                scheme,
                close,
                listed,
                more,
            } => unknown_scheme(f, scheme, close, listed, *more),
            Kind::InvalidEndpoint { text, reason } => {
                write!(f, "invalid endpoint `{text}`: {reason}")
            }
            Kind::ServicesFile { path, .. } => {
                write!(f, "cannot read the services file {}", path.display())
            }
            Kind::Docker { why, .. } => write!(f, "cannot use the Docker environment: {why}"),
            Kind::Tls(tls) => write!(f, "{tls}"),
            Kind::Connect { uri, .. } => write!(f, "cannot connect to `{uri}`"),
            Kind::Listen(listen) => write!(f, "{listen}"),
        }
    }
}

/// Names the scheme, then the closest known ones, or the known ones when
/// none is close, then how to add one.
fn unknown_scheme(
    f: &mut fmt::Formatter<'_>,
    scheme: &str,
    close: &[String],
    listed: &[String],
    more: usize,
) -> fmt::Result {
    write!(f, "unknown scheme `{scheme}`; ")?;
    if close.is_empty() {
        write!(f, "known schemes: {}", listed.join(", "))?;
        if more > 0 {
            write!(f, " and {more} from the services file")?;
        }
        f.write_str(".")?;
    } else {
        let quoted: Vec<_> = close.iter().map(|s| format!("`{s}`")).collect();
        match quoted.split_last() {
            Some((last, [])) => write!(f, "did you mean {last}?")?,
            Some((last, rest)) => write!(f, "did you mean {} or {last}?", rest.join(", "))?,
            None => {}
        }
    }
    f.write_str(
        " To add a scheme, give its port with `ResolverBuilder::scheme`, \
         or handle it with `ResolverBuilder::custom_scheme`",
    )
}

impl fmt::Debug for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("conduit::Error").field(&self.kind).finish()
    }
}

impl StdError for Error {
    fn source(&self) -> Option<&(dyn StdError + 'static)> {
        match &*self.kind {
            Kind::ServicesFile { source, .. } => Some(source),
            Kind::Docker { tls, .. } => tls.as_ref().map(|e| e as &(dyn StdError + 'static)),
            Kind::Tls(tls) => tls.source(),
            Kind::Connect { source, .. } => Some(source),
            Kind::Listen(listen) => listen.source().map(|e| e as &(dyn StdError + 'static)),
            Kind::InvalidUri { .. } | Kind::UnknownScheme { .. } | Kind::InvalidEndpoint { .. } => {
                None
            }
        }
    }
}

impl From<Kind> for Error {
    fn from(kind: Kind) -> Error {
        Error::new(kind)
    }
}

impl From<Listen> for Error {
    fn from(listen: Listen) -> Error {
        Error::new(Kind::Listen(listen))
    }
}

impl From<Tls> for Error {
    fn from(tls: Tls) -> Error {
        Error::new(Kind::Tls(tls))
    }
}

/// A TLS configuration error from mimic (reading PEM files, a server name)
/// is a conduit [`is_tls`](Error::is_tls) error with the same text.
impl From<mimic::tls::ConfigError> for Error {
    fn from(err: mimic::tls::ConfigError) -> Error {
        Error::new(Kind::Tls(Tls::Config(err)))
    }
}

/// An `io::Error` of the closest kind (`AddrInUse` for a taken address,
/// `InvalidInput` for a bad URI...) that keeps this error as its inner one.
impl From<Error> for io::Error {
    fn from(err: Error) -> io::Error {
        io::Error::new(err.io_kind(), err)
    }
}
