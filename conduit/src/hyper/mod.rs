//! hyper 1 on conduit and mimic: a connector for hyper-util's client and
//! tonic, and hyper's servers on conduit's listeners. Needs the `hyper`
//! feature (off by default).
//!
//! The [`Connector`] resolves each URI as paf's client does (the
//! [`Resolver`](crate::Resolver)'s rules, Unix sockets by a rule, TLS by
//! the resolver's layer, mimic's race of every candidate) and gives a
//! [`HyperIo`] that hyper reads and writes. Responses carry the
//! connection's `Arc<`[`mimic::Info`]`>` in their extensions, and a failure
//! is a conduit [`Error`] with mimic's report of every candidate.
//!
//! [`handler`] serves hyper-util's `auto::Builder`, or hyper's `http1` and
//! `http2` builders, on [`conduit::serve::Server`](crate::serve::Server):
//! any listener, connection limits, and a graceful shutdown that calls
//! each connection's `graceful_shutdown`. Requests carry their connection's
//! `Arc<mimic::Info>` (the peer's address) in their extensions.
//!
//! ```
//! use std::convert::Infallible;
//! use std::sync::Arc;
//! use std::time::Duration;
//!
//! use conduit::listener::TcpListener;
//! use conduit::serve::Server;
//! use http_body_util::{BodyExt, Empty, Full};
//! use hyper::body::{Bytes, Incoming};
//! use hyper::{Request, Response};
//! use hyper_util::client::legacy::Client;
//! use hyper_util::rt::{TokioExecutor, TokioTimer};
//! use hyper_util::server::conn::auto;
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! // A hyper server on a conduit listener.
//! let hello = hyper::service::service_fn(|req: Request<Incoming>| async move {
//!     let peer = req.extensions().get::<Arc<mimic::Info>>().and_then(|info| info.peer_addr());
//!     let text = format!("hello {}", peer.map(ToString::to_string).unwrap_or_default());
//!     Ok::<_, Infallible>(Response::new(Full::new(Bytes::from(text))))
//! });
//! let mut builder = auto::Builder::new(TokioExecutor::new());
//! builder.http1().timer(TokioTimer::new());
//! builder.http2().timer(TokioTimer::new());
//! let server = Server::builder()
//!     .listener(TcpListener::bind("127.0.0.1:0".parse()?)?)
//!     .serve(conduit::hyper::handler(builder, hello));
//! let uri = format!("http://{}/", server.local_addrs()[0]);
//!
//! // hyper-util's client through conduit's resolver and mimic.
//! let client = Client::builder(TokioExecutor::new())
//!     .timer(TokioTimer::new())
//!     .build::<_, Empty<Bytes>>(conduit::hyper::Connector::new());
//! let res = client.get(uri.parse()?).await?;
//! let info = res.extensions().get::<Arc<mimic::Info>>().expect("the connector's extra");
//! assert_eq!(info.protocol(), "tcp");
//! let local = info.local_addr().expect("a local address").to_string();
//! assert_eq!(res.into_body().collect().await?.to_bytes(), format!("hello {local}"));
//!
//! // A failure carries conduit's error and mimic's report.
//! let closed = TcpListener::bind("127.0.0.1:0".parse()?)?.local_socket_addr();
//! let err = client.get(format!("http://{closed}/").parse()?).await.expect_err("closed");
//! let conduit_err = conduit::hyper::connect_error(&err).expect("conduit's error");
//! assert!(conduit_err.is_connect() && conduit_err.report().is_some());
//!
//! server.shutdown(Duration::from_secs(5)).await;
//! # Ok(()) }
//! ```
//!
//! The guide, `docs/interop.md`, also covers tonic, WebSocket and reqwest.
//!
//! # Organization
//! - `connector.rs`: [`Connector`], a `tower_service::Service<http::Uri>`,
//!   and its future [`HttpConnecting`].
//! - `io.rs`: [`HyperIo`], a flow as hyper's I/O and hyper-util's
//!   `Connection`; on a server, idle until its first bytes.
//! - `handler.rs`: [`handler`], the builders it serves with
//!   ([`ServeConnection`]) and [`WithConnection`].

mod connector;
mod handler;
mod io;

use std::error::Error as StdError;

pub use connector::{Connector, HttpConnecting};
pub use handler::{
    DEFAULT_FIRST_BYTE_TIMEOUT, ServeConnection, WithConnection, handler, handler_with_timeout,
};
pub use io::HyperIo;

use crate::error::Error;

/// The conduit [`Error`] in `err`'s chain of sources, if a connection
/// failed in the [`Connector`]: hyper-util's and tonic's errors keep it as
/// a source. `{:#}` prints it with mimic's report of every candidate.
///
/// ```
/// # fn show(err: &hyper_util::client::legacy::Error) {
/// if let Some(err) = conduit::hyper::connect_error(err) {
///     eprintln!("{err:#}");
/// }
/// # }
/// ```
pub fn connect_error<'a>(err: &'a (dyn StdError + 'static)) -> Option<&'a Error> {
    let mut next = Some(err);
    while let Some(err) = next {
        if let Some(found) = err.downcast_ref::<Error>() {
            return Some(found);
        }
        next = err.source();
    }
    None
}
