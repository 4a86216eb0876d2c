//! Why a TLS configuration could not be built.

use std::error::Error as StdError;
use std::fmt;

use mimic::tls::ConfigError;

/// Why a TLS configuration, client or server, could not be built.
#[derive(Debug)]
pub(crate) enum Tls {
    /// A PEM file or buffer could not be read, held no certificate or key,
    /// a name was invalid...: mimic's own configuration error, whose text
    /// names the source.
    Config(ConfigError),
    /// The private key is unusable or does not belong to the certificate.
    Key {
        /// The certificate's source.
        what: String,
        source: rustls::Error,
    },
    /// A name given for SNI is not a DNS name.
    InvalidName(String),
    /// No certificate was configured at all.
    NoIdentity,
    /// A URI asks for TLS, but the resolver's base context cannot do TLS:
    /// connecting would send in clear text.
    NoLayer(String),
    /// The client certificate verifier could not be built (an empty or
    /// invalid CA bundle, for one).
    ClientAuth(rustls::server::VerifierBuilderError),
    /// rustls refused the configuration.
    Rustls(rustls::Error),
}

impl Tls {
    pub(crate) fn source(&self) -> Option<&(dyn StdError + 'static)> {
        match self {
            // Shown through its own text: its cause is ours.
            Tls::Config(err) => err.source(),
            Tls::Key { source, .. } | Tls::Rustls(source) => Some(source),
            Tls::ClientAuth(source) => Some(source),
            Tls::InvalidName(_) | Tls::NoIdentity | Tls::NoLayer(_) => None,
        }
    }
}

impl fmt::Display for Tls {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Tls::Config(err) => write!(f, "{err}"),
            Tls::Key { what, .. } => write!(
                f,
                "the private key for the certificate from {what} is unusable \
                 (check that the key file belongs to this certificate)"
            ),
            Tls::InvalidName(name) => write!(
                f,
                "`{name}` is not a valid DNS name for SNI (use `*.example.com` for a wildcard)"
            ),
            Tls::NoIdentity => f.write_str(
                "no server certificate configured: call `identity` or `sni_identity` on the builder",
            ),
            Tls::NoLayer(uri) => write!(
                f,
                "`{uri}` needs TLS, but the resolver's base context has no TLS layer \
                 (install one with `mimic::tls::Tls::install`, or start from `Ctx::with_builtins`)"
            ),
            Tls::ClientAuth(_) => {
                f.write_str("cannot verify client certificates (check the CA bundle)")
            }
            Tls::Rustls(_) => f.write_str("invalid TLS configuration"),
        }
    }
}
