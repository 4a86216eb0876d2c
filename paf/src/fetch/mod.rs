//! The convenience client: URIs in, responses out, with a connection
//! pool, retries, redirects, timeouts and proxies.
//!
//! # Organization
//! - `mod.rs`: [`Client`] and the life of a request.
//! - `builder.rs`: [`ClientBuilder`], the settings.
//! - `pool.rs`: connections kept per route, lent and given back.
//! - `response.rs`: [`Response`], and the body that returns its connection.
//! - `redirect.rs`: [`Redirect`], the policy and the next request.
//! - `proxy.rs`: [`Proxy`], [`Proxies`] and `NO_PROXY`.
//! - `auth.rs`: [`basic_auth`].
//! - `tunnel.rs`: the `CONNECT` tunnel as a mimic layer.

mod auth;
mod builder;
mod pool;
mod proxy;
mod redirect;
mod response;
mod tunnel;

use std::collections::HashMap;
use std::fmt::{self, Write as _};
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use conduit::{Endpoint, Overrides, Resolver};
use http::header::{self, HeaderMap, HeaderValue};
use http::request::Parts;
use http::{Method, Request, Uri, Version};
use mimic::report::Outcome;
use mimic::{Ctx, tls};
use tokio::time::Instant;

pub use self::auth::basic_auth;
pub use self::builder::ClientBuilder;
pub use self::proxy::{Proxies, Proxy};
pub use self::redirect::Redirect;
pub use self::response::Response;

use self::pool::{Conn, Pool, Pooled, Route};
use self::redirect::Next;
use self::response::{Timers, Tracked};
use crate::body::Body;
use crate::client::Builder as ConnBuilder;
use crate::error::{Error, Kind, Timeout};

/// An HTTP client: give it a URI, get a [`Response`].
///
/// `Client::new()` works out of the box: system DNS, the webpki roots,
/// HTTP/2 or HTTP/1.1 as ALPN decides, proxies from the environment. Every
/// URI conduit resolves works, Unix sockets included
/// (`http+unix://%2Fvar%2Frun%2Fdocker.sock/version`). Clones share the
/// connection pool.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// # let listener = conduit::listener::TcpListener::bind("127.0.0.1:0".parse()?)?;
/// # let addr = listener.local_socket_addr();
/// # let echo = paf::service_fn(|req: http::Request<paf::Body>| async move {
/// #     let method = req.method().clone();
/// #     let answer = format!("{method} {}", req.into_body().text().await?);
/// #     Ok::<_, paf::Error>(http::Response::new(paf::Body::full(answer)))
/// # });
/// # let auto = paf::server::Auto::new();
/// # let _server = conduit::serve::Server::builder().listener(listener).serve(auto.handler(echo));
/// // A server answering with the method and the body is at `addr`.
/// let client = paf::Client::new();
/// let res = client.get(format!("http://{addr}/")).await?;
/// assert_eq!(res.status(), 200);
/// assert_eq!(res.text().await?, "GET ");
///
/// let res = client.post(format!("http://{addr}/api"), r#"{"hello":"world"}"#).await?;
/// assert_eq!(res.text().await?, r#"POST {"hello":"world"}"#);
/// // Both went on the same connection, now idle in the pool.
/// assert_eq!(client.pool_size(), (1, 0));
/// # Ok(()) }
/// ```
///
/// # Connections
/// Connections are pooled per endpoint as conduit's rules resolve it (two
/// Unix sockets never share one; a proxy's connections are its own). An
/// HTTP/1.1 connection carries one request at a time and goes back to the
/// pool when its response body ends, or when the body is dropped: then
/// the connection reads on and throws away up to 64 KiB of what is left,
/// in the background, and is closed if more remains or the rest takes more
/// than 2 seconds to come. An HTTP/2 connection carries every request to
/// its endpoint at once; another is opened only when the server's stream
/// limit is reached.
///
/// # Retries
/// A request is sent again, once, when all of these hold (on a new
/// HTTP/1.1 connection; over HTTP/2 on the pool's connection, as one that
/// refused a stream or went away is no longer handed out):
/// - it went out on a connection taken from the pool (a new connection
///   failing is not retried);
/// - no byte of the response arrived: the connection was closed before the
///   request could be written, closed after it without an answer, or the
///   HTTP/2 server refused the stream;
/// - its body can be sent again: empty, or given whole
///   ([`Body::full`], a string, bytes). A streamed body is consumed by the
///   first attempt.
///
/// That covers the common case of a server closing a kept-alive connection
/// just as a request is sent on it, for every method: a server that closes
/// a connection without answering the request in flight did not process
/// it, except a broken one. [`ClientBuilder::retry`] turns it off.
///
/// # Errors
/// One [`Error`] type: [`Error::is_connect`] with [`Error::report`] for
/// mimic's per-candidate account, [`Error::is_tls`], the three timeouts,
/// [`Error::is_redirect`], [`Error::is_request`] for a bad URI, and the
/// protocol errors of [`client`](crate::client). `Display` shows the chain.
#[derive(Clone)]
pub struct Client {
    shared: Arc<Shared>,
}

