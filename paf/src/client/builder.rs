//! The settings of a [`Client`].

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use conduit::{Overrides, Resolver};
use http::header::{self, HeaderMap, HeaderName, HeaderValue};
use mimic::Ctx;

use super::conn::Builder as ConnBuilder;
use super::pool::{Limits, Pool};
use super::proxy::Proxies;
use super::redirect::Redirect;
use super::{Client, Shared, Timeouts};
use crate::error::{Error, Kind};

/// Builds a [`Client`]; [`Client::builder`] starts one with the defaults.
///
/// | setting | default |
/// |---|---|
/// | resolver | [`conduit::Resolver::new`]: system DNS, `/etc/services`, `http+unix://` |
/// | TLS | webpki roots; ALPN `h2`, `http/1.1` for `https` |
/// | proxies | [`Proxies::from_env`] |
/// | redirects | [`Redirect::limit(10)`](Redirect::limit) |
/// | connect timeout | 30 s (resolution, TCP, TLS and proxy tunnel together) |
/// | request timeout | none |
/// | read timeout | none |
/// | idle connections | 32 per endpoint, 512 in all, closed after 90 s idle |
/// | retries | once, on a fresh connection, as [`Client`] documents |
/// | body read whole (`bytes`, `text`, `json`) | at most 64 MiB |
/// | `user-agent` | `paf/<version>` |
///
/// ```
/// use std::time::Duration;
///
/// # fn main() -> Result<(), paf::Error> {
/// let client = paf::Client::builder()
///     .connect_timeout(Some(Duration::from_secs(5)))
///     .timeout(Some(Duration::from_secs(30)))
///     .redirect(paf::client::Redirect::limit(3))
///     .user_agent("my-tool/1.0")
///     .build()?;
/// # let _ = client; Ok(()) }
/// ```
#[derive(Debug)]
#[must_use]
pub struct ClientBuilder {
    resolver: Option<Resolver>,
    tls: Option<mimic::tls::Tls>,
    overrides: Overrides,
    conn: ConnBuilder,
    http1_only: bool,
    limits: Limits,
    redirect: Redirect,
    timeouts: Timeouts,
    proxies: Option<Proxies>,
    headers: HeaderMap,
    retry: bool,
    body_limit: Option<u64>,
}

/// The most bytes [`Response::bytes`](super::Response::bytes) reads, by
/// default: more than any page or API answer, and still far from what
/// would strain a small machine; a larger download streams (`chunk()`).
const MAX_RESPONSE_BODY: u64 = 64 * 1024 * 1024;

impl Default for ClientBuilder {
    fn default() -> ClientBuilder {
        let mut headers = HeaderMap::new();
        headers.insert(
            header::USER_AGENT,
            HeaderValue::from_static(concat!("paf/", env!("CARGO_PKG_VERSION"))),
        );
        ClientBuilder {
            resolver: None,
            tls: None,
            overrides: Overrides::default(),
            conn: ConnBuilder::new(),
            http1_only: false,
            limits: Limits::default(),
            redirect: Redirect::default(),
            timeouts: Timeouts {
                connect: Some(Duration::from_secs(30)),
                request: None,
                read: None,
            },
            proxies: None,
            headers,
            retry: true,
            body_limit: Some(MAX_RESPONSE_BODY),
        }
    }
}

impl ClientBuilder {
    /// The resolver that turns URIs into connections: static tables,
    /// rewrites, custom schemes. With [`tls`](Self::tls) too, the TLS
    /// configuration goes into its base context
    /// ([`Resolver::with_tls`](conduit::Resolver::with_tls)).
    pub fn resolver(mut self, resolver: Resolver) -> Self {
        self.resolver = Some(resolver);
        self
    }

    /// The TLS configuration (roots, client certificate), for the default
    /// resolver or the one given to [`resolver`](Self::resolver), in either
    /// order: it replaces the TLS layer of the resolver's base context.
    ///
    /// ```
    /// use conduit::{Destination, Resolver};
    ///
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let resolver = Resolver::builder()
    ///     .static_host("api.internal", Destination::Host { host: "10.0.0.7".into(), port: None })
    ///     .build()?;
    /// let tls = mimic::tls::Tls::builder().build()?; // .add_ca_file("ca.pem")
    /// let client = paf::Client::builder().resolver(resolver).tls(tls).build()?;
    /// # let _ = client; Ok(()) }
    /// ```
    pub fn tls(mut self, tls: mimic::tls::Tls) -> Self {
        self.tls = Some(tls);
        self
    }

    /// Per-client overrides: `--resolve`, `--connect-to`, `--unix-socket`.
    pub fn overrides(mut self, overrides: Overrides) -> Self {
        self.overrides = overrides;
        self
    }

    /// Sends every request to this Unix socket, whatever the URI's host
    /// (as curl's `--unix-socket`).
    pub fn unix_socket(mut self, path: impl Into<PathBuf>) -> Self {
        self.overrides = self.overrides.unix_socket(path);
        self
    }

    /// The settings of each connection: head limits, HTTP/2 windows and
    /// keep-alive PINGs. [`http2`](ConnBuilder::http2) there is the same as
    /// [`http2_prior_knowledge`](Self::http2_prior_knowledge) here, which
    /// these settings replace: call this first.
    pub fn connection(mut self, settings: ConnBuilder) -> Self {
        self.conn = settings;
        self
    }

    /// Offers only HTTP/1.1 by ALPN over TLS.
    pub fn http1_only(mut self) -> Self {
        self.http1_only = true;
        self
    }

    /// Speaks HTTP/2 from the first byte on clear-text connections (TCP,
    /// Unix sockets); over TLS, ALPN still decides.
    pub fn http2_prior_knowledge(mut self) -> Self {
        self.conn = self.conn.http2();
        self
    }

