//! From a URI to a mimic context.
//!
//! # Organization
//! - `scheme`: default ports, TLS and ALPN per scheme; `/etc/services`.
//! - `rules`: static entries, label-aware rewrites, per-request overrides.
//! - `docker`: `DOCKER_HOST` and its TLS settings.
//!
//! # The order of the rules
//! 1. The scheme gives the port (unless the URI has one), TLS and ALPN. An
//!    unknown scheme is an error, unless a scheme rule or custom scheme covers it.
//! 2. Per-request [`Overrides`]: `--unix-socket` replaces the destination;
//!    `--connect-to` changes host and port; `--resolve` pins addresses.
//! 3. A Unix path in the URI (`unix:`, `http+unix:`).
//! 4. The static table: an exact host.
//! 5. Rewrites by domain suffix, label-aware; the longest domain wins.
//! 6. Rewrites by scheme.
//! 7. DNS, through mimic's `dns` derivation, which the resolver installs
//!    over its base context (see [`ResolverBuilder::dns`]).
//!
//! The first of 2-6 that gives a destination decides; the URI's host stays
//! the TLS server name whatever the destination.

mod docker;
mod rules;
mod scheme;

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::fmt;
use std::path::PathBuf;
use std::sync::Arc;

use mimic::dns::Dns;
use mimic::report::Report;
use mimic::{Ctx, Flow, tcp, tls};

pub use docker::DockerHost;
pub use rules::{Destination, Overrides};
pub use scheme::Scheme;

use crate::endpoint::Endpoint;
use crate::error::{Error, Kind, Tls as TlsError};
use crate::target::Target;

/// Turns a custom scheme's URI into context keys for its own protocol.
pub type CustomScheme = Arc<dyn Fn(&Target, Ctx) -> Result<Ctx, Error> + Send + Sync>;

#[derive(Clone)]
struct Config {
    base: Ctx,
    schemes: BTreeMap<String, Scheme>,
    /// The schemes read from the services file: suggested when close to an
    /// unknown one, never listed (there are hundreds).
    from_services: BTreeSet<String>,
    statics: HashMap<String, Destination>,
    suffixes: Vec<(String, Destination)>,
    scheme_rules: HashMap<String, Destination>,
    custom: HashMap<String, CustomScheme>,
}

/// Resolves URIs into mimic contexts and connects them.
///
/// ```no_run
/// use conduit::{Destination, Resolver};
///
/// # async fn run() -> Result<(), conduit::Error> {
/// let resolver = Resolver::builder()
///     .rewrite_domain("internal.test", Destination::Host { host: "127.0.0.1".into(), port: Some(8080) })
///     .build()?;
/// println!("{}", resolver.explain("http://api.internal.test/health").await?);
/// let flow = resolver.connect("http+unix://%2Fvar%2Frun%2Fdocker.sock/version").await?;
/// # let _ = flow; Ok(()) }
/// ```
#[derive(Clone)]
pub struct Resolver {
    config: Arc<Config>,
}

impl fmt::Debug for Resolver {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Resolver")
            .field("schemes", &self.config.schemes.keys().collect::<Vec<_>>())
            .field("statics", &self.config.statics)
            .field("suffixes", &self.config.suffixes)
            .field("scheme_rules", &self.config.scheme_rules)
            .finish()
    }
}

/// Builds a [`Resolver`].
pub struct ResolverBuilder {
    base: Ctx,
    dns: Option<Dns>,
    services: Option<PathBuf>,
    schemes: BTreeMap<String, Scheme>,
    statics: HashMap<String, Destination>,
    suffixes: Vec<(String, Destination)>,
    scheme_rules: HashMap<String, Destination>,
    custom: HashMap<String, CustomScheme>,
}

impl fmt::Debug for ResolverBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ResolverBuilder").finish_non_exhaustive()
    }
}

impl ResolverBuilder {
    /// The context every resolution starts from (default: mimic's built-ins).
    /// Install a configured TLS layer here to change roots or add a client
    /// certificate. Host names are looked up with [`dns`](Self::dns), which
    /// is installed over this context when the resolver is built.
    pub fn base(mut self, ctx: Ctx) -> Self {
        self.base = ctx;
        self
    }

