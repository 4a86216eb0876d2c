//! hyper's server connections on conduit's accept loop: [`handler`] and
//! the builders it takes ([`ServeConnection`]).

use std::error::Error as StdError;
use std::future::Future;
use std::pin::Pin;

use http::{Request, Response};
use hyper::body::Body;
use hyper::body::Incoming;
use hyper::rt::bounds::Http2ServerConnExec;
use hyper::server::conn::{http1, http2};
use hyper::service::Service;
use hyper_util::server::conn::auto::{self, HttpServerConnExec};
use mimic::Flow;

use super::Stream;
use crate::serve::Drain;

/// An error from serving a connection, as hyper gives it.
pub type BoxError = Box<dyn StdError + Send + Sync>;

/// A boxed future that can move between threads.
pub type BoxFuture<T> = Pin<Box<dyn Future<Output = T> + Send>>;

/// A hyper or hyper-util connection builder that can serve a [`Flow`] with
/// service `S` (responses with bodies `B`) until the connection ends,
/// shutting down gracefully when the [`Drain`] is signaled.
///
/// Implemented for hyper-util's [`auto::Builder`] (HTTP/1.1 and HTTP/2,
/// chosen by the first bytes, upgrades included) and hyper's
/// [`http1::Builder`] (upgrades included) and [`http2::Builder`].
pub trait ServeConnection<S, B>: Clone + Send + Sync + 'static {
    /// Serves `flow` with `service` until the connection ends; once
    /// `drain` is signaled, calls the connection's `graceful_shutdown` and
    /// waits for it to finish.
    fn serve_connection(
        &self,
        flow: Flow,
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
        flow: Flow,
        service: S,
        drain: Drain,
    ) -> BoxFuture<Result<(), BoxError>> {
        let builder = self.clone();
        Box::pin(async move {
            let conn = builder.serve_connection_with_upgrades(Stream::new(flow), service);
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
        flow: Flow,
        service: S,
        drain: Drain,
    ) -> BoxFuture<Result<(), BoxError>> {
        let conn = self
            .serve_connection(Stream::new(flow), service)
            .with_upgrades();
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
        flow: Flow,
        service: S,
        drain: Drain,
    ) -> BoxFuture<Result<(), BoxError>> {
        let conn = self.serve_connection(Stream::new(flow), service);
        Box::pin(drive(conn, drain, |conn| conn.graceful_shutdown()))
    }
}

/// A connection handler for [`conduit::serve::Server`](crate::serve::Server)
/// that serves each flow with `builder` and a clone of `service`.
///
/// When the server shuts down, every connection's `graceful_shutdown` is
/// called: requests in progress are answered, HTTP/1.1 connections close
/// after them, HTTP/2 ones send `GOAWAY`; connections still open at the
/// shutdown's deadline are aborted. A connection that ends with an error is
/// logged with `tracing` at debug level.
///
/// A tower service (an axum `Router`) runs through
/// `hyper_util::service::TowerToHyperService`.
pub fn handler<P, S, B>(
    builder: P,
    service: S,
) -> impl Fn(Flow, Drain) -> BoxFuture<()> + Send + Sync + 'static
where
    P: ServeConnection<S, B>,
    S: Clone + Send + Sync + 'static,
{
    move |flow: Flow, drain: Drain| -> BoxFuture<()> {
        let peer = flow.info().peer_addr().cloned();
        let served = builder.serve_connection(flow, service.clone(), drain);
        Box::pin(async move {
            if let Err(err) = served.await {
                let peer = peer.as_ref().map(tracing::field::display);
                tracing::debug!(peer, error = %err, "hyper connection ended with an error");
            }
        })
    }
}
