//! Where a connection goes, as text and as a mimic context.

use std::fmt;
use std::path::PathBuf;
use std::str::FromStr;

use mimic::{Ctx, keys, tls, unix};

use crate::error::Error;
use crate::target::split_host_port;

/// A place to connect to.
///
/// As text (`Display` and `FromStr`):
///
/// | text | endpoint |
/// |---|---|
/// | `tcp://example.com:80`, `tcp://[::1]:80` | TCP to a host (resolved by DNS) or an IP |
/// | `unix:///run/x.sock` | a Unix domain socket |
/// | `tls://example.com:443` | TLS with server name `example.com` over TCP to `example.com:443` |
/// | `tls+unix:///run/x.sock#localhost` | TLS with server name `localhost` over a Unix socket |
/// | `tls+tcp://10.0.0.1:443#example.com` | TLS with server name `example.com` over TCP to `10.0.0.1:443` |
/// | `vsock://3:1024` | any other scheme: a custom endpoint, handled by the resolver's custom schemes |
///
/// ```
/// use conduit::Endpoint;
///
/// let e: Endpoint = "tls+unix:///run/api.sock#api.internal".parse()?;
/// assert_eq!(e, Endpoint::Tls {
///     server_name: "api.internal".into(),
///     inner: Box::new(Endpoint::Unix("/run/api.sock".into())),
/// });
/// assert_eq!(e.to_string(), "tls+unix:///run/api.sock#api.internal");
/// # Ok::<(), conduit::Error>(())
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Endpoint {
    /// TCP to a host name or IP literal.
    Tcp {
        /// Host name or IP literal (no brackets).
        host: String,
        /// Port.
        port: u16,
    },
    /// A Unix domain socket.
    Unix(PathBuf),
    /// TLS over another endpoint.
    Tls {
        /// The name to send (SNI) and check the certificate against.
        server_name: String,
        /// What TLS runs over.
        inner: Box<Endpoint>,
    },
    /// An endpoint of a scheme registered with
    /// [`ResolverBuilder::custom_scheme`](crate::ResolverBuilder::custom_scheme).
    Custom {
        /// The scheme.
        scheme: String,
        /// Everything after `scheme://`.
        address: String,
    },
}

impl Endpoint {
    /// TCP to `host:port`.
    pub fn tcp(host: impl Into<String>, port: u16) -> Endpoint {
        Endpoint::Tcp {
            host: host.into(),
            port,
        }
    }

    /// TLS named `server_name` over `inner`.
    pub fn tls(server_name: impl Into<String>, inner: Endpoint) -> Endpoint {
        Endpoint::Tls {
            server_name: server_name.into(),
            inner: Box::new(inner),
        }
    }

    /// Sets the keys that make mimic's built-in protocols connect here.
    /// Custom endpoints are the resolver's business and set nothing here.
    pub fn apply(&self, ctx: Ctx) -> Ctx {
        match self {
            Endpoint::Tcp { host, port } => {
                ctx.with(&keys::HOST, host.clone()).with(&keys::PORT, *port)
            }
            Endpoint::Unix(path) => ctx.with(&unix::PATH, path.clone()),
            Endpoint::Tls { server_name, inner } => inner
                .apply(ctx)
                .with(&tls::SERVER_NAME, server_name.clone()),
            Endpoint::Custom { .. } => ctx,
        }
    }
}

fn host_text(host: &str) -> String {
    if host.contains(':') {
        format!("[{host}]")
    } else {
        host.to_string()
    }
}

impl fmt::Display for Endpoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Endpoint::Tcp { host, port } => write!(f, "tcp://{}:{port}", host_text(host)),
            Endpoint::Unix(path) => write!(f, "unix://{}", path.display()),
            Endpoint::Tls { server_name, inner } => match &**inner {
                Endpoint::Tcp { host, port } if host == server_name => {
                    write!(f, "tls://{}:{port}", host_text(host))
                }
                inner => write!(f, "tls+{inner}#{server_name}"),
            },
            Endpoint::Custom { scheme, address } => write!(f, "{scheme}://{address}"),
        }
    }
}