    /// The DNS resolver for host names (default: [`Dns::system`]). It
    /// replaces the base context's derivation of
    /// [`keys::ADDRS`](mimic::keys::ADDRS) when the resolver is built; `None`
    /// keeps the base context's own (with `Ctx::with_builtins` alone, IP
    /// literals only).
    pub fn dns(mut self, dns: Option<Dns>) -> Self {
        self.dns = dns;
        self
    }

    /// Reads extra schemes from this services file (default `/etc/services`),
    /// or from none. Built-in schemes are never replaced by it.
    pub fn services_file(mut self, path: Option<PathBuf>) -> Self {
        self.services = path;
        self
    }

    /// Adds or replaces a scheme.
    pub fn scheme(mut self, name: &str, scheme: Scheme) -> Self {
        self.schemes.insert(name.to_ascii_lowercase(), scheme);
        self
    }

    /// Sends connections for exactly `host` to `destination`.
    pub fn static_host(mut self, host: &str, destination: Destination) -> Self {
        self.statics.insert(host.to_ascii_lowercase(), destination);
        self
    }

    /// Sends connections for `domain` and its subdomains to `destination`.
    pub fn rewrite_domain(mut self, domain: &str, destination: Destination) -> Self {
        let domain = domain.trim_matches('.').to_ascii_lowercase();
        self.suffixes.retain(|(d, _)| *d != domain);
        self.suffixes.push((domain, destination));
        self
    }

    /// Sends every URI of `scheme` to `destination`.
    pub fn rewrite_scheme(mut self, scheme: &str, destination: Destination) -> Self {
        self.scheme_rules
            .insert(scheme.to_ascii_lowercase(), destination);
        self
    }

    /// Handles `scheme` with `handler`, which sets the keys of the user's
    /// protocol from the URI. The base context must register that protocol.
    /// A URI the handler cannot use is an [`Error::invalid_uri`].
    pub fn custom_scheme(
        mut self,
        scheme: &str,
        handler: impl Fn(&Target, Ctx) -> Result<Ctx, Error> + Send + Sync + 'static,
    ) -> Self {
        self.custom
            .insert(scheme.to_ascii_lowercase(), Arc::new(handler));
        self
    }

    /// Connects to Docker as `docker` says: its TLS settings go into the
    /// base context, and its [`DockerHost::base_uri`] then resolves there.
    pub fn docker(mut self, docker: &DockerHost) -> Self {
        if let Some(layer) = docker.tls() {
            self.base = layer.clone().install(self.base);
        }
        self
    }

    /// Builds the resolver. Fails only when the services file exists but
    /// cannot be read.
    pub fn build(mut self) -> Result<Resolver, Error> {
        let mut from_services = BTreeSet::new();
        if let Some(path) = &self.services {
            match std::fs::read_to_string(path) {
                Ok(text) => {
                    for (name, port) in scheme::parse_services(&text) {
                        if !self.schemes.contains_key(&name) {
                            self.schemes.insert(name.clone(), Scheme::plain(port));
                            from_services.insert(name);
                        }
                    }
                }
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(source) => {
                    let path = path.clone();
                    return Err(Kind::ServicesFile { path, source }.into());
                }
            }
        }
        // Longest domain first, so the most specific rewrite wins.
        self.suffixes
            .sort_by_key(|(domain, _)| std::cmp::Reverse(domain.split('.').count()));
        let base = match self.dns {
            Some(dns) => self.base.with_dns(dns),
            None => self.base,
        };
        Ok(Resolver {
            config: Arc::new(Config {
                base,
                schemes: self.schemes,
                from_services,
                statics: self.statics,
                suffixes: self.suffixes,
                scheme_rules: self.scheme_rules,
                custom: self.custom,
            }),
        })
    }
}

/// What resolving a URI decided, before connecting.
#[derive(Clone, Debug)]
pub struct Resolution {
    /// The URI as read.
    pub target: Target,
    /// Where the connection goes.
    pub endpoint: Endpoint,
    /// The context mimic will resolve.
    pub ctx: Ctx,
    /// Which rules applied, in order.
    pub steps: Vec<String>,
}

impl fmt::Display for Resolution {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "{}", self.target)?;
        for step in &self.steps {
            writeln!(f, "  - {step}")?;
        }
        write!(f, "  => {}", self.endpoint)
    }
}

