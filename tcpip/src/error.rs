//! The crate's error type.

use std::error::Error as StdError;
use std::fmt;

use mimic::report::Chain;

type Source = Box<dyn StdError + Send + Sync>;

/// Why a link could not be opened, a configuration was refused, or a name
/// did not resolve.
///
/// `{}` is the error's own text with advice, [`source`](StdError::source)
/// its cause, and `{:#}` the whole chain. Connections report
/// [`std::io::Error`]s instead, as any tokio stream does.
#[derive(Debug)]
pub struct Error {
    kind: Kind,
    source: Option<Source>,
}

#[derive(Debug)]
enum Kind {
    Link(String),
    Config(String),
    Lookup(String),
}

impl Error {
    pub(crate) fn link(name: &str, source: Source) -> Error {
        Error {
            kind: Kind::Link(name.to_string()),
            source: Some(source),
        }
    }

    pub(crate) fn config(text: impl Into<String>) -> Error {
        Error {
            kind: Kind::Config(text.into()),
            source: None,
        }
    }

    pub(crate) fn lookup(host: &str, source: Source) -> Error {
        Error {
            kind: Kind::Lookup(host.to_string()),
            source: Some(source),
        }
    }

    /// A link (a TAP device) could not be opened.
    pub fn is_link(&self) -> bool {
        matches!(self.kind, Kind::Link(_))
    }

    /// A configuration was refused: an address, a prefix, a size.
    pub fn is_config(&self) -> bool {
        matches!(self.kind, Kind::Config(_))
    }

    /// A host name did not resolve through the stack's DNS.
    pub fn is_lookup(&self) -> bool {
        matches!(self.kind, Kind::Lookup(_))
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if f.alternate() {
            return Chain(self).fmt(f);
        }
        match &self.kind {
            Kind::Link(name) => write!(
                f,
                "cannot open the TAP device `{name}` (it needs /dev/net/tun and CAP_NET_ADMIN, \
                 or a device made beforehand with `ip tuntap add {name} mode tap user USER`)"
            ),
            Kind::Config(text) => f.write_str(text),
            Kind::Lookup(host) => write!(f, "could not resolve `{host}` through the stack's DNS"),
        }
    }
}

impl StdError for Error {
    fn source(&self) -> Option<&(dyn StdError + 'static)> {
        self.source
            .as_deref()
            .map(|source| source as &(dyn StdError + 'static))
    }
}

impl From<Error> for std::io::Error {
    fn from(err: Error) -> std::io::Error {
        let kind = match err.kind {
            Kind::Link(_) => std::io::ErrorKind::NotFound,
            Kind::Config(_) => std::io::ErrorKind::InvalidInput,
            Kind::Lookup(_) => std::io::ErrorKind::NotFound,
        };
        std::io::Error::new(kind, err)
    }
}
