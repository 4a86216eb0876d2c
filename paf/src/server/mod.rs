//! Serving HTTP on connections: from a conduit listener, or on any stream.
//!
//! A handler is any [`tower_service::Service`] that takes an
//! `http::Request<paf::Body>` and returns an `http::Response<B>` for any
//! [`http_body::Body`] `B`, so an axum `Router` runs unchanged, and
//! [`service_fn`] turns a closure into one.
//!
//! ```
//! use std::convert::Infallible;
//! use std::time::Duration;
//! use conduit::listener::TcpListener;
//! use http::{Request, Response};
//! use paf::Body;
//! use paf::server::Http1;
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let hello = paf::service_fn(|_req: Request<Body>| async {
//!     Ok::<_, Infallible>(Response::new(Body::full("Hello, world!")))
//! });
//! let tcp = TcpListener::bind("127.0.0.1:0".parse()?)?;
//! let server = conduit::serve::Server::builder()
//!     .listener(tcp)
//!     .serve(Http1::new().handler(hello));
//! let addr = server.local_addrs()[0].to_string();
//!
//! // Any HTTP/1.1 client will do; this one is the raw protocol.
//! use tokio::io::{AsyncReadExt, AsyncWriteExt};
//! let mut tcp = tokio::net::TcpStream::connect(addr).await?;
//! tcp.write_all(b"GET / HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n").await?;
//! let mut response = String::new();
//! tcp.read_to_string(&mut response).await?;
//! assert!(response.starts_with("HTTP/1.1 200 OK\r\n"));
//! assert!(response.ends_with("\r\n\r\nHello, world!"));
//!
//! server.shutdown(Duration::from_secs(5)).await;
//! # Ok(())
//! # }
//! ```
//!
//! # Organization
//! - `mod.rs`: [`Http1`], the settings, and [`Connection`], one served connection.
//! - `service.rs`: [`service_fn`].
//! - `connected.rs`: [`Connected`], what the handler learns about the connection.
//! - `signal.rs`: the graceful-shutdown flag.

mod connected;
mod service;
pub(crate) mod signal;

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use conduit::serve::Drain;
use http::{Request, Response};
use mimic::Flow;
use tokio::io::{AsyncRead, AsyncWrite};
use tower_service::Service;

pub use self::connected::Connected;
pub use self::service::{ServiceFn, service_fn};
use self::signal::Signal;
use crate::body::Body;
use crate::error::{BoxError, Error};
use crate::h1;

/// HTTP/1.1 server settings; serves connections with them.
///
/// The defaults suit a server on the open internet: request heads up to
/// 64 KiB with at most 100 fields and targets up to 8 KiB, 30 seconds to
/// send a head (a slow client gets `408`), idle kept-alive connections
/// closed after 60 seconds (as are bodies that stall as long), and no limit on body sizes (bodies are
/// streamed, never buffered whole).
#[derive(Clone, Debug, Default)]
pub struct Http1 {
    config: Arc<h1::server::Config>,
}

impl Http1 {
    /// The default settings.
    pub fn new() -> Http1 {
        Http1::default()
    }

    fn config(&mut self) -> &mut h1::server::Config {
        Arc::make_mut(&mut self.config)
    }

    /// The largest request head (request line and fields) in bytes; a larger
    /// one is answered `431`.
    pub fn max_head_size(mut self, bytes: usize) -> Self {
        self.config().limits.max_head_bytes = bytes;
        self
    }

    /// The most header fields in a request; more are answered `431`.
    pub fn max_headers(mut self, count: usize) -> Self {
        self.config().limits.max_headers = count;
        self
    }

    /// The longest request target in bytes; a longer one is answered `414`.
    pub fn max_target_len(mut self, bytes: usize) -> Self {
        self.config().limits.max_target_len = bytes;
        self
    }

    /// The largest request body in bytes. A request that declares a larger
    /// `content-length` is answered `413` without calling the handler; a
    /// chunked body that grows past the limit is cut off, its reader gets an
    /// error for which [`Error::is_body_too_large`] is true, and the client
    /// gets `413`. Unlimited by default.
    pub fn max_body_size(mut self, bytes: u64) -> Self {
        self.config().max_body = Some(bytes);
        self
    }

    /// How long a client has to send a request head, from its first byte
    /// (from the connection's start for the first request). A client that
    /// sent part of a head by then is answered `408`. `None` waits forever.
    pub fn head_timeout(mut self, timeout: Option<Duration>) -> Self {
        self.config().head_timeout = timeout;
        self
    }

    /// How long a kept-alive connection may wait for its next request, and
    /// the longest pause allowed in the middle of a request body (a client
    /// that stalls there is answered `408` and its handler's body fails).
    /// Time the handler takes to read is not counted. `None` waits forever.
    pub fn idle_timeout(mut self, timeout: Option<Duration>) -> Self {
        self.config().idle_timeout = timeout;
        self
    }

    /// Whether connections are kept open for further requests (the default).
    pub fn keep_alive(mut self, enabled: bool) -> Self {
        self.config().keep_alive = enabled;
        self
    }

    /// How many bytes of a request body the handler did not read are read
    /// and thrown away to keep the connection; a longer rest closes it.
    pub fn max_drain(mut self, bytes: u64) -> Self {
        self.config().max_drain = bytes;
        self
    }

    /// Whether responses get a `date` header when they have none (the
    /// default, as RFC 9110 asks of servers with a clock).
    pub fn date_header(mut self, enabled: bool) -> Self {
        self.config().date = enabled;
        self
    }

    /// Serves HTTP/1.1 on any stream. The handler sees no [`Connected`]
    /// extension; [`serve_flow`](Http1::serve_flow) adds one.
    pub fn serve_connection<I, S, B>(&self, io: I, service: S) -> Connection
    where
        I: AsyncRead + AsyncWrite + Unpin + Send + 'static,
        S: HttpService<B>,
        B: ResponseBody,
    {
        self.serve(io, service, None)
    }

    /// Serves HTTP/1.1 on a [`Flow`]; requests carry a [`Connected`] with
    /// the flow's addresses and TLS details.
    pub fn serve_flow<S, B>(&self, flow: Flow, service: S) -> Connection
    where
        S: HttpService<B>,
        B: ResponseBody,
    {
        let connected = Connected::new(flow.info().clone());
        self.serve(flow, service, Some(connected))
    }

    fn serve<I, S, B>(&self, io: I, service: S, connected: Option<Connected>) -> Connection
    where
        I: AsyncRead + AsyncWrite + Unpin + Send + 'static,
        S: HttpService<B>,
        B: ResponseBody,
    {
        let signal = Arc::new(Signal::default());
        let future = h1::server::serve(io, service, self.config.clone(), connected, signal.clone());
        Connection {
            future: Box::pin(future),
            signal,
        }
    }

    /// A connection handler for [`conduit::serve::Server`]: each flow is
    /// served with a clone of `service`, and the server's drain signal ends
    /// kept-alive connections gracefully.
    pub fn handler<S, B>(
        &self,
        service: S,
    ) -> impl Fn(Flow, Drain) -> Pin<Box<dyn Future<Output = ()> + Send>> + Send + Sync + 'static
    where
        S: HttpService<B> + Clone + Sync,
        B: ResponseBody,
    {
        let http = self.clone();
        move |flow, drain| {
            // Formatted only if the error is logged.
            let peer = flow.info().peer_addr().cloned();
            let connection = http.serve_flow(flow, service.clone());
            Box::pin(async move {
                if let Err(err) = connection.with_drain(drain).await {
                    let peer = peer.as_ref().map(tracing::field::display);
                    tracing::debug!(peer, error = %err, "connection ended with an error");
                }
            })
        }
    }
}

/// What a response body must be: any [`http_body::Body`] that can move to
/// the connection's task, whose errors can be boxed.
///
/// Implemented for every such body; not meant to be implemented by hand.
pub trait ResponseBody:
    http_body::Body<Data: Send, Error: Into<BoxError>> + Send + 'static
{
}

impl<B> ResponseBody for B where
    B: http_body::Body<Data: Send, Error: Into<BoxError>> + Send + 'static
{
}

/// What a handler must be: a [`Service`] from `http::Request<paf::Body>` to
/// `http::Response<B>`, sendable to the connection's task.
///
/// Implemented for every such service; not meant to be implemented by hand.
pub trait HttpService<B>:
    Service<Request<Body>, Response = Response<B>, Error = Self::E, Future = Self::F> + Send + 'static
{
    /// The service's error.
    type E: Into<BoxError>;
    /// The service's future.
    type F: Future<Output = Result<Response<B>, Self::E>> + Send + 'static;
}

impl<S, B> HttpService<B> for S
where
    S: Service<Request<Body>, Response = Response<B>> + Send + 'static,
    S::Error: Into<BoxError>,
    S::Future: Send + 'static,
{
    type E = S::Error;
    type F = S::Future;
}

/// One connection being served: a future that completes when the
/// connection is closed.
///
/// It resolves to `Ok` when the client closed the connection, after a
/// graceful shutdown and after a protocol switch; to an error when the
/// client misbehaved (after the error response was sent), timed out, or the
/// connection failed.
#[must_use = "a connection does nothing unless awaited"]
pub struct Connection {
    future: Pin<Box<dyn Future<Output = Result<(), Error>> + Send>>,
    signal: Arc<Signal>,
}

impl Connection {
    /// Starts a graceful shutdown: the request in progress is answered (with
    /// `connection: close`), then the connection closes; an idle connection
    /// closes at once.
    pub fn graceful_shutdown(&self) {
        self.signal.set();
    }

    /// Serves until done, shutting down gracefully when `drain` is signaled.
    pub async fn with_drain(self, drain: Drain) -> Result<(), Error> {
        // A watcher task rather than a `select!`: the connection is woken
        // for every request, the drain signal once in its life.
        let signal = self.signal.clone();
        let watcher = tokio::spawn(async move {
            drain.signaled().await;
            signal.set();
        });
        let result = self.await;
        watcher.abort();
        result
    }
}

impl Future for Connection {
    type Output = Result<(), Error>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        self.future.as_mut().poll(cx)
    }
}

impl fmt::Debug for Connection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Connection")
            .field("shutting_down", &self.signal.is_set())
            .finish()
    }
}
