//! Sending requests on one connection; the pooled
//! [`Client`](super::Client) is built on it.
//!
//! [`handshake`] takes any stream (a TCP socket, a TLS session, a
//! [`mimic::Flow`], an in-memory pipe) and returns two halves: a
//! [`SendRequest`] that sends requests, and a [`Connection`] future that
//! does the reading and writing. The connection must be spawned (or
//! otherwise polled) for anything to happen; it resolves when the connection
//! closes.
//!
//! ```
//! use http::{Request, StatusCode};
//! use paf::Body;
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! # let (io, server_io) = tokio::io::duplex(64 * 1024);
//! # let hello = paf::service_fn(|_req: Request<Body>| async {
//! #     Ok::<_, std::convert::Infallible>(http::Response::new(Body::full("Hello!")))
//! # });
//! # use paf::server::Serve;
//! # tokio::spawn(paf::server::Http1::new().serve_connection(server_io, hello));
//! // `io` is a connected stream, e.g. a `tokio::net::TcpStream`.
//! let (mut sender, connection) = paf::client::conn::handshake(io);
//! tokio::spawn(async move {
//!     if let Err(err) = connection.await {
//!         eprintln!("connection failed: {err}");
//!     }
//! });
//!
//! let req = Request::get("http://example.com/hello").body(Body::empty())?;
//! let res = sender.send(req).await?;
//! assert_eq!(res.status(), StatusCode::OK);
//! assert_eq!(res.into_body().text().await?, "Hello!");
//!
//! // The same connection carries the next request once the previous
//! // response body was read.
//! let res = sender.send(Request::get("http://example.com/").body(Body::empty())?).await?;
//! # let _ = res;
//! # Ok(())
//! # }
//! ```
//!
//! # Requests
//! The request's URI gives the target (`/path?query`; the authority for
//! `CONNECT`; the whole URI with [`Builder::absolute_form`], for proxies)
//! and, when the request has no `host` header, its value, written exactly
//! as in the URI (without user information). Requests go out in the
//! connection's protocol, whatever their version field says.
//!
//! # HTTP/2
//! [`Builder::http2`] speaks HTTP/2 from the first byte (prior knowledge,
//! for clear text and Unix sockets), and [`Builder::handshake_flow`]
//! follows what a TLS flow negotiated by ALPN. Clones of the
//! [`SendRequest`] send concurrently, each request on its own stream; a
//! request whose URI has no scheme and authority takes them from the
//! connection and the `host` field. [`SendRequest::max_concurrent_requests`]
//! and [`SendRequest::active_requests`] tell when a pool should open
//! another connection, and [`SendRequest::is_closed`] turns true as soon as
//! the server sends GOAWAY.
//!
//! The body's framing follows its [size hint](http_body::Body::size_hint):
//! an exact length is sent with `content-length` (none at all for an empty
//! `GET`, `HEAD`, `DELETE`, `OPTIONS`, `TRACE` or `CONNECT`; `0` for the other
//! methods), an unknown length with chunked encoding, trailers included.
//! A `content-length` set by the caller is kept; a body that does not match
//! it fails the request ([`Error::is_user`]) and closes the connection.
//! The head and a small body leave in a single write.
//!
//! # Responses
//! [`SendRequest::send`] returns once the response head has arrived; the
//! body streams from the connection as it is read. Interim responses (`100
//! Continue`, `103 Early Hints`) are skipped, up to 32 per request on
//! HTTP/1.1 ([`Builder::max_interim_responses`]): one more fails the
//! request with [`Error::is_parse`] and closes the connection. A request
//! with `expect: 100-continue` is sent with its body at once, without
//! waiting for the `100`. A response that arrives before the request body is fully sent is
//! returned at once; unless it is a 2xx (a server streaming its answer as
//! the upload goes on), the rest of the request body is not sent and the
//! connection is not reused.
//!
//! # Connection reuse
//! The connection carries the next request when the server keeps it alive
//! and the previous exchange is complete: request body sent, response body
//! read to its end. **Read or drop response bodies**: a response body that
//! is dropped unread is read on and thrown away if at most 64 KiB of it are
//! left and they arrive within 2 seconds, to keep the connection; otherwise
//! the connection closes (so a dropped endless feed costs nothing).
//! [`SendRequest::is_closed`] turns true as soon as the connection will
//! take no more requests (a request or response said `connection: close`,
//! the server closed it, or it failed).
//!
//! Requests sent while another is in progress wait their turn. With
//! [`Builder::pipeline`] they are written at once instead, and the
//! responses are matched to the requests in order.
//!
//! # Errors and retries
//! - [`Error::is_closed`]: the request was not sent at all, as the
//!   connection was already closed. Any request can be sent again on
//!   another connection.
//! - [`Error::is_unanswered`]: the request was sent, but the connection
//!   closed before any byte of its response arrived. The server may have
//!   processed it: send it again only if it is idempotent. This is what a
//!   request on a kept-alive connection that the server just closed gets.
//! - [`Error::is_incomplete`]: the connection closed in the middle of the
//!   response head (for the request) or body (for the body's reader).
//! - [`Error::is_parse`]: the response head was malformed; [`Error::is_body`]:
//!   the response body was.
//! - [`Error::is_io`]: reading or writing failed.
//! - [`Error::is_canceled`]: the [`Connection`] was dropped before the
//!   response arrived.
//! - [`Error::is_http2`]: the HTTP/2 server reset the stream or broke the
//!   protocol; a stream it refused (`REFUSED_STREAM`) is
//!   [`Error::is_unanswered`] instead, as it was certainly not processed.
//!
//! No timeouts are applied here: wrap [`SendRequest::send`] in
//! [`tokio::time::timeout`] for one.
//!
//! # Protocol switches
//! A `101 Switching Protocols` answer, or a 2xx answer to `CONNECT`, ends
//! HTTP on the connection: the response carries an [`OnUpgrade`] (take it
//! with [`upgrade::on`]) that yields the stream, with any bytes the server
//! sent after the head, and the [`Connection`] future completes.
//!
//! # Organization
//! - `mod.rs`: [`handshake`].
//! - `builder.rs`: [`Builder`], the settings.
//! - `send_request.rs`: [`SendRequest`], the sending half.
//! - `connection.rs`: [`Connection`], the driving half.
//!
//! [`Error::is_closed`]: crate::Error::is_closed
//! [`Error::is_unanswered`]: crate::Error::is_unanswered
//! [`Error::is_incomplete`]: crate::Error::is_incomplete
//! [`Error::is_parse`]: crate::Error::is_parse
//! [`Error::is_body`]: crate::Error::is_body
//! [`Error::is_io`]: crate::Error::is_io
//! [`Error::is_user`]: crate::Error::is_user
//! [`Error::is_canceled`]: crate::Error::is_canceled
//! [`Error::is_http2`]: crate::Error::is_http2
//! [`OnUpgrade`]: crate::upgrade::OnUpgrade
//! [`upgrade::on`]: crate::upgrade::on

mod builder;
mod connection;
mod send_request;

use tokio::io::{AsyncRead, AsyncWrite};

pub use self::builder::Builder;
pub use self::connection::Connection;
pub use self::send_request::SendRequest;

/// Starts an HTTP/1.1 client connection on `io` with the default settings
/// (see [`Builder`]).
///
/// The [`Connection`] must be spawned (or awaited alongside) for requests
/// to make progress. See the [module documentation](self) for an example.
pub fn handshake<I>(io: I) -> (SendRequest, Connection)
where
    I: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    Builder::new().handshake(io)
}
