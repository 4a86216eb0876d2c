//! Domain names to IP addresses: a derivation from
//! [`keys::HOST`](crate::keys::HOST) to [`keys::ADDRS`](crate::keys::ADDRS).
//!
//! The feature provides the derivation; a context uses it only when asked,
//! with [`Ctx::with_system_dns`] or [`Ctx::with_dns`].
//!
//! Lookups go through hickory-resolver with the system configuration
//! (`/etc/resolv.conf`, and `/etc/hosts` first), asking for AAAA and A
//! records in parallel. Where there is no usable resolver configuration the
//! operating system's resolver (`getaddrinfo`) answers instead. IP literals
//! are never looked up.
//!
//! ```
//! use mimic::{Ctx, dns::Dns, keys};
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() {
//! let dns = Dns::system();
//! let addrs = dns.lookup("127.0.0.1").await.expect("a literal needs no lookup");
//! assert_eq!(addrs, vec![std::net::IpAddr::from([127, 0, 0, 1])]);
//! let ctx = Ctx::new().with_dns(dns).with(&keys::HOST, "localhost".to_string());
//! # let _ = ctx;
//! # }
//! ```

use std::error::Error as StdError;
use std::fmt;
use std::net::IpAddr;
use std::sync::Arc;

use hickory_resolver::TokioResolver;
use tokio::sync::OnceCell;

use crate::keys::{self, ip_literal};
use crate::report::Chain;
use crate::{Ctx, req};

#[derive(Clone)]
enum Backend {
    Hickory(Box<TokioResolver>),
    Os,
}

#[derive(Clone)]
enum Source {
    /// The system configuration, read on first use.
    System,
    Given(Backend),
}

/// A DNS resolver for the `dns` derivation. Cheap to clone; clones share
/// the resolver and its cache.
#[derive(Clone)]
pub struct Dns {
    source: Source,
    backend: Arc<OnceCell<Backend>>,
}

impl fmt::Debug for Dns {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let backend = match self.backend.get() {
            Some(Backend::Hickory(_)) => "hickory",
            Some(Backend::Os) => "os",
            None => "not initialised",
        };
        f.debug_struct("Dns").field("backend", &backend).finish()
    }
}

impl Default for Dns {
    fn default() -> Self {
        Dns::system()
    }
}

impl Dns {
    /// Hickory with the system configuration, read on first lookup; the OS
    /// resolver when that configuration cannot be read.
    pub fn system() -> Dns {
        Dns {
            source: Source::System,
            backend: Arc::new(OnceCell::new()),
        }
    }

    /// A resolver you configured yourself.
    pub fn from_resolver(resolver: TokioResolver) -> Dns {
        Dns {
            source: Source::Given(Backend::Hickory(Box::new(resolver))),
            backend: Arc::new(OnceCell::new()),
        }
    }

    /// Always the operating system's resolver (`getaddrinfo`).
    pub fn os() -> Dns {
        Dns {
            source: Source::Given(Backend::Os),
            backend: Arc::new(OnceCell::new()),
        }
    }

    async fn backend(&self) -> &Backend {
        self.backend
            .get_or_init(|| async {
                match &self.source {
                    Source::Given(backend) => backend.clone(),
                    Source::System => {
                        match TokioResolver::builder_tokio().and_then(|builder| builder.build()) {
                            Ok(resolver) => Backend::Hickory(Box::new(resolver)),
                            Err(e) => {
                                tracing::debug!(
                                    error = %e,
                                    "mimic: no usable resolver configuration, using the OS resolver"
                                );
                                Backend::Os
                            }
                        }
                    }
                }
            })
            .await
    }

    /// The addresses of `host`: IPv6 first, then IPv4, each in the order the
    /// resolver gave. An IP literal (bracketed or not) is returned as is.
    pub async fn lookup(&self, host: &str) -> Result<Vec<IpAddr>, LookupError> {
        if let Some(ip) = ip_literal(host) {
            return Ok(vec![ip]);
        }
        let failed = |source: Box<dyn StdError + Send + Sync>| LookupError {
            host: host.to_string(),
            source,
        };
        let addrs: Vec<IpAddr> = match self.backend().await {
            Backend::Hickory(resolver) => resolver
                .lookup_ip(host)
                .await
                .map_err(|e| failed(Box::new(Hickory(e.into()))))?
                .iter()
                .collect(),
            Backend::Os => tokio::net::lookup_host((host, 0))
                .await
                .map_err(|e| failed(e.into()))?
                .map(|a| a.ip())
                .collect(),
        };
        if addrs.is_empty() {
            return Err(failed("no address records".into()));
        }
        Ok(addrs)
    }
}

/// A host name that could not be resolved.
///
/// Its `{}` is `` could not resolve `host` ``, its
/// [`source`](StdError::source) the resolver's answer, and `{:#}` both. In
/// a resolution it is the cause of the DNS derivation's failure, reported
/// for every candidate that needed the addresses.
#[derive(Debug)]
pub struct LookupError {
    host: String,
    source: Box<dyn StdError + Send + Sync>,
}

impl LookupError {
    /// The name that was looked up.
    pub fn host(&self) -> &str {
        &self.host
    }
}

impl fmt::Display for LookupError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if f.alternate() {
            return Chain(self).fmt(f);
        }
        write!(f, "could not resolve `{}`", self.host)
    }
}

impl StdError for LookupError {
    fn source(&self) -> Option<&(dyn StdError + 'static)> {
        Some(&*self.source)
    }
}

/// A hickory error as a cause. hickory's errors show their own source's
/// text in theirs and return it from `source` too; the chain stops here,
/// so that a printer that walks sources shows each word once.
struct Hickory(Box<dyn StdError + Send + Sync>);

impl fmt::Debug for Hickory {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&self.0, f)
    }
}

impl fmt::Display for Hickory {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.0, f)
    }
}

impl StdError for Hickory {}

impl Ctx {
    /// Derives [`keys::ADDRS`] from [`keys::HOST`] with `dns`, replacing
    /// any derivation the key had (such as the IP-literal one of
    /// [`with_builtins`](Ctx::with_builtins)): call it after `with_builtins`.
    ///
    /// Available with the `dns` feature.
    pub fn with_dns(self, dns: Dns) -> Ctx {
        self.derive(&keys::ADDRS, req(&keys::HOST), move |host: String| {
            let dns = dns.clone();
            async move { dns.lookup(&host).await.map(Some) }
        })
    }

    /// [`with_dns`](Ctx::with_dns) with [`Dns::system`]: host names are
    /// looked up with the system's configuration.
    ///
    /// Available with the `dns` feature.
    ///
    /// ```no_run
    /// use mimic::{Ctx, keys};
    ///
    /// # async fn run() -> Result<(), mimic::ResolveError> {
    /// let flow = Ctx::new()
    ///     .with_builtins()
    ///     .with_system_dns()
    ///     .with(&keys::HOST, "example.com".to_string())
    ///     .with(&keys::PORT, 80)
    ///     .resolve()
    ///     .await?;
    /// # let _ = flow; Ok(()) }
    /// ```
    pub fn with_system_dns(self) -> Ctx {
        self.with_dns(Dns::system())
    }
}
