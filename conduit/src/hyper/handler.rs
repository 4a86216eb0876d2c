//! hyper's server connections on conduit's accept loop: [`handler`], the
//! builders it takes ([`ServeConnection`]) and the service wrapper that
//! tells requests about their connection ([`WithConnection`]).

use std::error::Error as StdError;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use http::{Request, Response};
use hyper::body::Body;
use hyper::body::Incoming;
use hyper::rt::bounds::Http2ServerConnExec;
use hyper::server::conn::{http1, http2};
use hyper::service::Service;
use hyper_util::server::conn::auto::{self, HttpServerConnExec};
use mimic::{Flow, Info};

use super::HyperIo;
use crate::serve::Drain;

/// An error from serving a connection, as hyper gives it.
type BoxError = Box<dyn StdError + Send + Sync>;

/// A boxed future that can move between threads.
type BoxFuture<T> = Pin<Box<dyn Future<Output = T> + Send>>;

/// How long [`handler`] waits for a new connection's first bytes before it
/// closes the connection.
pub const DEFAULT_FIRST_BYTE_TIMEOUT: Duration = Duration::from_secs(30);

mod sealed {
    pub trait Sealed {}
    impl<E> Sealed for hyper_util::server::conn::auto::Builder<E> {}
    impl Sealed for hyper::server::conn::http1::Builder {}
    impl<E> Sealed for hyper::server::conn::http2::Builder<E> {}
}

/// A hyper or hyper-util connection builder that [`handler`] can serve
/// connections with: service `S`, responses with bodies `B`.
///
/// Implemented for hyper-util's [`auto::Builder`] (HTTP/1.1 and HTTP/2,
/// chosen by the first bytes, upgrades included) and hyper's
/// [`http1::Builder`] (upgrades included) and [`http2::Builder`]; it is
/// sealed, not for implementing.
pub trait ServeConnection<S, B>: sealed::Sealed + Clone + Send + Sync + 'static {
    /// Serves `io` with `service` until the connection ends; once `drain`
    /// is signaled, calls the connection's `graceful_shutdown` and waits
    /// for it to finish.
    fn serve_connection(
        &self,
        io: HyperIo,
        service: S,
        drain: Drain,
    ) -> BoxFuture<Result<(), BoxError>>;
}

/// Runs `conn` until it ends; when `drain` is signaled first, starts its
/// graceful shutdown with `shutdown` and waits for it to end.
async fn drive<C, E>(
    conn: C,
    drain: Drain,
    shutdown: impl FnOnce(Pin<&mut C>),
) -> Result<(), BoxError>
where
    C: Future<Output = Result<(), E>>,
    E: Into<BoxError>,
{
    let mut conn = std::pin::pin!(conn);
    tokio::select! {
        // The connection first: bytes already read are served, not cut off.
        biased;
        ended = conn.as_mut() => return ended.map_err(Into::into),
        () = drain.signaled() => {}
    }
    shutdown(conn.as_mut());
    conn.await.map_err(Into::into)
}

impl<S, B, E> ServeConnection<S, B> for auto::Builder<E>
where
    S: Service<Request<Incoming>, Response = Response<B>> + Send + 'static,
    S::Future: Send + 'static,
    S::Error: Into<BoxError>,
    B: Body + Send + 'static,
    B::Data: Send,
    B::Error: Into<BoxError>,
    E: HttpServerConnExec<S::Future, B> + Clone + Send + Sync + 'static,
{
    fn serve_connection(
        &self,
        io: HyperIo,
        service: S,
        drain: Drain,
    ) -> BoxFuture<Result<(), BoxError>> {
        let builder = self.clone();
        Box::pin(async move {
            let conn = builder.serve_connection_with_upgrades(io, service);
            drive(conn, drain, |conn| conn.graceful_shutdown()).await
        })
    }
}

impl<S, B> ServeConnection<S, B> for http1::Builder
where
    S: Service<Request<Incoming>, Response = Response<B>> + Send + 'static,
    S::Future: Send + 'static,
    S::Error: Into<BoxError>,
    B: Body + Send + 'static,
    B::Data: Send,
    B::Error: Into<BoxError>,
{
    fn serve_connection(
        &self,
        io: HyperIo,
        service: S,
        drain: Drain,
    ) -> BoxFuture<Result<(), BoxError>> {
        let conn = self.serve_connection(io, service).with_upgrades();
        Box::pin(drive(conn, drain, |conn| conn.graceful_shutdown()))
    }
}