/// A resolution and mimic's plan for it.
#[derive(Clone, Debug)]
pub struct Explanation {
    /// What the rules decided.
    pub resolution: Resolution,
    /// What mimic would try.
    pub plan: Report,
}

impl fmt::Display for Explanation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "{}", self.resolution)?;
        writeln!(f, "mimic would try:")?;
        write!(f, "{}", self.plan)
    }
}

fn alpn_names(alpn: &[Vec<u8>]) -> String {
    let names: Vec<_> = alpn.iter().map(|p| String::from_utf8_lossy(p)).collect();
    names.join(", ")
}

impl Default for Resolver {
    fn default() -> Self {
        Resolver::new()
    }
}

impl Resolver {
    /// mimic's built-ins with the system's DNS, the built-in schemes and
    /// `/etc/services`, no rules.
    pub fn new() -> Resolver {
        let builder = Resolver::builder();
        // A services file that exists but cannot be read is skipped here;
        // the builder reports it.
        builder.build().unwrap_or_else(|_| {
            Resolver::builder()
                .services_file(None)
                .build()
                .expect("a resolver without a services file always builds")
        })
    }

    /// A builder with mimic's built-ins, the system's DNS and the built-in
    /// schemes.
    pub fn builder() -> ResolverBuilder {
        ResolverBuilder {
            base: Ctx::new().with_builtins(),
            dns: Some(Dns::system()),
            services: Some(PathBuf::from("/etc/services")),
            schemes: scheme::builtin(),
            statics: HashMap::new(),
            suffixes: Vec::new(),
            scheme_rules: HashMap::new(),
            custom: HashMap::new(),
        }
    }

    /// This resolver with `tls` as its TLS layer: the layer goes into the
    /// base context, in place of the one there; rules, schemes and DNS stay.
    /// For roots or a client certificate of your own with custom rules:
    ///
    /// ```
    /// use conduit::{Destination, Resolver};
    ///
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let resolver = Resolver::builder()
    ///     .static_host("api.internal", Destination::Host { host: "10.0.0.7".into(), port: None })
    ///     .build()?;
    /// let tls = mimic::tls::Tls::builder().build()?; // .add_ca_file(..), .client_cert_files(..)
    /// let resolver = resolver.with_tls(tls);
    /// # let _ = resolver; Ok(()) }
    /// ```
    pub fn with_tls(&self, tls: tls::Tls) -> Resolver {
        let mut config = (*self.config).clone();
        config.base = tls.install(config.base);
        Resolver {
            config: Arc::new(config),
        }
    }

    /// Resolves `uri` with no overrides. No I/O happens here.
    pub fn resolve(&self, uri: &str) -> Result<Resolution, Error> {
        self.resolve_with(uri, &Overrides::default())
    }

    /// Resolves `uri` with per-request overrides. No I/O happens here.
    pub fn resolve_with(&self, uri: &str, overrides: &Overrides) -> Result<Resolution, Error> {
        let target: Target = uri.parse()?;
        let mut steps = Vec::new();
        let base_scheme = target.base_scheme().to_string();
        let scheme = self.scheme(&base_scheme, &target, &mut steps)?;
        if let Some(handler) = self.config.custom.get(&base_scheme) {
            steps.push(format!("custom scheme `{base_scheme}`"));
            let ctx = handler(&target, self.config.base.clone())?;
            let endpoint = Endpoint::Custom {
                scheme: base_scheme,
                address: target
                    .to_string()
                    .split_once("://")
                    .map_or(String::new(), |(_, a)| a.to_string()),
            };
            return Ok(Resolution {
                target,
                endpoint,
                ctx,
                steps,
            });
        }
        let port = target.port().unwrap_or(scheme.port);
        let mut ctx = self.config.base.clone();
        let inner = self.destination(&target, port, overrides, &mut ctx, &mut steps)?;
        let endpoint = match scheme.tls {
            // Without the layer, mimic would connect in clear text.
            true if !ctx.contains(&tls::ENDPOINT) => {
                return Err(TlsError::NoLayer(target.to_string()).into());
            }
            true => tls_over(&target, &scheme, inner, &mut ctx)?,
            false => inner,
        };
        // Pinned addresses were set as the TCP endpoint's value, which
        // replaces the DNS derivation: the host and port set here only name it.
        let ctx = endpoint.apply(ctx);
        Ok(Resolution {
            target,
            endpoint,
            ctx,
            steps,
        })
    }

