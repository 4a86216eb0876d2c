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
//! use paf::server::{Http1, Serve};
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
//! - `mod.rs`: [`Connection`], one served connection, and what handlers
//!   and bodies must be.
//! - `serve.rs`: [`Serve`], the entry points every protocol's settings share.
//! - `http1.rs`, `http2.rs`: [`Http1`] and [`Http2`], each protocol's settings.
//! - `auto.rs`: [`Auto`], both protocols, chosen per connection.
//! - `h2c.rs`: switching to HTTP/2 in clear text.
//! - `service.rs`: [`service_fn`].
//! - `connected.rs`: [`Connected`], what the handler learns about the connection.

mod auto;
mod connected;
mod h2c;
mod http1;
mod http2;
mod serve;
mod service;

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use conduit::serve::Drain;
use http::{Request, Response};
use mimic::Flow;
use tower_service::Service;

pub use self::auto::Auto;
pub use self::connected::Connected;
pub use self::http1::Http1;
pub use self::http2::Http2;
pub use self::serve::Serve;
pub use self::service::{ServiceFn, service_fn};
use crate::body::Body;
use crate::error::{BoxError, Error};
pub use crate::protocol_error::ProtocolError;
use crate::signal::Signal;

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
    /// A connection running `serve`, which is given the shutdown flag.
    fn start<F, Fut>(serve: F) -> Connection
    where
        F: FnOnce(Arc<Signal>) -> Fut,
        Fut: Future<Output = Result<(), Error>> + Send + 'static,
    {
        let signal = Arc::new(Signal::default());
        Connection {
            future: Box::pin(serve(signal.clone())),
            signal,
        }
    }

    /// Starts a graceful shutdown. On HTTP/1.1, the request in progress is
    /// answered (with `connection: close`), then the connection closes; an
    /// idle connection closes at once. On HTTP/2, a GOAWAY tells the client
    /// to open no more streams, and the connection closes once the streams
    /// in progress are answered.
    pub fn graceful_shutdown(&self) {
        self.signal.set();
    }

    /// Serves until done, shutting down gracefully when `drain` is
    /// signaled. The connection tells `drain` when it only waits for its
    /// client ([`Drain::set_idle`]): before its first request, between
    /// requests and while a request head arrives on HTTP/1.1, before the
    /// preface on HTTP/2; a server at its connection limit may close it to
    /// make room.
    pub async fn with_drain(self, drain: Drain) -> Result<(), Error> {
        let idle = drain.clone();
        self.signal
            .on_waiting(Box::new(move |waiting| idle.set_idle(waiting)));
        self.signal.waiting(true);
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

/// A connection handler for [`conduit::serve::Server`], as made by
/// [`Serve::handler`].
pub trait ConnectionHandler:
    Fn(Flow, Drain) -> Pin<Box<dyn Future<Output = ()> + Send>> + Send + Sync + 'static
{
}

impl<F> ConnectionHandler for F where
    F: Fn(Flow, Drain) -> Pin<Box<dyn Future<Output = ()> + Send>> + Send + Sync + 'static
{
}
