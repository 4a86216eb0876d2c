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

mod failure;

use std::error::Error as StdError;
use std::fmt;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;

use hickory_resolver::TokioResolver;
use hickory_resolver::config::{ResolverConfig, ResolverOpts};
use hickory_resolver::net::runtime::TokioRuntimeProvider;
use tokio::sync::OnceCell;
use tokio::time::Instant;

use self::failure::{Failure, Servers, Why};
use crate::keys::{self, ip_literal};
use crate::report::Chain;
use crate::{Ctx, req};

#[derive(Clone)]
enum Backend {
    /// hickory, and the servers it asks (for messages).
    Hickory(Box<TokioResolver>, Servers),
    Os,
}

#[derive(Clone)]
enum Source {
    /// The system configuration, read on first use.
    System,
    /// A configuration given by the caller, built on first use.
    Config(Box<(ResolverConfig, ResolverOpts)>),
    Given(Backend),
}

/// A DNS resolver for the `dns` derivation. Cheap to clone; clones share
/// the resolver and its cache.
///
/// A failed lookup says what the name servers answered, and which servers
/// they were when the configuration is known ([`system`](Dns::system),
/// [`from_config`](Dns::from_config)):
/// `` no address for dockr: the name does not exist (NXDOMAIN from 10.0.0.1) ``.
#[derive(Clone)]
pub struct Dns {
    source: Source,
    backend: Arc<OnceCell<Backend>>,
}

impl fmt::Debug for Dns {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let backend = match self.backend.get() {
            Some(Backend::Hickory(..)) => "hickory",
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

/// The address of each name server, by its first connection's port.
fn servers(config: &ResolverConfig) -> Servers {
    let mut addrs: Vec<SocketAddr> = Vec::new();
    for server in config.name_servers() {
        let port = server.connections.first().map_or(53, |c| c.port);
        let addr = SocketAddr::new(server.ip, port);
        if !addrs.contains(&addr) {
            addrs.push(addr);
        }
    }
    Some(addrs.into())
}

/// hickory over `config`, naming its servers in failures.
fn build(config: ResolverConfig, options: ResolverOpts) -> Result<Backend, impl fmt::Display> {
    let servers = servers(&config);
    TokioResolver::builder_with_config(config, TokioRuntimeProvider::default())
        .with_options(options)
        .build()
        .map(|resolver| Backend::Hickory(Box::new(resolver), servers))
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

    /// Hickory with a configuration of your own: name servers, timeouts,
    /// search domains. Failures name the servers asked.
    ///
    /// ```
    /// use hickory_resolver::config::{NameServerConfig, ResolverConfig, ResolverOpts};
    ///
    /// let servers = vec![NameServerConfig::udp_and_tcp([10, 0, 0, 1].into())];
    /// let mut options = ResolverOpts::default();
    /// options.timeout = std::time::Duration::from_secs(2);
    /// let dns = mimic::dns::Dns::from_config(ResolverConfig::from_name_servers(servers), options);
    /// # let _ = dns;
    /// ```
    pub fn from_config(config: ResolverConfig, options: ResolverOpts) -> Dns {
        Dns {
            source: Source::Config(Box::new((config, options))),
            backend: Arc::new(OnceCell::new()),
        }
    }

    /// A resolver you built yourself. hickory does not tell which servers
    /// it asks, so failures cannot name them: prefer
    /// [`from_config`](Dns::from_config).
    pub fn from_resolver(resolver: TokioResolver) -> Dns {
        Dns {
            source: Source::Given(Backend::Hickory(Box::new(resolver), None)),
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
                let (config, options) = match &self.source {
                    Source::Given(backend) => return backend.clone(),
                    Source::Config(given) => given.as_ref().clone(),
                    Source::System => match hickory_resolver::system_conf::read_system_conf() {
                        Ok(conf) => conf,
                        Err(e) => return os_instead(&e),
                    },
                };
                build(config, options).unwrap_or_else(|e| os_instead(&e))
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
            Backend::Hickory(resolver, servers) => {
                let began = Instant::now();
                let found = resolver.lookup_ip(host).await.map_err(|e| {
                    let failure = Failure::new(e, servers.clone(), began.elapsed());
                    failed(Box::new(failure))
                })?;
                if found.iter().next().is_none() {
                    return Err(failed(Box::new(Failure::empty(servers.clone()))));
                }
                found.iter().collect()
            }
            Backend::Os => tokio::net::lookup_host((host, 0))
                .await
                .map_err(|e| failed(e.into()))?
                .map(|a| a.ip())
                .collect(),
        };
        if addrs.is_empty() {
            return Err(failed(Box::new(Failure::empty(None))));
        }
        Ok(addrs)
    }
}

/// The OS resolver, where hickory cannot be set up (no `resolv.conf`).
fn os_instead(why: &dyn fmt::Display) -> Backend {
    tracing::debug!(error = %why, "mimic: no usable resolver configuration, using the OS resolver");
    Backend::Os
}

/// A host name that could not be resolved.
///
/// Its `{}` is `no address for HOST`, its [`source`](StdError::source) what
/// the resolver answered, and `{:#}` both:
/// `` no address for dockr: the name does not exist (NXDOMAIN from 10.0.0.1) ``,
/// `` no address for dockr: no answer from 10.0.0.1: timed out after 5 s ``.
/// In a resolution it is the cause of the DNS derivation's failure,
/// reported for every candidate that needed the addresses.
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

    fn why(&self) -> Option<&Why> {
        self.source.downcast_ref::<Failure>().map(|f| &f.why)
    }

    /// The name does not exist (NXDOMAIN), or has no address record: a
    /// typing mistake, or a name not yet published.
    pub fn is_not_found(&self) -> bool {
        matches!(self.why(), Some(Why::NoSuchName | Why::NoAddress))
    }

    /// No name server answered in time.
    pub fn is_timeout(&self) -> bool {
        matches!(self.why(), Some(Why::TimedOut(_)))
    }
}

impl fmt::Display for LookupError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if f.alternate() {
            return Chain(self).fmt(f);
        }
        write!(f, "no address for {}", self.host)
    }
}

impl StdError for LookupError {
    fn source(&self) -> Option<&(dyn StdError + 'static)> {
        Some(&*self.source)
    }
}

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
