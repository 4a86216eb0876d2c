//! Sending requests: [`Client`] takes URIs and manages connections;
//! [`conn`] works on one connection.
//!
//! [`Client`] (with [`ClientBuilder`], [`Response`], [`Redirect`],
//! [`Proxies`]) pools connections per endpoint, retries requests whose
//! pooled connection died, follows redirects, applies timeouts and goes
//! through proxies; `docs/client.md` is its guide. [`conn::handshake`]
//! starts one HTTP/1.1 or HTTP/2 connection on any stream, as hyper's
//! `client::conn` does.
//!
//! # Organization
//! - `conn/`: one connection: [`conn::handshake`], [`conn::Builder`],
//!   [`conn::SendRequest`], [`conn::Connection`].
//! - `mod.rs`: [`Client`] and its request methods.
//! - `builder.rs`: [`ClientBuilder`], the settings.
//! - `send.rs`: a request's life: redirects followed, retries.
//! - `pipeline.rs`: [`Client::pipeline`], a batch on one connection.
//! - `plan.rs`: where a request goes (resolution, proxies), kept per origin.
//! - `connect.rs`: connections taken from the pool or opened.
//! - `pool.rs`: connections kept per route, lent and given back.
//! - `response.rs`: [`Response`], and the body that returns its connection.
//! - `redirect.rs`: [`Redirect`], the policy and the next request.
//! - `proxy.rs`: [`Proxy`], [`Proxies`] and `NO_PROXY`.
//! - `auth.rs`: [`basic_auth`]; `form.rs`: form bodies.
//! - `tunnel.rs`: the `CONNECT` tunnel as a mimic layer.

pub mod conn;

mod auth;
mod builder;
mod connect;
mod form;
mod pipeline;
mod plan;
mod pool;
mod proxy;
mod redirect;
mod response;
mod send;
mod tunnel;

use std::collections::HashMap;
use std::fmt;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use conduit::{Overrides, Resolver};
use http::header::{self, HeaderMap, HeaderValue};
use http::{Method, Request};

pub use self::auth::basic_auth;
pub use self::builder::ClientBuilder;
pub use self::pipeline::Pipeline;
pub use self::proxy::{Proxies, Proxy};
pub use self::redirect::Redirect;
pub use self::response::Response;

use self::conn::Builder as ConnBuilder;
use self::form::form_encode;
use self::plan::{Plan, http_uri};
use self::pool::Pool;
use crate::body::Body;
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
/// # use paf::server::Serve;
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
/// [`Error::is_redirect`], [`Error::is_request`] for a bad URI,
/// [`Error::is_body_too_large`] for a body larger than
/// [`Response::bytes`] reads, and the protocol errors of [`conn`].
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
    /// The most bytes `Response::bytes` reads.
    body_limit: Option<u64>,
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
        let res = match deadline {
            // Boxed, as the timer would enlarge every request's future.
            Some(at) => Box::pin(tokio::time::timeout_at(at, exchange))
                .await
                .unwrap_or_else(|_| Err(Error::new(Kind::Timeout(Timeout::Request)))),
            None => exchange.await,
        };
        res.map(|res| res.with_body_limit(self.shared.body_limit))
    }

    /// Idle HTTP/1.1 connections and open HTTP/2 connections in the pool.
    pub fn pool_size(&self) -> (usize, usize) {
        self.shared.pool.counts()
    }
}