impl<S, B, E> ServeConnection<S, B> for http2::Builder<E>
where
    S: Service<Request<Incoming>, Response = Response<B>> + Send + 'static,
    S::Future: Send + 'static,
    S::Error: Into<BoxError>,
    B: Body + Send + 'static,
    B::Data: Send,
    B::Error: Into<BoxError>,
    E: Http2ServerConnExec<S::Future, B> + Clone + Send + Sync + 'static,
{
    fn serve_connection(
        &self,
        io: HyperIo,
        service: S,
        drain: Drain,
    ) -> BoxFuture<Result<(), BoxError>> {
        let conn = self.serve_connection(io, service);
        Box::pin(drive(conn, drain, |conn| conn.graceful_shutdown()))
    }
}

/// The service [`handler`] gives the builder: yours, with the connection's
/// `Arc<mimic::Info>` (peer address, TLS) and its [`Drain`] inserted into
/// every request's extensions.
#[derive(Clone, Debug)]
pub struct WithConnection<S> {
    inner: S,
    info: Arc<Info>,
    drain: Drain,
}

impl<S, R> Service<Request<R>> for WithConnection<S>
where
    S: Service<Request<R>>,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = S::Future;

    fn call(&self, mut req: Request<R>) -> S::Future {
        req.extensions_mut().insert(self.info.clone());
        req.extensions_mut().insert(self.drain.clone());
        self.inner.call(req)
    }
}

/// A connection handler for [`conduit::serve::Server`](crate::serve::Server)
/// that serves each flow with `builder` and a clone of `service`, as
/// [`handler_with_timeout`] with [`DEFAULT_FIRST_BYTE_TIMEOUT`].
///
/// Every request carries its connection's `Arc<mimic::Info>` (peer
/// address, TLS) and the server's [`Drain`] in its extensions.
///
/// Give the builder a timer (`.timer(hyper_util::rt::TokioTimer::new())`):
/// without one hyper's HTTP/1 header read timeout (30 s by default, which
/// also closes keep-alive connections left idle) and HTTP/2 keep-alive
/// pings do nothing.
///
/// At a [connection limit](crate::serve::Builder::max_connections), a
/// connection counts as idle (the server may close it for a new one) until
/// its client's first bytes arrive; one that sends nothing in time is
/// closed. After that it counts as busy until it closes, as hyper does not
/// say when it waits between requests: the builder's timeouts bound that.
///
/// When the server shuts down, every connection's `graceful_shutdown` is
/// called: requests in progress are answered, HTTP/1.1 connections close
/// after them, HTTP/2 ones send `GOAWAY`; connections still open at the
/// shutdown's deadline are aborted. Upgraded connections and the tasks
/// hyper spawns on its executor (HTTP/2 requests) run outside the
/// connection's task: the shutdown's deadline and the connection limit do
/// not reach them; such a task can watch the request's [`Drain`]. A
/// connection that ends with an error before shutdown is logged with
/// `tracing` at debug level.
///
/// A tower service (an axum `Router`) runs through
/// `hyper_util::service::TowerToHyperService` (hyper-util's `service`
/// feature).
pub fn handler<P, S, B>(
    builder: P,
    service: S,
) -> impl Fn(Flow, Drain) -> BoxFuture<()> + Send + Sync + 'static
where
    P: ServeConnection<WithConnection<S>, B>,
    S: Clone + Send + Sync + 'static,
{
    handler_with_timeout(builder, service, DEFAULT_FIRST_BYTE_TIMEOUT)
}

/// [`handler`], closing connections whose client sends nothing within
/// `first_byte_timeout`.
pub fn handler_with_timeout<P, S, B>(
    builder: P,
    service: S,
    first_byte_timeout: Duration,
) -> impl Fn(Flow, Drain) -> BoxFuture<()> + Send + Sync + 'static
where
    P: ServeConnection<WithConnection<S>, B>,
    S: Clone + Send + Sync + 'static,
{
    move |flow: Flow, drain: Drain| -> BoxFuture<()> {
        let info = Arc::new(flow.info().clone());
        let service = WithConnection {
            inner: service.clone(),
            info: info.clone(),
            drain: drain.clone(),
        };
        let io = HyperIo::accepted(flow, drain.clone(), first_byte_timeout);
        let served = builder.serve_connection(io, service, drain.clone());
        Box::pin(async move {
            // Once draining, an interrupted connection is expected.
            if let Err(err) = served.await
                && !drain.is_signaled()
            {
                let peer = info.peer_addr().map(tracing::field::display);
                // hyper's own text alone rarely says what went wrong.
                let error = mimic::report::Chain(&*err);
                tracing::debug!(peer, %error, "hyper connection ended with an error");
            }
        })
    }
}