struct Shared {
    resolver: Resolver,
    overrides: Overrides,
    conn: ConnBuilder,
    forward: ConnBuilder,
    alpn_http1: Option<Vec<Vec<u8>>>,
    pool: Arc<Pool>,
    redirect: Redirect,
    timeouts: Timeouts,
    proxies: Proxies,
    headers: HeaderMap,
    retry: bool,
    /// Plans by origin.
    plans: Mutex<HashMap<String, Arc<Plan>, pool::FastHash>>,
}

#[derive(Clone, Debug)]
struct Timeouts {
    connect: Option<Duration>,
    request: Option<Duration>,
    read: Option<Duration>,
}

impl fmt::Debug for Client {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let shared = &*self.shared;
        f.debug_struct("Client")
            .field("pool", &shared.pool)
            .field("redirect", &shared.redirect)
            .field("timeouts", &shared.timeouts)
            .field("proxies", &shared.proxies)
            .finish_non_exhaustive()
    }
}

impl Default for Client {
    fn default() -> Client {
        Client::new()
    }
}

/// How one request reaches its server.
struct Plan {
    route: Arc<Route>,
    ctx: Ctx,
    /// The forward proxy's credentials (`Route::Forward`).
    proxy_auth: Option<HeaderValue>,
    /// Whether the first connection may speak HTTP/2: prior knowledge in
    /// clear text, or ALPN offering `h2`.
    may_h2: bool,
}

fn request_error(uri: &str, why: impl fmt::Display) -> Error {
    Error::with(Kind::Request, format!("`{uri}`: {why}"))
}

impl Client {
    /// A client with the default settings (see [`ClientBuilder`]).
    pub fn new() -> Client {
        match ClientBuilder::default().build() {
            Ok(client) => client,
            // The defaults set neither a resolver nor TLS, so the one way
            // for `build` to fail cannot happen.
            Err(err) => unreachable!("default client settings: {err}"),
        }
    }

    /// A builder, to change the defaults.
    pub fn builder() -> ClientBuilder {
        ClientBuilder::default()
    }

    /// `GET uri`.
    pub async fn get(&self, uri: impl AsRef<str>) -> Result<Response, Error> {
        self.call(Method::GET, uri, HeaderMap::new(), Body::empty())
            .await
    }

    /// `HEAD uri`.
    pub async fn head(&self, uri: impl AsRef<str>) -> Result<Response, Error> {
        self.call(Method::HEAD, uri, HeaderMap::new(), Body::empty())
            .await
    }

    /// `DELETE uri`.
    pub async fn delete(&self, uri: impl AsRef<str>) -> Result<Response, Error> {
        self.call(Method::DELETE, uri, HeaderMap::new(), Body::empty())
            .await
    }

