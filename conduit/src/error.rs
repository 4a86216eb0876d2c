use std::fmt;

/// Errors of conduit's client side.
#[derive(Debug)]
#[non_exhaustive]
pub enum Error {
    /// The URI could not be read.
    InvalidUri {
        /// The URI as given.
        uri: String,
        /// What is wrong with it.
        reason: String,
    },
    /// No scheme entry and no rule for this scheme.
    UnknownScheme {
        /// The scheme.
        scheme: String,
        /// The schemes the resolver knows, sorted.
        known: Vec<String>,
    },
    /// An endpoint string could not be read.
    InvalidEndpoint {
        /// The text as given.
        text: String,
        /// What is wrong with it.
        reason: String,
    },
    /// The Docker environment (`DOCKER_HOST`, `DOCKER_CERT_PATH`) is unusable.
    Docker(String),
    /// A TLS configuration could not be built.
    Tls(mimic::tls::ConfigError),
    /// Nothing connected: mimic's report of every candidate.
    Connect {
        /// The URI being connected to.
        uri: String,
        /// The per-candidate report.
        source: mimic::ResolveError,
    },
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::InvalidUri { uri, reason } => write!(f, "invalid URI `{uri}`: {reason}"),
            Error::UnknownScheme { scheme, known } => write!(
                f,
                "unknown scheme `{scheme}`; known schemes: {}",
                known.join(", ")
            ),
            Error::InvalidEndpoint { text, reason } => {
                write!(f, "invalid endpoint `{text}`: {reason}")
            }
            Error::Docker(why) => write!(f, "cannot use the Docker environment: {why}"),
            Error::Tls(e) => write!(f, "{e}"),
            Error::Connect { uri, source } => write!(f, "connecting to `{uri}`: {source}"),
        }
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Error::Tls(e) => Some(e),
            Error::Connect { source, .. } => Some(source),
            _ => None,
        }
    }
}

impl From<mimic::tls::ConfigError> for Error {
    fn from(e: mimic::tls::ConfigError) -> Self {
        Error::Tls(e)
    }
}
