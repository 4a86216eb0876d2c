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
//! - [`client::conn`]: send requests on one HTTP/1.1 or HTTP/2 connection,
//!   streaming both ways.
//! - [`Body`]: the one streaming body type, for requests and responses.
//! - [`respond`]: ready-made responses; [`upgrade`]: taking over a
//!   connection after `101 Switching Protocols` or `CONNECT`.
//!
//! ```
//! use std::convert::Infallible;
//! use http::{Request, Response};
//! use paf::Body;
//! use paf::server::Serve;
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
//! let (mut sender, connection) = paf::client::conn::handshake(client_io);
//! tokio::spawn(connection);
//! let req = Request::post("http://example.com/").body(Body::full("world"))?;
//! let res = sender.send(req).await?;
//! assert_eq!(res.into_body().text().await?, "Hello, world!");
//! # Ok(())
//! # }
//! ```
//!
//! # Organization
//! The modules form layers; each uses only the layers below it.
//! 1. `error.rs`; over it, shared pieces: `protocol_error.rs` (the
//!    servers' hook), `signal.rs` (graceful shutdown),
//!    `timer.rs`, `date.rs`, `rewind.rs`, `debug.rs` (`PAF_DEBUG`),
//!    `linger.rs` (what is read and thrown away after an early answer).
//! 2. [`body`]: [`Body`], its sender and the received bodies of both
//!    protocols; [`upgrade`]: taking over a connection.
//! 3. `h1/`: HTTP/1.1, a sans-I/O codec and the connection loops;
//!    `h2/`: HTTP/2 on the `h2` crate. Neither knows the other.
//! 4. [`server`]: serving connections in either protocol (ALPN, preface,
//!    h2c); [`client`]: the pooled [`Client`], and [`client::conn`] for
//!    one connection; [`respond`]: ready-made responses.
//! 5. `fuzzing.rs`: entry points for the fuzz targets in `fuzz/`, compiled
//!    only under `cfg(fuzzing)`.
#![cfg_attr(docsrs, feature(doc_cfg))]

mod date;
mod debug;
mod error;
mod linger;
mod protocol_error;
mod rewind;
mod signal;
mod timer;

pub mod body;
pub mod upgrade;

pub(crate) mod h1;
pub(crate) mod h2;

pub mod client;
pub mod respond;
pub mod server;

#[cfg(fuzzing)]
#[doc(hidden)]
pub mod fuzzing;

pub use body::Body;
pub use client::{Client, ClientBuilder};
pub use error::{BoxError, Error};
pub use server::service_fn;

/// The code of the README and of the guides to paf and its client,
/// compiled by `cargo test --doc` so that none drifts from the API.
#[cfg(doctest)]
#[doc = include_str!("../../README.md")]
#[doc = include_str!("../../docs/client.md")]
#[doc = include_str!("../../docs/paf.md")]
pub struct GuideSnippets;