    /// Rules 2 to 7: where the connection goes, before any TLS. Pinned
    /// addresses go into `ctx` as the TCP endpoint.
    fn destination(
        &self,
        target: &Target,
        port: u16,
        overrides: &Overrides,
        ctx: &mut Ctx,
        steps: &mut Vec<String>,
    ) -> Result<Endpoint, Error> {
        let (mut host, mut port) = (target.host().map(str::to_string), port);
        let endpoint = match self.route(target, &mut host, &mut port, overrides, steps) {
            Some(Destination::Unix(path)) => Endpoint::Unix(path),
            Some(Destination::Addrs(addrs)) => {
                let shown = host.clone().unwrap_or_else(|| {
                    addrs
                        .first()
                        .map(|a| a.ip().to_string())
                        .unwrap_or_default()
                });
                let shown_port = addrs.first().map_or(port, |a| a.port());
                *ctx = std::mem::take(ctx).with(&tcp::ENDPOINT, tcp::TcpEndpoint::new(addrs));
                Endpoint::tcp(shown, shown_port)
            }
            Some(Destination::Host {
                host: to,
                port: to_port,
            }) => Endpoint::tcp(to, to_port.unwrap_or(port)),
            None => by_dns(target, host, port, steps)?,
        };
        Ok(endpoint)
    }

    /// Rule 1: the scheme's defaults. A scheme without an entry is accepted
    /// when a rule, a custom handler or a Unix path covers it (port 0: none).
    fn scheme(
        &self,
        name: &str,
        target: &Target,
        steps: &mut Vec<String>,
    ) -> Result<Scheme, Error> {
        let config = &*self.config;
        if let Some(s) = config.schemes.get(name) {
            // The port connected to: the URI's when it has one, so that the
            // step never names a port the connection does not use.
            let port = match target.port() {
                Some(p) => format!("port {p} from the URI (default {})", s.port),
                None => format!("port {}", s.port),
            };
            steps.push(match s.tls {
                true => format!(
                    "scheme `{name}`: {port}, TLS offering ALPN {}",
                    alpn_names(&s.alpn)
                ),
                false => format!("scheme `{name}`: {port}"),
            });
            return Ok(s.clone());
        }
        let covered = config.scheme_rules.contains_key(name)
            || config.custom.contains_key(name)
            || target.unix_path().is_some();
        if covered {
            return Ok(Scheme::plain(0));
        }
        Err(self.unknown_scheme(name))
    }

    /// The error for an unknown scheme: the closest known names, or, when
    /// none is close, the known ones that are not from the services file.
    fn unknown_scheme(&self, name: &str) -> Error {
        let config = &*self.config;
        let mut known: BTreeSet<&str> = config.schemes.keys().map(String::as_str).collect();
        known.extend(config.custom.keys().map(String::as_str));
        known.extend(config.scheme_rules.keys().map(String::as_str));
        known.insert("unix");
        let close = scheme::closest(name, known.iter().copied());
        let listed = known
            .iter()
            .filter(|k| !config.from_services.contains(**k))
            .map(|k| k.to_string())
            .collect();
        Kind::UnknownScheme {
            scheme: name.to_string(),
            close,
            listed,
            more: config.from_services.len(),
        }
        .into()
    }