    /// The most idle HTTP/1.1 connections kept per endpoint (32 by default).
    pub fn pool_max_idle_per_endpoint(mut self, max: usize) -> Self {
        self.limits.max_idle_per_route = max;
        self
    }

    /// The most idle connections kept in all (512 by default); the oldest
    /// is closed to make room.
    pub fn pool_max_idle(mut self, max: usize) -> Self {
        self.limits.max_idle = max;
        self
    }

    /// How long an idle connection is kept (90 s by default; `None`: until
    /// the server closes it): an HTTP/1.1 connection in the pool, or an
    /// HTTP/2 connection with no stream open. A server's `Keep-Alive: timeout=N` shortens it
    /// to one second less than `N`.
    pub fn pool_idle_timeout(mut self, timeout: Option<Duration>) -> Self {
        self.limits.idle_timeout = timeout;
        self
    }

    /// Which redirects to follow.
    pub fn redirect(mut self, policy: Redirect) -> Self {
        self.redirect = policy;
        self
    }

    /// The longest time to open a connection: resolution, TCP, TLS and the
    /// proxy tunnel together (30 s by default). Expiry is
    /// [`Error::is_connect_timeout`].
    pub fn connect_timeout(mut self, timeout: Option<Duration>) -> Self {
        self.timeouts.connect = timeout;
        self
    }

    /// The longest time for a whole request: connecting, redirects, and
    /// reading the response body to its end (none by default). Expiry is
    /// [`Error::is_request_timeout`], from the request or the body's reader;
    /// a body that expires closes its HTTP/1.1 connection at once, or
    /// resets its HTTP/2 stream.
    pub fn timeout(mut self, timeout: Option<Duration>) -> Self {
        self.timeouts.request = timeout;
        self
    }

    /// The longest wait for the response head, counted from when the
    /// request starts to go out (so a request body's upload counts), and
    /// for each piece of the response body after it (none by default).
    /// Expiry is [`Error::is_read_timeout`], and closes the connection as
    /// [`timeout`](Self::timeout) does. A feed that may stay quiet, such
    /// as Docker's events, needs none; a slow upload needs a longer one.
    pub fn read_timeout(mut self, timeout: Option<Duration>) -> Self {
        self.timeouts.read = timeout;
        self
    }

    /// The proxies to use (by default [`Proxies::from_env`]);
    /// [`Proxies::none`] turns them off.
    pub fn proxies(mut self, proxies: Proxies) -> Self {
        self.proxies = Some(proxies);
        self
    }

    /// A field added to every request that does not set it.
    pub fn default_header(mut self, name: HeaderName, value: HeaderValue) -> Self {
        self.headers.insert(name, value);
        self
    }

    /// Replaces the fields added to every request that does not set them
    /// (by default only `user-agent: paf/<version>`); an empty map adds none.
    pub fn default_headers(mut self, headers: HeaderMap) -> Self {
        self.headers = headers;
        self
    }

    /// The `user-agent` of every request that does not set it.
    pub fn user_agent(self, agent: &str) -> Self {
        match HeaderValue::from_str(agent) {
            Ok(value) => self.default_header(header::USER_AGENT, value),
            Err(_) => self,
        }
    }

    /// Whether a request whose reused connection turned out closed is sent
    /// again on a fresh one (on by default; [`Client`] has the rule).
    pub fn retry(mut self, enabled: bool) -> Self {
        self.retry = enabled;
        self
    }

    /// The most bytes [`Response::bytes`](super::Response::bytes),
    /// [`text`](super::Response::text) and `json` read: 64 MiB by default;
    /// `None` for no limit. A larger body fails with
    /// [`Error::is_body_too_large`], so that a server sending without end
    /// cannot fill the client's memory. Reading piece by piece
    /// ([`Response::chunk`](super::Response::chunk),
    /// [`chunks`](super::Response::chunks),
    /// [`into_body`](super::Response::into_body)) has no limit: write a
    /// large download out as it comes.
    ///
    /// ```
    /// # fn main() -> Result<(), paf::Error> {
    /// // An API client that expects small answers.
    /// let client = paf::Client::builder().max_response_body(Some(1 << 20)).build()?;
    /// # let _ = client; Ok(()) }
    /// ```
    pub fn max_response_body(mut self, limit: Option<u64>) -> Self {
        self.body_limit = limit;
        self
    }

    /// Builds the client. Fails only when, with a TLS configuration and no
    /// resolver, the services file exists but cannot be read.
    pub fn build(self) -> Result<Client, Error> {
        let resolver = match (self.resolver, self.tls) {
            (Some(resolver), Some(tls)) => resolver.with_tls(tls),
            (Some(resolver), None) => resolver,
            (None, Some(tls)) => Resolver::builder()
                .base(tls.install(Ctx::new().with_builtins()))
                .build()
                .map_err(|e| Error::with(Kind::Request, e))?,
            (None, None) => Resolver::new(),
        };
        let alpn_http1 = self.http1_only.then(|| vec![b"http/1.1".to_vec()]);
        Ok(Client {
            shared: Arc::new(Shared {
                resolver,
                overrides: self.overrides,
                forward: self.conn.for_forward_proxy(),
                conn: self.conn,
                alpn_http1,
                pool: Pool::new(self.limits),
                redirect: self.redirect,
                timeouts: self.timeouts,
                proxies: self.proxies.unwrap_or_else(Proxies::from_env),
                headers: self.headers,
                retry: self.retry,
                body_limit: self.body_limit,
                plans: Default::default(),
            }),
        })
    }
}
