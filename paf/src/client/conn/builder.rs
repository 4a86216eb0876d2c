//! The settings of client connections.

use std::time::Duration;

use mimic::Flow;
use tokio::io::{AsyncRead, AsyncWrite};

use super::{Connection, SendRequest};
use crate::{h1, h2};

/// Client connection settings; starts connections with them.
///
/// Connections speak HTTP/1.1 unless [`http2`](Builder::http2) is set, or
/// the flow given to [`handshake_flow`](Builder::handshake_flow) negotiated
/// `h2` by ALPN.
///
/// The HTTP/1.1 defaults: one request at a time, response heads up to
/// 64 KiB with at most 100 fields, at most 32 interim (1xx) responses per
/// request, targets in origin-form (`/path?query`).
/// The HTTP/2 defaults: windows of 1 MiB per stream and 4 MiB per
/// connection, 16 KiB frames, response heads up to 64 KiB, no keep-alive
/// PINGs, server push refused.
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
/// # use paf::server::Serve;
/// # tokio::spawn(paf::server::Http1::new().serve_connection(server_io, echo));
/// let (sender, connection) = paf::client::conn::Builder::new().pipeline(true).handshake(io);
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
    http2: h2::Settings,
    prior_knowledge: bool,
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

    /// The most interim (1xx) responses one request may get before its
    /// final response: 32 by default. One more fails the request with
    /// [`Error::is_parse`](crate::Error::is_parse) and closes the
    /// connection, so that a server sending them without end cannot hold
    /// a request, and the client reading, forever. A server sends one
    /// `100 Continue`, a few `103 Early Hints`, or a `102 Processing` now
    /// and then during a long operation: raise it for such a server.
    ///
    /// Over HTTP/2 the `h2` crate reads interim responses without a
    /// bound; the client's timeouts end such a request.
    pub fn max_interim_responses(mut self, max: usize) -> Self {
        self.config.max_interim = max;
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

    /// Speaks HTTP/2 from the first byte (prior knowledge): for clear-text
    /// servers known to speak it, and Unix sockets. Over TLS,
    /// [`handshake_flow`](Builder::handshake_flow) follows ALPN instead.
    pub fn http2(mut self) -> Self {
        self.prior_knowledge = true;
        self
    }

    /// Whether connections speak HTTP/2 from the first byte.
    pub(crate) fn is_prior_knowledge(&self) -> bool {
        self.prior_knowledge
    }

    /// These settings for a forward proxy: HTTP/1.1, absolute-form targets.
    pub(crate) fn for_forward_proxy(&self) -> Builder {
        let mut builder = self.clone().absolute_form(true);
        builder.prior_knowledge = false;
        builder
    }

    /// HTTP/2: how many bytes of each response body the server may send
    /// ahead of the reader.
    pub fn http2_initial_stream_window_size(mut self, bytes: u32) -> Self {
        self.http2.initial_stream_window = bytes;
        self
    }

    /// HTTP/2: how many response-body bytes the server may send ahead
    /// across all streams.
    pub fn http2_initial_connection_window_size(mut self, bytes: u32) -> Self {
        self.http2.initial_connection_window = bytes;
        self
    }

    /// HTTP/2: the largest frame the server may send, from 16 KiB to 16 MiB.
    pub fn http2_max_frame_size(mut self, bytes: u32) -> Self {
        self.http2.max_frame_size = bytes;
        self
    }

    /// HTTP/2: the largest response head, decoded.
    pub fn http2_max_header_list_size(mut self, bytes: u32) -> Self {
        self.http2.max_header_list_size = bytes;
        self
    }

    /// HTTP/2: how many bytes of request body each stream may queue beyond
    /// what the server's window lets out.
    pub fn http2_max_send_buffer_size(mut self, bytes: usize) -> Self {
        self.http2.max_send_buffer = bytes;
        self
    }

    /// HTTP/2: sends a PING this often (none by default); a server that
    /// does not answer within the [timeout](Builder::http2_keep_alive_timeout)
    /// fails the connection.
    pub fn http2_keep_alive_interval(mut self, interval: Option<Duration>) -> Self {
        self.http2.keep_alive_interval = interval;
        self
    }

    /// HTTP/2: how long to wait for the answer to a keep-alive PING (20
    /// seconds by default).
    pub fn http2_keep_alive_timeout(mut self, timeout: Duration) -> Self {
        self.http2.keep_alive_timeout = timeout;
        self
    }

    /// Starts a connection on `io`: the [`SendRequest`] half sends requests,
    /// the [`Connection`] half must be spawned (or polled) to run it.
    pub fn handshake<I>(&self, io: I) -> (SendRequest, Connection)
    where
        I: AsyncRead + AsyncWrite + Unpin + Send + 'static,
    {
        if self.prior_knowledge {
            self.handshake_h2(io, false)
        } else {
            self.handshake_h1(io)
        }
    }

    /// Starts a connection on a [`Flow`], in the protocol its TLS session
    /// negotiated by ALPN (`h2` or `http/1.1`); without one, as
    /// [`handshake`](Builder::handshake) would.
    ///
    /// ```
    /// # async fn run(flow: mimic::Flow) -> Result<(), paf::Error> {
    /// use http::{Request, Version};
    /// use paf::Body;
    /// // `flow` came from resolving a context with TLS and ALPN `h2`, `http/1.1`.
    /// let (mut sender, connection) = paf::client::conn::Builder::new().handshake_flow(flow);
    /// tokio::spawn(connection);
    /// let res = sender.send(Request::get("https://example.com/").body(Body::empty()).unwrap()).await?;
    /// println!("{:?}", res.version());
    /// # Ok(()) }
    /// ```
    pub fn handshake_flow(&self, flow: Flow) -> (SendRequest, Connection) {
        crate::debug::connection(crate::debug::Side::Client, flow.info());
        let tls = flow.info().tls();
        let is_tls = tls.is_some();
        let h2 = match tls.and_then(|tls| tls.alpn.as_deref()) {
            Some(b"h2") => true,
            Some(b"http/1.1") => false,
            _ => self.prior_knowledge,
        };
        if h2 {
            self.handshake_h2(flow, is_tls)
        } else {
            self.handshake_h1(flow)
        }
    }

    fn handshake_h1<I>(&self, io: I) -> (SendRequest, Connection)
    where
        I: AsyncRead + AsyncWrite + Unpin + Send + 'static,
    {
        let (handle, future) = h1::client::handshake(io, self.config.clone());
        (
            SendRequest::http1(handle),
            Connection::new(Box::pin(future)),
        )
    }

    fn handshake_h2<I>(&self, io: I, tls: bool) -> (SendRequest, Connection)
    where
        I: AsyncRead + AsyncWrite + Unpin + Send + 'static,
    {
        let (handle, future) = h2::client::handshake(io, &self.http2, tls);
        (
            SendRequest::http2(handle),
            Connection::new(Box::pin(future)),
        )
    }
}