    /// `POST uri` with `body`.
    pub async fn post(
        &self,
        uri: impl AsRef<str>,
        body: impl Into<Body>,
    ) -> Result<Response, Error> {
        self.call(Method::POST, uri, HeaderMap::new(), body).await
    }

    /// `PUT uri` with `body`.
    pub async fn put(
        &self,
        uri: impl AsRef<str>,
        body: impl Into<Body>,
    ) -> Result<Response, Error> {
        self.call(Method::PUT, uri, HeaderMap::new(), body).await
    }

    /// `PATCH uri` with `body`.
    pub async fn patch(
        &self,
        uri: impl AsRef<str>,
        body: impl Into<Body>,
    ) -> Result<Response, Error> {
        self.call(Method::PATCH, uri, HeaderMap::new(), body).await
    }

    /// `POST uri` with `params` as an `application/x-www-form-urlencoded`
    /// body.
    ///
    /// ```no_run
    /// # async fn run(client: paf::Client) -> Result<(), paf::Error> {
    /// let res = client.post_form("http://localhost:8080/login", &[("user", "ada"), ("pass", "n&m")]).await?;
    /// # let _ = res; Ok(()) }
    /// ```
    pub async fn post_form(
        &self,
        uri: impl AsRef<str>,
        params: &[(&str, &str)],
    ) -> Result<Response, Error> {
        let mut headers = HeaderMap::new();
        headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/x-www-form-urlencoded"),
        );
        self.call(Method::POST, uri, headers, form_encode(params))
            .await
    }

    /// Any method, with header fields and a body.
    pub async fn call(
        &self,
        method: Method,
        uri: impl AsRef<str>,
        headers: HeaderMap,
        body: impl Into<Body>,
    ) -> Result<Response, Error> {
        let text = uri.as_ref();
        let mut req = Request::new(body.into());
        *req.method_mut() = method;
        *req.uri_mut() = http_uri(text)?;
        *req.headers_mut() = headers;
        self.execute(text.to_string(), req).await
    }

    /// Sends an [`http::Request`]; its URI must be absolute.
    ///
    /// ```no_run
    /// # async fn run(client: paf::Client) -> Result<(), Box<dyn std::error::Error>> {
    /// let req = http::Request::put("http://localhost:8080/doc")
    ///     .header("content-type", "text/plain")
    ///     .body(paf::Body::full("hello"))?;
    /// let res = client.request(req).await?;
    /// # let _ = res; Ok(()) }
    /// ```
    pub async fn request(&self, req: Request<Body>) -> Result<Response, Error> {
        let text = req.uri().to_string();
        self.execute(text, req).await
    }

    /// Sends `req` to `text`, the URI as conduit reads it (`req`'s URI is
    /// its `http` form, which cannot hold a Unix socket).
    async fn execute(&self, text: String, req: Request<Body>) -> Result<Response, Error> {
        let deadline = self.shared.timeouts.request.map(crate::timer::after);
        let exchange = self.follow(text, req, deadline);
        match deadline {
            // Boxed, as the timer would enlarge every request's future.
            Some(at) => Box::pin(tokio::time::timeout_at(at, exchange))
                .await
                .unwrap_or_else(|_| Err(Error::new(Kind::Timeout(Timeout::Request)))),
            None => exchange.await,
        }
    }

    /// Idle HTTP/1.1 connections and open HTTP/2 connections in the pool.
    pub fn pool_size(&self) -> (usize, usize) {
        self.shared.pool.counts()
    }

    /// Sends the request and follows its redirects.
    async fn follow(
        &self,
        mut text: String,
        req: Request<Body>,
        deadline: Option<Instant>,
    ) -> Result<Response, Error> {
        let shared = &*self.shared;
        let (mut parts, mut body) = req.into_parts();
        for (name, value) in &shared.headers {
            if !parts.headers.contains_key(name) {
                parts.headers.insert(name.clone(), value.clone());
            }
        }
        let mut chain: Vec<Uri> = Vec::new();
        loop {
            let replay = if shared.redirect.is_none() {
                None
            } else {
                body.try_clone()
            };
            let (res, info) = self.send(&text, &parts, body, deadline).await?;
            if shared.redirect.is_none() || !res.status().is_redirection() {
                return Ok(Response::new(res, parts.uri, info, chain));
            }
            chain.push(parts.uri.clone());
            let next = redirect::next(
                &shared.redirect,
                res.status(),
                &parts.method,
                res.headers(),
                &chain,
            )?;
            let Next::Follow {
                uri,
                method,
                keep_body,
            } = next
            else {
                chain.pop();
                return Ok(Response::new(res, parts.uri, info, chain));
            };
            body = match (keep_body, replay) {
                (false, _) => Body::empty(),
                (true, Some(body)) => body,
                // A streamed body cannot go to the next server.
                (true, None) => {
                    chain.pop();
                    return Ok(Response::new(res, parts.uri, info, chain));
                }
            };
            drop(res);
            let cross_origin = !redirect::same_origin(&parts.uri, &uri);
            redirect::scrub(&mut parts.headers, cross_origin, keep_body);
            tracing::debug!(from = %parts.uri, to = %uri, %method, "following a redirect");
            text = match unix_prefix(&text) {
                // A Unix socket's URI names no host: a redirect within it
                // keeps the socket.
                Some(prefix) if !cross_origin => {
                    format!(
                        "{prefix}{}",
                        uri.path_and_query().map_or("/", |p| p.as_str())
                    )
                }
                _ => uri.to_string(),
            };
            parts.method = method;
            parts.uri = uri;
        }
    }

    /// Sends one request, retried once when the rule allows.
    async fn send(
        &self,
        text: &str,
        parts: &Parts,
        body: Body,
        deadline: Option<Instant>,
    ) -> Result<(http::Response<Body>, Arc<mimic::Info>), Error> {
        let shared = &*self.shared;
        let plan = self.plan(text, &parts.uri)?;
        let plan = &*plan;
        let mut body = body;
        let (mut retried, mut fresh) = (false, false);
        loop {
            let mut loan = self.connection(text, plan, fresh).await?;
            // Only a pooled connection can have died unnoticed; a request is
            // sent again once at most.
            let replay = (loan.reused && shared.retry && !retried)
                .then(|| body.try_clone())
                .flatten();
            let req = build(parts, plan, body);
            let sent = loan.conn.sender.send(req);
            let result = match shared.timeouts.read {
                Some(limit) => Box::pin(tokio::time::timeout(limit, sent))
                    .await
                    .unwrap_or_else(|_| Err(Error::new(Kind::Timeout(Timeout::Read)))),
                None => sent.await,
            };
            let res = match result {
                Ok(res) => res,
                Err(err) => {
                    let http1 = loan.conn.sender.version() != Version::HTTP_2;
                    loan.discard();
                    match replay {
                        Some(again) if err.is_closed() || err.is_unanswered() => {
                            tracing::debug!(route = %plan.route, error = %err, "sending again");
                            body = again;
                            // An HTTP/1.1 connection from the pool could be
                            // as dead as this one; an HTTP/2 one that refused
                            // a stream or went away is no longer handed out.
                            retried = true;
                            fresh = http1;
                            continue;
                        }
                        _ => return Err(err),
                    }
                }
            };
            let info = loan.conn.info.clone();
            // An HTTP/2 connection is shared, never lent: nothing to give back.
            let loan = (loan.conn.sender.version() != Version::HTTP_2).then(|| {
                loan.keep_alive = keep_alive_timeout(res.headers());
                loan
            });
            let timers = Timers {
                deadline,
                read: shared.timeouts.read,
            };
            return Ok((res.map(|body| Tracked::wrap(body, loan, &timers)), info));
        }
    }

    /// Where a request goes: conduit's resolution, then the proxy settings.
    /// The plan for `text`'s origin, made once and kept: resolving it
    /// again would give the same route and context.
    fn plan(&self, text: &str, uri: &Uri) -> Result<Arc<Plan>, Error> {
        let plans = &self.shared.plans;
        let origin = origin(text);
        if let Some(plan) = lock(plans).get(origin) {
            return Ok(plan.clone());
        }
        let plan = Arc::new(self.make_plan(text, uri)?);
        let mut plans = lock(plans);
        if plans.len() >= MAX_PLANS {
            plans.clear();
        }
        plans.insert(origin.to_string(), plan.clone());
        Ok(plan)
    }

    fn make_plan(&self, text: &str, uri: &Uri) -> Result<Plan, Error> {
        let shared = &*self.shared;
        if uri.scheme().is_none() || uri.authority().is_none() {
            return Err(request_error(text, "the URI must be absolute"));
        }
        let resolution = shared
            .resolver
            .resolve_with(text, &shared.overrides)
            .map_err(|e| Error::with(Kind::Request, e))?;
        let target = &resolution.target;
        let unix = matches!(resolution.endpoint, Endpoint::Unix(_));
        let proxy = match (unix, target.host()) {
            (false, Some(h)) => shared.proxies.for_target(target.base_scheme(), h),
            _ => None,
        };
        let mut ctx = resolution.ctx;
        if let Some(alpn) = &shared.alpn_http1
            && ctx.contains(&tls::SERVER_NAME)
        {
            ctx = ctx.with(&tls::ALPN, alpn.clone());
        }
        let is_tls = matches!(resolution.endpoint, Endpoint::Tls { .. });
        if is_tls && !ctx.contains(&tls::ENDPOINT) {
            // Without the layer, mimic would connect in clear text.
            return Err(request_error(
                text,
                "TLS is needed, but the resolver's base context has no TLS layer \
                 (mimic::tls::Tls::install)",
            ));
        }
        let may_h2 = if is_tls {
            ctx.get(&tls::ALPN)
                .is_some_and(|alpn| alpn.iter().any(|p| p == b"h2"))
        } else {
            shared.conn.is_prior_knowledge()
        };
        let Some(proxy) = proxy else {
            return Ok(Plan {
                route: Arc::new(Route::Direct(resolution.endpoint)),
                ctx,
                proxy_auth: None,
                may_h2,
            });
        };
        let via = shared
            .resolver
            .resolve(proxy.uri())
            .map_err(|e| Error::with(Kind::Request, e))?;
        if !is_tls {
            return Ok(Plan {
                route: Arc::new(Route::Forward(via.endpoint)),
                ctx: via.ctx,
                proxy_auth: proxy.authorization().cloned(),
                may_h2: false,
            });
        }
        let port = target.port().or_else(|| uri.port_u16()).unwrap_or(443);
        let host_name = target.host().unwrap_or_default();
        let authority = if host_name.contains(':') {
            format!("[{host_name}]:{port}")
        } else {
            format!("{host_name}:{port}")
        };
        let mut tunneled = tunnel::through(
            via.ctx,
            tunnel::TunnelEndpoint {
                authority,
                authorization: proxy.authorization().cloned(),
            },
        )
        .with(&tls::SERVER_NAME, host_name.to_string());
        // The target's TLS settings, not the proxy's, apply inside.
        if let Some(alpn) = ctx.get(&tls::ALPN) {
            tunneled = tunneled.with(&tls::ALPN, alpn.clone());
        }
        if let Some(config) = ctx.get(&tls::CONFIG) {
            tunneled = tunneled.with(&tls::CONFIG, config.clone());
        }
        Ok(Plan {
            route: Arc::new(Route::Tunnel {
                proxy: via.endpoint,
                target: resolution.endpoint,
            }),
            ctx: tunneled,
            proxy_auth: None,
            may_h2,
        })
    }

    /// A connection for the plan: from the pool, or new.
    ///
    /// Futures are boxed off the common path (a pooled connection at hand):
    /// every request's future is as large as the largest it contains, and is
    /// moved (copied) at each `.await` around it.
    async fn connection(&self, text: &str, plan: &Plan, fresh: bool) -> Result<Pooled, Error> {
        if !fresh && let Some(loan) = self.shared.pool.checkout(&plan.route) {
            return Ok(loan);
        }
        Box::pin(self.open(text, plan, fresh)).await
    }

    /// A new connection, one at a time for a route that speaks HTTP/2.
    async fn open(&self, text: &str, plan: &Plan, fresh: bool) -> Result<Pooled, Error> {
        let pool = &self.shared.pool;
        let gate = pool.gate(&plan.route, plan.may_h2);
        let mut turn = match &gate {
            Some(gate) => Some(gate.turn.clone().lock_owned().await),
            None => None,
        };
        if let Some(gate) = &gate {
            if !fresh && let Some(loan) = pool.checkout(&plan.route) {
                return Ok(loan);
            }
            // The connection opened meanwhile spoke HTTP/1.1, or could not be
            // opened: the others try side by side.
            if pool.speaks_http1(&plan.route) || gate.failed.load(Ordering::Acquire) {
                turn = None;
            }
        }
        let opened = self.connect(text, plan).await;
        if let Some(gate) = &gate {
            gate.failed.store(opened.is_err(), Ordering::Release);
        }
        let loan = pool.insert(&plan.route, opened?);
        drop(turn);
        Ok(loan)
    }

    async fn connect(&self, text: &str, plan: &Plan) -> Result<Conn, Error> {
        let shared = &*self.shared;
        let ctx = match shared.timeouts.connect {
            Some(limit) => plan.ctx.clone().with_deadline(limit),
            None => plan.ctx.clone(),
        };
        let flow = ctx.resolve().await.map_err(|source| {
            let tls = source
                .report()
                .entries()
                .iter()
                .any(|e| matches!(e.outcome, Outcome::Failed { stage: "tls", .. }));
            let kind = if source.is_timeout() {
                Kind::Timeout(Timeout::Connect)
            } else if tls {
                Kind::Tls
            } else {
                Kind::Connect
            };
            Error::with(
                kind,
                conduit::Error::connect(
                    match &*plan.route {
                        Route::Direct(_) => text.to_string(),
                        Route::Forward(proxy) | Route::Tunnel { proxy, .. } => {
                            format!("{text}` through the proxy `{proxy}")
                        }
                    },
                    source,
                ),
            )
        })?;
        let info = Arc::new(flow.info().clone());
        let builder = match *plan.route {
            Route::Forward(_) => &shared.forward,
            _ => &shared.conn,
        };
        let (sender, connection) = builder.handshake_flow(flow);
        tracing::debug!(route = %plan.route, version = ?sender.version(), "connected");
        tokio::spawn(async move {
            if let Err(err) = connection.await {
                tracing::debug!(error = %err, "client connection ended with an error");
            }
        });
        Ok(Conn { sender, info })
    }
}