    /// Rules 2 to 6, first match wins: where the connection goes, or `None`
    /// for DNS. `--connect-to` changes `host` and `port` for the later rules.
    fn route(
        &self,
        target: &Target,
        host: &mut Option<String>,
        port: &mut u16,
        overrides: &Overrides,
        steps: &mut Vec<String>,
    ) -> Option<Destination> {
        let config = &*self.config;
        if let Some(path) = overrides.socket() {
            steps.push(format!("override --unix-socket {}", path.display()));
            return Some(Destination::Unix(path.clone()));
        }
        if let Some(h) = host.as_deref()
            && let Some((to_host, to_port)) = overrides.redirect(h, *port)
        {
            steps.push(format!(
                "override --connect-to: {h}:{port} -> {to_host}:{to_port}"
            ));
            *host = Some(to_host);
            *port = to_port;
        }
        if let Some(h) = host.as_deref()
            && let Some(addrs) = overrides.pinned(h, *port)
        {
            steps.push(format!("override --resolve: {h}:{port} -> {addrs:?}"));
            let addrs = addrs
                .iter()
                .map(|ip| std::net::SocketAddr::new(*ip, *port))
                .collect();
            return Some(Destination::Addrs(addrs));
        }
        if let Some(path) = target.unix_path() {
            steps.push(format!("unix socket from the URI: {}", path.display()));
            return Some(Destination::Unix(path.to_path_buf()));
        }
        if let Some(h) = host.as_deref() {
            if let Some(d) = config.statics.get(h) {
                steps.push(format!("static entry `{h}` -> {}", d.describe()));
                return Some(d.clone());
            }
            if let Some((domain, d)) = config
                .suffixes
                .iter()
                .find(|(domain, _)| rules::in_domain(h, domain))
            {
                steps.push(format!("rewrite for domain `{domain}` -> {}", d.describe()));
                return Some(d.clone());
            }
        }
        let d = config.scheme_rules.get(target.base_scheme())?;
        steps.push(format!(
            "rewrite for scheme `{}` -> {}",
            target.base_scheme(),
            d.describe()
        ));
        Some(d.clone())
    }

    /// Resolves and connects `uri`.
    pub async fn connect(&self, uri: &str) -> Result<Flow, Error> {
        self.connect_with(uri, &Overrides::default()).await
    }

    /// Resolves and connects `uri` with per-request overrides.
    pub async fn connect_with(&self, uri: &str, overrides: &Overrides) -> Result<Flow, Error> {
        let resolution = self.resolve_with(uri, overrides)?;
        resolution
            .ctx
            .resolve()
            .await
            .map_err(|source| Error::connect(uri, source))
    }

    /// Which rules match `uri`, the endpoint they give, and what mimic will
    /// try, without connecting (DNS lookups do run).
    pub async fn explain(&self, uri: &str) -> Result<Explanation, Error> {
        self.explain_with(uri, &Overrides::default()).await
    }

    /// [`explain`](Resolver::explain) with per-request overrides.
    pub async fn explain_with(
        &self,
        uri: &str,
        overrides: &Overrides,
    ) -> Result<Explanation, Error> {
        let resolution = self.resolve_with(uri, overrides)?;
        let plan = resolution.ctx.explain().await;
        Ok(Explanation { resolution, plan })
    }
}

fn is_ip_literal(host: &str) -> bool {
    host.parse::<std::net::IpAddr>().is_ok()
}

/// Rule 7: the URI's host and port, through DNS unless the host is an IP.
fn by_dns(
    target: &Target,
    host: Option<String>,
    port: u16,
    steps: &mut Vec<String>,
) -> Result<Endpoint, Error> {
    let host = host.ok_or_else(|| Error::invalid_uri(target.to_string(), "no host"))?;
    if port == 0 {
        let reason = format!(
            "no port, and scheme `{}` has no default",
            target.base_scheme()
        );
        return Err(Error::invalid_uri(target.to_string(), reason));
    }
    if is_ip_literal(&host) {
        steps.push(format!("`{host}` is an IP address: no DNS"));
    } else {
        steps.push(format!("DNS for `{host}`"));
    }
    Ok(Endpoint::tcp(host, port))
}

/// TLS over `inner`, named after the URI's host whatever the destination,
/// offering the scheme's ALPN.
fn tls_over(
    target: &Target,
    scheme: &Scheme,
    inner: Endpoint,
    ctx: &mut Ctx,
) -> Result<Endpoint, Error> {
    let name = target.host().ok_or_else(|| {
        Error::invalid_uri(
            target.to_string(),
            "TLS needs a host name to check the certificate against",
        )
    })?;
    if !scheme.alpn.is_empty() {
        *ctx = std::mem::take(ctx).with(&tls::ALPN, scheme.alpn.clone());
    }
    Ok(Endpoint::tls(name, inner))
}

/// Connects to `uri` with a default [`Resolver`].
pub async fn connect(uri: &str) -> Result<Flow, Error> {
    Resolver::new().connect(uri).await
}
