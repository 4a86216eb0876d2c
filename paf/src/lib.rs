//! HTTP over any [`mimic::Flow`]: TCP, TLS, Unix sockets, in-memory pipes
//! or a transport of your own.
//!
//! - [`server`]: serve HTTP/1.1 and HTTP/2 with any `tower` service (an
//!   axum `Router` runs unchanged) from conduit's listeners, the protocol
//!   chosen by ALPN, the HTTP/2 preface or an h2c upgrade, with limits,
//!   timeouts and graceful shutdown.
//! - [`Client`]: give it a URI, get a response: connections pooled per
//!   endpoint, retries, redirects, timeouts, proxies, Unix sockets
//!   (`docs/client.md` is the guide).
//! - [`client`]: send requests on one HTTP/1.1 or HTTP/2 connection,
//!   streaming both ways.
//! - [`Body`]: the one streaming body type, for requests and responses.
//! - [`respond`]: ready-made responses; [`upgrade`]: taking over a
//!   connection after `101 Switching Protocols` or `CONNECT`.
//!
//! ```
//! use std::convert::Infallible;
//! use http::{Request, Response};
//! use paf::Body;
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! // A server and a client joined by an in-memory pipe.
//! let (client_io, server_io) = tokio::io::duplex(64 * 1024);
//! let hello = paf::service_fn(|req: Request<Body>| async move {
//!     let name = req.into_body().text().await.unwrap_or_default();
//!     Ok::<_, Infallible>(Response::new(Body::full(format!("Hello, {name}!"))))
//! });
//! tokio::spawn(paf::server::Http1::new().serve_connection(server_io, hello));
//!
//! let (mut sender, connection) = paf::client::handshake(client_io);
//! tokio::spawn(connection);
//! let req = Request::post("http://example.com/").body(Body::full("world"))?;
//! let res = sender.send(req).await?;
//! assert_eq!(res.into_body().text().await?, "Hello, world!");
//! # Ok(())
//! # }
//! ```
//!
//! # Organization
//! - `body/`: [`Body`], its sender and collection.
//! - `h1/`: HTTP/1.1: the sans-I/O codec, the server loop, the client loop.
//! - `h2/`: HTTP/2 on the `h2` crate: server, client, flow-controlled
//!   bodies, clear-text HTTP/2.
//! - `server/`: the public server API; `client/`: the public client API
//!   for one connection; `fetch/`: [`Client`], its pool, redirects, proxies.
//! - `respond.rs`, `upgrade.rs`, `error.rs`; `date.rs`, `timer.rs` and
//!   `rewind.rs` serve both protocols.
#![cfg_attr(docsrs, feature(doc_cfg))]

pub mod body;
pub mod client;
mod date;
mod debug;
mod error;
mod fetch;
pub(crate) mod h1;
pub(crate) mod h2;
pub mod respond;
mod rewind;
pub mod server;
mod timer;
pub mod upgrade;

pub use body::Body;
pub use error::{BoxError, Error};
pub use fetch::{Client, ClientBuilder};
pub use server::service_fn;