/// The most origins whose plans are kept; past it, they are made again.
const MAX_PLANS: usize = 256;

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|e| e.into_inner())
}

/// Where `://` starts, after the scheme. (A byte scan: a substring search
/// costs more to set up than it saves on a URI.)
fn scheme_end(text: &str) -> Option<usize> {
    let colon = text.bytes().position(|b| b == b':')?;
    text.as_bytes()
        .get(colon + 1..colon + 3)
        .is_some_and(|slashes| slashes == b"//")
        .then_some(colon)
}

/// `scheme://authority` of a URI: what its plan depends on.
fn origin(text: &str) -> &str {
    let start = scheme_end(text).map_or(0, |i| i + 3);
    let end = text[start..]
        .find(['/', '?', '#'])
        .map_or(text.len(), |i| start + i);
    &text[..end]
}

/// The `http` form of a URI conduit reads: a Unix socket's URI
/// (`http+unix://%2Frun%2Fapp.sock/path`) becomes `http://localhost/path`.
fn http_uri(text: &str) -> Result<Uri, Error> {
    if unix_prefix(text).is_some() {
        let target: conduit::Target = text.parse().map_err(|e| Error::with(Kind::Request, e))?;
        let path = target.path_and_query();
        return format!("http://localhost{path}")
            .parse()
            .map_err(|e| request_error(text, e));
    }
    text.parse().map_err(|e| request_error(text, e))
}

