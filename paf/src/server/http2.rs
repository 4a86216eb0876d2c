//! [`Http2`]: the HTTP/2 server settings.

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http::{Extensions, Response};
use tokio::io::{AsyncRead, AsyncWrite};

use super::serve::sealed::Start;
use super::{Connection, HttpService, ResponseBody, Serve, h2c};
use crate::h2;
use crate::protocol_error::{OnProtocolError, ProtocolError};
use crate::rewind::Rewind;

/// HTTP/2 server settings; serves connections with them through [`Serve`],
/// to clients that speak HTTP/2 from the first byte (prior knowledge, or
/// TLS with ALPN `h2`).
///
/// Each stream becomes an `http::Request<paf::Body>` for the same handler
/// as HTTP/1.1, and `Request::version()` is `HTTP/2.0`. Bodies stream both
/// ways under flow control: a request body is taken from the client only as
/// fast as the handler reads it, and a response body is polled only as fast
/// as the client takes it.
///
/// The defaults: 200 concurrent streams per connection, windows of 1 MiB
/// per stream and 4 MiB per connection, 16 KiB frames, request heads up to
/// 64 KiB, 30 seconds for the client's preface, idle connections (no open
/// stream) closed after about 60 seconds, no keep-alive PINGs, and the
/// reset limits below. Usually served through [`Auto`](super::Auto), which
/// also speaks HTTP/1.1 and picks the protocol per connection.
#[derive(Clone, Debug, Default)]
pub struct Http2 {
    pub(crate) config: Arc<h2::server::Config>,
}

impl Http2 {
    /// The default settings.
    pub fn new() -> Http2 {
        Http2::default()
    }

    fn config(&mut self) -> &mut h2::server::Config {
        Arc::make_mut(&mut self.config)
    }

    /// How many streams a client may have open at once
    /// (`SETTINGS_MAX_CONCURRENT_STREAMS`).
    pub fn max_concurrent_streams(mut self, max: u32) -> Self {
        self.config().max_concurrent_streams = max;
        self
    }

    /// How many bytes of each request body the client may send ahead of the
    /// handler reading them (`SETTINGS_INITIAL_WINDOW_SIZE`).
    pub fn initial_stream_window_size(mut self, bytes: u32) -> Self {
        self.config().settings.initial_stream_window = bytes;
        self
    }

    /// How many request-body bytes the client may send ahead across all its
    /// streams.
    pub fn initial_connection_window_size(mut self, bytes: u32) -> Self {
        self.config().settings.initial_connection_window = bytes;
        self
    }

    /// The largest frame the client may send (`SETTINGS_MAX_FRAME_SIZE`),
    /// from 16 KiB to 16 MiB.
    pub fn max_frame_size(mut self, bytes: u32) -> Self {
        self.config().settings.max_frame_size = bytes;
        self
    }

    /// The largest request head, decoded (`SETTINGS_MAX_HEADER_LIST_SIZE`);
    /// a larger one is refused.
    pub fn max_header_list_size(mut self, bytes: u32) -> Self {
        self.config().settings.max_header_list_size = bytes;
        self
    }

    /// How many bytes of response body each stream may queue beyond what
    /// the client's window lets out.
    pub fn max_send_buffer_size(mut self, bytes: usize) -> Self {
        self.config().settings.max_send_buffer = bytes;
        self
    }

    /// Sends a PING this often; `None` (the default) sends none.
    pub fn keep_alive_interval(mut self, interval: Option<Duration>) -> Self {
        self.config().settings.keep_alive_interval = interval;
        self
    }

    /// How long to wait for the answer to a PING before closing the
    /// connection (20 seconds by default): a keep-alive PING, or the one
    /// that follows a graceful GOAWAY, which a silent client would
    /// otherwise leave the connection waiting on forever.
    pub fn keep_alive_timeout(mut self, timeout: Duration) -> Self {
        self.config().settings.keep_alive_timeout = timeout;
        self
    }

    /// The connection is closed (GOAWAY `ENHANCE_YOUR_CALM`) when the client
    /// resets more than `max` streams before their response ended within
    /// `window`: the "Rapid Reset" attack (CVE-2023-44487) opens and cancels
    /// streams to make the server start work it never finishes. By default
    /// 200 per 10 seconds.
    pub fn reset_stream_limit(mut self, max: u64, window: Duration) -> Self {
        let config = self.config();
        config.max_resets = max;
        config.reset_window = window;
        self
    }

    /// How many streams the client may reset before the server even took
    /// them; more close the connection (20 by default).
    pub fn max_pending_accept_reset_streams(mut self, max: usize) -> Self {
        self.config().max_pending_accept_resets = max;
        self
    }

    /// How many streams the server may have to reset because the client
    /// broke the protocol on them; more close the connection (1024 by
    /// default).
    pub fn max_local_error_reset_streams(mut self, max: usize) -> Self {
        self.config().max_local_error_resets = max;
        self
    }

    /// The largest request body in bytes. A request declaring a larger
    /// `content-length` is answered `413` without calling the handler; a
    /// body growing past the limit fails its reader with
    /// [`Error::is_body_too_large`](crate::Error::is_body_too_large), and a
    /// handler that returns that error answers `413`. Unlimited by default.
    pub fn max_body_size(mut self, bytes: u64) -> Self {
        self.config().max_body = Some(bytes);
        self
    }

    /// How long the client has to send its preface once connected.
    pub fn handshake_timeout(mut self, timeout: Option<Duration>) -> Self {
        self.config().handshake_timeout = timeout;
        self
    }

    /// How long a connection with no open stream stays open; then it is
    /// closed gracefully (GOAWAY). `None` keeps it forever.
    pub fn idle_timeout(mut self, timeout: Option<Duration>) -> Self {
        self.config().idle_timeout = timeout;
        self
    }

    /// Whether responses get a `date` header when they have none (the
    /// default).
    pub fn date_header(mut self, enabled: bool) -> Self {
        self.config().date = enabled;
        self
    }

    /// Calls `hook` for every protocol error: a request refused before its
    /// handler (`413` for a declared body over
    /// [`max_body_size`](Self::max_body_size)), whose answer it may shape as
    /// [`Http1::on_protocol_error`](super::Http1::on_protocol_error)
    /// describes, and a connection the peer broke (a malformed frame, a
    /// reset flood), where there is no answer to shape and
    /// [`ProtocolError::status`] is `None`. Requests the `h2` crate refuses
    /// itself (a malformed head, reset with `PROTOCOL_ERROR`) never reach it.
    pub fn on_protocol_error<F>(mut self, hook: F) -> Self
    where
        F: Fn(&ProtocolError<'_>) -> Option<Response<Bytes>> + Send + Sync + 'static,
    {
        self.config().on_error = OnProtocolError::new(Arc::new(hook));
        self
    }
}

impl Serve for Http2 {}

impl Start for Http2 {
    fn start<I, S, B>(&self, io: I, service: S, extensions: Extensions) -> Connection
    where
        I: AsyncRead + AsyncWrite + Unpin + Send + 'static,
        S: HttpService<B>,
        B: ResponseBody,
    {
        let config = self.config.clone();
        Connection::start(move |signal| async move {
            let mut io = io;
            let preface = h2c::expect_preface(&mut io, config.handshake_timeout).await?;
            let extras = h2::server::Extras {
                extensions,
                signal,
                first: None,
            };
            let io = Rewind::new(io, preface.freeze());
            h2::server::serve(io, service, config, extras).await
        })
    }
}