fn bad(text: &str, reason: &str) -> Error {
    Error::invalid_endpoint(text, reason)
}

impl FromStr for Endpoint {
    type Err = Error;

    fn from_str(text: &str) -> Result<Endpoint, Error> {
        let (scheme, rest) = text
            .split_once("://")
            .ok_or_else(|| bad(text, "expected `scheme://`"))?;
        let host_port = |rest: &str| {
            let (host, port) =
                split_host_port(rest).ok_or_else(|| bad(text, "expected host:port"))?;
            let port = port.ok_or_else(|| bad(text, "a port is required"))?;
            Ok::<_, Error>(Endpoint::Tcp { host, port })
        };
        match scheme.to_ascii_lowercase().as_str() {
            "tcp" => host_port(rest),
            "unix" if rest.starts_with('/') => Ok(Endpoint::Unix(PathBuf::from(rest))),
            "unix" => Err(bad(text, "a Unix socket path must be absolute")),
            "tls" => match host_port(rest)? {
                Endpoint::Tcp { host, port } => {
                    Ok(Endpoint::tls(host.clone(), Endpoint::tcp(host, port)))
                }
                _ => Err(bad(text, "expected host:port")),
            },
            layered if layered.starts_with("tls+") => {
                let (inner, name) = rest
                    .rsplit_once('#')
                    .ok_or_else(|| bad(text, "expected `#server-name` after the inner endpoint"))?;
                if name.is_empty() {
                    return Err(bad(text, "empty server name"));
                }
                let inner: Endpoint = format!("{}://{inner}", &layered[4..]).parse()?;
                Ok(Endpoint::tls(name, inner))
            }
            _ if rest.is_empty() => Err(bad(text, "empty address")),
            other => Ok(Endpoint::Custom {
                scheme: other.to_string(),
                address: rest.to_string(),
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_round_trips() {
        for text in [
            "tcp://example.com:80",
            "tcp://[::1]:8080",
            "tcp://127.0.0.1:2375",
            "unix:///run/x.sock",
            "tls://example.com:443",
            "tls+tcp://10.0.0.1:443#example.com",
            "tls+unix:///run/x.sock#localhost",
            "vsock://3:1024",
        ] {
            let endpoint: Endpoint = text.parse().expect(text);
            assert_eq!(endpoint.to_string(), text);
        }
        assert_eq!(
            "tls+tcp://example.com:443#example.com"
                .parse::<Endpoint>()
                .expect("valid")
                .to_string(),
            "tls://example.com:443"
        );
    }

    /// Found by fuzzing (`fuzz/corpus/conduit_endpoint/colon-in-host`):
    /// `0.1.0.cp::1` was read as a host, shown as `[0.1.0.cp::1]`, which
    /// does not read back. A colon outside brackets now belongs to a bare
    /// IPv6 address or is refused.
    #[test]
    fn a_host_with_a_colon_is_an_ipv6_address_or_refused() {
        for text in ["tcp://0.1.0.cp::1:2375", "tcp://a:b:80", "tls://h:1:443"] {
            let err = text.parse::<Endpoint>().expect_err(text);
            assert!(err.to_string().ends_with("expected host:port"), "{err}");
        }
        let bare: Endpoint = "tcp://::1:80".parse().expect("a bare IPv6 address");
        assert_eq!(bare, Endpoint::tcp("::1", 80));
        assert_eq!(bare.to_string().parse::<Endpoint>().ok(), Some(bare));
    }

    #[test]
    fn rejects_bad_text_with_a_reason() {
        for (text, reason) in [
            ("example.com:80", "expected `scheme://`"),
            ("tcp://example.com", "a port is required"),
            ("tcp://exa mple:80", "expected host:port"),
            ("unix://run/x.sock", "a Unix socket path must be absolute"),
            (
                "tls+unix:///run/x.sock",
                "expected `#server-name` after the inner endpoint",
            ),
            ("tls+unix:///run/x.sock#", "empty server name"),
            ("vsock://", "empty address"),
        ] {
            let err = text.parse::<Endpoint>().expect_err(text);
            assert_eq!(
                err.to_string(),
                format!("invalid endpoint `{text}`: {reason}")
            );
        }
    }
}