/// `http+unix://<socket>` of a Unix socket URI.
fn unix_prefix(text: &str) -> Option<&str> {
    let at = scheme_end(text)?;
    let (scheme, rest) = (&text[..at], &text[at + 3..]);
    let unix =
        scheme.len() > 5 && scheme.as_bytes()[scheme.len() - 5..].eq_ignore_ascii_case(b"+unix");
    if !unix {
        return None;
    }
    let end = rest.find(['/', '?']).unwrap_or(rest.len());
    Some(&text[..scheme.len() + 3 + end])
}

/// The request as the connection sends it.
fn build(parts: &Parts, plan: &Plan, body: Body) -> Request<Body> {
    let mut req = Request::new(body);
    *req.method_mut() = parts.method.clone();
    *req.headers_mut() = parts.headers.clone();
    // A Unix socket's URI is in its `http://localhost/...` form already
    // (`http_uri`); with `unix_socket`, the URI's host is named, as curl does.
    *req.uri_mut() = parts.uri.clone();
    if let Some(auth) = &plan.proxy_auth {
        req.headers_mut()
            .entry(header::PROXY_AUTHORIZATION)
            .or_insert(auth.clone());
    }
    req
}

/// `Keep-Alive: timeout=N`, in seconds.
fn keep_alive_timeout(headers: &HeaderMap) -> Option<Duration> {
    let value = headers.get("keep-alive")?.to_str().ok()?;
    value.split(',').find_map(|param| {
        let (name, secs) = param.split_once('=')?;
        if !name.trim().eq_ignore_ascii_case("timeout") {
            return None;
        }
        secs.trim()
            .trim_matches('"')
            .parse()
            .ok()
            .map(Duration::from_secs)
    })
}

