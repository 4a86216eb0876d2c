//! The settings of client connections.

use std::sync::Arc;

use tokio::io::{AsyncRead, AsyncWrite};
use tokio::sync::mpsc;

use super::shared::{CloseOnDrop, Shared};
use super::{Connection, SendRequest};
use crate::h1;

/// HTTP/1.1 client connection settings; starts connections with them.
///
/// The defaults: one request at a time, response heads up to 64 KiB with at
/// most 100 fields, targets in origin-form (`/path?query`).
///
/// ```
/// use http::Request;
/// use paf::Body;
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// # let (io, server_io) = tokio::io::duplex(64 * 1024);
/// # let echo = paf::service_fn(|req: Request<Body>| async move {
/// #     let path = req.uri().path().to_owned();
/// #     Ok::<_, std::convert::Infallible>(http::Response::new(Body::full(path)))
/// # });
/// # tokio::spawn(paf::server::Http1::new().serve_connection(server_io, echo));
/// let (sender, connection) = paf::client::Builder::new().pipeline(true).handshake(io);
/// tokio::spawn(connection);
///
/// // Both requests are written before the first response is read.
/// let (mut a, mut b) = (sender.clone(), sender);
/// let (first, second) = tokio::try_join!(
///     a.send(Request::get("http://example.com/a").body(Body::empty())?),
///     b.send(Request::get("http://example.com/b").body(Body::empty())?),
/// )?;
/// assert_eq!(first.into_body().text().await?, "/a");
/// assert_eq!(second.into_body().text().await?, "/b");
/// # Ok(())
/// # }
/// ```
#[derive(Clone, Debug, Default)]
pub struct Builder {
    config: h1::client::Config,
}

impl Builder {
    /// The default settings.
    pub fn new() -> Builder {
        Builder::default()
    }

    /// Whether requests sent while others are in progress are written at
    /// once instead of waiting for the previous response (off by default).
    ///
    /// Responses are matched to requests in order. When the server closes
    /// the connection, the requests it did not answer fail with
    /// [`Error::is_unanswered`](crate::Error::is_unanswered). No request is
    /// pipelined behind a `CONNECT` or an `upgrade` request.
    pub fn pipeline(mut self, enabled: bool) -> Self {
        self.config.pipeline = enabled;
        self
    }

    /// The largest response head (status line and fields) in bytes; a larger
    /// one fails the request with [`Error::is_parse`](crate::Error::is_parse).
    pub fn max_head_size(mut self, bytes: usize) -> Self {
        self.config.limits.max_head_bytes = bytes;
        self
    }

    /// The most header fields in a response (and in a trailer section); more
    /// fail the request with [`Error::is_parse`](crate::Error::is_parse).
    pub fn max_headers(mut self, count: usize) -> Self {
        self.config.limits.max_headers = count;
        self
    }

    /// Whether request targets are sent in absolute-form
    /// (`GET http://example.com/path HTTP/1.1`), as HTTP proxies expect,
    /// rather than origin-form (`GET /path HTTP/1.1`). Requests whose URI
    /// has no scheme and authority are still sent in origin-form.
    pub fn absolute_form(mut self, enabled: bool) -> Self {
        self.config.absolute_form = enabled;
        self
    }

    /// Starts a connection on `io`: the [`SendRequest`] half sends requests,
    /// the [`Connection`] half must be spawned (or polled) to run it.
    pub fn handshake<I>(&self, io: I) -> (SendRequest, Connection)
    where
        I: AsyncRead + AsyncWrite + Unpin + Send + 'static,
    {
        let (tx, rx) = mpsc::unbounded_channel();
        let shared = Arc::new(Shared::new(self.config.pipeline));
        let future = h1::client::run(io, self.config.clone(), rx, CloseOnDrop(shared.clone()));
        (
            SendRequest::new(tx, shared),
            Connection::new(Box::pin(future)),
        )
    }
}