/// `application/x-www-form-urlencoded`, as the URL standard serializes it.
fn form_encode(params: &[(&str, &str)]) -> String {
    let mut out = String::new();
    for (i, (name, value)) in params.iter().enumerate() {
        if i > 0 {
            out.push('&');
        }
        encode_component(name, &mut out);
        out.push('=');
        encode_component(value, &mut out);
    }
    out
}

fn encode_component(text: &str, out: &mut String) {
    for byte in text.bytes() {
        match byte {
            b' ' => out.push('+'),
            b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9' | b'*' | b'-' | b'.' | b'_' => {
                out.push(char::from(byte));
            }
            _ => {
                let _ = write!(out, "%{byte:02X}");
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn forms_are_encoded_as_browsers_do() {
        assert_eq!(
            form_encode(&[("user", "ada lovelace"), ("q", "a&b=c/é"), ("e", "")]),
            "user=ada+lovelace&q=a%26b%3Dc%2F%C3%A9&e="
        );
    }

    #[test]
    fn unix_socket_uris_get_an_http_form() {
        let text = "http+unix://%2Frun%2Fapp.sock/v1/x?y=1";
        assert_eq!(unix_prefix(text), Some("http+unix://%2Frun%2Fapp.sock"));
        let uri = http_uri(text).map(|u| u.to_string()).ok();
        assert_eq!(uri.as_deref(), Some("http://localhost/v1/x?y=1"));
        assert_eq!(unix_prefix("http://example.com/a"), None);
    }

    #[test]
    fn keep_alive_timeouts_are_read() {
        let mut headers = HeaderMap::new();
        headers.insert("keep-alive", HeaderValue::from_static("max=100, timeout=5"));
        assert_eq!(keep_alive_timeout(&headers), Some(Duration::from_secs(5)));
        headers.insert("keep-alive", HeaderValue::from_static("max=100"));
        assert_eq!(keep_alive_timeout(&headers), None);
    }
}
